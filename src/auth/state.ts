/**
 * What authentication reads, cached per instance within fixed bounds and kept current by the
 * change feed. An instance holds only what its traffic touched: the credentials in use (PATs
 * by jti, sessions by id, live legacy tokens by SHA-256), their users, memberships and
 * organization policies, each in an LRU of `max` entries. A warm credential costs no
 * database round trip; a cold one costs one indexed query that reads the credential and
 * everything judging it needs at once (see state.store.ts).
 *
 * Correctness rests on three rules:
 * - Every change announced by the feed evicts its key, on every instance.
 * - A read that raced a change to one of its keys is answered but not cached: each change is
 *   numbered, and a read keeps what it read only if no key it read changed after it began.
 * - While the feed is down nothing may be trusted: the caches are dropped and every request
 *   reads the database, until the feed listens again. Only an unreachable database is a 503.
 */
import { LRUCache } from 'lru-cache';
import { CHANNEL, listenExternal, listenPooled, type Change, type ChangeFeedHandlers } from '../db/change-feed';
import type { Database } from '../db/database';
import type { KeyRing } from '../keys/keyring';
import type { Logger } from '../logger';
import type { RevocationReason } from '../generated/prisma/client';
import { randomHex } from '../secrets';
import type { Role } from './roles';
import { storeReads, type LegacyRow, type PatRow, type SessionRow, type StateReads, type UserRow } from './state.store';

export interface OrgPolicy {
  readonly apiTokensEnabled: boolean;
  readonly legacyEnabled: boolean;
  readonly accessTokenTtlSeconds: number;
}
/** A user as authentication and whoami see it: Label Studio's user object, less what is derived. */
export interface UserRecord {
  readonly active: boolean;
  readonly email: string;
  readonly username: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly phone: string;
  readonly avatar: string | null;
  readonly allowNewsletters: boolean | null;
  readonly activeOrganizationId: number | null;
  /** Label Studio's `date_joined`: when the user was created. */
  readonly dateJoined: Date;
  /**
   * As read: writes of it alone are not announced (they would evict every active user once a
   * minute), so a cached copy falls behind. Whoami adds this instance's own newer note of it.
   */
  readonly lastActivity: Date | null;
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

/** What a credential is judged against; undefined where the row does not exist. */
export interface Holder {
  readonly user: UserRecord | undefined;
  /** The user's membership role in the credential's organization; undefined for none or a pending one. */
  readonly role: Role | undefined;
  readonly policy: OrgPolicy | undefined;
}

/** A credential and its holder, as of one moment. */
export interface Held<C> {
  readonly credential: C;
  readonly holder: Holder;
}

/** The pseudo-table of {@link AuthState.sync}'s markers. */
const SYNC_TABLE = '_sync';
/** How long a write waits for its own marker before it declares the feed lost. */
const SYNC_TIMEOUT_MS = 2_000;
/** Changes remembered for race checks; a read that saw more changes than this keeps nothing. */
const RECENT_CHANGES = 10_000;

interface Membership {
  readonly role: Role | null;
}

/** The tables whose rows are cached, and how a change names the cached key. */
const KEY_OF = {
  personal_access_tokens: (row: Record<string, unknown>) => String(row.jti),
  sessions: (row: Record<string, unknown>) => String(row.id),
  legacy_tokens: (row: Record<string, unknown>) => String(row.token_hash),
  users: (row: Record<string, unknown>) => String(row.id),
  memberships: (row: Record<string, unknown>) => `${String(row.user_id)}:${String(row.organization_id)}`,
  organizations: (row: Record<string, unknown>) => String(row.id),
} as const;
type Table = keyof typeof KEY_OF;
/** The caches, named by the table they copy. */
export type CacheName = Table;
const isCached = (table: string): table is Table => Object.hasOwn(KEY_OF, table);

interface Cached {
  personal_access_tokens: PatRecord;
  sessions: SessionRecord;
  legacy_tokens: LegacyRecord;
  users: UserRecord;
  memberships: Membership;
  organizations: OrgPolicy;
}
type Caches = { readonly [T in Table]: LRUCache<string, Cached[T]> };
type CredentialTable = 'personal_access_tokens' | 'sessions' | 'legacy_tokens';

/** One cache as it is now, for the metrics. */
export interface CacheStats {
  readonly cache: CacheName;
  readonly entries: number;
  /** Lookups it answered, since start. */
  readonly hits: number;
  /** Lookups it could not answer (the database was read), since start. */
  readonly misses: number;
}

/** Where a read began: the change count and the feed's generation at that moment. */
interface Ticket {
  readonly seq: number;
  readonly generation: number;
}

const userRecord = (row: UserRow): UserRecord => ({
  active: row.is_active,
  email: row.email,
  username: row.username,
  firstName: row.first_name,
  lastName: row.last_name,
  phone: row.phone,
  avatar: row.avatar,
  allowNewsletters: row.allow_newsletters,
  activeOrganizationId: row.active_organization_id,
  dateJoined: row.created_at,
  lastActivity: row.last_activity,
});

type HolderRow = PatRow | SessionRow | LegacyRow;

function holderOf(row: HolderRow): Holder {
  return {
    user:
      row.u_active === null
        ? undefined
        : userRecord({
            is_active: row.u_active,
            email: row.u_email!,
            username: row.u_username!,
            first_name: row.u_first_name!,
            last_name: row.u_last_name!,
            phone: row.u_phone!,
            avatar: row.u_avatar,
            allow_newsletters: row.u_allow_newsletters,
            active_organization_id: row.u_active_organization_id,
            created_at: row.u_created_at!,
            last_activity: row.u_last_activity,
          }),
    role: row.m_role ?? undefined,
    policy:
      row.o_api_tokens_enabled === null
        ? undefined
        : {
            apiTokensEnabled: row.o_api_tokens_enabled,
            legacyEnabled: row.o_legacy_enabled!,
            accessTokenTtlSeconds: row.o_access_token_ttl_seconds!,
          },
  };
}

export class AuthState {
  readonly #caches: Caches;
  /** Changes applied so far; the number of the last change to each recently changed key. */
  #seq = 0;
  readonly #recent = new LRUCache<string, number>({ max: RECENT_CHANGES });
  /** Bumped whenever the feed is lost or listens again: reads from before may not be kept. */
  #generation = 0;
  #live = false;
  /** Waiters for sync markers, by marker id. */
  readonly #syncs = new Map<string, () => void>();
  #onStall: (reason: string) => void = () => undefined;
  readonly #lookups = Object.fromEntries(Object.keys(KEY_OF).map((table) => [table, { hits: 0, misses: 0 }])) as {
    readonly [T in Table]: { hits: number; misses: number };
  };

