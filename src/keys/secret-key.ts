/**
 * LATCHKEY_SECRET_KEY encrypts signing keys at rest. With an external database it must be
 * given (config refuses otherwise); with the embedded one it is generated once, kept beside
 * the data as `<dataDir>/secret.key` (mode 0600), and read back on every start.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';

export const SECRET_KEY_FILE = 'secret.key';

export interface ResolvedSecretKey {
  readonly value: string;
  readonly source: 'environment' | 'generated' | 'data dir';
}

/** `generate: false` only reads: without a key yet, that is an error saying to start the server first. */
export async function resolveSecretKey(
  config: Config,
  { generate = true }: { generate?: boolean } = {},
): Promise<ResolvedSecretKey> {
  if (config.secretKey) return { value: config.secretKey, source: 'environment' };
  if (config.databaseUrl) throw new TypeError('LATCHKEY_SECRET_KEY is required with DATABASE_URL');
  const file = path.join(config.dataDir, SECRET_KEY_FILE);
  if (!generate) {
    const value = await readFile(file, 'utf8').then(
      (text) => text.trim(),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (!value) throw new Error(`no secret key in ${config.dataDirAsGiven} yet: start the server once (npm start)`);
    return { value, source: 'data dir' };
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': two processes racing on a fresh data dir cannot both write; the loser reads below.
    const value = randomBytes(32).toString('base64url');
    await writeFile(file, `${value}\n`, { flag: 'wx', mode: 0o600 });
    return { value, source: 'generated' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const value = (await readFile(file, 'utf8')).trim();
  if (value.length < 32) throw new Error(`${file} is corrupt: expected at least 32 characters`);
  return { value, source: 'data dir' };
}
