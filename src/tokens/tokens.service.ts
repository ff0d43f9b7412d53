/**
 * Personal access tokens and the access tokens derived from them: issue, refresh, rotate,
 * revoke. No Express here; every multi-row change is one transaction with its audit event.
 */
import { refuse, standing, type Principal } from '../auth/principal';
import { atLeast, isOrgAdmin, lower, type Role } from '../auth/roles';
import type { Holder, PatRecord, UserRecord } from '../auth/state';
import { epochSeconds, type Context } from '../context';
import { fail, type AppError } from '../errors';
import type { Db } from '../db/handle';
import { findKeyAlgorithms } from '../keys/keys.store';
import { lockMembership } from '../auth/membership.store';
import { issueAccessToken, newJti, verifyOptions } from './access-token';
import { decodeUnverified, patSigningInput, sign, verifyAccess, verifyPat, type PatClaims } from './jwt';
import {
  countLivePats,
  findOrganizationPolicy,
  findPatById,
  findPatByJti,
  insertPat,
  listLivePats,
  revokeFamily,
  revokePat,
  type PersonalAccessToken,
} from './tokens.store';

const DAY_SECONDS = 86_400;

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** A PAT's claims, rebuilt from its row (iat and exp are stored to the second). */
function patClaims(
  ctx: Context,
  row: Pick<PersonalAccessToken, 'jti' | 'userId' | 'organizationId' | 'createdAt' | 'expiresAt'>,
): PatClaims {
  return {
    token_type: 'refresh',
    exp: seconds(row.expiresAt),
    iat: seconds(row.createdAt),
    jti: row.jti,
    user_id: String(row.userId),
    org_id: row.organizationId,
    iss: ctx.config.issuer,
  };
}

interface Actor {
  /** The acting user, when known. */
  readonly actorUserId: number | null;
  readonly ip: string | undefined;
}

/**
 * A revoked PAT was presented. A rotated one means a copy outlived its rotation (a leak or a
 * replay), so its whole family is revoked, as supabase's RevokeTokenFamily does.
 */
async function refuseRevoked(
  ctx: Context,
  pat: Pick<PersonalAccessToken, 'id' | 'organizationId' | 'familyId' | 'revokedReason'>,
  who: Actor,
): Promise<void> {
  const now = new Date(ctx.clock());
  const target = { organizationId: pat.organizationId, actorUserId: who.actorUserId, targetId: pat.id, ip: who.ip };
  if (pat.revokedReason !== 'rotated') {
    await ctx.change(
      () => Promise.resolve(),
      () => ({
        ...target,
        action: 'pat.refused_after_revoke',
        targetType: 'pat',
        details: { reason: pat.revokedReason },
      }),
    );
    return;
  }
  await ctx.change(
    (tx) => revokeFamily(tx, pat.familyId, now),
    (revoked) => ({
      ...target,
      action: 'pat.family_revoked',
      targetType: 'pat',
      details: { family_id: pat.familyId, revoked, reason: 'rotated token presented again' },
    }),
  );
  ctx.logger.warn({ patId: pat.id, familyId: pat.familyId }, 'rotated PAT presented again; its family is revoked');
}

/** A PAT that passed every check: its claims, its record, what it may do and its org's access TTL. */
export interface CheckedPat {
  readonly claims: PatClaims;
  readonly pat: PatRecord;
  /** The lower of the PAT's role and its owner's current membership role. */
  readonly role: Role;
  readonly user: UserRecord;
  readonly accessTokenTtlSeconds: number;
}

/**
 * Every check a PAT must pass, in order and each with its own code: the token itself (see
 * {@link verifyPat}), then its record (unknown → invalid, revoked → blacklisted), then
 * {@link standing} (the user, the membership, the organization's policy), all from the caches
 * (a cold PAT costs one query). `presented` says whether its holder is using it (refresh,
 * rotate): then a revoked one is audited, and a rotated one revokes its family. An
 * introspecting resource server is not its holder.
 */
export async function checkPat(
  ctx: Context,
  token: unknown,
  presented: { ip: string | undefined } | undefined,
): Promise<CheckedPat> {
  const claims = await verifyPat(token, verifyOptions(ctx));
  const held = await ctx.state.pat(claims.jti);
  const pat = held?.credential;
  if (!pat || String(pat.userId) !== claims.user_id || pat.organizationId !== claims.org_id)
    throw fail('token_invalid');
  if (pat.revokedReason) {
    if (presented) await refuseRevoked(ctx, pat, { actorUserId: pat.userId, ip: presented.ip });
    throw fail('token_blacklisted');
  }
  const { role, user } = standing(held.holder, 'pat', pat.role, refuse);
  return { claims, pat, role, user, accessTokenTtlSeconds: held.holder.policy!.accessTokenTtlSeconds };
}

