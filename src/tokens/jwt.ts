/**
 * The two JWT kinds and how each is checked. Their rules are mutually exclusive (RFC 8725
 * §3.11–3.12), so neither passes as the other:
 *
 *   PAT (refresh)  header typ "JWT",    token_type "refresh", no aud
 *   access         header typ "at+jwt", token_type "access",  aud = our audience (RFC 9068)
 *
 * Checks run in a fixed order, each failing with its own code: shape → signature (the key
 * `kid` names, under that key's pinned algorithm) → type → iss/aud and the claims' shape → exp
 * (with leeway). jose makes the signature, typ, iss, aud, nbf, exp and iat checks; by hand are
 * only what it cannot know: token_type, the jti and our other claims, and that a PAT has no aud.
 */
import { createHmac, sign as cryptoSign } from 'node:crypto';
import { compactVerify, errors, UnsecuredJWT, type JWTClaimVerificationOptions } from 'jose';
import type { JwtAlgorithm } from '../config';
import { fail } from '../errors';
import type { Role } from '../generated/prisma/client';
import type { KeyRing, Signer } from '../keys/keyring';
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from '../limits';

export interface PatClaims {
  readonly token_type: 'refresh';
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly user_id: string;
  readonly org_id: number;
  readonly iss: string;
}

export interface AccessClaims {
  readonly token_type: 'access';
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly user_id: string;
  readonly org_id: number;
  readonly role: Role;
  /**
   * RFC 9068 §2.2's client: {@link PAT_CLIENT_ID} or {@link LOGIN_CLIENT_ID}. Every token
   * issued carries it; those issued before it was added do not (they are all expired now, an
   * hour at most), so nothing relies on it.
   */
  readonly client_id?: string;
  /** The source PAT's jti (PAT-derived tokens). */
  readonly pat?: string;
  /** The login session's id (login access tokens). */
  readonly sid?: string;
}

export interface JwtHeader {
  readonly alg: JwtAlgorithm;
  readonly typ: 'JWT' | 'at+jwt';
  readonly kid: string;
}

/**
 * The `client_id` (RFC 9068 §2.2) of access tokens refreshed from a PAT. Latchkey registers no
 * clients: whoever holds a PAT is a public client that cannot authenticate, so a client_id it
 * sends says nothing we could check, and every PAT-derived token names this one client.
 */
export const PAT_CLIENT_ID = 'latchkey-pat';
/** The `client_id` of access tokens issued by a password login (`POST /api/auth/login`). */
export const LOGIN_CLIENT_ID = 'latchkey-login';

const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** Far above any token we issue; keeps hostile input cheap to refuse. */
const MAX_TOKEN_LENGTH = 8192;

const encodeSegment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** True when `value` has the form of a JWS compact serialization (used to route X-Api-Key). */
export function looksLikeJwt(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 3 && parts.every((part) => SEGMENT.test(part));
}

