/**
 * The filters of the admin's lists: the token inventory (`type`, `user_id`, `status`,
 * `used_since`) and the audit trail (`action`, `actor_user_id`, and `actor_email` in each
 * event). Each filter alone, together, with paging (`count` counts what matches, across pages),
 * and each bad value a 400 naming its parameter.
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, loginAccess, type Member } from '../support/factories';

let t: TestApp;
let owner: Member;
let manager: Member;
let annotator: Member;
let outsider: Member;
let headers: Record<string, string>;

const DAY_MS = 86_400_000;
/** The frozen clock's now, as the app sees it. */
let now: number;
const daysAgo = (days: number) => new Date(now - days * DAY_MS);

/** What each token of the organization is, by the key `${type}:${id}` the inventory rows give. */
const tokens: Record<string, string> = {};
const key = (row: { type: string; id: number }) => `${row.type}:${row.id}`;

beforeAll(async () => {
  t = await startTestApp();
  now = t.clock();
  owner = await createMember(t, { role: 'owner' });
  const organizationId = owner.organizationId;
  manager = await createMember(t, { organizationId, role: 'manager' });
  annotator = await createMember(t, { organizationId, role: 'annotator' });
  outsider = await createMember(t, { role: 'owner' });
  await t.database.prisma.organization.update({
    where: { id: organizationId },
    data: { legacyApiTokensEnabled: true },
  });
  await t.state.sync();
  headers = bearer(await loginAccess(t, owner));

  const pats = t.database.prisma.personalAccessToken;
  const legacies = t.database.prisma.legacyToken;
  const ownerUsed = await createPat(t, owner, { name: 'owner, used 10 days ago' });
  await pats.update({ where: { id: ownerUsed.id }, data: { lastUsedAt: daysAgo(10) } });
  const ownerRevoked = await createPat(t, owner, { name: 'owner, revoked' });
  await request(t.app).delete(`/api/token/${ownerRevoked.id}`).set(headers).expect(204);
  const managerOld = await createPat(t, manager, { name: 'manager, used 40 days ago' });
  await pats.update({ where: { id: managerOld.id }, data: { lastUsedAt: daysAgo(40) } });
  const managerExpired = await createPat(t, manager, { name: 'manager, expired', expires_in_days: 1 });
  await pats.update({ where: { id: managerExpired.id }, data: { expiresAt: daysAgo(1), lastUsedAt: daysAgo(2) } });
  // The annotator's legacy token, reset once: the first is revoked, the second live and used yesterday.
  const annotatorHeaders = bearer(await loginAccess(t, annotator));
  for (let i = 0; i < 2; i += 1)
    await request(t.app).post('/api/current-user/reset-token').set(annotatorHeaders).expect(201);
  const [revokedLegacy, liveLegacy] = await legacies.findMany({
    where: { userId: annotator.userId },
    orderBy: { id: 'asc' },
  });
  await legacies.update({ where: { id: liveLegacy!.id }, data: { lastUsedAt: daysAgo(1) } });
  // Another organization's token, which no filter may show.
  await createPat(t, outsider, { name: 'elsewhere' });

  Object.assign(tokens, {
    [`pat:${ownerUsed.id}`]: 'owner used',
    [`pat:${ownerRevoked.id}`]: 'owner revoked',
    [`pat:${managerOld.id}`]: 'manager old',
    [`pat:${managerExpired.id}`]: 'manager expired',
    [`legacy:${revokedLegacy!.id}`]: 'annotator revoked legacy',
    [`legacy:${liveLegacy!.id}`]: 'annotator live legacy',
  });
});
afterAll(() => t.close());

const inventory = (query: string) =>
  request(t.app).get(`/api/organizations/${owner.organizationId}/tokens?${query}`).set(headers);
const audit = (query: string) =>
  request(t.app).get(`/api/organizations/${owner.organizationId}/audit-events?${query}`).set(headers);

/** The names of what a query lists (sorted), and its count. */
async function listed(query: string): Promise<{ count: number; names: string[] }> {
  const res = await inventory(query);
  expect(res.status).toBe(200);
  return {
    count: res.body.count,
    names: res.body.results.map((row: { type: string; id: number }) => tokens[key(row)]).sort(),
  };
}
const names = (...list: string[]) => ({ count: list.length, names: list.sort() });

