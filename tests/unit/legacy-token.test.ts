/**
 * Legacy-token checksums (src/legacy/legacy-token.ts) and the keyed tags under them
 * (src/secrets.ts): a typo or a stranger's guess is refused before any database lookup.
 */
import fc from 'fast-check';
import {
  generateLegacyToken,
  legacyHint,
  legacyTokenFormat,
  LEGACY_PREFIX,
  unkeyedLegacyToken,
} from '../../src/legacy/legacy-token';
import { safeEqual, Tagger } from '../../src/secrets';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ours = new Tagger('x'.repeat(40));
const theirs = new Tagger('y'.repeat(40));

describe('legacy token format', () => {
  it('is lkt_ and 36 base62 characters, with this deployment’s keyed checksum', () => {
    const token = generateLegacyToken(ours);
    expect(token).toMatch(/^lkt_[0-9A-Za-z]{36}$/);
    expect(legacyTokenFormat(ours, token)).toBe('keyed');
    // Another deployment's key makes another checksum: a stranger cannot make a well-formed token.
    expect(legacyTokenFormat(theirs, token)).toBeUndefined();
    expect(generateLegacyToken(ours)).not.toBe(token);
  });

  it('still knows tokens from before the checksum was keyed (CRC32), under any key', () => {
    const token = unkeyedLegacyToken();
    expect(legacyTokenFormat(ours, token)).toBe('unkeyed');
    expect(legacyTokenFormat(theirs, token)).toBe('unkeyed');
  });

  it('refuses any other shape', () => {
    const token = generateLegacyToken(ours);
    for (const value of [
      '',
      LEGACY_PREFIX,
      token.slice(0, -1),
      `${token}0`,
      token.replace('lkt_', 'lkx_'),
      ` ${token}`,
    ])
      expect(legacyTokenFormat(ours, value)).toBeUndefined();
  });

  it('detects any single-character change, keyed or not', () => {
    const change = (token: string, at: number, by: number) => {
      const replacement = ALPHABET[(ALPHABET.indexOf(token[at]!) + by) % ALPHABET.length]!;
      return token.slice(0, at) + (ALPHABET.includes(token[at]!) ? replacement : 'x') + token.slice(at + 1);
    };
    fc.assert(
      fc.property(
        fc.constantFrom(
          generateLegacyToken(ours),
          generateLegacyToken(ours),
          unkeyedLegacyToken(),
          unkeyedLegacyToken(),
        ),
        fc.integer({ min: 0, max: 39 }),
        fc.integer({ min: 1, max: 61 }),
        (token, at, by) => legacyTokenFormat(ours, change(token, at, by)) === undefined,
      ),
      { numRuns: 2_000 },
    );
  });

  it('shows the prefix and the last four characters as its hint', () => {
    const token = generateLegacyToken(ours);
    expect(legacyHint(token)).toBe(`lkt_…${token.slice(-4)}`);
  });
});

describe('Tagger', () => {
  it('is deterministic for one secret, and differs by secret, purpose and message', () => {
    const tag = (t: Tagger, purpose: string, message: string) => t.tag(purpose, message).toString('hex');
    expect(tag(ours, 'p', 'm')).toBe(tag(new Tagger('x'.repeat(40)), 'p', 'm'));
    const distinct = [tag(ours, 'p', 'm'), tag(theirs, 'p', 'm'), tag(ours, 'q', 'm'), tag(ours, 'p', 'n')];
    expect(new Set(distinct).size).toBe(distinct.length);
    expect(ours.tag('p', 'm')).toHaveLength(32);
  });
});

describe('safeEqual', () => {
  it('is string equality', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => safeEqual(a, b) === (a === b) && safeEqual(a, a)));
  });
});
