/** GET/POST /api/jwt/settings, the CLI and LATCHKEY_DEFAULT_ORG_SETTINGS. */
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, loginAccess, refreshAccess, type Member } from '../support/factories';
import { runCli } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

let t: TestApp;
let owner: Member;
let admin: Member;
let manager: Member;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  admin = await createMember(t, { organizationId: owner.organizationId, role: 'administrator' });
  manager = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
});
afterAll(() => t.close());

const as = async (m: Member) => bearer(await loginAccess(t, m));
const DEFAULTS = {
  api_tokens_enabled: true,
  legacy_api_tokens_enabled: false,
  api_token_ttl_days: 73_000,
  access_token_ttl_seconds: 300,
};

describe('/api/jwt/settings', () => {
  it('a new organization has the contract’s defaults, readable by any member, both slash forms', async () => {
    for (const path of ['/api/jwt/settings', '/api/jwt/settings/']) {
      const res = await request(t.app)
        .get(path)
        .set(await as(manager));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(DEFAULTS);
    }
    expect((await request(t.app).get('/api/jwt/settings')).status).toBe(401);
  });

  it('only owners and administrators may change them (403 otherwise)', async () => {
    const res = await request(t.app)
      .post('/api/jwt/settings')
      .set(await as(manager))
      .send({ access_token_ttl_seconds: 600 });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toMatch(/insufficient_scope/);
    expect(
      (
        await request(t.app)
          .get('/api/jwt/settings')
          .set(await as(manager))
      ).body,
    ).toEqual(DEFAULTS);
  });

  it('applies a partial update, answers the full object and audits old and new values', async () => {
    const res = await request(t.app)
      .post('/api/jwt/settings')
      .set(await as(admin))
      .send({ access_token_ttl_seconds: 600 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...DEFAULTS, access_token_ttl_seconds: 600 });
    const event = await t.database.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'settings.updated', organizationId: owner.organizationId },
      orderBy: { id: 'desc' },
    });
    expect(event).toMatchObject({
      actorUserId: admin.userId,
      details: { old: { access_token_ttl_seconds: 300 }, new: { access_token_ttl_seconds: 600 } },
    });
    await request(t.app)
      .post('/api/jwt/settings')
      .set(await as(owner))
      .type('form')
      .send({ access_token_ttl_seconds: '300' })
      .expect(200);
  });

  it.each([
    [{ api_tokens_enabled: 'maybe' }, 'api_tokens_enabled', 'Must be a valid boolean.'],
    [{ legacy_api_tokens_enabled: null }, 'legacy_api_tokens_enabled', 'Must be a valid boolean.'],
    [{ api_token_ttl_days: 1.5 }, 'api_token_ttl_days', 'A valid integer is required.'],
    [{ api_token_ttl_days: 0 }, 'api_token_ttl_days', 'Ensure this value is greater than or equal to 1.'],
    [{ api_token_ttl_days: 73_001 }, 'api_token_ttl_days', 'Ensure this value is less than or equal to 73000.'],
    [{ access_token_ttl_seconds: 29 }, 'access_token_ttl_seconds', 'Ensure this value is greater than or equal to 30.'],
    [
      { access_token_ttl_seconds: 3601 },
      'access_token_ttl_seconds',
      'Ensure this value is less than or equal to 3600.',
    ],
    [{ api_token_enabled: false }, 'api_token_enabled', 'Unknown field.'],
  ])('400 for %j, and nothing of the update is written', async (body, field, message) => {
    const res = await request(t.app)
      .post('/api/jwt/settings')
      .set(await as(owner))
      .send({ legacy_api_tokens_enabled: true, ...body });
    expect(res.status).toBe(400);
    expect(res.body.validation_errors).toEqual({ [field]: [message] });
    expect(
      (
        await request(t.app)
          .get('/api/jwt/settings')
          .set(await as(owner))
      ).body,
    ).toEqual(DEFAULTS);
  });

  it('takes effect on the very next request, and switching back revives the same tokens', async () => {
    const pat = await createPat(t, manager);
    const access = await refreshAccess(t, pat.token);
    const headers = await as(owner);
    await request(t.app).post('/api/jwt/settings').set(headers).send({ api_tokens_enabled: false }).expect(200);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).body.code).toBe(
      'token_type_disabled',
    );
    await request(t.app).post('/api/jwt/settings').set(headers).send({ api_tokens_enabled: 'true' }).expect(200);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).status).toBe(200);
  });

  it('access_token_ttl_seconds applies to the next refresh; api_token_ttl_days bounds new PATs only', async () => {
    const pat = await createPat(t, manager, { expires_in_days: 365 });
    const headers = await as(owner);
    await request(t.app)
      .post('/api/jwt/settings')
      .set(headers)
      .send({ access_token_ttl_seconds: 60, api_token_ttl_days: 30 })
      .expect(200);
    try {
      const access = await refreshAccess(t, pat.token);
      const payload = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString());
      expect(payload.exp - payload.iat).toBe(60);
      // The year-long PAT made before the change still refreshes: lowering the bound does not cut it.
      expect(
        (
          await request(t.app)
            .post('/api/token')
            .set(await as(manager))
            .send({ expires_in_days: 31 })
        ).status,
      ).toBe(400);
    } finally {
      await request(t.app)
        .post('/api/jwt/settings')
        .set(headers)
        .send({ access_token_ttl_seconds: 300, api_token_ttl_days: 73_000 })
        .expect(200);
    }
  });
});

