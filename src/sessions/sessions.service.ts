/**
 * Password login and logout. A login opens a session (the cookie) and returns a login access
 * token (`sid` instead of `pat`); both act in the user's active organization (or, failing
 * that, their first; pending memberships are not theirs yet and never chosen).
 */
import { endSession, insertSession } from './sessions.store';
import type { Request } from 'express';
import { CSRF_HEADER, csrfTokenFor, isOurSessionSecret, newSessionSecret } from './cookies';
import { standing, type Principal } from '../auth/principal';
import type { Role } from '../auth/roles';
import type { LoginThrottle } from './throttle';
import type { Context } from '../context';
import { fail } from '../errors';
import { randomHex, randomToken, safeEqual, sha256Hex } from '../secrets';
import { issueAccessToken } from '../tokens/access-token';
import { hashPassword, verifyPassword } from '../users/passwords';
import { findAccessTokenTtl, findUserByEmail } from '../users/users.store';

/**
 * Compared against when the email is unknown, so that answer costs one bcrypt comparison
 * too: one message and the same timing for unknown email and wrong password.
 */
const dummyHashes = new Map<number, Promise<string>>();
const dummyHash = (rounds: number) => {
  let hash = dummyHashes.get(rounds);
  if (!hash) dummyHashes.set(rounds, (hash = hashPassword(randomToken(16), rounds)));
  return hash;
};

export interface LoggedIn {
  readonly access: string;
  /** Cookie values: `<sid>.<secret>` and the CSRF token. */
  readonly session: string;
  readonly csrf: string;
  readonly maxAgeMs: number;
}

/** The user, if `password` is theirs and they may log in; undefined otherwise (one bcrypt comparison either way). */
async function verifyCredentials(ctx: Context, email: string, password: string) {
  const user = await findUserByEmail(ctx.db, email);
  const matches = await verifyPassword(password, user?.passwordHash ?? (await dummyHash(ctx.config.bcryptRounds)));
  return user?.passwordHash && matches && user.isActive ? user : undefined;
}

export async function login(
  ctx: Context,
  throttle: LoginThrottle,
  input: { email: string; password: string },
  ip: string,
): Promise<LoggedIn> {
  const email = input.email.toLowerCase();
  const user = await throttle.guard(ctx, ip, email, () => verifyCredentials(ctx, email, input.password));
  if (!user) throw fail('invalid_credentials');
  const membership =
    user.memberships.find((m) => m.organizationId === user.activeOrganizationId) ?? user.memberships[0];
  if (!membership) throw fail('permission_denied', { detail: 'You are not a member of any organization.' });

  return openSession(ctx, user.id, membership, ip);
}

/**
 * A new session for the user in `membership`'s organization, and its login access token: what
 * login answers, and first-run setup for the owner it has just created.
 */
export async function openSession(
  ctx: Context,
  userId: number,
  membership: { organizationId: number; role: Role },
  ip: string | undefined,
): Promise<LoggedIn> {
  const now = ctx.clock();
  const sid = randomHex(16);
  const secret = newSessionSecret(ctx.tags, sid);
  const maxAgeMs = ctx.config.sessionTtlSeconds * 1000;
  await ctx.change(
    (tx) =>
      insertSession(tx, {
        id: sid,
        tokenHash: sha256Hex(secret),
        userId,
        organizationId: membership.organizationId,
        createdAt: new Date(now),
        expiresAt: new Date(now + maxAgeMs),
      }),
    () => ({
      action: 'session.created',
      organizationId: membership.organizationId,
      actorUserId: userId,
      targetType: 'session',
      targetId: sid,
      ip,
    }),
  );
  ctx.usage.touch('user', userId);
  const { accessTokenTtlSeconds } = await findAccessTokenTtl(ctx.db, membership.organizationId);
  const access = issueAccessToken(ctx, {
    userId,
    organizationId: membership.organizationId,
    role: membership.role,
    ttlSeconds: accessTokenTtlSeconds,
    source: { sid },
  });
  return { access, session: `${sid}.${secret}`, csrf: csrfTokenFor(secret), maxAgeMs };
}

/** Ends the caller's session, if their credential has one (PAT-derived and legacy tokens have none). */
export async function logout(ctx: Context, principal: Principal, ip: string | undefined): Promise<void> {
  const { credential } = principal;
  if (credential.kind !== 'session' && credential.kind !== 'login_access') return;
  const { sid } = credential;
  await ctx.change(
    (tx) => endSession(tx, sid, new Date(ctx.clock())),
    (ended) =>
      ended
        ? {
            action: 'session.ended',
            organizationId: principal.organizationId,
            actorUserId: principal.userId,
            targetType: 'session',
            targetId: sid,
            ip,
          }
        : undefined,
  );
}

const SESSION_VALUE = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** The session cookie → its principal; unsafe methods also need the CSRF header. */
export async function authenticateSession(ctx: Context, req: Request, value: string): Promise<Principal> {
  const parts = SESSION_VALUE.exec(value);
  // A cookie this deployment did not make costs no lookup.
  const held =
    parts && isOurSessionSecret(ctx.tags, parts[1]!, parts[2]!) ? await ctx.state.session(parts[1]!) : undefined;
  const row = held?.credential;
  if (!row || !safeEqual(row.tokenHash, sha256Hex(parts![2]!)) || row.ended || row.expiresAt <= ctx.clock())
    throw fail('session_ended');
  if (!SAFE_METHODS.has(req.method)) {
    const header = req.get(CSRF_HEADER);
    if (!header || !safeEqual(header, csrfTokenFor(parts![2]!))) throw fail('csrf_failed');
  }
  const { role, user } = standing(held.holder, 'session', undefined, () => fail('session_ended'));
  return {
    userId: row.userId,
    organizationId: row.organizationId,
    role,
    user,
    credential: { kind: 'session', sid: parts![1]! },
  };
}