export interface RefreshedAccess {
  readonly token: string;
  /** Its lifetime in seconds (`exp - iat`): the organization's `access_token_ttl_seconds`. */
  readonly expiresIn: number;
}

/**
 * PAT → access token, after {@link checkPat}: `POST /api/token/refresh` and the refresh grant of
 * `POST /oauth/token`. The PAT is not rotated; it stays valid.
 */
export async function refresh(ctx: Context, token: unknown, ip: string | undefined): Promise<RefreshedAccess> {
  const { claims, pat, role, accessTokenTtlSeconds } = await checkPat(ctx, token, { ip });
  ctx.usage.touch('pat', claims.jti);
  ctx.usage.touch('user', pat.userId);
  const access = issueAccessToken(ctx, {
    userId: pat.userId,
    organizationId: pat.organizationId,
    role,
    ttlSeconds: accessTokenTtlSeconds,
    source: { pat: claims.jti },
  });
  return { token: access, expiresIn: accessTokenTtlSeconds };
}

export interface NewPatInput {
  readonly name: string;
  readonly expiresInDays?: number | undefined;
  readonly role?: Role | undefined;
}

export interface IssuedPat {
  readonly token: string;
  readonly row: PersonalAccessToken;
}

interface PatSpec {
  readonly name: string;
  readonly userId: number;
  readonly organizationId: number;
  readonly role: Role;
  readonly ttlSeconds: number;
  /** Rotation: the family and the PAT being replaced. A new family is named by its first jti. */
  readonly familyId?: string;
  readonly parentId?: number;
}

/** Signs a PAT with the current key and inserts its row, in `tx`. */
async function mintPat(ctx: Context, tx: Db, data: PatSpec): Promise<IssuedPat> {
  const signer = ctx.keys.signer();
  const iat = epochSeconds(ctx);
  const jti = newJti();
  const createdAt = new Date(iat * 1000);
  const expiresAt = new Date((iat + data.ttlSeconds) * 1000);
  const token = sign(
    signer,
    patClaims(ctx, { jti, userId: data.userId, organizationId: data.organizationId, createdAt, expiresAt }),
  );
  const row = await insertPat(tx, {
    jti,
    name: data.name,
    userId: data.userId,
    organizationId: data.organizationId,
    role: data.role,
    kid: signer.kid,
    familyId: data.familyId ?? jti,
    ...(data.parentId === undefined ? {} : { parentId: data.parentId }),
    createdAt,
    expiresAt,
  });
  return { token, row };
}

/** `POST /api/token/`: a named PAT, role at most the caller's, expiry within the org's bound. */
export async function createPat(
  ctx: Context,
  principal: Principal,
  input: NewPatInput,
  ip: string | undefined,
): Promise<IssuedPat> {
  const policy = await findOrganizationPolicy(ctx.db, principal.organizationId);
  if (!policy) throw fail('not_found');
  if (!policy.apiTokensEnabled) throw fail('token_creation_disabled');
  const ttlDays = input.expiresInDays ?? policy.apiTokenTtlDays;
  if (ttlDays > policy.apiTokenTtlDays) {
    throw fail('validation_error', {
      fields: {
        expires_in_days: [
          `Ensure this value is less than or equal to ${policy.apiTokenTtlDays} (the organization's api_token_ttl_days).`,
        ],
      },
    });
  }
  const role = input.role ?? principal.role;
  mayMint(principal, role);
  const now = new Date(ctx.clock());
  return ctx.change(
    async (tx) => {
      if (!(await lockMembership(tx, principal.userId, principal.organizationId)))
        throw fail('permission_denied', { detail: 'You are not a member of this organization.' });
      const live = await countLivePats(tx, principal.userId, principal.organizationId, now);
      if (live >= ctx.config.patLimit) {
        throw fail('token_limit_reached', {
          detail: `You already have ${live} personal access tokens in this organization, the limit; delete one first.`,
        });
      }
      return mintPat(ctx, tx, {
        name: input.name,
        userId: principal.userId,
        organizationId: principal.organizationId,
        role,
        ttlSeconds: ttlDays * DAY_SECONDS,
      });
    },
    (issued) => ({
      action: 'pat.created',
      organizationId: principal.organizationId,
      actorUserId: principal.userId,
      targetType: 'pat',
      targetId: issued.row.id,
      ip,
      details: { name: input.name, role, expires_at: issued.row.expiresAt.toISOString() },
    }),
  );
}

export interface ListedPat {
  readonly row: PersonalAccessToken;
  /** `header.payload`: the PAT without its signature, useless for authentication. */
  readonly token: string;
}

