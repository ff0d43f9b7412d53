/**
 * No one joins an organization without their consent. Adding an email that has an account
 * creates a pending membership that grants nothing until its user accepts it
 * (`POST /api/organizations/{id}/memberships/accept`) or declines it (deleting their own
 * membership). A new email is still created with the sent password and active at once.
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, loginAccess, PASSWORD, type Member } from '../support/factories';

let t: TestApp;
/** Owns the organization that invites. */
let inviter: Member;

beforeAll(async () => {
  t = await startTestApp();
  inviter = await createMember(t, { role: 'owner' });
});
afterAll(() => t.close());

const as = async (m: Member) => bearer(await loginAccess(t, m));
const memberships = (organizationId: number, rest = '') => `/api/organizations/${organizationId}/memberships${rest}`;
const accept = (organizationId: number) => memberships(organizationId, '/accept');

/** Adds `email` to the inviter's organization with `role`, as the inviter, over HTTP. */
async function invite(
  email: string,
  role = 'manager',
  organizationId = inviter.organizationId,
  by = inviter,
): Promise<request.Response> {
  return request(t.app)
    .post(memberships(organizationId))
    .set(await as(by))
    .send({ email, role, password: 'an attacker-chosen password' });
}

/** The organization's member list, as its owner sees it. */
async function listed(userId: number, organizationId = inviter.organizationId, by = inviter) {
  const res = await request(t.app)
    .get(`${memberships(organizationId)}?page_size=100`)
    .set(await as(by));
  expect(res.status).toBe(200);
  return (res.body.results as { user_id: number }[]).find((m) => m.user_id === userId);
}

describe('adding an existing account', () => {
  it('creates a pending membership (201, status pending) that the invitee sees as pending, and so does the member list', async () => {
    const invitee = await createMember(t, { role: 'owner' });
    const res = await invite(invitee.email.toUpperCase(), 'manager');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      user_id: invitee.userId,
      email: invitee.email,
      role: 'manager',
      organization: inviter.organizationId,
      status: 'pending',
    });

    const mine = await request(t.app)
      .get('/api/organizations')
      .set(await as(invitee));
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual([
      { id: inviter.organizationId, title: 'Acme', role: 'manager', status: 'pending', created_at: expect.any(String) },
      { id: invitee.organizationId, title: 'Acme', role: 'owner', status: 'active', created_at: expect.any(String) },
    ]);
    expect(await listed(invitee.userId)).toEqual({
      user_id: invitee.userId,
      email: invitee.email,
      first_name: '',
      last_name: '',
      is_active: true,
      role: 'manager',
      status: 'pending',
      created_at: expect.any(String),
      // Label Studio's user object (issue 12); the invitee's active organization is another one, not shown.
      user: {
        id: invitee.userId,
        username: invitee.email,
        email: invitee.email,
        first_name: '',
        last_name: '',
        avatar: null,
        initials: invitee.email.slice(0, 2),
        phone: '',
        active_organization: null,
        date_joined: expect.any(String),
        last_activity: null,
        allow_newsletters: null,
      },
    });
    expect(await listed(inviter.userId)).toMatchObject({ role: 'owner', status: 'active' });
  });

  it('ignores the sent password: the invitee keeps theirs, and the inviter cannot log in as them', async () => {
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email)).status).toBe(201);
    expect(
      (
        await request(t.app)
          .post('/api/auth/login')
          .send({ email: invitee.email, password: 'an attacker-chosen password' })
      ).status,
    ).toBe(401);
    expect(
      (await request(t.app).post('/api/auth/login').send({ email: invitee.email, password: PASSWORD })).status,
    ).toBe(200);
  });

  it('a second add of a pending invitee is a 409, as for a member', async () => {
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email)).status).toBe(201);
    const again = await invite(invitee.email);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_member');
  });
});

describe('a new email', () => {
  it('creates the user with the sent password, active at once: they log in into the organization', async () => {
    const res = await request(t.app)
      .post(memberships(inviter.organizationId))
      .set(await as(inviter))
      .send({ email: 'Fresh.Person@example.com', role: 'reviewer', password: 'a fine password' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      user_id: expect.any(Number),
      email: 'fresh.person@example.com',
      role: 'reviewer',
      organization: inviter.organizationId,
      status: 'active',
    });
    const login = await request(t.app)
      .post('/api/auth/login')
      .send({ email: 'fresh.person@example.com', password: 'a fine password' });
    expect(login.status).toBe(200);
    const whoami = await request(t.app).get('/api/current-user/whoami').set(bearer(login.body.access));
    expect(whoami.body).toMatchObject({ active_organization: inviter.organizationId, role: 'reviewer' });
    expect(await listed(res.body.user_id)).toMatchObject({ role: 'reviewer', status: 'active' });
  });
});

