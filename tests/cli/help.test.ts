/**
 * Asking `latchkey` for help, or giving it a wrong command line, does nothing else: no
 * configuration read, no data dir, no database, no port. Every run here is pointed at a port
 * the test holds, a data dir that does not exist, and a working directory whose `.env` is
 * malformed (reading it would fail with exit 78); each must answer from the command table alone
 * and leave all of them as they were.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { holdPort, ROOT, runCli } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

const COMMANDS = ['serve', 'migrate', 'create-admin', 'setup-code', 'keys', 'settings'];
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('latchkey --help and wrong command lines touch nothing', () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'latchkey-help-'));
  const dataDir = path.join(cwd, 'data');
  let held: Awaited<ReturnType<typeof holdPort>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    held = await holdPort();
    env = { PORT: String(held.port), HOST: '127.0.0.1', LATCHKEY_DATA_DIR: dataDir };
    writeFileSync(path.join(cwd, '.env'), 'this line is not NAME=value\n');
  });
  afterAll(async () => {
    await held.release();
    rmSync(cwd, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(readdirSync(cwd)).toEqual(['.env']);
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([['--help'], ['-h'], ['help']])('latchkey %s lists every command, exit 0', async (...args) => {
    const res = await runCli(args, env, cwd);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/^usage: latchkey <command>/);
    for (const name of COMMANDS) expect(res.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(res.stdout).toContain('.env');
  });

  it.each(
    COMMANDS.flatMap((name) => [
      [name, '--help'],
      [name, '-h'],
      ['help', name],
      ['--help', name],
    ]),
  )("latchkey %s %s shows that command's usage and options, exit 0", async (...args) => {
    const name = args[0] === 'help' || args[0] === '--help' ? args[1]! : args[0]!;
    const res = await runCli(args, env, cwd);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(new RegExp(`^usage: latchkey ${name}\\b`));
    expect(res.stdout).toMatch(/^Options:\n(.*\n)* {2}-h, --help +show this help$/m);
  });

  it.each([
    [['keys', 'rotate', '--help']],
    [['settings', 'set', '--org', '1', 'access_token_ttl_seconds=600', '-h']],
    [['create-admin', '--email', 'ada@example.com', '--help']],
  ])('%j is a request for help, not for the work', async (args) => {
    const res = await runCli(args, env, cwd);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(new RegExp(`^usage: latchkey ${args[0]}\\b`));
  });

  it('latchkey --version prints the package version', async () => {
    expect(await runCli(['--version'], env, cwd)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([
    [[], /^latchkey: give a command\n\nusage: latchkey <command>/],
    [['frobnicate'], /^latchkey: unknown command "frobnicate"\n\nusage: latchkey <command>/],
    [['help', 'frobnicate'], /^latchkey: unknown command "frobnicate"\n/],
    [['--help', 'constructor'], /^latchkey: unknown command "constructor"\n/],
    [['toString'], /^latchkey: unknown command "toString"\n/],
    [['--bogus'], /^latchkey: unknown option '--bogus'\n\nusage: latchkey <command>/],
    [['serve', '--bogus'], /^latchkey: serve: unknown option '--bogus'\n\nusage: latchkey serve\n/],
    [['serve', '--port', '9'], /^latchkey: serve: unknown option '--port'\n/],
    [['migrate', 'now'], /^latchkey: migrate: unexpected argument 'now'\n/],
    [['create-admin', '--email'], /^latchkey: create-admin: option '--email <value>' argument missing\n/],
    [['keys'], /^latchkey: keys: rotate or list\?\n\nusage: latchkey keys rotate\n {7}latchkey keys list\n/],
    [['keys', 'spin'], /^latchkey: keys: unknown action "spin"\n/],
    [['settings', 'get'], /^latchkey: settings: --org ID is required\n/],
    [['settings', 'set', '--org', '1', 'nonsense=1'], /^latchkey: settings: set: nonsense: /],
  ])('%j is a usage error naming what is wrong, usage on stderr, exit 64', async (args, message) => {
    const res = await runCli(args, env, cwd);
    expect(res).toMatchObject({ code: 64, stdout: '' });
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toContain('usage: latchkey');
  });
});