describe('GET /api/organizations/{id}/tokens, filtered', () => {
  it('lists every token of the organization without a filter', async () => {
    expect(await listed('')).toEqual(names(...Object.values(tokens)));
  });

  it.each([
    ['type=pat', ['owner used', 'owner revoked', 'manager old', 'manager expired']],
    ['type=legacy', ['annotator revoked legacy', 'annotator live legacy']],
    ['user_id=USER', ['manager old', 'manager expired']],
    // Live: neither revoked nor expired. An expired PAT that nobody revoked is neither live nor revoked.
    ['status=live', ['owner used', 'manager old', 'annotator live legacy']],
    ['status=revoked', ['owner revoked', 'annotator revoked legacy']],
    ['used_since=DAYS_30', ['owner used', 'manager expired', 'annotator live legacy']],
    ['type=pat&status=live', ['owner used', 'manager old']],
    ['type=pat&status=live&used_since=DAYS_30', ['owner used']],
    ['type=legacy&status=live&used_since=DAYS_30', ['annotator live legacy']],
    ['user_id=USER&status=live', ['manager old']],
    ['user_id=USER&type=legacy', []],
  ])('%s', async (query, expected) => {
    const resolved = query
      .replace('USER', String(manager.userId))
      .replace('DAYS_30', encodeURIComponent(daysAgo(30).toISOString()));
    expect(await listed(resolved)).toEqual(names(...expected));
  });

  it('takes used_since in any offset, and at the instant itself (last_used_at ≥ used_since)', async () => {
    const tenDaysAgo = daysAgo(10);
    const inParis = new Date(tenDaysAgo.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    expect(await listed(`type=pat&used_since=${encodeURIComponent(inParis)}`)).toEqual(
      names('owner used', 'manager expired'),
    );
    expect(
      await listed(`type=pat&used_since=${encodeURIComponent(new Date(tenDaysAgo.getTime() + 1).toISOString())}`),
    ).toEqual(names('manager expired'));
  });

  it('takes the earliest and latest instants it allows without an error', async () => {
    expect((await listed('used_since=0001-01-01T00:00:00Z')).count).toBe(4);
    expect(await listed('used_since=9999-12-31T23:59:59.999Z')).toEqual(names());
  });

  it('shows nothing of another organization, nor for a user who has no token in it', async () => {
    expect(await listed(`user_id=${outsider.userId}`)).toEqual(names());
    expect(await listed('user_id=999999')).toEqual(names());
  });

  it('counts every match across pages, and its page links keep the filters (what the settings dialog asks)', async () => {
    const res = await inventory('type=pat&status=live&page_size=1');
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(2);
    expect(res.body.results).toHaveLength(1);
    const next = new URL(res.body.next as string);
    expect(Object.fromEntries(next.searchParams)).toEqual({ type: 'pat', status: 'live', page: '2', page_size: '1' });
    const second = await request(t.app).get(`${next.pathname}${next.search}`).set(headers);
    expect(second.body.results).toHaveLength(1);
    expect(second.body.results[0].id).not.toBe(res.body.results[0].id);
    expect(second.body.next).toBeNull();
  });

  it.each([
    ['type=bogus', 'type', '"bogus" is not a valid choice.'],
    ['type=PAT', 'type', '"PAT" is not a valid choice.'],
    ['type=pat&type=legacy', 'type', 'An array is not a valid choice.'],
    ['status=expired', 'status', '"expired" is not a valid choice.'],
    ['status=', 'status', '"" is not a valid choice.'],
    ['user_id=abc', 'user_id', 'A valid integer is required.'],
    ['user_id=-1', 'user_id', 'A valid integer is required.'],
    ['user_id=1e3', 'user_id', 'A valid integer is required.'],
    ['user_id=9999999999', 'user_id', 'A valid integer is required.'],
    ['used_since=yesterday', 'used_since', expect.stringMatching(/^Datetime has wrong format/)],
    ['used_since=2026-11-01', 'used_since', expect.stringMatching(/^Datetime has wrong format/)],
    ['used_since=2026-11-01T00:00:00', 'used_since', expect.stringMatching(/^Datetime has wrong format/)],
    ['used_since=2026-02-30T00:00:00Z', 'used_since', expect.stringMatching(/^Datetime has wrong format/)],
    ['used_since=2026-13-01T00:00:00Z', 'used_since', expect.stringMatching(/^Datetime has wrong format/)],
    ['used_since=2026-11-01T12:00Z', 'used_since', expect.stringMatching(/^Datetime has wrong format/)],
    ['used_since=0000-12-31T00:00:00Z', 'used_since', 'Ensure this datetime is between years 0001 and 9999.'],
    [
      `used_since=${encodeURIComponent('9999-12-31T23:00:00-12:00')}`,
      'used_since',
      'Ensure this datetime is between years 0001 and 9999.',
    ],
  ])('400 for %s', async (query, field, message) => {
    const res = await inventory(query);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_error');
    expect(res.body.validation_errors).toEqual({ [field]: [message] });
  });

  it('names every bad parameter at once, and ignores parameters it does not know', async () => {
    const res = await inventory('type=x&status=y&user_id=z&used_since=w');
    expect(Object.keys(res.body.validation_errors).sort()).toEqual(['status', 'type', 'used_since', 'user_id']);
    expect((await inventory('colour=blue')).status).toBe(200);
  });

  it('refuses a member who is not an admin before looking at the filters (403)', async () => {
    const res = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/tokens?type=bogus`)
      .set(bearer(await loginAccess(t, manager)));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'permission_denied' });
  });
});

describe('GET /api/organizations/{id}/audit-events, filtered', () => {
  interface Event {
    id: number;
    action: string;
    actor_user_id: number | null;
    actor_email: string | null;
  }
  const events = async (query: string) => {
    const res = await audit(query);
    expect(res.status).toBe(200);
    return res.body as { count: number; next: string | null; results: Event[] };
  };

  it('names each event’s actor by email; null when there was none or the user is gone', async () => {
    const prisma = t.database.prisma;
    const [bySystem, byGhost] = await Promise.all([
      prisma.auditEvent.create({
        data: { organizationId: owner.organizationId, actorUserId: null, action: 'settings.updated' },
      }),
      prisma.auditEvent.create({
        data: { organizationId: owner.organizationId, actorUserId: 999_999, action: 'settings.updated' },
      }),
    ]);
    const { results } = await events('page_size=500');
    const byId = new Map(results.map((event) => [event.id, event]));
    expect(byId.get(Number(bySystem.id))).toMatchObject({ actor_user_id: null, actor_email: null });
    expect(byId.get(Number(byGhost.id))).toMatchObject({ actor_user_id: 999_999, actor_email: null });
    for (const event of results.filter((e) => e.actor_user_id === manager.userId))
      expect(event.actor_email).toBe(manager.email);
    expect(results.some((e) => e.actor_email === owner.email)).toBe(true);
  });

  it('filters by action, by actor, and by both, and counts what matches', async () => {
    const all = (await events('page_size=500')).results;
    const expected = (match: (event: Event) => boolean) => all.filter(match).map((event) => event.id);

    const created = await events('action=pat.created');
    expect(created.results.map((e) => e.id)).toEqual(expected((e) => e.action === 'pat.created'));
    expect(created.count).toBe(4);

    const byManager = await events(`actor_user_id=${manager.userId}`);
    expect(byManager.results.map((e) => e.id)).toEqual(expected((e) => e.actor_user_id === manager.userId));
    expect(byManager.results.length).toBeGreaterThan(0);

    const both = await events(`action=pat.created&actor_user_id=${manager.userId}&page_size=1`);
    expect(both.count).toBe(2);
    expect(both.results).toEqual([
      expect.objectContaining({ action: 'pat.created', actor_user_id: manager.userId, actor_email: manager.email }),
    ]);
    expect(both.next).toContain(`actor_user_id=${manager.userId}`);

    expect(await events(`actor_user_id=${outsider.userId}`)).toMatchObject({ count: 0, results: [] });
    expect(await events('action=membership.declined')).toMatchObject({ count: 0, results: [] });
  });

  it.each([
    ['action=pat.deleted', 'action', '"pat.deleted" is not a valid choice.'],
    ['action=', 'action', '"" is not a valid choice.'],
    ['actor_user_id=me', 'actor_user_id', 'A valid integer is required.'],
    ['actor_user_id=1&actor_user_id=2', 'actor_user_id', 'A valid integer is required.'],
  ])('400 for %s', async (query, field, message) => {
    const res = await audit(query);
    expect(res.status).toBe(400);
    expect(res.body.validation_errors).toEqual({ [field]: [message] });
  });
});
