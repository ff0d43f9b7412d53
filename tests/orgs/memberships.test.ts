/** Organizations, memberships and roles, the inventory and audit trail, and isolation between orgs. */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  loginAccess,
  PASSWORD,
  refreshAccess,
  withOrganization,
  type Member,
} from '../support/factories';

let t: TestApp;
let owner: Member;
let admin: Member;
let manager: Member;
let stranger: Member;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  admin = await createMember(t, { organizationId: owner.organizationId, role: 'administrator' });
  manager = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
  stranger = await createMember(t, { role: 'owner' });
});
afterAll(() => t.close());

const as = async (m: Member) => bearer(await loginAccess(t, m));
const orgPath = (m: Member, rest: string) => `/api/organizations/${m.organizationId}/${rest}`;

describe('organizations', () => {
  it('POST creates one the caller owns; their active organization does not change; GET lists memberships', async () => {
    // A manager of its own: the shared one is invited elsewhere by another test.
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
    const headers = await as(member);
    const created = await request(t.app).post('/api/organizations').set(headers).send({ title: 'Side project' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), title: 'Side project', created_at: expect.any(String) });
    expect((await request(t.app).get('/api/current-user/whoami').set(headers)).body.active_organization).toBe(
      owner.organizationId,
    );
    const mine = await request(t.app).get('/api/organizations').set(headers);
    expect(mine.body).toEqual([
      { id: owner.organizationId, title: 'Acme', role: 'manager', status: 'active', created_at: expect.any(String) },
      { id: created.body.id, title: 'Side project', role: 'owner', status: 'active', created_at: expect.any(String) },
    ]);
  });

  it('switching active_organization changes which org the next login acts in, and which PATs are listed', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'annotator' });
    const first = await as(member);
    await createPat(t, member, { name: 'in Acme' });
    const other = (await request(t.app).post('/api/organizations').set(first).send({ title: 'Elsewhere' })).body
      .id as number;
    const switched = await request(t.app).patch('/api/current-user').set(first).send({ active_organization: other });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ id: member.userId, active_organization: other });
    const second = await as(member);
    expect((await request(t.app).get('/api/token').set(second)).body).toEqual([]);
    expect((await request(t.app).get('/api/token').set(first)).body.map((p: { name: string }) => p.name)).toEqual([
      'in Acme',
    ]);
    expect(
      (
        await request(t.app)
          .patch('/api/current-user')
          .set(second)
          .send({ active_organization: stranger.organizationId })
      ).status,
    ).toBe(404);
  });
});

