/**
 * Label Studio's user object (issue 12): whoami, `PATCH /api/current-user` and the member list
 * answer it, the SDK's own model accepts it, the profile can be edited, usernames are unique
 * (the database decides, so a race is a 400 and never a 500), and `last_activity` follows use
 * without costing the hot path a query.
 */
import request from 'supertest';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  loginAccess,
  PASSWORD,
  refreshAccess,
  type Member,
} from '../support/factories';
import { queriesDuring } from '../support/queries';

/**
 * The Label Studio SDK's `WhoAmIUser`, field for field: HumanSignal/label-studio-sdk,
 * `src/label_studio_sdk/types/who_am_i_user.py` (Fern-generated, commit 0ed1eb48). Every field
 * is `typing.Optional[...] = None` (absent or null) except `username: str`; the model allows
 * extra fields (`extra="allow"`), so a loose object. `dt.datetime` is what pydantic parses
 * from an ISO 8601 string.
 */
const optional = <T extends z.ZodType>(type: T) => type.nullable().optional();
const datetime = z.iso.datetime({ offset: true });
const WhoAmIUser = z.looseObject({
  active_organization: optional(z.int()),
  active_organization_meta: optional(z.record(z.string(), z.string())),
  allow_newsletters: optional(z.boolean()),
  avatar: optional(z.string()),
  custom_hotkeys: optional(z.unknown()),
  date_joined: optional(datetime),
  email: optional(z.string()),
  first_name: optional(z.string()),
  id: optional(z.int()),
  initials: optional(z.string()),
  last_activity: optional(datetime),
  last_name: optional(z.string()),
  lse_fields: optional(z.record(z.string(), z.unknown())),
  org_membership: optional(z.array(z.record(z.string(), z.unknown()))),
  organization_membership: optional(z.record(z.string(), z.unknown())),
  pause: optional(z.record(z.string(), z.unknown())),
  permissions: optional(z.array(z.string())),
  phone: optional(z.string()),
  social_accounts: optional(z.array(z.record(z.string(), z.unknown()))),
  username: z.string(),
});

/** What Latchkey promises beyond the model's minimum: every one of Label Studio's user fields, plus `role`. */
const LS_FIELDS = [
  'id',
  'username',
  'email',
  'first_name',
  'last_name',
  'avatar',
  'initials',
  'phone',
  'active_organization',
  'date_joined',
  'last_activity',
  'allow_newsletters',
];

let t: TestApp;
let owner: Member;
beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
});
afterAll(() => t.close());

const as = async (m: Member) => bearer(await loginAccess(t, m));
const whoami = async (headers: Record<string, string>) => {
  const res = await request(t.app).get('/api/current-user/whoami').set(headers);
  expect(res.status).toBe(200);
  return res.body as Record<string, unknown>;
};
const patch = (headers: Record<string, string>, body: unknown) =>
  request(t.app)
    .patch('/api/current-user')
    .set(headers)
    .send(body as object);
/** A fresh member of the owner's organization. */
const member = () => createMember(t, { organizationId: owner.organizationId, role: 'annotator' });

describe('the SDK model', () => {
  it("parses whoami's answer, for a login and for a PAT-derived access token, with every Label Studio field present", async () => {
    const pat = await createPat(t, owner);
    for (const headers of [await as(owner), bearer(await refreshAccess(t, pat.token))]) {
      const body = await whoami(headers);
      const parsed = WhoAmIUser.safeParse(body);
      expect(parsed.error?.issues).toBeUndefined();
      for (const field of LS_FIELDS) expect(body).toHaveProperty(field);
      expect(body).toEqual({
        id: owner.userId,
        username: owner.email,
        email: owner.email,
        first_name: '',
        last_name: '',
        avatar: null,
        initials: owner.email.slice(0, 2),
        phone: '',
        active_organization: owner.organizationId,
        date_joined: expect.any(String),
        last_activity: expect.any(String),
        allow_newsletters: null,
        role: 'owner',
      });
      // This very request is activity; noted at most once a minute.
      const age = t.clock() - Date.parse(body.last_activity as string);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60_000);
    }
  });

  it('refuses the old answer, which had no username (the bug the issue reports)', async () => {
    const { username, ...before } = await whoami(await as(owner));
    expect(username).toBe(owner.email);
    expect(WhoAmIUser.safeParse(before).success).toBe(false);
    expect(WhoAmIUser.safeParse({ ...before, username: null }).success).toBe(false);
    expect(WhoAmIUser.safeParse({ ...before, username, id: 'one' }).success).toBe(false);
  });
});