describe('a pending membership grants nothing', () => {
  it("its organization is a non-member's to the invitee: 404 on its endpoints, no switching to it, no login into it", async () => {
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email, 'administrator')).status).toBe(201);
    const headers = await as(invitee);
    for (const rest of ['memberships', 'tokens', 'audit-events']) {
      expect(
        (await request(t.app).get(`/api/organizations/${inviter.organizationId}/${rest}`).set(headers)).status,
      ).toBe(404);
    }
    expect(
      (
        await request(t.app)
          .post(memberships(inviter.organizationId))
          .set(headers)
          .send({ email: 'smuggled@example.com', role: 'annotator', password: 'a fine password' })
      ).status,
    ).toBe(404);

    // Switching the active organization to it is refused as for a foreign org, and changes nothing.
    const switched = await request(t.app)
      .patch('/api/current-user')
      .set(headers)
      .send({ active_organization: inviter.organizationId });
    expect(switched.status).toBe(404);
    const login = await request(t.app).post('/api/auth/login').send({ email: invitee.email, password: PASSWORD });
    const whoami = await request(t.app).get('/api/current-user/whoami').set(bearer(login.body.access));
    expect(whoami.body).toMatchObject({ active_organization: invitee.organizationId, role: 'owner' });
  });

  it('a user whose only membership is pending cannot log in (403: it binds no credential)', async () => {
    const member = await createMember(t, { organizationId: inviter.organizationId, role: 'annotator' });
    await request(t.app)
      .delete(memberships(inviter.organizationId, `/${member.userId}`))
      .set(await as(inviter))
      .expect(204);
    expect((await invite(member.email, 'reviewer')).body.status).toBe('pending');
    const refused = await request(t.app).post('/api/auth/login').send({ email: member.email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('permission_denied');
  });

  it('the last-owner rule does not count a pending owner', async () => {
    const founder = await createMember(t, { role: 'owner' });
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email, 'owner', founder.organizationId, founder)).body.status).toBe('pending');
    const headers = await as(founder);
    const demote = await request(t.app)
      .patch(memberships(founder.organizationId, `/${founder.userId}`))
      .set(headers)
      .send({ role: 'administrator' });
    expect(demote.status).toBe(400);
    expect(demote.body.code).toBe('last_owner');
    const remove = await request(t.app)
      .delete(memberships(founder.organizationId, `/${founder.userId}`))
      .set(headers);
    expect(remove.status).toBe(400);
    expect(remove.body.code).toBe('last_owner');
    // The pending owner is no owner either: changing or withdrawing their invitation is no "last owner" case.
    expect(
      (
        await request(t.app)
          .patch(memberships(founder.organizationId, `/${invitee.userId}`))
          .set(headers)
          .send({ role: 'manager' })
      ).status,
    ).toBe(200);
    expect(await listed(invitee.userId, founder.organizationId, founder)).toMatchObject({
      role: 'manager',
      status: 'pending',
    });
    await request(t.app)
      .delete(memberships(founder.organizationId, `/${invitee.userId}`))
      .set(headers)
      .expect(204);
    expect(await listed(invitee.userId, founder.organizationId, founder)).toBeUndefined();
  });
});

