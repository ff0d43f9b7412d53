/**
 * The container recipe: the Dockerfile passes a Dockerfile linter (dockerfile-utils, the
 * language server's validator) and runs as a non-root user with a health check on /readyz; the
 * compose file takes its secrets from the .env beside it, the same on every run, and refuses to
 * start without them. `docker-compose config` renders the file without a Docker daemon; without
 * docker-compose those checks are skipped with the reason printed (CI installs it).
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { track } from '../support/children';
import { dockerCompose } from '../support/tools';
import { orTimeout } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFile(path.join(ROOT, file), 'utf8');

/** The instructions of the Dockerfile's last stage (what the image runs), keyword upper-cased. */
function finalStage(dockerfile: string): { keyword: string; args: string }[] {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const last = lines.map((line) => /^FROM\b/i.test(line)).lastIndexOf(true);
  return lines.slice(last).map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

describe('the Dockerfile', () => {
  it('has no problem the linter reports', async () => {
    expect(validate(await read('Dockerfile'))).toEqual([]);
  });

  it('runs as a non-root user, in exec form, with a health check on /readyz', async () => {
    const stage = finalStage(await read('Dockerfile'));
    const last = (keyword: string) => stage.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(last('USER')).toBeDefined();
    expect(last('USER')).not.toMatch(/^(root|0)(:|$)/);
    expect(last('HEALTHCHECK')).toContain('/readyz');
    expect(last('CMD')).toMatch(/^\[.*\]$/); // exec form: SIGTERM reaches node
  });

  it('leaves secrets, dependencies and build outputs out of the build context', async () => {
    const ignored = (await read('.dockerignore')).split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/.env', '**/node_modules', '**/dist', '.latchkey', '.git']));
  });
});

dockerCompose.describe('deploy/docker-compose.yml', () => {
  let dir: string;

  /** `docker-compose config` on a copy of the file in deploy/ of a scratch folder, with `env` as its .env. */
  async function render(env: string | undefined): Promise<{ code: number | null; out: string; err: string }> {
    const deploy = path.join(dir, 'deploy');
    await mkdir(deploy, { recursive: true });
    await copyFile(path.join(ROOT, 'deploy/docker-compose.yml'), path.join(deploy, 'docker-compose.yml'));
    if (env === undefined) await rm(path.join(deploy, '.env'), { force: true });
    else await writeFile(path.join(deploy, '.env'), env);
    // A clean environment: only the .env may supply the secrets.
    const child = track(
      spawn(dockerCompose.binary(), ['config'], {
        cwd: deploy,
        env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const code = await orTimeout(
      new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve)),
      () => 'docker-compose config exits',
    );
    return { code, out, err };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-compose-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes both secrets from the .env beside it, identically on every run', async () => {
    const env = 'POSTGRES_PASSWORD=pg-from-dotenv\nLATCHKEY_SECRET_KEY=secret-from-dotenv-0123456789abcdef\n';
    const first = await render(env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.out).toContain('DATABASE_URL: postgresql://latchkey:pg-from-dotenv@postgres:5432/latchkey');
    expect(first.out).toContain('POSTGRES_PASSWORD: pg-from-dotenv');
    expect(first.out).toContain('LATCHKEY_SECRET_KEY: secret-from-dotenv-0123456789abcdef');
    expect((await render(env)).out).toBe(first.out);
  });

  it('builds the repository, and restarts both services', async () => {
    const { out } = await render('POSTGRES_PASSWORD=p\nLATCHKEY_SECRET_KEY=k\n');
    expect(out).toContain(`context: ${dir}\n`);
    expect(out.match(/restart: unless-stopped/g)).toHaveLength(2);
  });

  it('refuses to render without the secrets, naming the file to create', async () => {
    const { code, err } = await render(undefined);
    expect(code).not.toBe(0);
    expect(err).toContain('deploy/.env');
  });
});
