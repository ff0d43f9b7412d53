/** Signing keys: at rest, per algorithm, rotation, retirement, JWKS and discovery. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { KeyRing, rotateSigningKey } from '../../src/keys/keyring';
import { KEY_RETIREMENT_GRACE_SECONDS } from '../../src/limits';
import { SecretBox } from '../../src/keys/secret-box';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, decodeJwt, refreshAccess, type Member } from '../support/factories';

describe('signing keys (ES256 default)', () => {
  let t: TestApp;
  let alice: Member;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await createMember(t);
  });
  afterAll(() => t.close());

  it('stores the private key only encrypted, bound to its kid', async () => {
    const row = await t.database.prisma.signingKey.findUnique({ where: { kid: t.keys.signer().kid } });
    const sealed = Buffer.from(row!.privateKeyEncrypted);
    const pkcs8 = t.keys.signer().key.export({ format: 'der', type: 'pkcs8' });
    expect(sealed.includes(pkcs8.subarray(-32))).toBe(false);
    expect(t.box.open(sealed, `signing key ${row!.kid}`).equals(pkcs8)).toBe(true);
    expect(() =>
      new SecretBox('another secret key of at least 32 chars').open(sealed, `signing key ${row!.kid}`),
    ).toThrow(/LATCHKEY_SECRET_KEY/);
    expect(() => t.box.open(sealed, 'signing key someone-else')).toThrow(/LATCHKEY_SECRET_KEY/);
  });

  it('publishes the public key at /.well-known/jwks.json with cache headers', async () => {
    const res = await request(t.app).get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.body.keys).toEqual([
      {
        kty: 'EC',
        crv: 'P-256',
        x: expect.any(String),
        y: expect.any(String),
        kid: t.keys.signer().kid,
        alg: 'ES256',
        use: 'sig',
      },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/"d"/);
  });

  it('publishes RFC 8414 metadata', async () => {
    const res = await request(t.app).get('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: t.config.issuer,
      jwks_uri: `${t.config.issuer}/.well-known/jwks.json`,
      token_endpoint: `${t.config.issuer}/oauth/token`,
      revocation_endpoint: `${t.config.issuer}/oauth/revoke`,
    });
  });

  it('lets a backend service verify access tokens with createRemoteJWKSet', async () => {
    const server = http.createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const jwks = createRemoteJWKSet(
        new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`),
      );
      const access = await refreshAccess(t, (await createPat(t, alice)).token);
      const { payload, protectedHeader } = await jwtVerify(access, jwks, {
        issuer: t.config.issuer,
        audience: t.config.jwt.audience,
        typ: 'at+jwt',
        currentDate: new Date(t.clock()),
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({
        token_type: 'access',
        user_id: String(alice.userId),
        org_id: alice.organizationId,
      });
      // And a PAT does not pass as an access token there either.
      await expect(
        jwtVerify((await createPat(t, alice)).token, jwks, {
          typ: 'at+jwt',
          audience: t.config.jwt.audience,
          currentDate: new Date(t.clock()),
        }),
      ).rejects.toThrow();
    } finally {
      server.close();
    }
  });

  it('refuses to open keys under another LATCHKEY_SECRET_KEY', async () => {
    await expect(
      KeyRing.open({
        db: t.database.db,
        box: new SecretBox('x'.repeat(40)),
        logger: t.logs.logger,
        alg: 'ES256',
      }),
    ).rejects.toThrow(/LATCHKEY_SECRET_KEY/);
  });
});

/**
 * Rotation changes the signer and the JWKS every other test of an app sees, so each of these
 * tests rotates in an app of its own, which starts with one signing key.
 */