describe('POST /api/organizations/{id}/memberships/accept', () => {
  it('by the invitee: 200, the membership is active, and once they switch to it they act with the invited role', async () => {
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email, 'administrator')).status).toBe(201);
    const headers = await as(invitee);
    const res = await request(t.app).post(accept(inviter.organizationId)).set(headers);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user_id: invitee.userId,
      email: invitee.email,
      role: 'administrator',
      organization: inviter.organizationId,
      status: 'active',
    });

    expect((await request(t.app).get('/api/organizations').set(headers)).body).toContainEqual({
      id: inviter.organizationId,
      title: 'Acme',
      role: 'administrator',
      status: 'active',
      created_at: expect.any(String),
    });
    expect(await listed(invitee.userId)).toMatchObject({ role: 'administrator', status: 'active' });
    // Their credential is still bound to their own organization: a member's 403, no longer a 404.
    expect(
      (
        await request(t.app)
          .get(`${memberships(inviter.organizationId)}`)
          .set(headers)
      ).status,
    ).toBe(403);

    await request(t.app)
      .patch('/api/current-user')
      .set(headers)
      .send({ active_organization: inviter.organizationId })
      .expect(200);
    const inOrg = await as(invitee);
    expect((await request(t.app).get('/api/current-user/whoami').set(inOrg)).body).toMatchObject({
      active_organization: inviter.organizationId,
      role: 'administrator',
    });
    expect((await request(t.app).get(memberships(inviter.organizationId)).set(inOrg)).status).toBe(200);
    const pat = await request(t.app).post('/api/token').set(inOrg).send({ name: 'accepted' });
    expect(pat.status).toBe(201);
    expect(pat.body.role).toBe('administrator');
  });

  it('is a 404 for anyone but the invitee, and with no pending invitation (already accepted, never invited, no such org)', async () => {
    const invitee = await createMember(t, { role: 'owner' });
    const bystander = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email)).status).toBe(201);
    expect(
      (
        await request(t.app)
          .post(accept(inviter.organizationId))
          .set(await as(bystander))
      ).status,
    ).toBe(404);
    expect(
      (
        await request(t.app)
          .post(accept(inviter.organizationId))
          .set(await as(inviter))
      ).status,
    ).toBe(404);
    expect(
      (
        await request(t.app)
          .post(accept(999_999))
          .set(await as(invitee))
      ).status,
    ).toBe(404);
    expect(await listed(invitee.userId)).toMatchObject({ status: 'pending' });
    await request(t.app)
      .post(accept(inviter.organizationId))
      .set(await as(invitee))
      .expect(200);
    expect(
      (
        await request(t.app)
          .post(accept(inviter.organizationId))
          .set(await as(invitee))
      ).status,
    ).toBe(404);
  });

  it('needs a caller (401)', async () => {
    expect((await request(t.app).post(accept(inviter.organizationId))).status).toBe(401);
  });
});

describe('declining', () => {
  it('the invitee deletes their own pending membership (204): it is gone, for them and for the organization', async () => {
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email)).status).toBe(201);
    const headers = await as(invitee);
    await request(t.app)
      .delete(memberships(inviter.organizationId, `/${invitee.userId}`))
      .set(headers)
      .expect(204);
    expect((await request(t.app).get('/api/organizations').set(headers)).body.map((o: { id: number }) => o.id)).toEqual(
      [invitee.organizationId],
    );
    expect(await listed(invitee.userId)).toBeUndefined();
    expect((await request(t.app).post(accept(inviter.organizationId)).set(headers)).status).toBe(404);
    expect(
      (
        await request(t.app)
          .delete(memberships(inviter.organizationId, `/${invitee.userId}`))
          .set(headers)
      ).status,
    ).toBe(404);
    // Declined, they can be invited again.
    expect((await invite(invitee.email)).body.status).toBe('pending');
  });

  it("an invitee cannot delete anyone else's membership there (404: not a member)", async () => {
    const invitee = await createMember(t, { role: 'owner' });
    expect((await invite(invitee.email)).status).toBe(201);
    expect(
      (
        await request(t.app)
          .delete(memberships(inviter.organizationId, `/${inviter.userId}`))
          .set(await as(invitee))
      ).status,
    ).toBe(404);
    expect(await listed(inviter.userId)).toMatchObject({ role: 'owner', status: 'active' });
  });

  it('is recorded in the audit trail, as are the invitation and its acceptance', async () => {
    const declining = await createMember(t, { role: 'owner' });
    const accepting = await createMember(t, { role: 'owner' });
    await invite(declining.email);
    await invite(accepting.email);
    await request(t.app)
      .delete(memberships(inviter.organizationId, `/${declining.userId}`))
      .set(await as(declining))
      .expect(204);
    await request(t.app)
      .post(accept(inviter.organizationId))
      .set(await as(accepting))
      .expect(200);
    const res = await request(t.app)
      .get(`/api/organizations/${inviter.organizationId}/audit-events?page_size=100`)
      .set(await as(inviter));
    const events = (
      res.body.results as {
        action: string;
        actor_user_id: number;
        target_id: string;
        details: Record<string, unknown>;
      }[]
    ).map((e) => ({ action: e.action, actor: e.actor_user_id, target: e.target_id, status: e.details.status }));
    expect(events).toEqual(
      expect.arrayContaining([
        { action: 'membership.created', actor: inviter.userId, target: String(declining.userId), status: 'pending' },
        { action: 'membership.declined', actor: declining.userId, target: String(declining.userId), status: undefined },
        { action: 'membership.accepted', actor: accepting.userId, target: String(accepting.userId), status: undefined },
      ]),
    );
  });
});
