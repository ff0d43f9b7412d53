/**
 * What authentication needs from the database, held in memory and kept current by the change
 * feed: organization policies, users, memberships, PATs (revoked or not), sessions and legacy
 * tokens. A Bearer, X-Api-Key or Token request then costs no database round trip.
 *
 * A miss (a row created a moment ago on another instance, not yet announced) is read from
 * the database once and remembered, unless a change was announced for it meanwhile. While the feed is down the copy may be stale: within
 * `staleGraceMs` it is still trusted; after that, requests get 503 rather than an answer
 * Latchkey can no longer vouch for.
 */
import { CHANNEL, listenExternal, listenPooled, type Change, type ChangeFeedHandlers } from '../db/change-feed';
import type { Database, PrismaClient } from '../db/database';
import type { KeyRing } from '../keys/keyring';
import type { Logger } from '../logger';
import { serviceUnavailable } from '../errors';
import type { RevocationReason } from '../generated/prisma/client';
import { randomHex } from '../secrets';
import type { Role } from './roles';

export interface OrgPolicy {
  readonly apiTokensEnabled: boolean;
  readonly legacyEnabled: boolean;
  readonly accessTokenTtlSeconds: number;
}
export interface UserRecord {
  readonly active: boolean;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly activeOrganizationId: number | null;
}
export interface PatRecord {
  readonly id: number;
  readonly userId: number;
  readonly organizationId: number;
  readonly role: Role;
  readonly familyId: string;
  /** Null while live. */
  readonly revokedReason: RevocationReason | null;
}
export interface SessionRecord {
  readonly userId: number;
  readonly organizationId: number;
  readonly tokenHash: string;
  readonly expiresAt: number;
  readonly ended: boolean;
}
export interface LegacyRecord {
  readonly id: number;
  readonly userId: number;
  readonly organizationId: number;
}

const PAT_COLUMNS = { id: true, jti: true, userId: true, organizationId: true, role: true, familyId: true, revokedReason: true } as const;
const patRecord = (p: { id: number; userId: number; organizationId: number; role: Role; familyId: string; revokedReason: RevocationReason | null }): PatRecord => ({
  id: p.id,
  userId: p.userId,
  organizationId: p.organizationId,
  role: p.role,
  familyId: p.familyId,
  revokedReason: p.revokedReason,
});

/** The pseudo-table of {@link AuthState.sync}'s markers. */
const SYNC_TABLE = '_sync';

const memberKey = (userId: number, organizationId: number) => `${userId}:${organizationId}`;
const time = (value: unknown) => (value === null || value === undefined ? undefined : new Date(value as string).getTime());

/** `null` marks a row announced as deleted (or a legacy token as revoked). */
interface Tables {
  orgs: Map<number, OrgPolicy | null>;
  users: Map<number, UserRecord | null>;
  members: Map<string, Role | null>;
  pats: Map<string, PatRecord | null>;
  sessions: Map<string, SessionRecord | null>;
  legacy: Map<string, LegacyRecord | null>;
}

const emptyTables = (): Tables => ({ orgs: new Map(), users: new Map(), members: new Map(), pats: new Map(), sessions: new Map(), legacy: new Map() });