describe('memberships', () => {
  it('lists members (paged) for admins only', async () => {
    const res = await request(t.app)
      .get(`${orgPath(owner, 'memberships')}?page_size=2`)
      .set(await as(admin));
    expect(res.status).toBe(200);
    expect(res.body.count).toBeGreaterThanOrEqual(3);
    expect(res.body.results).toHaveLength(2);
    expect(res.body.next).toContain('page=2');
    expect(res.body.previous).toBeNull();
    expect(res.body.results[0]).toEqual({
      user_id: owner.userId,
      email: owner.email,
      first_name: '',
      last_name: '',
      is_active: true,
      role: 'owner',
      status: 'active',
      created_at: expect.any(String),
      // Label Studio's user object (issue 12).
      user: {
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
        last_activity: null,
        allow_newsletters: null,
      },
    });
    expect(
      (
        await request(t.app)
          .get(orgPath(owner, 'memberships'))
          .set(await as(manager))
      ).status,
    ).toBe(403);
    expect(
      (
        await request(t.app)
          .get(`${orgPath(owner, 'memberships')}?page=99`)
          .set(await as(admin))
      ).status,
    ).toBe(404);
  });

  it('adds a new user with a password (who can log in, active at once) and invites an existing user (pending), keeping theirs', async () => {
    // The existing user is this test's own, so that the invitation shows in no other test.
    const existingUser = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
    const headers = await as(admin);
    const res = await request(t.app)
      .post(orgPath(owner, 'memberships'))
      .set(headers)
      .send({ email: 'New.Person@example.com', role: 'reviewer', password: 'a fine password', first_name: 'New' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      user_id: expect.any(Number),
      email: 'new.person@example.com',
      role: 'reviewer',
      organization: owner.organizationId,
      status: 'active',
    });
    expect(
      (
        await request(t.app)
          .post('/api/auth/login')
          .send({ email: 'new.person@example.com', password: 'a fine password' })
      ).status,
    ).toBe(200);
    const existing = await request(t.app)
      .post(`/api/organizations/${stranger.organizationId}/memberships`)
      .set(await as(stranger))
      .send({ email: existingUser.email, role: 'annotator', password: 'ignored password' });
    expect(existing.status).toBe(201);
    expect(existing.body).toEqual({
      user_id: existingUser.userId,
      email: existingUser.email,
      role: 'annotator',
      organization: stranger.organizationId,
      status: 'pending',
    });
    expect(
      (await request(t.app).post('/api/auth/login').send({ email: existingUser.email, password: PASSWORD })).status,
    ).toBe(200);
    expect(
      (
        await request(t.app)
          .post(orgPath(owner, 'memberships'))
          .set(headers)
          .send({ email: existingUser.email, role: 'annotator' })
      ).status,
    ).toBe(409);
    const noPassword = await request(t.app)
      .post(orgPath(owner, 'memberships'))
      .set(headers)
      .send({ email: 'nopass@example.com', role: 'annotator' });
    expect(noPassword.status).toBe(400);
    expect(noPassword.body.validation_errors).toEqual({ password: ['This field is required for a new user.'] });
  });

  it('nobody can give or reach a role above their own', async () => {
    const headers = await as(admin);
    expect(
      (
        await request(t.app)
          .post(orgPath(owner, 'memberships'))
          .set(headers)
          .send({ email: 'boss@example.com', role: 'owner', password: 'a fine password' })
      ).status,
    ).toBe(403);
    expect(
      (
        await request(t.app)
          .patch(orgPath(owner, `memberships/${manager.userId}`))
          .set(headers)
          .send({ role: 'owner' })
      ).status,
    ).toBe(403);
    expect(
      (
        await request(t.app)
          .patch(orgPath(owner, `memberships/${owner.userId}`))
          .set(headers)
          .send({ role: 'annotator' })
      ).status,
    ).toBe(403);
    expect(
      (
        await request(t.app)
          .patch(orgPath(owner, `memberships/${manager.userId}`))
          .set(await as(manager))
          .send({ role: 'administrator' })
      ).status,
    ).toBe(403);
    expect(
      (
        await request(t.app)
          .patch(orgPath(owner, `memberships/${admin.userId}`))
          .set(headers)
          .send({ role: 'administrator' })
      ).status,
    ).toBe(200);
  });

  it('protects the last owner from demotion and removal (400 last_owner)', async () => {
    const headers = await as(owner);
    const demote = await request(t.app)
      .patch(orgPath(owner, `memberships/${owner.userId}`))
      .set(headers)
      .send({ role: 'administrator' });
    expect(demote.status).toBe(400);
    expect(demote.body.code).toBe('last_owner');
    expect(
      (
        await request(t.app)
          .delete(orgPath(owner, `memberships/${owner.userId}`))
          .set(headers)
      ).body.code,
    ).toBe('last_owner');
    const second = await createMember(t, { organizationId: owner.organizationId, role: 'owner' });
    expect(
      (
        await request(t.app)
          .patch(orgPath(owner, `memberships/${second.userId}`))
          .set(headers)
          .send({ role: 'manager' })
      ).status,
    ).toBe(200);
  });

  it('removing a member stops their PAT, its access tokens and their login token at once', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'annotator' });
    const pat = await createPat(t, member);
    const access = await refreshAccess(t, pat.token);
    const login = await as(member);
    await request(t.app)
      .delete(orgPath(owner, `memberships/${member.userId}/`))
      .set(await as(admin))
      .expect(204);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).body.code).toBe('not_a_member');
    expect((await request(t.app).get('/api/current-user/whoami').set(login)).body.code).toBe('not_a_member');
    expect((await request(t.app).post('/api/token/refresh').send({ refresh: pat.token })).body.code).toBe(
      'not_a_member',
    );
    expect(
      (
        await request(t.app)
          .delete(orgPath(owner, `memberships/${member.userId}`))
          .set(await as(admin))
      ).status,
    ).toBe(404);
  });
});