  constructor(
    private readonly reads: StateReads,
    max: number,
  ) {
    this.#caches = {
      personal_access_tokens: new LRUCache({ max }),
      sessions: new LRUCache({ max }),
      legacy_tokens: new LRUCache({ max }),
      users: new LRUCache({ max }),
      memberships: new LRUCache({ max }),
      organizations: new LRUCache({ max }),
    };
  }

  /** True while the change feed is up (the caches are in use). */
  get live(): boolean {
    return this.#live;
  }

  /** Entries cached now, all caches together. */
  get size(): number {
    return Object.values(this.#caches).reduce((total: number, cache: { size: number }) => total + cache.size, 0);
  }

  /** Each cache's size and how often it answered, for the metrics. */
  stats(): CacheStats[] {
    return (Object.keys(KEY_OF) as Table[]).map((cache) => ({
      cache,
      entries: this.#caches[cache].size,
      ...this.#lookups[cache],
    }));
  }

  /** The feed is lost: changes are being missed, so nothing cached can be trusted. */
  lost(): void {
    this.#live = false;
    this.#generation++;
    for (const cache of Object.values(this.#caches) as { clear(): void }[]) cache.clear();
  }

  /** The feed listens (again): from now on every change reaches {@link apply}. */
  listening(): void {
    this.#generation++;
    this.#live = true;
  }

  /** Called when a write could not confirm that the feed carries its changes. */
  onStall(handler: (reason: string) => void): void {
    this.#onStall = handler;
  }

  /** Applies one announced change: its key leaves the cache. */
  apply(change: Change): void {
    if (change.table === SYNC_TABLE) {
      this.#syncs.get(String(change.row.id))?.();
      return;
    }
    if (!isCached(change.table)) return;
    if (change.op === 'TRUNCATE') {
      // Every key of the table changed: drop them, and keep no read that was on its way.
      this.#generation++;
      this.#caches[change.table].clear();
      return;
    }
    const key = KEY_OF[change.table](change.row);
    this.#recent.set(`${change.table}:${key}`, ++this.#seq);
    this.#caches[change.table].delete(key);
  }

  /**
   * Resolves once every change committed before the call has been applied here: a marker
   * goes through the same channel, and notifications arrive in commit order. Writes call it
   * before answering, so this instance reads its own writes at once. A marker that does not
   * come back means the feed cannot be trusted: it is declared lost (caches dropped,
   * reconnected), never silently ignored.
   */
  async sync(): Promise<void> {
    if (!this.#live) return;
    const generation = this.#generation;
    const id = randomHex(8);
    let timer: NodeJS.Timeout | undefined;
    let arrived = () => undefined as void;
    const seen = new Promise<boolean>((resolve) => (arrived = () => resolve(true)));
    this.#syncs.set(id, arrived);
    try {
      // A marker that cannot be sent says something of the pool, not of the feed (its heartbeat watches that).
      const marker = JSON.stringify({ table: SYNC_TABLE, op: 'SYNC', row: { id } });
      const sent = await this.reads.notify(CHANNEL, marker).then(
        () => true,
        () => false,
      );
      if (!sent) return;
      // The clock starts once the marker is out: waiting for a busy pool is not the feed's fault.
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, SYNC_TIMEOUT_MS, false)));
      if (await Promise.race([seen, timeout])) return;
    } finally {
      clearTimeout(timer);
      this.#syncs.delete(id);
    }
    if (generation !== this.#generation) return;
    this.lost();
    this.#onStall('a write could not confirm its change through the feed');
  }

  /** A PAT (revoked or not) by jti, with its holder. */
  pat(jti: string): Promise<Held<PatRecord> | undefined> {
    return this.#held(
      'personal_access_tokens',
      jti,
      () => this.reads.pat(jti),
      (row) => ({
        id: row.id,
        userId: row.user_id,
        organizationId: row.organization_id,
        role: row.role,
        familyId: row.family_id,
        revokedReason: row.revoked_reason,
      }),
    );
  }

  /** A login session (ended or not) by id, with its holder. */
  session(id: string): Promise<Held<SessionRecord> | undefined> {
    return this.#held(
      'sessions',
      id,
      () => this.reads.session(id),
      (row) => ({
        userId: row.user_id,
        organizationId: row.organization_id,
        tokenHash: row.token_hash,
        expiresAt: row.expires_at.getTime(),
        ended: row.ended_at !== null,
      }),
    );
  }

  /** A live legacy token by SHA-256, with its holder. A miss is never cached: anyone can mint misses. */
  legacy(tokenHash: string): Promise<Held<LegacyRecord> | undefined> {
    return this.#held(
      'legacy_tokens',
      tokenHash,
      () => this.reads.legacy(tokenHash),
      (row) => ({ id: row.id, userId: row.user_id, organizationId: row.organization_id }),
    );
  }

  /** True when a live legacy token with this hash is cached (a request for it will cost no lookup). */
  hasLegacy(tokenHash: string): boolean {
    return this.#caches.legacy_tokens.has(tokenHash);
  }

  /** A user's profile, for whoami. */
  async user(id: number): Promise<UserRecord | undefined> {
    const key = String(id);
    const cached = this.#lookup('users', key);
    if (cached) return cached;
    const ticket = this.#ticket();
    const row = await this.reads.user(id);
    if (!row) return undefined;
    const user = userRecord(row);
    this.#keep(ticket, 'users', key, user);
    return user;
  }

  async #held<T extends CredentialTable, R extends HolderRow>(
    table: T,
    key: string,
    read: () => Promise<R | undefined>,
    credentialOf: (row: R) => Cached[T],
  ): Promise<Held<Cached[T]> | undefined> {
    const cached = this.#lookup(table, key);
    const holder = cached && this.#cachedHolder(cached.userId, cached.organizationId);
    if (cached && holder) return { credential: cached, holder };
    const ticket = this.#ticket();
    const row = await read();
    if (!row) return undefined;
    const held = { credential: credentialOf(row), holder: holderOf(row) };
    const { user, role, policy } = held.holder;
    this.#keep(ticket, table, key, held.credential);
    if (user) this.#keep(ticket, 'users', String(row.user_id), user);
    this.#keep(ticket, 'memberships', `${row.user_id}:${row.organization_id}`, { role: role ?? null });
    if (policy) this.#keep(ticket, 'organizations', String(row.organization_id), policy);
    return held;
  }

  #cachedHolder(userId: number, organizationId: number): Holder | undefined {
    const user = this.#lookup('users', String(userId));
    const membership = this.#lookup('memberships', `${userId}:${organizationId}`);
    const policy = this.#lookup('organizations', String(organizationId));
    return user && membership && policy ? { user, role: membership.role ?? undefined, policy } : undefined;
  }

  /** A cache read, counted as a hit or a miss. */
  #lookup<T extends Table>(table: T, key: string): Cached[T] | undefined {
    const value = (this.#caches[table] as LRUCache<string, Cached[T]>).get(key);
    if (value === undefined) this.#lookups[table].misses++;
    else this.#lookups[table].hits++;
    return value;
  }

  #ticket(): Ticket {
    return { seq: this.#seq, generation: this.#generation };
  }

  /** Caches what a read found, unless the feed was down or a change to the key arrived since the read began. */
  #keep<T extends Table>(ticket: Ticket, table: T, key: string, value: Cached[T]): void {
    if (!this.#live || ticket.generation !== this.#generation) return;
    if (this.#seq - ticket.seq >= RECENT_CHANGES) return;
    if ((this.#recent.peek(`${table}:${key}`) ?? -1) > ticket.seq) return;
    (this.#caches[table] as LRUCache<string, Cached[T]>).set(key, value);
  }
}

export interface LiveState {
  readonly state: AuthState;
  close(): Promise<void>;
}

/**
 * An {@link AuthState} kept current by the change feed; resolves once the feed listens.
 * Signing-key changes, and every (re)connection, reload the key ring too.
 */
export async function openLiveState(options: {
  readonly database: Database;
  readonly embedded: boolean;
  readonly keys: KeyRing;
  readonly cacheSize: number;
  readonly logger: Logger;
  /** Where the feed connects; default the database's URL (tests put a proxy in between). */
  readonly feedUrl?: string;
  /** Stop waiting for the first LISTEN (the server is stopping). */
  readonly signal?: AbortSignal;
  /** Told of every change after the state applied it, and of every (re)connection once the state is live. */
  readonly observer?: { onChange(change: Change): void; onListening(): void };
}): Promise<LiveState> {
  const { database, keys, logger } = options;
  const state = new AuthState(storeReads(database.db), options.cacheSize);
  let first: () => void;
  const listening = new Promise<void>((resolve) => (first = resolve));
  const handlers: ChangeFeedHandlers = {
    onChange(change) {
      state.apply(change);
      options.observer?.onChange(change);
      if (change.table === 'signing_keys')
        keys
          .reload()
          .catch((err: unknown) =>
            logger.warn({ err: { message: (err as Error).message } }, 'reloading signing keys failed'),
          );
    },
    async onListening() {
      await keys.reload();
      state.listening();
      options.observer?.onListening();
      logger.info('change feed listening; authentication caches in use');
      first();
    },
    onLost() {
      state.lost();
      logger.warn('change feed lost; answering from the database until it is back');
    },
  };
  const feed = options.embedded
    ? await listenPooled(database.pool, handlers)
    : listenExternal(options.feedUrl ?? database.url, handlers, logger);
  state.onStall((reason) => feed.restart(reason));
  const { signal } = options;
  const aborted = new Promise<never>((_, reject) => {
    const stop = () => reject(new Error('stopped before the change feed listened'));
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
  });
  aborted.catch(() => undefined); // a stop long after start-up rejects it with no one waiting
  try {
    await Promise.race([listening, aborted]);
  } catch (err) {
    await feed.close();
    throw err;
  }
  return { state, close: () => feed.close() };
}
