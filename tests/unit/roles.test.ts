/**
 * The role order, the role cap, and standing(): who may use a credential, checked in one
 * order with one code per refusal. Pure functions over their inputs: no database.
 */
import fc from 'fast-check';
import { AppError, fail, type ErrorCode } from '../../src/errors';
import { standing, type CredentialKind, type Refuse } from '../../src/auth/principal';
import { atLeast, isOrgAdmin, isRole, lower, ROLES, type Role } from '../../src/auth/roles';
import type { Holder, OrgPolicy, UserRecord } from '../../src/auth/state';

const role = fc.constantFrom(...ROLES);
/** ROLES lists the roles from the highest down. */
const rank = (r: Role) => ROLES.length - ROLES.indexOf(r);

describe('roles', () => {
  it('are Label Studio Enterprise’s five, and isRole knows exactly those', () => {
    expect(ROLES).toEqual(['owner', 'administrator', 'manager', 'reviewer', 'annotator']);
    for (const r of ROLES) expect(isRole(r)).toBe(true);
    for (const other of ['Owner', 'admin', '', 'toString', '__proto__', 5, null, undefined, { role: 'owner' }])
      expect(isRole(other)).toBe(false);
  });

  it('atLeast is the order ROLES lists, highest first', () => {
    fc.assert(fc.property(role, role, (a, b) => atLeast(a, b) === rank(a) >= rank(b)));
  });

  it('only owners and administrators manage the organization', () => {
    expect(ROLES.filter(isOrgAdmin)).toEqual(['owner', 'administrator']);
  });

  describe('the role cap (lower)', () => {
    it('is never above either input, and is one of them', () => {
      fc.assert(
        fc.property(role, role, (a, b) => {
          const capped = lower(a, b);
          return atLeast(a, capped) && atLeast(b, capped) && (capped === a || capped === b);
        }),
      );
    });

    it('is the greatest such role: commutative, and a role capped by itself is unchanged', () => {
      fc.assert(fc.property(role, role, (a, b) => lower(a, b) === lower(b, a) && lower(a, a) === a));
      fc.assert(fc.property(role, role, role, (a, b, c) => lower(lower(a, b), c) === lower(a, lower(b, c))));
    });
  });
});

const USER: UserRecord = {
  active: true,
  email: 'member@example.com',
  username: 'member@example.com',
  firstName: 'M',
  lastName: 'Ember',
  phone: '',
  avatar: null,
  allowNewsletters: null,
  activeOrganizationId: 1,
  dateJoined: new Date(0),
  lastActivity: null,
};
const OPEN: OrgPolicy = { apiTokensEnabled: true, legacyEnabled: true, accessTokenTtlSeconds: 300 };
const CLOSED: OrgPolicy = { apiTokensEnabled: false, legacyEnabled: false, accessTokenTtlSeconds: 300 };
const KINDS: readonly CredentialKind[] = ['pat', 'login', 'session', 'legacy'];

const refuse: Refuse = (code, detail) => fail(code, { detail });

/** standing()'s refusal code, or its answer. */
function judge(holder: Holder, kind: CredentialKind, credentialRole?: Role): ErrorCode | { role: Role } {
  try {
    return { role: standing(holder, kind, credentialRole, refuse).role };
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

describe('standing()', () => {
  it('refuses in a fixed order, one code per reason: user, active, member, token type', () => {
    const inactive = { ...USER, active: false };
    // Each row fails every check from its own on, so only the order decides which code wins.
    expect(judge({ user: undefined, role: undefined, policy: CLOSED }, 'pat')).toBe('user_not_found');
    expect(judge({ user: inactive, role: undefined, policy: CLOSED }, 'pat')).toBe('user_inactive');
    expect(judge({ user: USER, role: undefined, policy: CLOSED }, 'pat')).toBe('not_a_member');
    expect(judge({ user: USER, role: 'owner', policy: CLOSED }, 'pat')).toBe('token_type_disabled');
    expect(judge({ user: USER, role: 'owner', policy: CLOSED }, 'legacy')).toBe('token_type_disabled');
  });

  it('lets the organization switch PATs and legacy tokens off apart, and never logins or sessions', () => {
    const only = (policy: OrgPolicy | undefined) =>
      KINDS.filter((kind) => typeof judge({ user: USER, role: 'manager', policy }, kind) === 'object');
    expect(only(OPEN)).toEqual(KINDS);
    expect(only({ ...OPEN, apiTokensEnabled: false })).toEqual(['login', 'session', 'legacy']);
    expect(only({ ...OPEN, legacyEnabled: false })).toEqual(['pat', 'login', 'session']);
    // An admin must always be able to log in and switch PATs back on.
    expect(only(CLOSED)).toEqual(['login', 'session']);
    // No policy read (no organization): API tokens are refused, logins are not.
    expect(only(undefined)).toEqual(['login', 'session']);
  });

  it('answers with the credential’s role capped by the holder’s current role, or the holder’s role', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), role, fc.option(role, { nil: undefined }), (kind, holderRole, own) => {
        const answer = judge({ user: USER, role: holderRole, policy: OPEN }, kind, own);
        const expected = own === undefined ? holderRole : lower(own, holderRole);
        return typeof answer === 'object' && answer.role === expected && atLeast(holderRole, answer.role);
      }),
    );
  });

  it('shapes each refusal with the caller’s refuse(), and returns the user it acts as', () => {
    const shaped = fail('permission_denied', { detail: 'shaped' });
    expect(() =>
      standing({ user: undefined, role: undefined, policy: OPEN }, 'session', undefined, () => shaped),
    ).toThrow(shaped);
    expect(standing({ user: USER, role: 'reviewer', policy: OPEN }, 'session', undefined, refuse).user).toBe(USER);
  });
});
