/** Tokens made by hand, signed with our keys or others, for refusal tests. */
import { CompactSign } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { TestApp } from './app';
import { decodeJwt } from './factories';

const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Re-signs `token`'s claims with changes, by our current signing key unless `key` is given. */
export async function resign(
  t: TestApp,
  token: string,
  changes: { header?: Record<string, unknown>; payload?: Record<string, unknown>; key?: KeyObject | Uint8Array } = {},
): Promise<string> {
  const { header, payload } = decodeJwt(token);
  const signer = t.keys.signer();
  return new CompactSign(Buffer.from(JSON.stringify({ ...payload, ...changes.payload })))
    .setProtectedHeader({ ...header, kid: signer.kid, alg: signer.alg, ...changes.header } as { alg: string })
    .sign(changes.key ?? signer.key);
}

/** `token` with its payload replaced and its signature kept: a tampered token. */
export function tamper(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return [header, segment({ ...decodeJwt(token).payload, ...payload }), signature].join('.');
}

/** An unsecured JWT (`alg: none`) with the claims of `token`. */
export function unsecured(token: string, signature = ''): string {
  const { header, payload } = decodeJwt(token);
  return `${segment({ ...header, alg: 'none' })}.${segment(payload)}.${signature}`;
}
