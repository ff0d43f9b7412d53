/**
 * Legacy tokens (`Authorization: Token <key>`): one per user per organization, shown once,
 * stored as SHA-256, dead at once on reset, and only accepted while the organization allows.
 */
import { standing, type Principal } from '../auth/principal';
import type { Context } from '../context';
import { fail } from '../errors';
import { sha256Hex } from '../secrets';
import { lockMembership } from '../auth/membership.store';
import { generateLegacyToken, legacyHint, legacyTokenFormat } from './legacy-token';
import { findLiveLegacy, insertLegacy, revokeLiveLegacy } from './legacy.store';

/** Resolves a legacy token to its principal. A malformed or mistyped token costs no lookup. */
export async function authenticateLegacy(ctx: Context, value: string): Promise<Principal> {
  if (!value) throw fail('token_malformed', { detail: 'Invalid token header. No credentials provided.' });
  const format = legacyTokenFormat(ctx.tags, value);
  if (!format) throw fail('token_invalid', { detail: 'Invalid token.' });
  const hash = sha256Hex(value);
  // An old-format token may be anyone's guess: a cold one's lookup is bounded (warm ones need none).
  if (format === 'unkeyed' && !ctx.state.hasLegacy(hash)) ctx.unkeyedLegacyLookups.take('all');
  const held = await ctx.state.legacy(hash);
  if (!held) throw fail('token_invalid', { detail: 'Invalid token.' });
  const token = held.credential;
  // Django REST framework's words for a missing or inactive user.
  const { role, user } = standing(held.holder, 'legacy', undefined, (code, detail) =>
    code.startsWith('user_') ? fail('user_inactive', { detail: 'User inactive or deleted.' }) : fail(code, { detail }),
  );
  ctx.usage.touch('legacy', token.id);
  return {
    userId: token.userId,
    organizationId: token.organizationId,
    role,
    user,
    credential: { kind: 'legacy', tokenId: token.id },
  };
}

export interface LegacyDescription {
  readonly detail: string;
  readonly hint: string | null;
  readonly created_at: string | null;
}

/** `GET /api/current-user/token`: never the token, which is shown only when created. */
export async function describeLegacy(ctx: Context, principal: Principal): Promise<LegacyDescription> {
  const live = await findLiveLegacy(ctx.db, principal.userId, principal.organizationId);
  return {
    detail:
      'Legacy tokens are shown only when created. POST /api/current-user/reset-token/ makes a new one and revokes this one.',
    hint: live?.hint ?? null,
    created_at: live?.createdAt.toISOString() ?? null,
  };
}

/** `POST /api/current-user/reset-token/`: a new token; the old one stops at once. */
export async function resetLegacy(ctx: Context, principal: Principal, ip: string | undefined): Promise<string> {
  const token = generateLegacyToken(ctx.tags);
  const now = new Date(ctx.clock());
  await ctx.change(
    async (tx) => {
      // Serializes resets of one user in one organization.
      const membership = await lockMembership(tx, principal.userId, principal.organizationId);
      if (!membership) throw fail('not_a_member', { detail: 'You are not a member of this organization.' });
      if (!membership.legacyApiTokensEnabled)
        throw fail('token_creation_disabled', { detail: 'Legacy tokens are disabled for this organization.' });
      // One live token per user per organization: the new one replaces the old.
      const replaced = await revokeLiveLegacy(tx, principal.userId, principal.organizationId, now);
      const created = await insertLegacy(tx, {
        userId: principal.userId,
        organizationId: principal.organizationId,
        tokenHash: sha256Hex(token),
        hint: legacyHint(token),
        createdAt: now,
      });
      return { created, replaced };
    },
    ({ created, replaced }) => ({
      action: 'legacy_token.created',
      organizationId: principal.organizationId,
      actorUserId: principal.userId,
      targetType: 'legacy_token',
      targetId: created.id,
      ip,
      details: { replaced },
    }),
  );
  return token;
}