describe('the token inventory and the audit trail', () => {
  it('lists every PAT and legacy token of the org with metadata and no secret; admins revoke any', async () => {
    await t.database.prisma.organization.update({
      where: { id: owner.organizationId },
      data: { legacyApiTokensEnabled: true },
    });
    await t.state.sync();
    const pat = await createPat(t, manager, { name: 'inventory' });
    const legacy = (
      await request(t.app)
        .post('/api/current-user/reset-token')
        .set(await as(manager))
    ).body.token as string;
    const res = await request(t.app)
      .get(orgPath(owner, 'tokens'))
      .set(await as(admin));
    expect(res.status).toBe(200);
    const patRow = res.body.results.find((r: { type: string; id: number }) => r.type === 'pat' && r.id === pat.id);
    expect(patRow).toEqual({
      type: 'pat',
      id: pat.id,
      user_id: manager.userId,
      email: manager.email,
      name: 'inventory',
      role: 'manager',
      hint: null,
      created_at: expect.any(String),
      expires_at: expect.any(String),
      last_used_at: null,
      revoked_at: null,
      revoked_reason: null,
    });
    const legacyRow = res.body.results.find((r: { type: string }) => r.type === 'legacy');
    expect(legacyRow).toMatchObject({
      user_id: manager.userId,
      hint: `lkt_…${legacy.slice(-4)}`,
      role: 'manager',
      revoked_at: null,
    });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(pat.token.split('.')[2]);
    expect(text).not.toContain(legacy.slice(4, 30));

    const headers = await as(admin);
    await request(t.app)
      .delete(orgPath(owner, `tokens/pat/${pat.id}`))
      .set(headers)
      .expect(204);
    await request(t.app)
      .delete(orgPath(owner, `tokens/legacy/${legacyRow.id}`))
      .set(headers)
      .expect(204);
    expect((await request(t.app).post('/api/token/refresh').send({ refresh: pat.token })).body.code).toBe(
      'token_blacklisted',
    );
    expect((await request(t.app).get('/api/current-user/whoami').set('Authorization', `Token ${legacy}`)).status).toBe(
      401,
    );
    expect(
      (
        await request(t.app)
          .delete(orgPath(owner, `tokens/pat/${pat.id}`))
          .set(headers)
      ).status,
    ).toBe(404);
    expect((await request(t.app).delete(orgPath(owner, `tokens/other/1`)).set(headers)).status).toBe(404);
    expect(
      (
        await request(t.app)
          .get(orgPath(owner, 'tokens'))
          .set(await as(manager))
      ).status,
    ).toBe(403);
  });

  it('pages the audit trail newest first, with who, what and from where', async () => {
    // An organization of this test's own, whose trail holds only the events made here.
    const boss = await createMember(t, { role: 'owner' });
    const bossHeaders = await as(boss); // session.created
    const pat = await createPat(t, boss); // pat.created
    await request(t.app).delete(`/api/token/${pat.id}`).set(bossHeaders).expect(204); // pat.revoked
    await withOrganization(t, boss.organizationId, { legacyApiTokensEnabled: true }, async () => {
      await request(t.app).post('/api/current-user/reset-token').set(bossHeaders).expect(201); // legacy_token.created
      const legacy = await t.database.prisma.legacyToken.findFirstOrThrow({ where: { userId: boss.userId } });
      await request(t.app)
        .delete(orgPath(boss, `tokens/legacy/${legacy.id}`))
        .set(bossHeaders)
        .expect(204); // legacy_token.revoked
    });
    const added = await request(t.app)
      .post(orgPath(boss, 'memberships'))
      .set(bossHeaders)
      .send({ email: `audited-${boss.userId}@example.com`, role: 'annotator', password: 'a fine password' })
      .expect(201); // membership.created
    await request(t.app)
      .patch(orgPath(boss, `memberships/${added.body.user_id}`))
      .set(bossHeaders)
      .send({ role: 'reviewer' })
      .expect(200); // membership.updated
    await request(t.app)
      .delete(orgPath(boss, `memberships/${added.body.user_id}`))
      .set(bossHeaders)
      .expect(204); // membership.deleted

    const res = await request(t.app)
      .get(`${orgPath(boss, 'audit-events')}?page_size=5`)
      .set(await as(boss));
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(5);
    const ids = res.body.results.map((e: { id: number }) => e.id);
    expect([...ids].sort((a: number, b: number) => b - a)).toEqual(ids);
    expect(res.body.results[0]).toEqual({
      id: expect.any(Number),
      created_at: expect.any(String),
      actor_user_id: boss.userId,
      actor_email: boss.email,
      action: expect.any(String),
      target_type: expect.any(String),
      target_id: expect.any(String),
      ip: expect.any(String),
      details: expect.any(Object),
    });
    const actions = new Set<string>();
    for (let url: string | null = `${orgPath(boss, 'audit-events')}?page_size=100`; url;) {
      const page: request.Response = await request(t.app)
        .get(url.replace(t.config.issuer, ''))
        .set(await as(boss));
      page.body.results.forEach((e: { action: string }) => actions.add(e.action));
      url = page.body.next;
    }
    expect([...actions]).toEqual(
      expect.arrayContaining([
        'pat.created',
        'pat.revoked',
        'legacy_token.created',
        'legacy_token.revoked',
        'membership.created',
        'membership.updated',
        'membership.deleted',
        'session.created',
      ]),
    );
  });
});

describe('isolation between organizations', () => {
  it('a user of another org sees nothing of this one: 404 on members, tokens, audit, a PAT by id', async () => {
    const headers = await as(stranger);
    for (const rest of ['memberships', 'tokens', 'audit-events']) {
      expect((await request(t.app).get(orgPath(owner, rest)).set(headers)).status).toBe(404);
    }
    const pat = await createPat(t, manager);
    expect((await request(t.app).delete(`/api/token/${pat.id}`).set(headers)).status).toBe(404);
    expect(
      (
        await request(t.app)
          .delete(orgPath(owner, `tokens/pat/${pat.id}`))
          .set(headers)
      ).status,
    ).toBe(404);
    expect((await request(t.app).get('/api/organizations/999999/tokens').set(headers)).status).toBe(404);
  });

  it('a member whose credential is bound to another of their orgs gets 403', async () => {
    const both = await createMember(t, { organizationId: stranger.organizationId, role: 'owner' });
    await t.database.prisma.membership.create({
      data: { userId: both.userId, organizationId: owner.organizationId, role: 'annotator' },
    });
    const res = await request(t.app)
      .get(orgPath(owner, 'tokens'))
      .set(await as(both));
    expect(res.status).toBe(403);
  });
});
