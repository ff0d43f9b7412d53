/**
 * The authentication state's race rule, without a database: a read keeps its answer in the
 * cache only if nothing it read changed while it was on its way, and only while the feed that
 * would announce later changes is up. The reads are the test's own, each held open until the
 * test lets it answer, so every interleaving is chosen, not hoped for.
 */
import { AuthState } from '../../src/auth/state';
import type { PatRow, StateReads, UserRow } from '../../src/auth/state.store';
import type { Change } from '../../src/db/change-feed';

const patRow = (revoked = false): PatRow => ({
  id: 1,
  role: 'owner',
  family_id: 'family',
  revoked_reason: revoked ? 'revoked' : null,
  user_id: 7,
  organization_id: 3,
  u_active: true,
  u_email: 'ada@example.com',
  u_username: 'ada@example.com',
  u_first_name: 'Ada',
  u_last_name: 'Lovelace',
  u_phone: '',
  u_avatar: null,
  u_allow_newsletters: null,
  u_active_organization_id: 3,
  u_created_at: new Date(0),
  u_last_activity: null,
  m_role: 'owner',
  o_api_tokens_enabled: true,
  o_legacy_enabled: false,
  o_access_token_ttl_seconds: 300,
});

const userRow: UserRow = {
  is_active: true,
  email: 'ada@example.com',
  username: 'ada@example.com',
  first_name: 'Ada',
  last_name: 'Lovelace',
  phone: '',
  avatar: null,
  allow_newsletters: null,
  active_organization_id: 3,
  created_at: new Date(0),
  last_activity: null,
};

/** Reads the test answers by hand, in the order it chooses; counts how many reached "the database". */
function heldReads() {
  const pending: ((row: PatRow | undefined) => void)[] = [];
  let reads = 0;
  const unused = () => Promise.reject(new Error('not read in this test'));
  const store: StateReads = {
    pat: () => {
      reads++;
      return new Promise((resolve) => pending.push(resolve));
    },
    session: unused,
    legacy: unused,
    user: () => Promise.resolve(userRow),
    notify: () => Promise.resolve(),
  };
  return {
    store,
    reads: () => reads,
    /** Answers the oldest read still waiting. */
    answer(row: PatRow | undefined) {
      const next = pending.shift();
      if (!next) throw new Error('no read is waiting');
      next(row);
    },
  };
}

const revokedPat: Change = { table: 'personal_access_tokens', op: 'UPDATE', row: { jti: 'j1' } };
const otherPat: Change = { table: 'personal_access_tokens', op: 'UPDATE', row: { jti: 'j2' } };

function liveState() {
  const reads = heldReads();
  const state = new AuthState(reads.store, 100);
  state.listening();
  return { state, ...reads };
}

describe('AuthState, with reads the test holds open', () => {
  it('keeps a cold read, so the next use costs no read', async () => {
    const { state, answer, reads } = liveState();
    const first = state.pat('j1');
    answer(patRow());
    expect((await first)?.credential.revokedReason).toBeNull();
    expect((await state.pat('j1'))?.credential.id).toBe(1);
    expect(reads()).toBe(1);
  });

  it('answers a read its key changed under, but does not keep it', async () => {
    const { state, answer, reads } = liveState();
    const first = state.pat('j1');
    state.apply(revokedPat);
    answer(patRow());
    expect(await first).toBeDefined();
    const second = state.pat('j1');
    answer(patRow(true));
    expect((await second)?.credential.revokedReason).toBe('revoked');
    expect(reads()).toBe(2);
  });

  it('keeps a read when only other keys changed meanwhile', async () => {
    const { state, answer, reads } = liveState();
    const first = state.pat('j1');
    state.apply(otherPat);
    answer(patRow());
    await first;
    await state.pat('j1');
    expect(reads()).toBe(1);
  });

  it('evicts a cached key when its change is applied', async () => {
    const { state, answer, reads } = liveState();
    const first = state.pat('j1');
    answer(patRow());
    await first;
    state.apply(revokedPat);
    const again = state.pat('j1');
    answer(patRow(true));
    expect((await again)?.credential.revokedReason).toBe('revoked');
    expect(reads()).toBe(2);
  });

  it('keeps nothing a read began before the feed was lost, and caches nothing until it listens again', async () => {
    const { state, answer, reads } = liveState();
    const before = state.pat('j1');
    state.lost();
    answer(patRow());
    await before;
    const during = state.pat('j1');
    answer(patRow());
    await during;
    expect(reads()).toBe(2);
    state.listening();
    const after = state.pat('j1');
    answer(patRow());
    await after;
    await state.pat('j1');
    expect(reads()).toBe(3);
  });

  it('drops the whole table on TRUNCATE, and a read on its way then keeps nothing', async () => {
    const { state, answer, reads } = liveState();
    const cached = state.pat('j1');
    answer(patRow());
    await cached;
    const onItsWay = state.pat('j2');
    state.apply({ table: 'personal_access_tokens', op: 'TRUNCATE', row: {} });
    answer(patRow());
    await onItsWay;
    const j1 = state.pat('j1');
    answer(undefined);
    expect(await j1).toBeUndefined();
    const j2 = state.pat('j2');
    answer(undefined);
    expect(await j2).toBeUndefined();
    expect(reads()).toBe(4);
  });

  it('never caches a miss', async () => {
    const { state, answer, reads } = liveState();
    const miss = state.pat('j1');
    answer(undefined);
    expect(await miss).toBeUndefined();
    const again = state.pat('j1');
    answer(undefined);
    await again;
    expect(reads()).toBe(2);
  });
});