describe('initials, as Label Studio derives them', () => {
  it.each([
    ['Ada', 'Lovelace', 'AL'],
    ['Ada', '', 'A'],
    ['', 'Lovelace', 'L'],
    ['Émile', 'Žák', 'ÉŽ'],
    ['𝒜da', 'Lovelace', '𝒜L'],
  ])('first_name %j, last_name %j → %j', async (first_name, last_name, initials) => {
    const m = await member();
    const headers = await as(m);
    const res = await patch(headers, { first_name, last_name });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ first_name, last_name, initials });
    expect(await whoami(headers)).toMatchObject({ initials });
  });

  it('no names: the first two characters of the email', async () => {
    const m = await member();
    expect(await whoami(await as(m))).toMatchObject({ first_name: '', last_name: '', initials: m.email.slice(0, 2) });
  });
});

describe('PATCH /api/current-user', () => {
  it('edits the profile: the answer, every credential of the user and the audit trail show it at once', async () => {
    const m = await member();
    const login = await as(m);
    const patAccess = bearer(await refreshAccess(t, (await createPat(t, m)).token));
    expect(await whoami(patAccess)).toMatchObject({ username: m.email }); // cached now

    const res = await patch(login, {
      username: 'ada.l+work_1-x@',
      first_name: '  Ada ',
      last_name: 'Lovelace',
      phone: '+44 20 7946 0958',
      allow_newsletters: true,
    });
    expect(res.status).toBe(400); // an @ that is not the user's own email (see below)
    expect(res.body.validation_errors).toEqual({
      username: ['A username with @ in it must be your own email address.'],
    });

    const ok = await patch(login, {
      username: 'ada.l+work_1-x',
      first_name: '  Ada ',
      last_name: 'Lovelace',
      phone: '+44 20 7946 0958',
      allow_newsletters: true,
    });
    expect(ok.status).toBe(200);
    const expected = {
      id: m.userId,
      username: 'ada.l+work_1-x',
      email: m.email,
      first_name: 'Ada',
      last_name: 'Lovelace',
      initials: 'AL',
      phone: '+44 20 7946 0958',
      allow_newsletters: true,
      active_organization: owner.organizationId,
      role: 'annotator',
    };
    expect(ok.body).toMatchObject(expected);
    expect(await whoami(patAccess)).toMatchObject(expected);
    expect(WhoAmIUser.safeParse(ok.body).success).toBe(true);

    // Form bodies work too, with a form's spelling of a boolean; blanks are allowed but for the username.
    const form = await request(t.app)
      .patch('/api/current-user')
      .set(login)
      .type('form')
      .send({ allow_newsletters: 'false', phone: '', last_name: '' });
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ allow_newsletters: false, phone: '', last_name: '', initials: 'A' });

    const events = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/audit-events?page_size=100`)
      .set(await as(owner));
    const mine = (events.body.results as { action: string; actor_user_id: number; details: unknown }[]).filter(
      (e) => e.action === 'user.profile_updated' && e.actor_user_id === m.userId,
    );
    // Newest first.
    expect(mine.map((e) => e.details)).toEqual([
      { fields: ['last_name', 'phone', 'allow_newsletters'] },
      {
        fields: ['username', 'first_name', 'last_name', 'phone', 'allow_newsletters'],
        username: { old: m.email, new: 'ada.l+work_1-x' },
      },
    ]);
  });

  it('changing nothing answers the user and records nothing; the own email is a valid username', async () => {
    const m = await member();
    const headers = await as(m);
    const admin = await as(owner);
    const audited = async () =>
      (await request(t.app).get(`/api/organizations/${owner.organizationId}/audit-events?page_size=1`).set(admin)).body
        .count as number;
    const before = await audited();
    for (const body of [{}, { username: m.email }, { first_name: '' }]) {
      const res = await patch(headers, body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: m.userId, username: m.email });
    }
    expect(await audited()).toBe(before);
  });

  it('changes the profile and active_organization together, one audit event each', async () => {
    const m = await member();
    const headers = await as(m);
    const other = (await request(t.app).post('/api/organizations').set(headers).send({ title: 'Side' })).body
      .id as number;
    const res = await patch(headers, { active_organization: other, first_name: 'Grace' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active_organization: other, first_name: 'Grace', initials: 'G' });
    // Nothing is written when one part is refused.
    const refused = await patch(headers, { active_organization: 999_999, first_name: 'Nope' });
    expect(refused.status).toBe(404);
    expect(await whoami(headers)).toMatchObject({ active_organization: other, first_name: 'Grace' });
  });

  it.each([
    ['username', '', 'This field may not be blank.'],
    ['username', '   ', 'This field may not be blank.'],
    ['username', 'a'.repeat(151), 'Ensure this field has no more than 150 characters.'],
    [
      'username',
      'has space',
      'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
    ],
    [
      'username',
      'a/b',
      'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
    ],
    ['username', 'nul\u0000', 'Null characters are not allowed.'],
    ['username', 42, 'Not a valid string.'],
    ['first_name', 'x'.repeat(151), 'Ensure this field has no more than 150 characters.'],
    ['last_name', 'x'.repeat(151), 'Ensure this field has no more than 150 characters.'],
    ['last_name', null, 'Not a valid string.'],
    ['phone', '1'.repeat(33), 'Ensure this field has no more than 32 characters.'],
    ['allow_newsletters', 'maybe', 'Must be a valid boolean.'],
    ['allow_newsletters', null, 'Must be a valid boolean.'],
  ])('%s = %j is 400 validation_error and changes nothing', async (field, value, message) => {
    const m = await member();
    const headers = await as(m);
    // With a valid change beside it, which is not written either.
    const valid = field === 'allow_newsletters' ? { phone: '123' } : { allow_newsletters: true };
    const res = await patch(headers, { ...valid, [field]: value });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_error');
    expect(Object.keys(res.body.validation_errors)).toEqual([field]);
    expect(res.body.validation_errors[field]).toContain(message);
    expect(await whoami(headers)).toMatchObject({
      username: m.email,
      first_name: '',
      last_name: '',
      phone: '',
      allow_newsletters: null,
    });
  });

  it('accepts the longest username and names, and letters of any script', async () => {
    const headers = await as(await member());
    const res = await patch(headers, { username: `ü${'a'.repeat(149)}`, first_name: 'x'.repeat(150) });
    expect(res.status).toBe(200);
    expect(res.body.username).toHaveLength(150);
  });
});

describe('usernames are unique', () => {
  it("another user's username is 400 on username, whoever has it (a default one included)", async () => {
    const [a, b] = [await member(), await member()];
    expect((await patch(await as(a), { username: 'taken' })).status).toBe(200);
    const res = await patch(await as(b), { username: 'taken' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'validation_error',
      validation_errors: { username: ['A user with that username already exists.'] },
    });
    // Another user's email (a default username) is refused before the database is asked.
    expect((await patch(await as(b), { username: a.email })).body.validation_errors).toEqual({
      username: ['A username with @ in it must be your own email address.'],
    });
    expect(await whoami(await as(b))).toMatchObject({ username: b.email });
  });

  it('two users claiming one username at the same moment: one 200, one 400, never a 500', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = [await member(), await member()];
      const [ha, hb] = [await as(a), await as(b)];
      const wanted = `race-${round}`;
      const answers = await Promise.all([patch(ha, { username: wanted }), patch(hb, { username: wanted })]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 400]);
      const loser = answers.find((r) => r.status === 400)!;
      expect(loser.body.validation_errors).toEqual({ username: ['A user with that username already exists.'] });
      const names = [(await whoami(ha)).username, (await whoami(hb)).username];
      expect(names.filter((n) => n === wanted)).toHaveLength(1);
    }
    expect(t.logs.text()).not.toMatch(/"level":50/);
  });

  it('a freed username can be taken again', async () => {
    const [a, b] = [await member(), await member()];
    await patch(await as(a), { username: 'passed-on' }).expect(200);
    await patch(await as(a), { username: 'moved-on' }).expect(200);
    await patch(await as(b), { username: 'passed-on' }).expect(200);
  });
});

describe('new users', () => {
  it('get their (lower-cased) email as username, and the member list shows Label Studio user objects', async () => {
    const headers = await as(owner);
    const created = await request(t.app)
      .post(`/api/organizations/${owner.organizationId}/memberships`)
      .set(headers)
      .send({ email: 'New.Person@Example.COM', role: 'reviewer', password: PASSWORD, first_name: 'New' });
    expect(created.status).toBe(201);
    const login = await request(t.app)
      .post('/api/auth/login')
      .send({ email: 'new.person@example.com', password: PASSWORD });
    const body = await whoami(bearer(login.body.access));
    expect(body).toMatchObject({ username: 'new.person@example.com', email: 'new.person@example.com', initials: 'N' });

    const list = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/memberships?page_size=500`)
      .set(headers);
    const row = (list.body.results as { user_id: number; user: unknown }[]).find(
      (r) => r.user_id === created.body.user_id,
    );
    expect(row).toMatchObject({
      user_id: created.body.user_id,
      email: 'new.person@example.com',
      role: 'reviewer',
      user: {
        id: created.body.user_id,
        username: 'new.person@example.com',
        email: 'new.person@example.com',
        first_name: 'New',
        last_name: '',
        avatar: null,
        initials: 'N',
        phone: '',
        active_organization: owner.organizationId,
        date_joined: expect.any(String),
        allow_newsletters: null,
      },
    });
    for (const r of list.body.results as { user: unknown }[]) expect(WhoAmIUser.safeParse(r.user).success).toBe(true);
  });

  it("the member list shows a member's active organization only when it is this one", async () => {
    const elsewhere = await createMember(t, { role: 'owner' });
    const invited = await request(t.app)
      .post(`/api/organizations/${owner.organizationId}/memberships`)
      .set(await as(owner))
      .send({ email: elsewhere.email, role: 'annotator' });
    expect(invited.body.status).toBe('pending');
    const list = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/memberships?page_size=500`)
      .set(await as(owner));
    const row = (list.body.results as { user_id: number; user: { active_organization: unknown } }[]).find(
      (r) => r.user_id === elsewhere.userId,
    );
    expect(row?.user.active_organization).toBeNull();
    expect((await whoami(await as(elsewhere))).active_organization).toBe(elsewhere.organizationId);
  });

  it('made outside the app (psql, a seeding script) without a username, get the email: the database fills it in', async () => {
    await t.database.prisma.$executeRaw`INSERT INTO users (email) VALUES ('by.hand@example.com')`;
    const row = await t.database.prisma.user.findUniqueOrThrow({ where: { email: 'by.hand@example.com' } });
    expect(row.username).toBe('by.hand@example.com');
  });
});

describe('last_activity', () => {
  it('follows logins, refreshes and requests; its batched write evicts nothing from the caches', async () => {
    const m = await member();
    const pat = await createPat(t, m); // a login: the user's activity is noted
    const access = bearer(await refreshAccess(t, pat.token));
    const startedAt = new Date(t.clock()).toISOString();
    expect((await whoami(access)).last_activity).toBe(startedAt);

    // Noted at most once a minute: within it, the first note stands.
    t.clock.advance(30);
    expect((await whoami(access)).last_activity).toBe(startedAt);
    t.clock.advance(31);
    const later = new Date(t.clock()).toISOString();
    const fresh = bearer(await refreshAccess(t, pat.token)); // a refresh counts
    expect((await whoami(fresh)).last_activity).toBe(later);

    // Written in one batch; the change feed does not announce it, so the warm user stays cached.
    await t.usage.flush();
    await t.state.sync();
    expect(await queriesDuring(t.database, () => whoami(fresh))).toBe(0);
    const row = await t.database.prisma.user.findUniqueOrThrow({ where: { id: m.userId } });
    expect(row.lastActivity?.toISOString()).toBe(later);

    // The member list reads the stored value.
    const list = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/memberships?page_size=500`)
      .set(await as(owner));
    const listed = (list.body.results as { user_id: number; user: { last_activity: unknown } }[]).find(
      (r) => r.user_id === m.userId,
    );
    expect(listed?.user.last_activity).toBe(later);
  });

  it('a user who never used a credential has none', async () => {
    const m = await member();
    const list = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/memberships?page_size=500`)
      .set(await as(owner));
    const listed = (list.body.results as { user_id: number; user: { last_activity: unknown } }[]).find(
      (r) => r.user_id === m.userId,
    );
    expect(listed?.user.last_activity).toBeNull();
  });
});