export interface Decoded {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/** Decodes `header.payload[.signature]` without verifying anything; undefined if it is not one. */
export function decodeUnverified(token: unknown, parts: 2 | 3 = 3): Decoded | undefined {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
  const segments = token.split('.');
  if (segments.length !== parts || !segments.every((segment) => SEGMENT.test(segment))) return undefined;
  const header = decodeSegment(segments[0]!);
  const payload = decodeSegment(segments[1]!);
  if (!header || !payload || typeof header.alg !== 'string' || typeof header.kid !== 'string') return undefined;
  return { header, payload };
}

/**
 * A token whose signature verified: its header, and its claims under an unsecured header that
 * carries nothing but the verified `typ`, as jose's UnsecuredJWT.decode takes them (see
 * {@link verifyJwt}).
 */
interface Signed {
  readonly header: Record<string, unknown>;
  readonly claims: string;
}

/**
 * Shape, then the signature under the pinned algorithm of the key `kid` names. Remembered: a
 * signature does not expire, and the claims are checked again on every use.
 */
async function verifySignature(token: unknown, keys: KeyRing): Promise<Signed> {
  const known = typeof token === 'string' ? keys.recall<Signed>(token) : undefined;
  if (known) return known;
  const decoded = decodeUnverified(token);
  if (!decoded) throw fail('token_malformed');
  const verifier = await keys.verifier(decoded.header.kid as string);
  if (!verifier) throw fail('token_invalid');
  try {
    // `alg: none` and algorithm confusion end here: only the key's own algorithm is allowed.
    await compactVerify(token as string, verifier.key, { algorithms: [verifier.alg] });
  } catch (error) {
    if (error instanceof errors.JOSEError) throw fail('token_invalid');
    throw error;
  }
  const encodedPayload = (token as string).split('.')[1]!;
  const signed = {
    header: decoded.header,
    claims: `${encodeSegment({ alg: 'none', typ: decoded.header.typ })}.${encodedPayload}.`,
  };
  keys.remember(token as string, signed);
  return signed;
}

/**
 * jose's verdict on the claims of a token whose signature verified, and the claim check they
 * failed, if one did. jose stops at its first failure (typ, then presence, iss, aud, nbf, exp,
 * iat); each caller ranks that failure among the checks only it can make, so that a token
 * failing several is refused with the code of the first in our order.
 */
interface Verified {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly refusal?: errors.JWTClaimValidationFailed | errors.JWTExpired;
}

/**
 * The signature, then jose's claim checks. jose runs those only inside jwtVerify, which would
 * verify the signature again (what the keyring's cache saves: some twenty times the cost of a
 * remembered token's checks, see bench/jwt.js), and inside UnsecuredJWT.decode: so the verified
 * claims go to the latter.
 */
async function verifyJwt(token: unknown, keys: KeyRing, options: JWTClaimVerificationOptions): Promise<Verified> {
  const { header, claims } = await verifySignature(token, keys);
  try {
    return { header, payload: UnsecuredJWT.decode(claims, options).payload };
  } catch (error) {
    if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired)
      return { header, payload: error.payload, refusal: error };
    if (error instanceof errors.JOSEError) throw fail('token_invalid');
    throw error;
  }
}

export interface VerifyOptions {
  readonly keys: KeyRing;
  readonly issuer: string;
  readonly audience: string;
  readonly leewaySeconds: number;
  /** Seconds since the epoch. */
  readonly now: number;
}

/** What jose checks on a PAT; times against the injected clock, with the leeway. */
const patChecks = (options: VerifyOptions): JWTClaimVerificationOptions => ({
  typ: 'JWT',
  issuer: options.issuer,
  requiredClaims: ['exp', 'iat'],
  clockTolerance: options.leewaySeconds,
  currentDate: new Date(options.now * 1000),
});

/** What jose checks on an access token; times against the injected clock, with the leeway. */
const accessChecks = (options: VerifyOptions): JWTClaimVerificationOptions => ({
  typ: 'at+jwt',
  issuer: options.issuer,
  audience: options.audience,
  requiredClaims: ['exp', 'iat'],
  clockTolerance: options.leewaySeconds,
  currentDate: new Date(options.now * 1000),
  // No access token outlives the longest TTL; this also refuses an iat in the future.
  maxTokenAge: MAX_ACCESS_TOKEN_TTL_SECONDS,
});

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isWrongType = (refusal: Verified['refusal']) => refusal?.claim === 'typ';
/** Every failed claim check but expiry, which ranks last. */
const isInvalid = (refusal: Verified['refusal']) => refusal instanceof errors.JWTClaimValidationFailed;
const isExpired = (refusal: Verified['refusal']) => refusal instanceof errors.JWTExpired;

const PAT_JTI = /^[0-9a-f]{32}$/;

/**
 * Checks a PAT up to (not including) its database row. `checkExpiry: false` is for revocation,
 * which may retire an expired token as well.
 */
export async function verifyPat(
  token: unknown,
  options: VerifyOptions,
  { checkExpiry = true } = {},
): Promise<PatClaims> {
  const { payload, refusal } = await verifyJwt(token, options.keys, patChecks(options));
  if (payload.token_type !== 'refresh' || isWrongType(refusal)) throw fail('token_wrong_type');
  if (isInvalid(refusal) || payload.aud !== undefined) throw fail('token_invalid');
  if (
    !isString(payload.jti) ||
    !PAT_JTI.test(payload.jti) ||
    !isString(payload.user_id) ||
    !Number.isSafeInteger(payload.org_id)
  )
    throw fail('token_invalid');
  if (checkExpiry && isExpired(refusal)) throw fail('token_expired');
  return payload as unknown as PatClaims;
}