/** `GET /api/token/`: the caller's live PATs in the organization the request acts in. */
export async function listPats(ctx: Context, principal: Principal): Promise<ListedPat[]> {
  const rows = await listLivePats(ctx.db, principal.userId, principal.organizationId, new Date(ctx.clock()));
  const algs = await findKeyAlgorithms(ctx.db, [...new Set(rows.map((row) => row.kid))]);
  return rows.map((row) => ({ row, token: patSigningInput(algs.get(row.kid)!, row.kid, patClaims(ctx, row)) }));
}

/** The caller may act on this PAT: it is in their organization, and theirs or they administer it. */
const mayManage = (principal: Principal, pat: PersonalAccessToken) =>
  pat.organizationId === principal.organizationId && (pat.userId === principal.userId || isOrgAdmin(principal.role));

function revokeOne(ctx: Context, pat: PersonalAccessToken, who: Actor, via: string): Promise<boolean> {
  return ctx.change(
    (tx) => revokePat(tx, pat.id, 'revoked', new Date(ctx.clock())),
    (revoked) =>
      revoked
        ? {
            action: 'pat.revoked',
            organizationId: pat.organizationId,
            actorUserId: who.actorUserId,
            targetType: 'pat',
            targetId: pat.id,
            ip: who.ip,
            details: { via, owner_user_id: pat.userId },
          }
        : undefined,
  );
}

const blacklistMiss = () => fail('not_found', { detail: 'Token is invalid or already blacklisted.' });

/**
 * A full PAT revokes itself: holding it is the authority; its signature must verify, its expiry
 * need not. False when it revokes nothing (not a PAT of ours, unknown, already revoked).
 * `via` names the endpoint in the audit event.
 */
async function revokeIfHeld(
  ctx: Context,
  value: unknown,
  ip: string | undefined,
  via: 'blacklist' | 'oauth_revoke',
): Promise<boolean> {
  const claims = await verifyPat(value, verifyOptions(ctx), { checkExpiry: false }).catch(() => undefined);
  const pat = claims && (await findPatByJti(ctx.db, claims.jti));
  return Boolean(pat && !pat.revokedAt && (await revokeOne(ctx, pat, { actorUserId: pat.userId, ip }, via)));
}

/** `POST /api/token/blacklist/` with a full PAT (see {@link revokeIfHeld}); 404 when it revokes nothing. */
export async function revokeHeldPat(ctx: Context, value: string, ip: string | undefined): Promise<void> {
  if (!(await revokeIfHeld(ctx, value, ip, 'blacklist'))) throw blacklistMiss();
}

/**
 * `POST /oauth/revoke` (RFC 7009): a held PAT is revoked as at the blacklist endpoint; anything
 * that revokes nothing is not an error (§2.2), except a valid access token, which cannot be
 * revoked on its own (its PAT or session can): `unsupported_token_type` (§2.2.1), so that a
 * client does not believe it gone while it still works.
 */
export async function revokeToken(ctx: Context, value: string, ip: string | undefined): Promise<void> {
  if (await revokeIfHeld(ctx, value, ip, 'oauth_revoke')) return;
  const access = await verifyAccess(value, verifyOptions(ctx)).catch(() => undefined);
  if (access?.kind === 'access') throw fail('unsupported_token_type');
}

/** True for a full PAT; false for the listed `header.payload` form (or anything else). */
export const isFullToken = (value: string) => value.split('.').length === 3;

/** The jti a listed `header.payload` names; 404 when it names none (before any authentication). */
export function listedJti(value: string): string {
  const jti = decodeUnverified(value, 2)?.payload.jti;
  if (typeof jti !== 'string') throw blacklistMiss();
  return jti;
}

/**
 * `POST /api/token/blacklist/` with the listed form: it names a PAT without proving possession,
 * so the caller must own the PAT or administer its organization.
 */
export async function revokeListedPat(ctx: Context, caller: Principal, jti: string, ip: string | undefined) {
  const pat = await findPatByJti(ctx.db, jti);
  if (!pat || !mayManage(caller, pat) || pat.revokedAt) throw blacklistMiss();
  if (!(await revokeOne(ctx, pat, { actorUserId: caller.userId, ip }, 'blacklist'))) throw blacklistMiss();
}

/** `DELETE /api/token/{id}/` (Labelbox-style): the owner, or an administrator of its organization. */
export async function deletePat(ctx: Context, principal: Principal, id: number, ip: string | undefined): Promise<void> {
  const pat = await findPatById(ctx.db, id);
  if (!pat || pat.revokedAt || !mayManage(principal, pat)) throw fail('not_found');
  if (!(await revokeOne(ctx, pat, { actorUserId: principal.userId, ip }, 'delete'))) throw fail('not_found');
}

const invalidRefresh = () =>
  fail('validation_error', {
    detail: 'Invalid refresh token',
    fields: { non_field_errors: ['Invalid refresh token'] },
  });

/**
 * `POST /api/token/rotate/`: the PAT itself names what to rotate (see {@link replacePat}). A PAT
 * already rotated, presented again (or rotated twice at once), revokes the family.
 */