describe('signing key rotation (ES256)', () => {
  let t: TestApp;
  let alice: Member;
  beforeEach(async () => {
    t = await startTestApp();
    alice = await createMember(t);
  });
  afterEach(() => t.close());

  it('rotation keeps old PATs working, signs new tokens with the new key, and lists both in JWKS', async () => {
    const old = await createPat(t, alice);
    const oldKid = t.keys.signer().kid;
    const oldAccess = await refreshAccess(t, old.token);
    const { key } = await rotateSigningKey(t.database.db, t.box, 'ES256', new Date(t.clock()));
    await t.keys.reload();
    expect(t.keys.signer().kid).toBe(key.kid);

    const access = await refreshAccess(t, old.token);
    expect(decodeJwt(access).header.kid).toBe(key.kid);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(oldAccess))).status).toBe(200);
    expect(decodeJwt((await createPat(t, alice)).token).header.kid).toBe(key.kid);
    const kids = (await request(t.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids.sort()).toEqual([oldKid, key.kid].sort());
  });

  it('retires a demoted key only when no live PAT needs it and its access tokens have expired', async () => {
    const member = await createMember(t);
    const pat = await createPat(t, member, { expires_in_days: 1 });
    const kid = t.keys.signer().kid;
    const later = (seconds: number) => new Date(t.clock() + seconds * 1000);
    await rotateSigningKey(t.database.db, t.box, 'ES256', later(0));
    // The PAT signed with `kid` is live for a day: kept.
    let { retired } = await rotateSigningKey(t.database.db, t.box, 'ES256', later(KEY_RETIREMENT_GRACE_SECONDS + 60));
    expect(retired).not.toContain(kid);
    await request(t.app).post('/api/token/blacklist').send({ refresh: pat.token }).expect(204);
    // Every other PAT of `kid`'s era is revoked too, so only the grace remains.
    await t.database.prisma.personalAccessToken.updateMany({
      where: { kid, revokedAt: null },
      data: { revokedAt: new Date(t.clock()), revokedReason: 'revoked' },
    });
    await t.state.sync();
    ({ retired } = await rotateSigningKey(t.database.db, t.box, 'ES256', later(KEY_RETIREMENT_GRACE_SECONDS + 120)));
    expect(retired).toContain(kid);
    await t.keys.reload();
    const kids = (await request(t.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).not.toContain(kid);
  });
});

describe.each([
  ['EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
  ['RS256', { kty: 'RSA', e: 'AQAB' }],
])('LATCHKEY_JWT_ALG=%s', (alg, jwk) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { LATCHKEY_JWT_ALG: alg } });
  });
  afterAll(() => t.close());

  it('signs PATs and access tokens with it and publishes the key', async () => {
    const member = await createMember(t);
    const pat = await createPat(t, member);
    expect(decodeJwt(pat.token).header.alg).toBe(alg);
    const access = await refreshAccess(t, pat.token);
    expect(decodeJwt(access).header.alg).toBe(alg);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).status).toBe(200);
    const { keys } = (await request(t.app).get('/.well-known/jwks.json')).body;
    expect(keys).toEqual([expect.objectContaining({ ...jwk, alg, kid: t.keys.signer().kid, use: 'sig' })]);
  });
});

/** An app per test: switching the algorithm changes the signer the other test would see. */
describe('LATCHKEY_JWT_ALG=HS256', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ env: { LATCHKEY_JWT_ALG: 'HS256' } });
  });
  afterEach(() => t.close());

  it('works end to end and publishes no keys', async () => {
    const member = await createMember(t);
    const access = await refreshAccess(t, (await createPat(t, member)).token);
    expect(decodeJwt(access).header.alg).toBe('HS256');
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).status).toBe(200);
    expect((await request(t.app).get('/.well-known/jwks.json')).body).toEqual({ keys: [] });
  });

  it('switching the configured algorithm makes a new signing key; old tokens keep verifying', async () => {
    const member = await createMember(t);
    const pat = await createPat(t, member);
    const hsAccess = await refreshAccess(t, pat.token);
    const es = await KeyRing.open({ db: t.database.db, box: t.box, logger: t.logs.logger, alg: 'ES256' });
    expect(es.signer().alg).toBe('ES256');
    expect((await es.verifier(decodeJwt(pat.token).header.kid as string))?.alg).toBe('HS256');
    await t.keys.reload();
    expect(decodeJwt(await refreshAccess(t, pat.token)).header.alg).toBe('ES256');
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(hsAccess))).status).toBe(200);
  });
});
