/**
 * The README's first block, pasted as a newcomer pastes it: after `npm start` on a new data
 * folder (the embedded database, no user yet), bash runs the block as written, and its last
 * answer is a refreshed access token. Only the server's address and the way `latchkey` is
 * found differ: the server listens on a free port, and `npx latchkey` is this checkout's
 * bin/latchkey.js, run away from a developer's .env.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { CLI, ROOT, runToExit, startProcess, WORKDIR, type ServerProcess } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

const RECIPE_HEADING = '## The Label Studio recipe';

/** The first ```sh block under the recipe's heading. */
async function recipe(): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(RECIPE_HEADING));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!readme.includes(RECIPE_HEADING) || !block)
    throw new Error(`README.md has no sh block under "${RECIPE_HEADING}"`);
  return block;
}

const bash = (script: string, env: Record<string, string>) =>
  runToExit('bash', ['-c', script], env, WORKDIR, "the README's block");

describe("the README's first block, after npm start on a new data folder", () => {
  let dataDir: string;
  let server: ServerProcess;
  let block: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-readme-'));
    server = await startProcess({ LATCHKEY_DATA_DIR: dataDir });
    await server.logged('ready');
    const pasted = await recipe();
    expect(pasted).toContain('U=http://localhost:8080\n');
    expect(pasted).toContain('npx latchkey ');
    block = pasted
      .replace('U=http://localhost:8080\n', `U=${server.url}\n`)
      .replaceAll('npx latchkey ', `node ${CLI} `);
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('ends with a refreshed access token', async () => {
    const run = await bash(block, { LATCHKEY_DATA_DIR: dataDir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const last = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { access: string };
    expect(decodeJwt(last.access)).toMatchObject({ token_type: 'access', sub: expect.any(String) });
  });

  it('pasted again, fails loudly with the answer instead of going on with "undefined"', async () => {
    const run = await bash(block, { LATCHKEY_DATA_DIR: dataDir });
    expect(run.stderr).toMatch(/^latchkey answered: \{.*"code":"already_set_up"/m);
    expect(run.stdout + run.stderr).not.toContain('undefined');
  });
});
