/** Every way POST /api/token/refresh refuses, each with its own code (contract: PAT table). */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { createMember, createPat, decodeJwt, refreshAccess, type Member } from '../support/factories';
import { resign, tamper, unsecured } from '../support/forge';

let t: TestApp;
let alice: Member;

beforeAll(async () => {
  t = await startTestApp();
  alice = await createMember(t, { role: 'owner' });
});
afterAll(() => t.close());

const refresh = (body: unknown) =>
  request(t.app)
    .post('/api/token/refresh')
    .send(body as object);

async function expectRefused(body: unknown, code: string, detail: string) {
  const res = await refresh(body);
  expect({ status: res.status, code: res.body.code, detail: res.body.detail }).toEqual({ status: 401, code, detail });
  expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="latchkey"/);
  return res;
}

describe('refresh: request validation', () => {
  it.each([
    ['missing', {}, 'This field is required.'],
    ['blank', { refresh: '  ' }, 'This field may not be blank.'],
    ['not a string', { refresh: 42 }, 'Not a valid string.'],
    ['null', { refresh: null }, 'Not a valid string.'],
  ])('400 when refresh is %s', async (_case, body, message) => {
    const res = await refresh(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_error', validation_errors: { refresh: [message] } });
  });
});

describe('refresh: the token itself', () => {
  let pat: string;
  beforeAll(async () => {
    pat = (await createPat(t, alice)).token;
  });

  it('refuses garbage and a two-part token as malformed', async () => {
    await expectRefused({ refresh: 'garbage' }, 'token_malformed', 'Token is invalid');
    await expectRefused({ refresh: pat.split('.').slice(0, 2).join('.') }, 'token_malformed', 'Token is invalid');
    await expectRefused({ refresh: 'a.b.c' }, 'token_malformed', 'Token is invalid');
  });

  it('refuses a bad signature', async () => {
    const [h, p, s] = pat.split('.');
    const flipped = `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectRefused({ refresh: flipped }, 'token_invalid', 'Token is invalid');
  });

  it('refuses tampered claims', async () => {
    await expectRefused({ refresh: tamper(pat, { user_id: '999' }) }, 'token_invalid', 'Token is invalid');
  });

  it('refuses a token signed by another Latchkey instance’s key', async () => {
    const other = await startTestApp();
    try {
      const foreign = await createPat(other, await createMember(other));
      await expectRefused({ refresh: foreign.token }, 'token_invalid', 'Token is invalid');
      // Even naming our kid, a signature by another key fails.
      await expectRefused(
        { refresh: await resign(t, pat, { key: other.keys.signer().key }) },
        'token_invalid',
        'Token is invalid',
      );
    } finally {
      await other.close();
    }
  });

  it('refuses alg "none", with or without a signature', async () => {
    await expectRefused({ refresh: unsecured(pat) }, 'token_malformed', 'Token is invalid');
    await expectRefused({ refresh: unsecured(pat, pat.split('.')[2]) }, 'token_invalid', 'Token is invalid');
  });

  it('refuses HS256 signed with our public key (algorithm confusion)', async () => {
    const jwk = t.keys.jwks().keys[0] as JsonWebKey;
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' });
    for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(jwk))]) {
      await expectRefused(
        { refresh: await resign(t, pat, { header: { alg: 'HS256' }, key: secret }) },
        'token_invalid',
        'Token is invalid',
      );
    }
  });

  it('refuses an access token as having the wrong type', async () => {
    const access = await refreshAccess(t, pat);
    await expectRefused({ refresh: access }, 'token_wrong_type', 'Token has wrong type');
    // Either half of the type alone is not enough.
    await expectRefused(
      { refresh: await resign(t, pat, { header: { typ: 'at+jwt' } }) },
      'token_wrong_type',
      'Token has wrong type',
    );
    await expectRefused(
      { refresh: await resign(t, pat, { payload: { token_type: 'access' } }) },
      'token_wrong_type',
      'Token has wrong type',
    );
  });

  it('refuses a PAT with an audience or another issuer', async () => {
    await expectRefused(
      { refresh: await resign(t, pat, { payload: { aud: t.config.jwt.audience } }) },
      'token_invalid',
      'Token is invalid',
    );
    await expectRefused(
      { refresh: await resign(t, pat, { payload: { iss: 'https://evil.example' } }) },
      'token_invalid',
      'Token is invalid',
    );
  });

  it('refuses an expired PAT, honouring the leeway', async () => {
    const { token } = await createPat(t, alice, { expires_in_days: 1 });
    const exp = decodeJwt(token).payload.exp as number;
    const start = t.clock();
    try {
      t.clock.set((exp + 29) * 1000);
      expect((await refresh({ refresh: token })).status).toBe(200);
      t.clock.set((exp + 30) * 1000);
      await expectRefused({ refresh: token }, 'token_expired', 'Token is expired');
    } finally {
      t.clock.set(start);
    }
  });

  it('refuses a well-signed token whose jti we never issued', async () => {
    await expectRefused(
      { refresh: await resign(t, pat, { payload: { jti: 'f'.repeat(32) } }) },
      'token_invalid',
      'Token is invalid',
    );
  });
});

describe('refresh: state in the database', () => {
  it('refuses a revoked PAT as blacklisted and records the attempt', async () => {
    const { token, id } = await createPat(t, alice);
    expect((await request(t.app).post('/api/token/blacklist/').send({ refresh: token })).status).toBe(204);
    await expectRefused({ refresh: token }, 'token_blacklisted', 'Token is blacklisted');
    const events = await t.database.prisma.auditEvent.findMany({
      where: { targetType: 'pat', targetId: String(id) },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual(['pat.created', 'pat.revoked', 'pat.refused_after_revoke']);
  });

  it('refuses a rotated PAT and revokes its whole family', async () => {
    const first = await createPat(t, alice);
    const access = await refreshAccess(t, first.token);
    const rotated = await request(t.app)
      .post('/api/token/rotate/')
      .set('Authorization', `Bearer ${access}`)
      .send({ refresh: first.token });
    expect(rotated.status).toBe(200);
    const second = rotated.body.refresh as string;
    expect((await refresh({ refresh: second })).status).toBe(200);

    await expectRefused({ refresh: first.token }, 'token_blacklisted', 'Token is blacklisted');
    await expectRefused({ refresh: second }, 'token_blacklisted', 'Token is blacklisted');
    const family = await t.database.prisma.personalAccessToken.findMany({
      where: { familyId: decodeJwt(first.token).payload.jti as string },
      orderBy: { id: 'asc' },
    });
    expect(family.map((p) => p.revokedReason)).toEqual(['rotated', 'reuse']);
    expect(
      await t.database.prisma.auditEvent.count({ where: { action: 'pat.family_revoked', targetId: String(first.id) } }),
    ).toBe(1);
  });

  it('refuses the PAT of a deactivated user', async () => {
    const bob = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    const { token } = await createPat(t, bob);
    await t.database.prisma.user.update({ where: { id: bob.userId }, data: { isActive: false } });
    await t.state.sync();
    await expectRefused({ refresh: token }, 'user_inactive', 'User is inactive');
  });

  it('refuses the PAT of a user removed from the organization', async () => {
    const carol = await createMember(t, { organizationId: alice.organizationId, role: 'reviewer' });
    const { token } = await createPat(t, carol);
    await t.database.prisma.membership.delete({
      where: { userId_organizationId: { userId: carol.userId, organizationId: alice.organizationId } },
    });
    await t.state.sync();
    await expectRefused(
      { refresh: token },
      'not_a_member',
      'User is no longer a member of the organization this token was issued for',
    );
  });

  it('refuses the PAT of a deleted user as invalid (its row went with the user)', async () => {
    const dave = await createMember(t, { organizationId: alice.organizationId, role: 'reviewer' });
    const { token } = await createPat(t, dave);
    await t.database.prisma.user.delete({ where: { id: dave.userId } });
    await t.state.sync();
    await expectRefused({ refresh: token }, 'token_invalid', 'Token is invalid');
  });

  it('refuses while PATs are disabled for the organization, and works again when re-enabled', async () => {
    const erin = await createMember(t, { role: 'owner' });
    const { token } = await createPat(t, erin);
    await t.database.prisma.organization.update({
      where: { id: erin.organizationId },
      data: { apiTokensEnabled: false },
    });
    await t.state.sync();
    await expectRefused(
      { refresh: token },
      'token_type_disabled',
      'Personal access tokens are disabled for this organization.',
    );
    await t.database.prisma.organization.update({
      where: { id: erin.organizationId },
      data: { apiTokensEnabled: true },
    });
    await t.state.sync();
    expect((await refresh({ refresh: token })).status).toBe(200);
  });

  it('uses the organization’s access_token_ttl_seconds', async () => {
    const frank = await createMember(t);
    await t.database.prisma.organization.update({
      where: { id: frank.organizationId },
      data: { accessTokenTtlSeconds: 60 },
    });
    await t.state.sync();
    const { payload } = decodeJwt(await refreshAccess(t, (await createPat(t, frank)).token));
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);
  });
});
