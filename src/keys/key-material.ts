/**
 * Key pairs (or HS256 secrets) for each supported algorithm, and their at-rest form:
 * PKCS#8 DER (raw bytes for HS256) sealed by {@link SecretBox}, the public half as a JWK.
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { JwtAlgorithm } from '../config';

export interface KeyMaterial {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly signKey: KeyObject;
  readonly verifyKey: KeyObject;
  /** The public JWK as JWKS publishes it; undefined for HS256. */
  readonly publicJwk: JsonWebKey | undefined;
}

function generatePair(alg: Exclude<JwtAlgorithm, 'HS256'>): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

async function publicJwkOf(alg: JwtAlgorithm, publicKey: KeyObject, kid?: string): Promise<JsonWebKey> {
  const jwk = publicKey.export({ format: 'jwk' });
  // kid is the RFC 7638 thumbprint: stable, and derivable by anyone holding the key.
  return {
    ...jwk,
    kid: kid ?? (await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0])),
    alg,
    use: 'sig',
  };
}

export async function generateKeyMaterial(alg: JwtAlgorithm): Promise<KeyMaterial> {
  if (alg === 'HS256') {
    // RFC 7518 §3.2: at least as many bits as the hash output.
    const secret = createSecretKey(randomBytes(32));
    return {
      kid: randomBytes(16).toString('base64url'),
      alg,
      signKey: secret,
      verifyKey: secret,
      publicJwk: undefined,
    };
  }
  const { privateKey, publicKey } = generatePair(alg);
  const publicJwk = await publicJwkOf(alg, publicKey);
  return { kid: publicJwk.kid as string, alg, signKey: privateKey, verifyKey: publicKey, publicJwk };
}

/** The bytes to seal: PKCS#8 DER, or the raw HS256 secret. */
export function exportPrivate(material: KeyMaterial): Buffer {
  return material.alg === 'HS256'
    ? material.signKey.export()
    : material.signKey.export({ format: 'der', type: 'pkcs8' });
}

export function importVerifyKey(alg: JwtAlgorithm, publicJwk: JsonWebKey | null, openPrivate: () => Buffer): KeyObject {
  if (alg === 'HS256') return createSecretKey(openPrivate());
  if (!publicJwk) throw new TypeError(`an ${alg} key has no public JWK`);
  return createPublicKey({ key: publicJwk, format: 'jwk' });
}

export function importSignKey(alg: JwtAlgorithm, sealedOpen: Buffer): KeyObject {
  return alg === 'HS256'
    ? createSecretKey(sealedOpen)
    : createPrivateKey({ key: sealedOpen, format: 'der', type: 'pkcs8' });
}
