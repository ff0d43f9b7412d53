import path from 'node:path';
import { ConfigError, loadConfig, malformedEnvLine } from '../../src/config';
import { logFormatFor } from '../../src/logger';

const SECRET = 'x'.repeat(40);

function problem(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('documents its defaults: port 8080, embedded database under ./.latchkey, info logs', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('.latchkey'));
    expect(config.dataDirAsGiven).toBe('./.latchkey');
    expect(config.logLevel).toBe('info');
    expect(config.issuer).toBe('http://localhost:8080');
    expect(config.admin).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(8080);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://localhost/db', LATCHKEY_SECRET_KEY: SECRET }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url', LATCHKEY_SECRET_KEY: SECRET }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgresql://db/latchkey' }, 'LATCHKEY_SECRET_KEY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ LATCHKEY_ISSUER: 'ftp://issuer' }, 'LATCHKEY_ISSUER'],
    [{ LATCHKEY_ADMIN_EMAIL: 'admin@example.com' }, 'LATCHKEY_ADMIN_PASSWORD'],
    [{ LATCHKEY_ADMIN_PASSWORD: 'long enough' }, 'LATCHKEY_ADMIN_EMAIL'],
    [{ LATCHKEY_ADMIN_EMAIL: 'not-an-email', LATCHKEY_ADMIN_PASSWORD: 'long enough' }, 'LATCHKEY_ADMIN_EMAIL'],
    [{ LATCHKEY_BCRYPT_ROUNDS: '3' }, 'LATCHKEY_BCRYPT_ROUNDS'],
  ])('refuses %j, naming %s', (env, variable) => {
    const err = problem(env);
    expect(err.code).toBe('invalid_config');
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('never repeats a rejected secret in its message', () => {
    const err = problem({ LATCHKEY_SECRET_KEY: 'hunter2-too-short' });
    expect(err.variable).toBe('LATCHKEY_SECRET_KEY');
    expect(err.message).not.toContain('hunter2');
    expect(problem({ LATCHKEY_ADMIN_EMAIL: 'a@b.co', LATCHKEY_ADMIN_PASSWORD: 'short' }).message).not.toContain(
      'short"',
    );
  });

  it('takes an external database with its secret key, and an admin to bootstrap', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:p@db:5432/latchkey',
      LATCHKEY_SECRET_KEY: SECRET,
      LATCHKEY_ISSUER: 'https://auth.example.com/',
      LATCHKEY_ADMIN_EMAIL: 'Admin@Example.com',
      LATCHKEY_ADMIN_PASSWORD: 'correct horse',
    });
    expect(config.databaseUrl).toBe('postgresql://u:p@db:5432/latchkey');
    expect(config.issuer).toBe('https://auth.example.com');
    expect(config.admin).toEqual({
      email: 'admin@example.com',
      password: 'correct horse',
      organization: 'My organization',
    });
  });
});

describe('LOG_FORMAT', () => {
  it('is pretty on a terminal and JSON elsewhere, unless set', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(logFormatFor(undefined, { isTTY: true })).toBe('pretty');
    expect(logFormatFor(undefined, {})).toBe('json');
    expect(logFormatFor(loadConfig({ LOG_FORMAT: 'json' }).logFormat, { isTTY: true })).toBe('json');
    expect(logFormatFor(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat, {})).toBe('pretty');
  });
});

describe('a .env file', () => {
  it.each([
    ['', undefined],
    ['PORT=8080\n\n# a comment\n  # an indented one\nexport HOST=127.0.0.1\nEMPTY=\n', undefined],
    ['A = 1\nB="two words"\nC=\'x\' # trailing comment\n', undefined],
    ['JSON=\'{\n  "a": 1\n}\'\nNEXT=2', undefined],
    ['MULTI="line one\nline two"\r\nNEXT=2\r\n', undefined],
    ['PORT 8080', 1],
    ['OK=1\nexport\n', 2],
    ['OK=1\n=value\n', 2],
    ['OK=1\nTWO WORDS=1\n', 2],
    ['OK=1\nNO-DASHES=1\n', 2],
    // An unclosed quote is the rest of its line, as Node reads it: the next line stands alone.
    ['OPEN="never closed\nPORT 8080\n', 2],
    ['CLOSED="a\nb"\nPORT 8080\n', 3],
  ])('%j: the first line that is not NAME=value, a comment or blank is %s', (text, line) => {
    expect(malformedEnvLine(text)).toBe(line);
  });
});
