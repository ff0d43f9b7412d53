/**
 * The two JWT kinds and how each is checked. Their rules are mutually exclusive (RFC 8725
 * §3.11–3.12), so neither passes as the other:
 *
 *   PAT (refresh)  header typ "JWT",    token_type "refresh", no aud
 *   access         header typ "at+jwt", token_type "access",  aud = our audience (RFC 9068)
 *
 * Checks run in a fixed order, each failing with its own code: shape → signature (the key
 * `kid` names, under that key's pinned algorithm) → type → iss/aud → exp (with leeway).
 */
import { createHmac, sign as cryptoSign } from 'node:crypto';
import { compactVerify } from 'jose';
import type { JwtAlgorithm } from '../config';
import { fail } from '../errors';
import type { Role } from '../generated/prisma/client';
import type { KeyRing, Signer } from '../keys/keyring';
import { MAX_ACCESS_TOKEN_TTL_SECONDS, MAX_LEEWAY_SECONDS } from '../limits';

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

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
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

/** Shape, then the signature under the pinned algorithm of the key `kid` names. */
async function verifySignature(token: unknown, keys: KeyRing): Promise<Decoded> {
  const known = typeof token === 'string' ? keys.recall<Decoded>(token) : undefined;
  if (known) return known;
  const decoded = decodeUnverified(token);
  if (!decoded) throw fail('token_malformed');
  const verifier = await keys.verifier(decoded.header.kid as string);
  // `alg: none` and algorithm confusion end here: the header must name the key's own algorithm.
  if (!verifier || decoded.header.alg !== verifier.alg) throw fail('token_invalid');
  try {
    await compactVerify(token as string, verifier.key, { algorithms: [verifier.alg] });
  } catch {
    throw fail('token_invalid');
  }
  if (isNumericDate(decoded.payload.exp))
    keys.remember(
      token as string,
      decoded,
      Math.min(decoded.payload.exp * 1000, Date.now() + 86_400_000) + MAX_LEEWAY_SECONDS * 1000,
    );
  return decoded;
}

export interface VerifyOptions {
  readonly keys: KeyRing;
  readonly issuer: string;
  readonly audience: string;
  readonly leewaySeconds: number;
  /** Seconds since the epoch. */
  readonly now: number;
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function checkTimes(payload: Record<string, unknown>, options: VerifyOptions): void {
  if (!isNumericDate(payload.exp) || !isNumericDate(payload.iat)) throw fail('token_invalid');
  if (payload.nbf !== undefined && (!isNumericDate(payload.nbf) || payload.nbf > options.now + options.leewaySeconds))
    throw fail('token_invalid');
  // RFC 7519 §4.1.4: valid only before exp; leeway absorbs clock skew.
  if (options.now >= payload.exp + options.leewaySeconds) throw fail('token_expired');
}

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
  const { header, payload } = await verifySignature(token, options.keys);
  if (header.typ !== 'JWT' || payload.token_type !== 'refresh') throw fail('token_wrong_type');
  if (payload.iss !== options.issuer || payload.aud !== undefined) throw fail('token_invalid');
  if (
    !isString(payload.jti) ||
    !PAT_JTI.test(payload.jti) ||
    !isString(payload.user_id) ||
    !Number.isSafeInteger(payload.org_id)
  )
    throw fail('token_invalid');
  if (checkExpiry) checkTimes(payload, options);
  return payload as unknown as PatClaims;
}

/** The outcome of checking a Bearer value, before any state (revocation, policy) is consulted. */
export type BearerCheck = { kind: 'access'; claims: AccessClaims } | { kind: 'pat' };

/**
 * Checks an access token. A valid PAT is reported as such (kind `pat`), so the caller can say
 * "exchange it at /api/token/refresh" instead of a bare "invalid".
 */
export async function verifyAccess(token: unknown, options: VerifyOptions): Promise<BearerCheck> {
  const { header, payload } = await verifySignature(token, options.keys);
  if (header.typ === 'JWT' && payload.token_type === 'refresh') return { kind: 'pat' };
  if (header.typ !== 'at+jwt' || payload.token_type !== 'access') throw fail('token_wrong_type');
  if (payload.iss !== options.issuer || payload.aud !== options.audience) throw fail('token_invalid');
  if (
    !isString(payload.jti) ||
    !isString(payload.user_id) ||
    !Number.isSafeInteger(payload.org_id) ||
    !isString(payload.role)
  )
    throw fail('token_invalid');
  if (!isString(payload.pat) === !isString(payload.sid)) throw fail('token_invalid');
  checkTimes(payload, options);
  // Defence in depth, for a token we would never have signed: issued in the future, or living
  // longer than any organization may let an access token live.
  const { iat, exp } = payload as { iat: number; exp: number };
  if (iat > options.now + options.leewaySeconds || exp - iat > MAX_ACCESS_TOKEN_TTL_SECONDS + options.leewaySeconds)
    throw fail('token_invalid');
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