describe('LATCHKEY_DEFAULT_ORG_SETTINGS', () => {
  it('overrides the defaults for new organizations', () => {
    const config = loadConfig({
      LATCHKEY_DEFAULT_ORG_SETTINGS: '{"legacy_api_tokens_enabled": true, "access_token_ttl_seconds": 900}',
    });
    expect(config.defaultOrgSettings).toEqual({
      ...DEFAULTS,
      legacy_api_tokens_enabled: true,
      access_token_ttl_seconds: 900,
    });
  });

  it.each([
    ['{', 'LATCHKEY_DEFAULT_ORG_SETTINGS: is not valid JSON'],
    [
      '{"legacy_api_tokens_enabled": "maybe"}',
      'LATCHKEY_DEFAULT_ORG_SETTINGS: legacy_api_tokens_enabled: Must be a valid boolean.',
    ],
    ['{"ttl": 5}', 'LATCHKEY_DEFAULT_ORG_SETTINGS: ttl: Unknown field.'],
  ])('refuses %s', (raw, message) => {
    expect(() => loadConfig({ LATCHKEY_DEFAULT_ORG_SETTINGS: raw })).toThrow(message);
  });

  it('applies to organizations created over HTTP', async () => {
    const withDefaults = await startTestApp({
      env: { LATCHKEY_DEFAULT_ORG_SETTINGS: '{"legacy_api_tokens_enabled": true}' },
    });
    try {
      const member = await createMember(withDefaults);
      const headers = bearer(await loginAccess(withDefaults, member));
      const created = await request(withDefaults.app)
        .post('/api/organizations')
        .set(headers)
        .send({ title: 'On-prem' });
      expect(created.status).toBe(201);
      const org = await withDefaults.database.prisma.organization.findUniqueOrThrow({ where: { id: created.body.id } });
      expect(org.legacyApiTokensEnabled).toBe(true);
    } finally {
      await withDefaults.close();
    }
  });
});

describe('npx latchkey settings', () => {
  const env = () => ({ DATABASE_URL: t.db.url, LATCHKEY_SECRET_KEY: t.config.secretKey! });

  it(
    'get prints the settings; set changes them with the same validation and audits it',
    async () => {
      const got = await runCli(['settings', 'get', '--org', String(owner.organizationId)], env());
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout)).toEqual(DEFAULTS);
      const set = await runCli(
        [
          'settings',
          'set',
          '--org',
          String(owner.organizationId),
          'legacy_api_tokens_enabled=true',
          'access_token_ttl_seconds=120',
        ],
        env(),
      );
      expect(set.code).toBe(0);
      expect(JSON.parse(set.stdout)).toEqual({
        ...DEFAULTS,
        legacy_api_tokens_enabled: true,
        access_token_ttl_seconds: 120,
      });
      const event = await t.database.prisma.auditEvent.findFirstOrThrow({
        where: { action: 'settings.updated' },
        orderBy: { id: 'desc' },
      });
      expect(event).toMatchObject({
        actorUserId: null,
        details: { via: 'cli', old: { legacy_api_tokens_enabled: false, access_token_ttl_seconds: 300 } },
      });
      await runCli(
        [
          'settings',
          'set',
          '--org',
          String(owner.organizationId),
          'legacy_api_tokens_enabled=false',
          'access_token_ttl_seconds=300',
        ],
        env(),
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'refuses bad values and unknown organizations',
    async () => {
      const bad = await runCli(
        ['settings', 'set', '--org', String(owner.organizationId), 'api_tokens_enabled=maybe'],
        env(),
      );
      expect(bad.code).toBe(64);
      expect(bad.stderr).toContain('api_tokens_enabled: Must be a valid boolean.');
      const missing = await runCli(['settings', 'get', '--org', '999999'], env());
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no organization 999999');
      expect((await runCli(['settings', 'set', '--org', String(owner.organizationId), 'novalue'], env())).code).toBe(
        64,
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