export class AuthState {
  #t: Tables = emptyTables();
  /** When the feed was lost; undefined while it is up. */
  #lostAt: number | undefined;
  /** Changes seen while a reload was reading; replayed over its result. */
  #replay: Change[] | undefined;
  /** Waiters for sync markers, by marker id. */
  readonly #syncs = new Map<string, () => void>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: () => number,
    private readonly staleGraceMs: number,
  ) {}

  /** Reads everything that can still authenticate. */
  async reload(): Promise<void> {
    this.#replay = [];
    try {
      const now = new Date(this.clock());
      const [orgs, users, members, pats, sessions, legacy] = await Promise.all([
        this.prisma.organization.findMany({ select: { id: true, apiTokensEnabled: true, legacyApiTokensEnabled: true, accessTokenTtlSeconds: true } }),
        this.prisma.user.findMany({ select: { id: true, isActive: true, email: true, firstName: true, lastName: true, activeOrganizationId: true } }),
        this.prisma.membership.findMany({ select: { userId: true, organizationId: true, role: true } }),
        // Access tokens outlive their PAT by at most one access TTL; a day is ample.
        this.prisma.personalAccessToken.findMany({ where: { expiresAt: { gt: new Date(now.getTime() - 86_400_000) } }, select: PAT_COLUMNS }),
        this.prisma.session.findMany({ where: { endedAt: null, expiresAt: { gt: now } }, select: { id: true, userId: true, organizationId: true, tokenHash: true, expiresAt: true } }),
        this.prisma.legacyToken.findMany({ where: { revokedAt: null }, select: { id: true, tokenHash: true, userId: true, organizationId: true } }),
      ]);
      const t = emptyTables();
      for (const o of orgs) t.orgs.set(o.id, { apiTokensEnabled: o.apiTokensEnabled, legacyEnabled: o.legacyApiTokensEnabled, accessTokenTtlSeconds: o.accessTokenTtlSeconds });
      for (const u of users) t.users.set(u.id, { active: u.isActive, email: u.email, firstName: u.firstName, lastName: u.lastName, activeOrganizationId: u.activeOrganizationId });
      for (const m of members) t.members.set(memberKey(m.userId, m.organizationId), m.role);
      for (const p of pats) t.pats.set(p.jti, patRecord(p));
      for (const s of sessions) t.sessions.set(s.id, { userId: s.userId, organizationId: s.organizationId, tokenHash: s.tokenHash, expiresAt: s.expiresAt.getTime(), ended: false });
      for (const l of legacy) t.legacy.set(l.tokenHash, { id: l.id, userId: l.userId, organizationId: l.organizationId });
      const replay = this.#replay;
      this.#t = t;
      this.#replay = undefined;
      for (const change of replay) this.apply(change);
    } finally {
      this.#replay = undefined;
    }
  }

  /**
   * Resolves once every change committed before the call has been applied here: a marker
   * goes through the same channel, and notifications arrive in commit order. Writes call it
   * before answering, so this instance reads its own writes at once. Gives up after
   * `timeoutMs` (the feed may be down; then staleness rules apply).
   */
  async sync(timeoutMs = 1_000): Promise<void> {
    const id = randomHex(8);
    const seen = new Promise<void>((resolve) => {
      const timer = setTimeout(() => (this.#syncs.delete(id), resolve()), timeoutMs);
      this.#syncs.set(id, () => (clearTimeout(timer), resolve()));
    });
    await this.prisma.$executeRaw`SELECT pg_notify(${CHANNEL}, ${JSON.stringify({ table: SYNC_TABLE, op: 'SYNC', row: { id } })})`;
    await seen;
  }

  /** Applies one announced change. */
  apply(change: Change): void {
    if (change.table === SYNC_TABLE) {
      const waiter = this.#syncs.get(String(change.row.id));
      this.#syncs.delete(String(change.row.id));
      waiter?.();
      return;
    }
    this.#replay?.push(change);
    const { row } = change;
    const gone = change.op === 'DELETE';
    const t = this.#t;
    switch (change.table) {
      case 'organizations':
        if (gone) t.orgs.set(row.id as number, null);
        else t.orgs.set(row.id as number, { apiTokensEnabled: row.api_tokens_enabled as boolean, legacyEnabled: row.legacy_api_tokens_enabled as boolean, accessTokenTtlSeconds: row.access_token_ttl_seconds as number });
        break;
      case 'users':
        if (gone) t.users.set(row.id as number, null);
        else t.users.set(row.id as number, { active: row.is_active as boolean, email: row.email as string, firstName: row.first_name as string, lastName: row.last_name as string, activeOrganizationId: (row.active_organization_id as number | null) ?? null });
        break;
      case 'memberships': {
        const key = memberKey(row.user_id as number, row.organization_id as number);
        if (gone) t.members.set(key, null);
        else t.members.set(key, row.role as Role);
        break;
      }
      case 'personal_access_tokens': {
        const jti = String(row.jti);
        if (gone) t.pats.set(jti, null);
        else {
          t.pats.set(jti, {
            id: row.id as number,
            userId: row.user_id as number,
            organizationId: row.organization_id as number,
            role: row.role as Role,
            familyId: String(row.family_id),
            revokedReason: (row.revoked_reason as RevocationReason | null) ?? null,
          });
        }
        break;
      }
      case 'sessions':
        if (gone || row.ended_at !== null) t.sessions.set(String(row.id), { userId: row.user_id as number, organizationId: row.organization_id as number, tokenHash: String(row.token_hash), expiresAt: 0, ended: true });
        else t.sessions.set(String(row.id), { userId: row.user_id as number, organizationId: row.organization_id as number, tokenHash: String(row.token_hash), expiresAt: time(row.expires_at)!, ended: false });
        break;
      case 'legacy_tokens':
        if (gone || row.revoked_at !== null) t.legacy.set(String(row.token_hash), null);
        else t.legacy.set(String(row.token_hash), { id: row.id as number, userId: row.user_id as number, organizationId: row.organization_id as number });
        break;
      default:
    }
  }

  /** True while the change feed is up (this copy is current). */
  get live(): boolean {
    return this.#lostAt === undefined;
  }

  lost(): void {
    this.#lostAt ??= this.clock();
  }

  listening(): void {
    this.#lostAt = undefined;
  }

  /** 503 once the copy has been unconfirmed for longer than the grace. */
  assertFresh(): void {
    if (this.#lostAt !== undefined && this.clock() - this.#lostAt > this.staleGraceMs) {
      throw serviceUnavailable('Latchkey cannot confirm revocation state right now; try again shortly.');
    }
  }

  /**
   * The remembered value, or the database's (remembered unless a change was announced for
   * the key meanwhile). `null` in a map is a tombstone: deleted or revoked, announced.
   */
  async #lookup<K, V>(map: Map<K, V | null>, key: K, fetch: () => Promise<V | null | undefined>): Promise<V | undefined> {
    const known = map.get(key);
    if (known !== undefined) return known ?? undefined;
    const fetched = (await fetch()) ?? undefined;
    if (fetched && !map.has(key)) map.set(key, fetched);
    return map.has(key) ? (map.get(key) ?? undefined) : fetched;
  }

  user(id: number): Promise<UserRecord | undefined> {
    return this.#lookup(this.#t.users, id, async () => {
      const u = await this.prisma.user.findUnique({ where: { id }, select: { isActive: true, email: true, firstName: true, lastName: true, activeOrganizationId: true } });
      return u && { active: u.isActive, email: u.email, firstName: u.firstName, lastName: u.lastName, activeOrganizationId: u.activeOrganizationId };
    });
  }

  role(userId: number, organizationId: number): Promise<Role | undefined> {
    return this.#lookup(this.#t.members, memberKey(userId, organizationId), async () => {
      const m = await this.prisma.membership.findUnique({ where: { userId_organizationId: { userId, organizationId } }, select: { role: true } });
      return m?.role;
    });
  }

  policy(organizationId: number): Promise<OrgPolicy | undefined> {
    return this.#lookup(this.#t.orgs, organizationId, async () => {
      const o = await this.prisma.organization.findUnique({ where: { id: organizationId }, select: { apiTokensEnabled: true, legacyApiTokensEnabled: true, accessTokenTtlSeconds: true } });
      return o && { apiTokensEnabled: o.apiTokensEnabled, legacyEnabled: o.legacyApiTokensEnabled, accessTokenTtlSeconds: o.accessTokenTtlSeconds };
    });
  }

  pat(jti: string): Promise<PatRecord | undefined> {
    return this.#lookup(this.#t.pats, jti, async () => {
      const p = await this.prisma.personalAccessToken.findUnique({ where: { jti }, select: PAT_COLUMNS });
      return p && patRecord(p);
    });
  }

  session(id: string): Promise<SessionRecord | undefined> {
    return this.#lookup(this.#t.sessions, id, async () => {
      const s = await this.prisma.session.findUnique({ where: { id }, select: { userId: true, organizationId: true, tokenHash: true, expiresAt: true, endedAt: true } });
      return s && { userId: s.userId, organizationId: s.organizationId, tokenHash: s.tokenHash, expiresAt: s.expiresAt.getTime(), ended: s.endedAt !== null };
    });
  }

  /** A live legacy token by hash. A miss is not remembered: anyone can mint well-formed misses. */
  legacy(tokenHash: string): Promise<LegacyRecord | undefined> {
    return this.#lookup(this.#t.legacy, tokenHash, async () => {
      const l = await this.prisma.legacyToken.findUnique({ where: { tokenHash }, select: { id: true, userId: true, organizationId: true, revokedAt: true } });
      return l && !l.revokedAt ? { id: l.id, userId: l.userId, organizationId: l.organizationId } : undefined;
    });
  }
}