/** The outcome of checking a Bearer value, before any state (revocation, policy) is consulted. */
export type BearerCheck = { kind: 'access'; claims: AccessClaims } | { kind: 'pat' };

/**
 * Checks an access token. A valid PAT is reported as such (kind `pat`), so the caller can say
 * "exchange it at /api/token/refresh" instead of a bare "invalid".
 */
export async function verifyAccess(token: unknown, options: VerifyOptions): Promise<BearerCheck> {
  const { header, payload, refusal } = await verifyJwt(token, options.keys, accessChecks(options));
  if (header.typ === 'JWT' && payload.token_type === 'refresh') return { kind: 'pat' };
  if (payload.token_type !== 'access' || isWrongType(refusal)) throw fail('token_wrong_type');
  if (isInvalid(refusal)) throw fail('token_invalid');
  if (
    !isString(payload.jti) ||
    !isString(payload.user_id) ||
    !Number.isSafeInteger(payload.org_id) ||
    !isString(payload.role)
  )
    throw fail('token_invalid');
  if (!isString(payload.pat) === !isString(payload.sid)) throw fail('token_invalid');
  if (isExpired(refusal)) throw fail('token_expired');
  // Defence in depth, for a token we would never have signed: one claiming to live longer than
  // any organization may let an access token live.
  const { iat, exp } = payload as { iat: number; exp: number };
  if (exp - iat > MAX_ACCESS_TOKEN_TTL_SECONDS + options.leewaySeconds) throw fail('token_invalid');
  return { kind: 'access', claims: payload as unknown as AccessClaims };
}

const headerFor = (alg: JwtAlgorithm, kid: string, typ: JwtHeader['typ']): JwtHeader => ({ alg, typ, kid });

/** `header.payload` of a PAT, byte for byte as {@link sign} produced it from the same claims. */
export function patSigningInput(alg: JwtAlgorithm, kid: string, claims: PatClaims): string {
  return `${encodeSegment(headerFor(alg, kid, 'JWT'))}.${encodeSegment(claims)}`;
}

/** The order of P-256's group, and half of it. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

/**
 * ECDSA is malleable: (r, n − s) verifies wherever (r, s) does, so one token has two accepted
 * strings. Every token we sign carries the low s (as Bitcoin's BIP 62 requires), so ours are
 * canonical; and nothing here is keyed by a token's string where it matters (revocation and
 * the caches go by jti, session id or hash), so a twin gains nothing.
 */
function lowS(signature: Buffer): Buffer {
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  if (s <= P256_HALF_N) return signature;
  return Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
}

/**
 * The JWS signature (RFC 7518 §3) of `input` under the signer's pinned algorithm, with
 * node:crypto directly: synchronous and several times cheaper than going through WebCrypto.
 * ES256 signatures are R || S (IEEE P1363), as JWS requires, not DER.
 */
function signature(signer: Signer, input: string): Buffer {
  switch (signer.alg) {
    case 'ES256':
      return lowS(cryptoSign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' }));
    case 'RS256':
      return cryptoSign('sha256', Buffer.from(input), signer.key);
    case 'EdDSA':
      return cryptoSign(null, Buffer.from(input), signer.key);
    case 'HS256':
      return createHmac('sha256', signer.key).update(input).digest();
  }
}

/** A JWS compact serialization (RFC 7515 §7.1) of `claims`, header `{alg, typ, kid}`. */
export function sign(signer: Signer, claims: PatClaims | AccessClaims): string {
  const input = `${encodeSegment(headerFor(signer.alg, signer.kid, claims.token_type === 'access' ? 'at+jwt' : 'JWT'))}.${encodeSegment(claims)}`;
  return `${input}.${signature(signer, input).toString('base64url')}`;
}
