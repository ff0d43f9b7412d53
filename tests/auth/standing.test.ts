/**
 * "Who may use this token" is one rule (standing() in src/auth/principal.ts), and every path
 * that accepts a credential obeys it alike: after a demotion each answers with the new role,
 * after a deactivation each refuses. One table, every path.
 */
import request from 'supertest';
import type { Role } from '../../src/generated/prisma/client';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
  loginAccess,
  PASSWORD,
  refreshAccess,
  type Member,
} from '../support/factories';

let t: TestApp;
let admin: Member;

beforeAll(async () => {
  t = await startTestApp();
  admin = await createMember(t, { role: 'owner' });
  await t.database.prisma.organization.update({
    where: { id: admin.organizationId },
    data: { legacyApiTokensEnabled: true },
  });
  await t.state.sync();
});
afterAll(() => t.close());

/** Every credential a member can hold, obtained over HTTP, each already used once (warm). */
async function credentials(member: Member) {
  const pat = await createPat(t, member);
  const access = await refreshAccess(t, pat.token);
  const login = await request(t.app).post('/api/auth/login').send({ email: member.email, password: PASSWORD });
  const session = ((login.headers['set-cookie'] ?? []) as unknown as string[])
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('latchkey_session='))!;
  const legacy = (await request(t.app).post('/api/current-user/reset-token').set(bearer(access))).body.token as string;
  return { pat, access, loginAccess: login.body.access as string, session, legacy };
}
type Credentials = Awaited<ReturnType<typeof credentials>>;

/** What each path says the member may do now: a role, or a refusal. */
type Outcome = { role: Role } | { refused: number };
const whoamiWith = async (headers: Record<string, string>): Promise<Outcome> => {
  const res = await request(t.app).get('/api/current-user/whoami').set(headers);
  return res.status === 200 ? { role: res.body.role } : { refused: res.status };
};
const introspect = async (token: string): Promise<Outcome> => {
  const res = await request(t.app)
    .post('/api/token/introspect')
    .set(bearer(await loginAccess(t, admin)))
    .send({ token });
  return res.body.active ? { role: res.body.role } : { refused: res.status };
};

const PATHS: [string, (c: Credentials) => Promise<Outcome>][] = [
  ['Bearer (PAT access token)', (c) => whoamiWith(bearer(c.access))],
  ['X-Api-Key (PAT access token)', (c) => whoamiWith({ 'X-Api-Key': c.access })],
  ['Bearer (login access token)', (c) => whoamiWith(bearer(c.loginAccess))],
  ['session cookie', (c) => whoamiWith({ Cookie: c.session })],
  ['Token (legacy)', (c) => whoamiWith({ Authorization: `Token ${c.legacy}` })],
  ['X-Api-Key (legacy)', (c) => whoamiWith({ 'X-Api-Key': c.legacy })],
  [
    'refresh',
    async (c) => {
      const res = await request(t.app).post('/api/token/refresh').send({ refresh: c.pat.token });
      return res.status === 200 ? { role: decodeJwt(res.body.access).payload.role as Role } : { refused: res.status };
    },
  ],
  [
    'OAuth refresh grant',
    async (c) => {
      const res = await request(t.app)
        .post('/oauth/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: c.pat.token });
      return res.status === 200
        ? { role: decodeJwt(res.body.access_token).payload.role as Role }
        : { refused: res.status };
    },
  ],
  [
    'rotate (by an administrator)',
    async (c) => {
      const res = await request(t.app)
        .post('/api/token/rotate')
        .set(bearer(await loginAccess(t, admin)))
        .send({ refresh: c.pat.token });
      if (res.status !== 200) return { refused: res.status };
      c.pat = { token: res.body.refresh as string, id: c.pat.id }; // the next paths use the live successor
      const row = await t.database.prisma.personalAccessToken.findUniqueOrThrow({
        where: { jti: decodeJwt(res.body.refresh).payload.jti as string },
      });
      return { role: row.role };
    },
  ],
  ['introspection of the PAT', (c) => introspect(c.pat.token)],
  ['introspection of an access token', (c) => introspect(c.access)],
  ['introspection of the legacy token', (c) => introspect(c.legacy)],
  [
    'forward-auth',
    async (c) => {
      const res = await request(t.app).get('/api/auth/verify').set(bearer(c.access));
      return res.status === 200 ? { role: res.headers['x-auth-role'] as Role } : { refused: res.status };
    },
  ],
];

describe.each(PATHS)('%s', (_name, use) => {
  it('answers with the lower role at once after a demotion, and refuses once the user is deactivated', async () => {
    const member = await createMember(t, { organizationId: admin.organizationId, role: 'manager' });
    const c = await credentials(member);
    expect(await use(c)).toEqual({ role: 'manager' });

    await t.database.prisma.membership.update({
      where: { userId_organizationId: { userId: member.userId, organizationId: admin.organizationId } },
      data: { role: 'annotator' },
    });
    await t.state.sync();
    expect(await use(c)).toEqual({ role: 'annotator' });

    await t.database.prisma.user.update({ where: { id: member.userId }, data: { isActive: false } });
    await t.state.sync();
    expect(await use(c)).toEqual({ refused: expect.any(Number) });
  });
});

describe.each(PATHS)('%s, through a pending membership', (_name, use) => {
  it('refuses while a removed member is only invited back (pending), and answers with the invited role once they accept', async () => {
    const member = await createMember(t, { organizationId: admin.organizationId, role: 'manager' });
    const c = await credentials(member);
    expect(await use(c)).toEqual({ role: 'manager' });

    const adminLogin = bearer(await loginAccess(t, admin));
    await request(t.app)
      .delete(`/api/organizations/${admin.organizationId}/memberships/${member.userId}`)
      .set(adminLogin)
      .expect(204);
    const invited = await request(t.app)
      .post(`/api/organizations/${admin.organizationId}/memberships`)
      .set(adminLogin)
      .send({ email: member.email, role: 'reviewer' });
    expect(invited.body).toMatchObject({ status: 'pending', role: 'reviewer' });
    expect(await use(c)).toEqual({ refused: expect.any(Number) });

    // The invitee accepts with a credential of their own organization (the pending one binds none).
    const elsewhere = await createMember(t, { email: member.email, role: 'owner' });
    const own = bearer(await loginAccess(t, elsewhere));
    await request(t.app).post(`/api/organizations/${admin.organizationId}/memberships/accept`).set(own).expect(200);
    expect(await use(c)).toEqual({ role: 'reviewer' });
  });
});
