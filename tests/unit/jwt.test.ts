/**
 * The JWT checks of src/tokens/jwt.ts, in their order (shape → signature → type → iss/aud →
 * claims → times), each with its own code, under a frozen clock. The keys are generated here;
 * tokens the signer would never make are signed with jose, independently of our signer.
 */
import { CompactSign } from 'jose';
import type { KeyRing } from '../../src/keys/keyring';
import { generateKeyMaterial, type KeyMaterial } from '../../src/keys/key-material';
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from '../../src/limits';
import {
  decodeUnverified,
  looksLikeJwt,
  sign,
  verifyAccess,
  verifyPat,
  type AccessClaims,
  type PatClaims,
  type VerifyOptions,
} from '../../src/tokens/jwt';
import { frozenClock } from '../support/clock';

const ISSUER = 'https://latchkey.test';
const LEEWAY = 30;

let key: KeyMaterial;
let other: KeyMaterial;
beforeAll(async () => {
  key = await generateKeyMaterial('ES256');
  other = await generateKeyMaterial('ES256');
});

/**
 * The key ring as jwt.ts uses it (`verifier`, `recall`, `remember`), over keys held here. It
 * remembers nothing, so every call checks the signature. (A real KeyRing opens only from the
 * database.)
 */
const ringOf = (...keys: KeyMaterial[]) =>
  ({
    verifier: (kid: string) =>
      Promise.resolve(keys.filter((k) => k.kid === kid).map((k) => ({ kid: k.kid, alg: k.alg, key: k.verifyKey }))[0]),
    recall: () => undefined,
    remember: () => undefined,
  }) as unknown as KeyRing;

const clock = frozenClock();
const NOW = Math.floor(clock() / 1000);
const options = (at = NOW): VerifyOptions => ({
  keys: ringOf(key),
  issuer: ISSUER,
  audience: ISSUER,
  leewaySeconds: LEEWAY,
  now: at,
});

const JTI = 'a'.repeat(32);
const pat = (claims: Partial<PatClaims> = {}): PatClaims => ({
  token_type: 'refresh',
  iat: NOW,
  exp: NOW + 86_400,
  jti: JTI,
  user_id: '7',
  org_id: 3,
  iss: ISSUER,
  ...claims,
});
const access = (claims: Partial<AccessClaims> = {}): AccessClaims => ({
  token_type: 'access',
  iat: NOW,
  exp: NOW + 300,
  jti: 'b'.repeat(32),
  iss: ISSUER,
  aud: ISSUER,
  sub: '7',
  user_id: '7',
  org_id: 3,
  role: 'manager',
  pat: JTI,
  ...claims,
});

const signed = (claims: PatClaims | AccessClaims, by = key) =>
  sign({ kid: by.kid, alg: by.alg, key: by.signKey }, claims);

/** Any header and payload, signed by jose (so also tokens our signer refuses to make). */
const forged = (header: Record<string, unknown>, payload: object, by = key) =>
  new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader({ alg: by.alg, kid: by.kid, ...header })
    .sign(by.signKey);

const refusal = (code: string) => ({ status: 401, code });

describe('access tokens', () => {
  it('verify from issue until exp+leeway, and are token_expired from exp+leeway on', async () => {
    const token = signed(access());
    const exp = NOW + 300;
    await expect(verifyAccess(token, options(NOW))).resolves.toMatchObject({
      kind: 'access',
      claims: { role: 'manager' },
    });
    await expect(verifyAccess(token, options(exp + LEEWAY - 1))).resolves.toMatchObject({ kind: 'access' });
    await expect(verifyAccess(token, options(exp + LEEWAY))).rejects.toMatchObject(refusal('token_expired'));
  });

  it('honour nbf up to the leeway', async () => {
    const token = (nbf: unknown) => forged({ typ: 'at+jwt' }, { ...access(), nbf });
    await expect(verifyAccess(await token(NOW + LEEWAY), options())).resolves.toMatchObject({ kind: 'access' });
    await expect(verifyAccess(await token(NOW + LEEWAY + 1), options())).rejects.toMatchObject(
      refusal('token_invalid'),
    );
    await expect(verifyAccess(await token('soon'), options())).rejects.toMatchObject(refusal('token_invalid'));
  });

  it('are token_wrong_type with the wrong typ or token_type; a PAT is reported as one', async () => {
    await expect(verifyAccess(await forged({ typ: 'JWT' }, access()), options())).rejects.toMatchObject(
      refusal('token_wrong_type'),
    );
    await expect(verifyAccess(await forged({}, access()), options())).rejects.toMatchObject(
      refusal('token_wrong_type'),
    );
    await expect(verifyAccess(await forged({ typ: 'at+jwt' }, pat()), options())).rejects.toMatchObject(
      refusal('token_wrong_type'),
    );
    await expect(verifyAccess(signed(pat()), options())).resolves.toEqual({ kind: 'pat' });
  });

  it('are token_invalid for another issuer or audience, a missing claim, or both or neither of pat and sid', async () => {
    for (const claims of [
      { iss: 'https://elsewhere.test' },
      { aud: 'https://elsewhere.test' },
      { jti: '' },
      { role: undefined },
      { org_id: 1.5 },
      { sid: 'c'.repeat(32) },
      { pat: undefined },
    ] as Partial<AccessClaims>[])
      await expect(verifyAccess(signed(access(claims)), options())).rejects.toMatchObject(refusal('token_invalid'));
    await expect(
      verifyAccess(signed(access({ pat: undefined, sid: 'c'.repeat(32) })), options()),
    ).resolves.toMatchObject({ kind: 'access' });
  });

  it('are token_invalid when issued in the future or living longer than any organization allows', async () => {
    const future = access({ iat: NOW + LEEWAY + 1, exp: NOW + LEEWAY + 301 });
    await expect(verifyAccess(signed(future), options())).rejects.toMatchObject(refusal('token_invalid'));
    const long = (seconds: number) => signed(access({ exp: NOW + seconds }));
    await expect(verifyAccess(long(MAX_ACCESS_TOKEN_TTL_SECONDS + LEEWAY), options())).resolves.toMatchObject({
      kind: 'access',
    });
    await expect(verifyAccess(long(MAX_ACCESS_TOKEN_TTL_SECONDS + LEEWAY + 1), options())).rejects.toMatchObject(
      refusal('token_invalid'),
    );
  });
});