export async function rotate(
  ctx: Context,
  principal: Principal,
  value: unknown,
  ip: string | undefined,
): Promise<string> {
  const claims = await verifyPat(value, verifyOptions(ctx)).catch(() => undefined);
  const pat = claims && (await findPatByJti(ctx.db, claims.jti));
  if (!pat) throw invalidRefresh();
  if (!mayManage(principal, pat)) throw fail('not_found');
  const held = await ctx.state.pat(pat.jti);
  if (held && !held.holder.policy?.apiTokensEnabled) throw fail('token_creation_disabled');
  const who = { actorUserId: principal.userId, ip };
  if (pat.revokedAt) {
    await refuseRevoked(ctx, pat, who);
    throw invalidRefresh();
  }
  if (!held) throw invalidRefresh();
  const issued = await replacePat(ctx, principal, pat, held.holder, ip, () => invalidRefresh());
  if (!issued) {
    // Lost a race with another rotation of the same PAT: that is reuse too.
    await refuseRevoked(ctx, { ...pat, revokedReason: 'rotated' }, who);
    throw invalidRefresh();
  }
  return issued.token;
}

/** A caller never mints a PAT that may do more than the caller may: creation and rotation by id alike. */
function mayMint(principal: Principal, role: Role): void {
  if (!atLeast(principal.role, role))
    throw fail('permission_denied', { detail: `A token's role cannot be above your own role (${principal.role}).` });
}

/**
 * `POST /api/token/{id}/rotate/`: the web page's rotation, which never holds the PAT. Its owner
 * may, or an owner or administrator of its organization whose role is at least the owner's
 * current one: the successor is handed to the caller and acts with the owner's role, so this
 * must not mint an administrator a token that acts as an owner. Not holding the PAT proves no
 * reuse, so a revoked (or concurrently rotated) PAT is a plain 404 and its family stays live.
 * An expired one is not live either: rotating it would revive it.
 */
export async function rotateById(
  ctx: Context,
  principal: Principal,
  id: number,
  ip: string | undefined,
): Promise<IssuedPat> {
  const pat = await findPatById(ctx.db, id);
  if (!pat || pat.revokedAt || pat.expiresAt.getTime() <= ctx.clock() || !mayManage(principal, pat))
    throw fail('not_found');
  const held = await ctx.state.pat(pat.jti);
  if (!held?.holder.role) throw fail('not_found');
  if (pat.userId === principal.userId) {
    // The owner through a weaker credential (an access token from an annotator-role PAT) must
    // not turn their owner-role PAT into a fresh one they then hold.
    mayMint(principal, lower(pat.role, held.holder.role));
  } else if (!atLeast(principal.role, held.holder.role))
    throw fail('permission_denied', {
      detail: `Only the owner of this token, or an admin whose role is at least theirs (${held.holder.role}), may rotate it.`,
    });
  if (!held.holder.policy?.apiTokensEnabled) throw fail('token_creation_disabled');
  const issued = await replacePat(ctx, principal, pat, held.holder, ip, () => fail('not_found'));
  if (!issued) throw fail('not_found');
  return issued;
}

/**
 * The one rotation rule, once the caller's checks passed: revokes `pat` as `rotated` and issues
 * its successor in the same family, with the same name and owner, its role capped by
 * {@link standing}, and the lifetime the parent was created with, capped by the org's current
 * `api_token_ttl_days`. `refusal` is the caller's answer when the owner may no longer hold it.
 * Undefined when another rotation revoked `pat` first.
 */
async function replacePat(
  ctx: Context,
  principal: Principal,
  pat: PersonalAccessToken,
  holder: Holder,
  ip: string | undefined,
  refusal: () => AppError,
): Promise<IssuedPat | undefined> {
  const { role } = standing(holder, 'pat', pat.role, refusal);
  const lifetimeSeconds = seconds(pat.expiresAt) - seconds(pat.createdAt);
  return ctx.change(
    async (tx) => {
      if (!(await revokePat(tx, pat.id, 'rotated', new Date(ctx.clock())))) return undefined;
      const policy = await findOrganizationPolicy(tx, pat.organizationId);
      if (!policy) throw refusal();
      const ttlSeconds = Math.min(lifetimeSeconds, policy.apiTokenTtlDays * DAY_SECONDS);
      return mintPat(ctx, tx, {
        name: pat.name,
        userId: pat.userId,
        organizationId: pat.organizationId,
        role,
        parentId: pat.id,
        familyId: pat.familyId,
        ttlSeconds,
      });
    },
    (next) =>
      next && {
        action: 'pat.rotated',
        organizationId: pat.organizationId,
        actorUserId: principal.userId,
        targetType: 'pat',
        targetId: next.row.id,
        ip,
        details: { previous_id: pat.id, owner_user_id: pat.userId },
      },
  );
}
