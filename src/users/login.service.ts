/**
 * Password login and logout. A login opens a session (the cookie) and returns a login access
 * token (`sid` instead of `pat`); both act in the user's active organization (or, failing
 * that, their first; pending memberships are not theirs yet and never chosen).
 */
import { recordAudit } from '../audit/audit.store';
import { endSession, insertSession } from '../auth/auth.store';
import { csrfTokenFor, newSessionSecret } from '../auth/cookies';
import type { Principal } from '../auth/principal';
import type { LoginThrottle } from '../auth/throttle';
import type { Context } from '../context';
import { fail } from '../errors';
import { randomHex, randomToken, sha256Hex } from '../secrets';
import { issueAccessToken } from '../tokens/tokens.service';
import { hashPassword, verifyPassword } from './passwords';
import { findAccessTokenTtl, findUserByEmail } from './users.store';

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
  const user = await findUserByEmail(ctx.prisma, email);
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

  const now = ctx.clock();
  const sid = randomHex(16);
  const secret = newSessionSecret(ctx.tags, sid);
  const maxAgeMs = ctx.config.sessionTtlSeconds * 1000;
  await ctx.prisma.$transaction(async (tx) => {
    await insertSession(tx, {
      id: sid,
      tokenHash: sha256Hex(secret),
      userId: user.id,
      organizationId: membership.organizationId,
      createdAt: new Date(now),
      expiresAt: new Date(now + maxAgeMs),
    });
    await recordAudit(tx, {
      action: 'session.created',
      organizationId: membership.organizationId,
      actorUserId: user.id,
      targetType: 'session',
      targetId: sid,
      ip,
    });
  });
  const { accessTokenTtlSeconds } = await findAccessTokenTtl(ctx.prisma, membership.organizationId);
  const access = issueAccessToken(ctx, {
    userId: user.id,
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
  await ctx.prisma.$transaction(async (tx) => {
    if (await endSession(tx, sid, new Date(ctx.clock()))) {
      await recordAudit(tx, {
        action: 'session.ended',
        organizationId: principal.organizationId,
        actorUserId: principal.userId,
        targetType: 'session',
        targetId: sid,
        ip,
      });
    }
  });
  await ctx.state.sync();
}