describe('PATs', () => {
  it('verify until exp+leeway; revocation may skip the expiry check', async () => {
    const token = signed(pat({ exp: NOW + 60 }));
    await expect(verifyPat(token, options(NOW + 60 + LEEWAY - 1))).resolves.toMatchObject({ jti: JTI });
    await expect(verifyPat(token, options(NOW + 60 + LEEWAY))).rejects.toMatchObject(refusal('token_expired'));
    await expect(verifyPat(token, options(NOW + 86_400), { checkExpiry: false })).resolves.toMatchObject({ jti: JTI });
  });

  it('are token_wrong_type for an access token, token_invalid with an aud, another issuer or a bad jti', async () => {
    await expect(verifyPat(signed(access()), options())).rejects.toMatchObject(refusal('token_wrong_type'));
    for (const payload of [
      { ...pat(), aud: ISSUER },
      pat({ iss: 'https://elsewhere.test' }),
      pat({ jti: 'A'.repeat(32) }),
      pat({ user_id: 7 as unknown as string }),
    ])
      await expect(verifyPat(await forged({ typ: 'JWT' }, payload), options())).rejects.toMatchObject(
        refusal('token_invalid'),
      );
  });
});

describe('shape and signature', () => {
  it('token_malformed for anything that is not a compact JWS with alg and kid', async () => {
    const good = signed(access());
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const noKid = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt' })).toString('base64url');
    for (const token of [
      undefined,
      42,
      '',
      'abc',
      `${header}.${payload}`,
      `${good}.${signature}`,
      `${header}.${payload}.${signature}=`,
      `${header}.${payload}.sig+nature`,
      `${noKid}.${payload}.${signature}`,
      `${Buffer.from('[1]').toString('base64url')}.${payload}.${signature}`,
      `${header}.${'A'.repeat(9000)}.${signature}`,
    ]) {
      await expect(verifyAccess(token, options())).rejects.toMatchObject(refusal('token_malformed'));
      await expect(verifyPat(token, options())).rejects.toMatchObject(refusal('token_malformed'));
    }
  });

  it('token_invalid for a changed payload, an unknown kid, another key, or an algorithm the key does not pin', async () => {
    const [header, , signature] = signed(access()).split('.') as [string, string, string];
    const changed = Buffer.from(JSON.stringify(access({ role: 'owner' }))).toString('base64url');
    await expect(verifyAccess(`${header}.${changed}.${signature}`, options())).rejects.toMatchObject(
      refusal('token_invalid'),
    );
    await expect(verifyAccess(signed(access(), other), options())).rejects.toMatchObject(refusal('token_invalid'));
    const impostor = await forged({ typ: 'at+jwt', kid: key.kid }, { ...access() }, other);
    await expect(verifyAccess(impostor, options())).rejects.toMatchObject(refusal('token_invalid'));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: key.kid })).toString('base64url')}.${changed}.${signature}`;
    await expect(verifyAccess(none, options())).rejects.toMatchObject(refusal('token_invalid'));
  });

  it('checks in order: signature before type, type before issuer, issuer before expiry', async () => {
    const late = options(NOW + 86_400);
    // Each token fails two checks; the earlier one names the refusal.
    await expect(verifyAccess(signed(pat({ iss: 'x' }), other), late)).rejects.toMatchObject(refusal('token_invalid'));
    await expect(verifyAccess(await forged({ typ: 'JWT' }, access({ iss: 'x' })), late)).rejects.toMatchObject(
      refusal('token_wrong_type'),
    );
    await expect(verifyAccess(signed(access({ iss: 'x' })), late)).rejects.toMatchObject(refusal('token_invalid'));
    await expect(verifyAccess(signed(access()), late)).rejects.toMatchObject(refusal('token_expired'));
  });

  it('looksLikeJwt and decodeUnverified read the form only', () => {
    const token = signed(access());
    expect(looksLikeJwt(token)).toBe(true);
    expect(looksLikeJwt('lkt_abc')).toBe(false);
    expect(decodeUnverified(token)).toMatchObject({ header: { typ: 'at+jwt', kid: key.kid }, payload: { sub: '7' } });
    expect(decodeUnverified(token.split('.').slice(0, 2).join('.'), 2)).toMatchObject({ payload: { sub: '7' } });
    expect(decodeUnverified('a.b.c')).toBeUndefined();
  });
});
