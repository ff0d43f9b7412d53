// `npm run build && node bench/jwt.js`: what a JWT costs to verify and to sign, in one process,
// so that the two choices src/tokens/jwt.ts makes can be checked again on any machine:
//
//   - the signature is verified once per token string and remembered by the keyring, and
//     jose's claim checks run on every use, rather than jose's jwtVerify (signature and
//     claims) on every use;
//   - tokens are signed with node:crypto directly, rather than with jose's SignJWT.
//
// Rounds alternate the variants, so that a busy machine slows them alike; figures are medians,
// and ratios are taken within each round.   BENCH_JWT_ROUNDS=7  BENCH_JWT_TOKENS=2000
'use strict';
const { generateKeyPairSync, randomBytes } = require('node:crypto');
const { LRUCache } = require('lru-cache');
const { sign, verifyAccess } = require('../dist/tokens/jwt');
const { MAX_ACCESS_TOKEN_TTL_SECONDS } = require('../dist/limits');
const { median, positiveInt } = require('./lib');

const ROUNDS = positiveInt('BENCH_JWT_ROUNDS', 7);
const TOKENS = positiveInt('BENCH_JWT_TOKENS', 2000);
const ISSUER = 'http://latchkey.bench';
const LEEWAY = 30;

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = { kid: 'bench', alg: 'ES256', key: privateKey };
const verifier = { kid: 'bench', alg: 'ES256', key: publicKey };

/** The part of a KeyRing that verification uses: one key, and the verified-signature cache (or none). */
function keyRing(remembers) {
  const verified = new LRUCache({ max: 20_000 });
  return {
    verifier: async () => verifier,
    recall: (token) => verified.get(token),
    remember: (token, value) => remembers && verified.set(token, value),
  };
}

const now = Math.floor(Date.now() / 1000);
const claims = () => ({
  token_type: 'access',
  exp: now + 300,
  iat: now,
  jti: randomBytes(16).toString('hex'),
  iss: ISSUER,
  aud: ISSUER,
  sub: '1',
  user_id: '1',
  org_id: 1,
  role: 'annotator',
  pat: randomBytes(16).toString('hex'),
});
const tokens = Array.from({ length: TOKENS }, () => sign(signer, claims()));
const options = (keys) => ({ keys, issuer: ISSUER, audience: ISSUER, leewaySeconds: LEEWAY, now });

/** µs per call of `fn` over every token. */
async function perToken(fn) {
  const started = process.hrtime.bigint();
  for (const token of tokens) await fn(token);
  return Number(process.hrtime.bigint() - started) / 1000 / tokens.length;
}

async function main() {
  const { jwtVerify, SignJWT } = await import('jose');
  const remembered = keyRing(true);
  const forgetful = keyRing(false);
  const expectAccess = (check) => {
    if (check.kind !== 'access') throw new Error('a valid token was refused');
  };
  const variants = {
    'verify: signature remembered, jose claim checks (ours, a token used again)': (token) =>
      verifyAccess(token, options(remembered)).then(expectAccess),
    'verify: compactVerify + jose claim checks (ours, first use)': (token) =>
      verifyAccess(token, options(forgetful)).then(expectAccess),
    'verify: jose jwtVerify on every use': (token) =>
      jwtVerify(token, publicKey, {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        issuer: ISSUER,
        audience: ISSUER,
        requiredClaims: ['exp', 'iat'],
        clockTolerance: LEEWAY,
        currentDate: new Date(now * 1000),
        maxTokenAge: MAX_ACCESS_TOKEN_TTL_SECONDS,
      }),
    'sign: node:crypto (ours)': async () => sign(signer, claims()),
    'sign: jose SignJWT': () =>
      new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid }).sign(privateKey),
  };
  const names = Object.keys(variants);
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (const name of names) await perToken(variants[name]); // warm-up; fills the cache
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of round % 2 ? names : [...names].reverse()) runs[name].push(await perToken(variants[name]));
    console.log(`round ${round}/${ROUNDS}: ${names.map((name) => `${runs[name].at(-1).toFixed(1)} µs`).join(', ')}`);
  }
  for (const name of names) {
    const us = median(runs[name]);
    console.log(`${name.padEnd(78)} ${us.toFixed(1).padStart(7)} µs ${String(Math.round(1e6 / us)).padStart(8)}/s`);
  }
  const ratio = (slow, fast) => median(runs[slow].map((us, i) => us / runs[fast][i])).toFixed(1);
  console.log(`jwtVerify on every use / ours with the signature remembered: ${ratio(names[2], names[0])}×`);
  console.log(`ours on first use / jwtVerify on every use: ${ratio(names[1], names[2])}×`);
  console.log(`jose SignJWT / node:crypto sign: ${ratio(names[4], names[3])}×`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
