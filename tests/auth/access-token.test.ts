/** An access token on a protected route: what is accepted and every way it is refused. */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
  loginAccess,
  refreshAccess,
  withOrganization,
  type Member,
} from '../support/factories';
import { resign, tamper } from '../support/forge';

let t: TestApp;
let alice: Member;
let pat: { token: string; id: number };
let access: string;

beforeAll(async () => {
  t = await startTestApp();
  alice = await createMember(t, { role: 'administrator' });
  pat = await createPat(t, alice);
  access = await refreshAccess(t, pat.token);
});
afterAll(() => t.close());

const whoami = (headers: Record<string, string>) => request(t.app).get('/api/current-user/whoami').set(headers);

async function expectRefused(headers: Record<string, string>, code: string) {
  const res = await whoami(headers);
  expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code });
  expect(res.headers['www-authenticate']).toBe(
    `Bearer realm="latchkey", error="invalid_token", error_description="${res.body.detail}"`,
  );
}

describe('access tokens on a protected route', () => {
  it('is honoured up to exp plus the leeway, then refused as expired', async () => {
    const exp = decodeJwt(access).payload.exp as number;
    const start = t.clock();
    try {
      t.clock.set((exp + 29) * 1000);
      expect((await whoami(bearer(access))).status).toBe(200);
      t.clock.set((exp + 30) * 1000);
      await expectRefused(bearer(access), 'token_expired');
    } finally {
      t.clock.set(start);
    }
  });

  it('refuses a wrong audience or issuer, and a missing audience', async () => {
    await expectRefused(
      bearer(await resign(t, access, { payload: { aud: 'https://other.example' } })),
      'token_invalid',
    );
    await expectRefused(
      bearer(await resign(t, access, { payload: { iss: 'https://other.example' } })),
      'token_invalid',
    );
    await expectRefused(bearer(await resign(t, access, { payload: { aud: undefined } })), 'token_invalid');
  });

  it('refuses, though signed with our key, what Latchkey never issues: a future iat, a future nbf, a lifetime past the longest TTL', async () => {
    const { iat } = decodeJwt(access).payload as { iat: number };
    const leeway = t.config.jwt.leewaySeconds;
    await expectRefused(
      bearer(await resign(t, access, { payload: { iat: iat + leeway + 60, exp: iat + leeway + 360 } })),
      'token_invalid',
    );
    await expectRefused(bearer(await resign(t, access, { payload: { nbf: iat + leeway + 60 } })), 'token_invalid');
    await expectRefused(
      bearer(await resign(t, access, { payload: { exp: iat + 3600 + leeway + 1 } })),
      'token_invalid',
    );
    expect((await whoami(bearer(await resign(t, access, { payload: { exp: iat + 3600 } })))).status).toBe(200);
  });

  it('signs canonically: every ES256 signature has the low s, so no token has a malleated twin of ours', async () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const { token } = await createPat(t, alice);
    const tokens = [token, ...(await Promise.all(Array.from({ length: 30 }, () => refreshAccess(t, token))))];
    for (const jws of tokens) {
      const s = BigInt(`0x${Buffer.from(jws.split('.')[2]!, 'base64url').subarray(32).toString('hex')}`);
      expect(s <= n / 2n).toBe(true);
    }
    expect((await whoami(bearer(tokens[1]!))).status).toBe(200);
  });

  it("refuses a login access token whose organization is not its session's", async () => {
    const other = await createMember(t, { email: alice.email, role: 'owner' });
    const login = await loginAccess(t, alice);
    await expectRefused(bearer(await resign(t, login, { payload: { org_id: other.organizationId } })), 'session_ended');
  });

  it('refuses tampered claims (a raised role, another user)', async () => {
    await expectRefused(bearer(tamper(access, { role: 'owner' })), 'token_invalid');
    await expectRefused(bearer(tamper(access, { user_id: String(alice.userId + 1000) })), 'token_invalid');
  });

  it('refuses a token with the access type on only one side', async () => {
    await expectRefused(bearer(await resign(t, access, { header: { typ: 'JWT' } })), 'token_wrong_type');
    await expectRefused(
      bearer(await resign(t, access, { payload: { token_type: 'refresh' }, header: { typ: 'at+jwt' } })),
      'token_wrong_type',
    );
  });

  it('refuses malformed Authorization headers', async () => {
    await expectRefused({ Authorization: 'Bearer' }, 'token_malformed');
    await expectRefused({ Authorization: `Bearer ${access} extra` }, 'token_malformed');
    await expectRefused({ Authorization: 'Bearer not-a-jwt' }, 'token_malformed');
  });

  it('answers a legacy-looking X-Api-Key or Token scheme with the Token challenge', async () => {
    for (const headers of [{ 'X-Api-Key': 'abc123' }, { Authorization: 'Token abc123' }] as Record<string, string>[]) {
      const res = await whoami(headers);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Token realm="latchkey"');
      expect(res.body.detail).toBe('Invalid token.');
    }
    const spaced = await whoami({ Authorization: 'Token abc 123' });
    expect(spaced.body.detail).toBe('Invalid token header. Token string should not contain spaces.');
  });

  it('stops at once when its PAT is revoked', async () => {
    const own = await createPat(t, alice);
    const derived = await refreshAccess(t, own.token);
    expect((await whoami(bearer(derived))).status).toBe(200);
    expect((await request(t.app).post('/api/token/blacklist').send({ refresh: own.token })).status).toBe(204);
    await expectRefused(bearer(derived), 'token_blacklisted');
  });

  it('stops while PATs are disabled for the org; a login token keeps working', async () => {
    const login = await loginAccess(t, alice);
    await withOrganization(t, alice.organizationId, { apiTokensEnabled: false }, async () => {
      await expectRefused(bearer(access), 'token_type_disabled');
      await expectRefused({ 'X-Api-Key': access }, 'token_type_disabled');
      expect((await whoami(bearer(login))).status).toBe(200);
    });
    expect((await whoami(bearer(access))).status).toBe(200);
  });

  it('takes the lower of the token role and the current membership role (a demotion applies at once)', async () => {
    const bob = await createMember(t, { organizationId: alice.organizationId, role: 'manager' });
    const bobAccess = await refreshAccess(t, (await createPat(t, bob)).token);
    await t.database.prisma.membership.update({
      where: { userId_organizationId: { userId: bob.userId, organizationId: alice.organizationId } },
      data: { role: 'annotator' },
    });
    await t.state.sync();
    expect((await whoami(bearer(bobAccess))).body.role).toBe('annotator');
  });

  it('stops for a deactivated user, a removed member and a deleted user', async () => {
    const make = async () => {
      const member = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
      return { member, access: await refreshAccess(t, (await createPat(t, member)).token) };
    };
    const inactive = await make();
    await t.database.prisma.user.update({ where: { id: inactive.member.userId }, data: { isActive: false } });
    await t.state.sync();
    await expectRefused(bearer(inactive.access), 'user_inactive');
    const removed = await make();
    await t.database.prisma.membership.delete({
      where: { userId_organizationId: { userId: removed.member.userId, organizationId: alice.organizationId } },
    });
    await t.state.sync();
    await expectRefused(bearer(removed.access), 'not_a_member');
    const deleted = await make();
    await t.database.prisma.user.delete({ where: { id: deleted.member.userId } });
    await t.state.sync();
    await expectRefused(bearer(deleted.access), 'user_not_found');
  });
});
