/**
 * First run: `GET` and `POST /api/setup`, and the line the server logs at start-up while no user
 * exists. Each test that creates the first owner has a database of its own: once a user exists,
 * setup is closed for good.
 */
import request from 'supertest';
import { Tagger } from '../../src/secrets';
import { startServer } from '../../src/server';
import { setupCode } from '../../src/setup/setup.service';
import { captureLogs, startTestApp, testConfig, type TestApp } from '../support/app';
import { itWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase } from '../support/db';
import { createMember, decodeJwt } from '../support/factories';

const PASSWORD = 'first owner password';

/** A valid body for `t` (its setup code), with `overrides`. */
const body = (t: TestApp, overrides: Record<string, unknown> = {}) => ({
  setup_code: setupCode(t.tags),
  email: 'Founder@Example.com',
  password: PASSWORD,
  ...overrides,
});
const setUp = (t: TestApp, payload: object) => request(t.app).post('/api/setup').send(payload);
const firstOwnerNeeded = async (t: TestApp) => (await request(t.app).get('/api/setup')).body.first_owner_needed;

function cookies(res: request.Response): Record<string, string> {
  const set = (res.headers['set-cookie'] ?? []) as unknown as string[];
  return Object.fromEntries(set.map((line) => line.split(';')[0]!.split('=') as [string, string]));
}

/** Runs `fn` against an app on a database of its own, with no user. */
async function withFreshApp(fn: (t: TestApp) => Promise<void>): Promise<void> {
  const t = await startTestApp();
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

describe('before the first owner', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('GET says the first owner is needed, and is never cached', async () => {
    const res = await request(t.app).get('/api/setup/');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ first_owner_needed: true });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a wrong setup code with 403 and creates nothing', async () => {
    for (const code of ['wrong', setupCode(new Tagger('another key')), `${setupCode(t.tags)}x`]) {
      const res = await setUp(t, body(t, { setup_code: code }));
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'permission_denied' });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(await t.database.prisma.user.count()).toBe(0);
    expect(await firstOwnerNeeded(t)).toBe(true);
  });

  it.each([
    ['email', { email: undefined }, 'This field is required.'],
    ['email', { email: 'not an email' }, 'Enter a valid email address.'],
    ['password', { password: undefined }, 'This field is required.'],
    ['password', { password: 'short' }, 'Ensure this field has at least 8 characters.'],
    ['setup_code', { setup_code: undefined }, 'This field is required.'],
    ['setup_code', { setup_code: '' }, 'This field may not be blank.'],
    ['organization', { organization: '' }, 'This field may not be blank.'],
    ['first_name', { first_name: 'x'.repeat(151) }, 'Ensure this field has no more than 150 characters.'],
    ['first_name', { first_name: 7 }, 'Not a valid string.'],
  ])('400 for a bad %s: %j', async (field, overrides, message) => {
    const res = await setUp(t, body(t, overrides));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_error');
    expect(res.body.validation_errors).toEqual({ [field]: [message] });
  });

  it('derives the code from the secret key: the same for every instance with that key, another for another key', () => {
    const code = setupCode(t.tags);
    expect(code).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(setupCode(new Tagger(t.config.secretKey!))).toBe(code);
    expect(setupCode(new Tagger(`${t.config.secretKey}.`))).not.toBe(code);
  });
});