export interface LiveState {
  readonly state: AuthState;
  close(): Promise<void>;
}

/**
 * An {@link AuthState} kept current by the change feed; resolves once it is loaded and
 * listening. Signing-key changes reload the key ring too.
 */
export async function openLiveState(options: {
  readonly database: Database;
  readonly embedded: boolean;
  readonly keys: KeyRing;
  readonly clock: () => number;
  readonly staleGraceMs: number;
  readonly logger: Logger;
}): Promise<LiveState> {
  const { database, keys, logger } = options;
  const state = new AuthState(database.prisma, options.clock, options.staleGraceMs);
  state.lost();
  let first: () => void;
  const listening = new Promise<void>((resolve) => (first = resolve));
  const handlers: ChangeFeedHandlers = {
    onChange(change) {
      state.apply(change);
      if (change.table === 'signing_keys') keys.reload().catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'reloading signing keys failed'));
    },
    async onListening() {
      await Promise.all([state.reload(), keys.reload()]);
      state.listening();
      logger.info('change feed listening; authentication state loaded');
      first();
    },
    onLost: () => state.lost(),
  };
  const feed = options.embedded ? await listenPooled(database.pool, handlers) : listenExternal(database.url, handlers, logger);
  await listening;
  return { state, close: () => feed.close() };
}