describe('POST /api/setup', () => {
  it('creates the owner of a new organization and signs them in exactly as login does; then setup is closed', async () => {
    await withFreshApp(async (t) => {
      const res = await setUp(t, body(t, { first_name: 'Ada', last_name: 'Lovelace', organization: 'Analytical' }));
      expect(res.status).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Object.keys(res.body)).toEqual(['access']);
      const set = (res.headers['set-cookie'] as unknown as string[]).join('\n');
      expect(set).toMatch(
        /latchkey_session=[0-9a-f]{32}\.[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax/,
      );
      expect(set).toMatch(/csrftoken=[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/; Expires=[^;]+; SameSite=Lax/);

      const user = await t.database.prisma.user.findUniqueOrThrow({
        where: { email: 'founder@example.com' },
        include: { memberships: { include: { organization: true } } },
      });
      expect(user).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', isActive: true });
      expect(user.memberships).toEqual([
        expect.objectContaining({
          role: 'owner',
          status: 'active',
          organization: expect.objectContaining({ title: 'Analytical' }),
        }),
      ]);
      expect(user.activeOrganizationId).toBe(user.memberships[0]!.organizationId);
      expect(decodeJwt(res.body.access).payload).toMatchObject({
        user_id: String(user.id),
        org_id: user.activeOrganizationId,
        role: 'owner',
        sid: expect.stringMatching(/^[0-9a-f]{32}$/),
      });

      // The session works as a login's does: the cookie, and the CSRF header on a write.
      const jar = cookies(res);
      const cookie = `latchkey_session=${jar.latchkey_session}; csrftoken=${jar.csrftoken}`;
      const whoami = await request(t.app).get('/api/current-user/whoami').set('Cookie', cookie);
      expect(whoami.body).toMatchObject({ email: 'founder@example.com' });
      const pat = await request(t.app)
        .post('/api/token/')
        .set('Cookie', cookie)
        .set('X-CSRFToken', jar.csrftoken!)
        .send({ name: 'first' });
      expect(pat.status).toBe(201);
      // And the password logs in.
      const login = await request(t.app)
        .post('/api/auth/login')
        .send({ email: 'founder@example.com', password: PASSWORD });
      expect(login.status).toBe(200);

      const actions = await t.database.prisma.auditEvent.findMany({
        where: { organizationId: user.activeOrganizationId },
        orderBy: { id: 'asc' },
      });
      expect(actions.slice(0, 2)).toEqual([
        expect.objectContaining({ action: 'organization.created', details: { owner_user_id: user.id, via: 'setup' } }),
        expect.objectContaining({ action: 'session.created', actorUserId: user.id }),
      ]);

      expect(await firstOwnerNeeded(t)).toBe(false);
      const again = await setUp(t, body(t, { email: 'second@example.com' }));
      expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'already_set_up' });
      expect(again.headers['set-cookie']).toBeUndefined();
      // Closed whatever is sent, a wrong code included.
      expect((await setUp(t, body(t, { setup_code: 'wrong' }))).status).toBe(409);
      expect(await t.database.prisma.user.count()).toBe(1);
    });
  });

  it('names the organization “My organization” unless told', async () => {
    await withFreshApp(async (t) => {
      expect((await setUp(t, body(t))).status).toBe(201);
      expect((await t.database.prisma.organization.findFirstOrThrow()).title).toBe('My organization');
    });
  });

  it('is closed (409) once any user exists, however it came to be', async () => {
    await withFreshApp(async (t) => {
      await createMember(t);
      expect(await firstOwnerNeeded(t)).toBe(false);
      const res = await setUp(t, body(t));
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'already_set_up' });
    });
  });

  itWithConcurrentConnections('of two calls at once, exactly one creates the owner; the other is 409', async () => {
    await withFreshApp(async (t) => {
      const answers = await Promise.all([
        setUp(t, body(t, { email: 'one@example.com' })),
        setUp(t, body(t, { email: 'two@example.com' })),
      ]);
      expect(answers.map((res) => res.status).sort()).toEqual([201, 409]);
      expect(answers.find((res) => res.status === 409)!.body.code).toBe('already_set_up');
      expect(await t.database.prisma.user.count()).toBe(1);
      expect(await t.database.prisma.organization.count()).toBe(1);
    });
  });
});

describe('the start-up notice', () => {
  it('while no user exists, logs where to create the first owner (the issuer’s /login#setup=<code>), and that link works; not once one exists', async () => {
    const db = await createTestDatabase({ migrated: false });
    const config = testConfig({
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LATCHKEY_DB_POOL_SIZE: String(db.poolSize),
      LATCHKEY_ISSUER: 'https://keys.example.com/',
    });
    const notices = (logs: ReturnType<typeof captureLogs>) =>
      logs.lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((l) => l.msg.startsWith('No user yet'));
    try {
      const logs = captureLogs();
      const server = await startServer(config, logs.logger);
      try {
        await server.ready;
        const [notice, ...more] = notices(logs);
        expect(more).toEqual([]);
        expect(notice!.level).toBe(30); // info
        const code = setupCode(new Tagger(config.secretKey!));
        expect(notice!.msg).toBe(
          `No user yet: create the first owner at https://keys.example.com/login#setup=${code} or run: npx latchkey create-admin --email you@example.com`, // external Postgres: the command may run beside the server
        );
        const res = await fetch(`${server.url}/api/setup`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ setup_code: code, email: 'founder@example.com', password: PASSWORD }),
        });
        expect(res.status).toBe(201);
      } finally {
        await server.stop();
      }
      const again = captureLogs();
      const restarted = await startServer(config, again.logger);
      try {
        await restarted.ready;
        expect(notices(again)).toEqual([]);
      } finally {
        await restarted.stop();
      }
    } finally {
      await db.drop();
    }
  });
});
