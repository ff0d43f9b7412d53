/**
 * `POST /api/token/{id}/rotate/`: the web page's rotation, by id. Who may (the owner, or an admin
 * whose role is at least the owner's), what it answers (creation's shape), and that the rules
 * are those of `POST /api/token/rotate/` (old PAT revoked as rotated, name, role and lifetime
 * kept, the family recorded).
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
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
let annotator: Member;
let outsider: Member;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  const organizationId = owner.organizationId;
  admin = await createMember(t, { organizationId, role: 'administrator' });
  manager = await createMember(t, { organizationId, role: 'manager' });
  annotator = await createMember(t, { organizationId, role: 'annotator' });
  outsider = await createMember(t, { role: 'owner' });
});
afterAll(() => t.close());

const as = async (member: Member) => bearer(await loginAccess(t, member));
const rotateById = async (member: Member, id: number | string, path = `/api/token/${id}/rotate`) =>
  request(t.app)
    .post(path)
    .set(await as(member));
const refreshStatus = async (pat: string) =>
  (await request(t.app).post('/api/token/refresh').send({ refresh: pat })).body.code ?? 'ok';

describe('POST /api/token/{id}/rotate/', () => {
  it('replaces the owner’s PAT and answers like creation: the old one is refused, name, role and lifetime kept, family recorded', async () => {
    const first = await createPat(t, manager, { name: 'deploy', role: 'reviewer', expires_in_days: 7 });
    const res = await rotateById(manager, first.id);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body)).toEqual(['token', 'id', 'name', 'role', 'created_at', 'expires_at']);
    expect(res.body).toMatchObject({ name: 'deploy', role: 'reviewer' });
    expect(res.body.id).not.toBe(first.id);
    const next = decodeJwt(res.body.token).payload;
    expect(next.user_id).toBe(String(manager.userId));
    // The lifetime its parent was created with (7 days), not the org's default.
    expect((next.exp as number) - (next.iat as number)).toBe(7 * 86_400);
    expect(Date.parse(res.body.expires_at) - Date.parse(res.body.created_at)).toBe(7 * 86_400_000);
    expect(decodeJwt(await refreshAccess(t, res.body.token)).payload.role).toBe('reviewer');
    expect(await refreshStatus(first.token)).toBe('token_blacklisted');

    const [old, row] = await Promise.all([
      t.database.prisma.personalAccessToken.findUniqueOrThrow({ where: { id: first.id } }),
      t.database.prisma.personalAccessToken.findUniqueOrThrow({ where: { id: res.body.id } }),
    ]);
    expect(old.revokedReason).toBe('rotated');
    expect(row).toMatchObject({ parentId: first.id, familyId: old.familyId, userId: manager.userId });
    const event = await t.database.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'pat.rotated', targetId: String(row.id) },
    });
    expect(event).toMatchObject({ actorUserId: manager.userId, details: { previous_id: first.id } });
  });

  it('accepts the trailing slash', async () => {
    const pat = await createPat(t, manager);
    expect((await rotateById(manager, pat.id, `/api/token/${pat.id}/rotate/`)).status).toBe(201);
  });

  it('lets an administrator rotate a lower member’s PAT: the successor is still the member’s', async () => {
    const pat = await createPat(t, manager, { name: 'member’s', role: 'manager' });
    const res = await rotateById(admin, pat.id);
    expect(res.status).toBe(201);
    expect(decodeJwt(res.body.token).payload.user_id).toBe(String(manager.userId));
    expect(decodeJwt(await refreshAccess(t, res.body.token)).payload.role).toBe('manager');
    expect(await refreshStatus(pat.token)).toBe('token_blacklisted');
    const event = await t.database.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'pat.rotated', targetId: String(res.body.id) },
    });
    expect(event).toMatchObject({ actorUserId: admin.userId, details: { owner_user_id: manager.userId } });
  });

  it('lets an owner rotate an administrator’s PAT, and an administrator another administrator’s (equal roles)', async () => {
    const peer = await createMember(t, { organizationId: owner.organizationId, role: 'administrator' });
    expect((await rotateById(owner, (await createPat(t, admin)).id)).status).toBe(201);
    expect((await rotateById(admin, (await createPat(t, peer)).id)).status).toBe(201);
  });

  it('refuses an administrator an owner’s PAT (403: the successor would act as an owner), and leaves it live', async () => {
    const pat = await createPat(t, owner);
    const res = await rotateById(admin, pat.id);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('permission_denied');
    expect(await refreshStatus(pat.token)).toBe('ok');
  });

  it('refuses the owner acting through a weaker credential: an annotator-role PAT cannot rotate their owner-role PAT into one it holds', async () => {
    const full = await createPat(t, owner, { name: 'full' });
    const weak = await createPat(t, owner, { name: 'weak', role: 'annotator' });
    const res = await request(t.app)
      .post(`/api/token/${full.id}/rotate`)
      .set(bearer(await refreshAccess(t, weak.token)));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('permission_denied');
    expect(res.body).not.toHaveProperty('token');
    expect(await refreshStatus(full.token)).toBe('ok');
    // Its own role, or a lower PAT's, it may rotate.
    const lowest = await createPat(t, owner, { name: 'lowest', role: 'annotator' });
    const ok = await request(t.app)
      .post(`/api/token/${lowest.id}/rotate`)
      .set(bearer(await refreshAccess(t, weak.token)));
    expect(ok.status).toBe(201);
    expect(decodeJwt(await refreshAccess(t, ok.body.token)).payload.role).toBe('annotator');
  });

  it('is 404 to a member who neither owns the PAT nor administers its organization', async () => {
    const pat = await createPat(t, manager);
    const res = await rotateById(annotator, pat.id);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
    expect(await refreshStatus(pat.token)).toBe('ok');
  });

  it('is 404 for another organization’s PAT, even to its owner', async () => {
    const pat = await createPat(t, manager);
    expect((await rotateById(outsider, pat.id)).status).toBe(404);
    expect(await refreshStatus(pat.token)).toBe('ok');
  });

  it('is 404 for an unknown id, and for a path id that is not one', async () => {
    expect((await rotateById(owner, 999_999)).status).toBe(404);
    expect((await rotateById(owner, 'abc')).status).toBe(404);
  });

  it('is 404 for a revoked PAT', async () => {
    const pat = await createPat(t, manager);
    const revoked = await request(t.app)
      .delete(`/api/token/${pat.id}`)
      .set(await as(manager));
    expect(revoked.status).toBe(204);
    expect((await rotateById(manager, pat.id)).status).toBe(404);
  });

  it('is 404 for a PAT rotated already, without revoking its family (naming an id proves no theft)', async () => {
    const pat = await createPat(t, manager);
    const first = await rotateById(manager, pat.id);
    expect(first.status).toBe(201);
    expect((await rotateById(manager, pat.id)).status).toBe(404);
    expect(await refreshStatus(first.body.token)).toBe('ok');
  });

  it('of two rotations at once, one wins and the other is 404; the winner’s PAT stays live', async () => {
    const pat = await createPat(t, manager);
    const headers = await as(manager);
    const answers = await Promise.all(
      [1, 2].map(() => request(t.app).post(`/api/token/${pat.id}/rotate`).set(headers)),
    );
    expect(answers.map((res) => res.status).sort()).toEqual([201, 404]);
    const winner = answers.find((res) => res.status === 201)!;
    expect(await refreshStatus(winner.body.token)).toBe('ok');
  });

  it('is 404 for an expired PAT (rotation would revive it)', async () => {
    const pat = await createPat(t, manager, { expires_in_days: 1 });
    t.clock.advance(86_400);
    try {
      expect((await rotateById(manager, pat.id)).status).toBe(404);
    } finally {
      t.clock.advance(-86_400);
    }
  });

  it('is 404 for the PAT of someone who left the organization (it authenticates no one)', async () => {
    const leaver = await createMember(t, { organizationId: owner.organizationId, role: 'reviewer' });
    const pat = await createPat(t, leaver);
    const removed = await request(t.app)
      .delete(`/api/organizations/${owner.organizationId}/memberships/${leaver.userId}`)
      .set(await as(owner));
    expect(removed.status).toBe(204);
    expect((await rotateById(owner, pat.id)).status).toBe(404);
  });

  it('is 403 token_type_disabled while the organization has PATs switched off', async () => {
    const pat = await createPat(t, manager);
    const headers = await as(manager);
    await withOrganization(t, owner.organizationId, { apiTokensEnabled: false }, async () => {
      const res = await request(t.app).post(`/api/token/${pat.id}/rotate`).set(headers);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('token_type_disabled');
    });
    expect(await refreshStatus(pat.token)).toBe('ok');
  });

  it('needs a credential; from the browser session, the CSRF header too', async () => {
    const pat = await createPat(t, manager);
    expect((await request(t.app).post(`/api/token/${pat.id}/rotate`)).status).toBe(401);
    const login = await request(t.app).post('/api/auth/login').send({ email: manager.email, password: PASSWORD });
    const jar = Object.fromEntries(
      (login.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]!.split('=')),
    ) as Record<string, string>;
    const cookie = `latchkey_session=${jar.latchkey_session}; csrftoken=${jar.csrftoken}`;
    const noCsrf = await request(t.app).post(`/api/token/${pat.id}/rotate`).set('Cookie', cookie);
    expect({ status: noCsrf.status, code: noCsrf.body.code }).toEqual({ status: 403, code: 'csrf_failed' });
    const ok = await request(t.app)
      .post(`/api/token/${pat.id}/rotate`)
      .set('Cookie', cookie)
      .set('X-CSRFToken', jar.csrftoken!);
    expect(ok.status).toBe(201);
  });

  it('counts towards LATCHKEY_PAT_CREATE_PER_MINUTE, as creation and rotation do', async () => {
    const limited = await startTestApp({ env: { LATCHKEY_PAT_CREATE_PER_MINUTE: '2' } });
    try {
      const member = await createMember(limited, { role: 'owner' });
      const headers = bearer(await loginAccess(limited, member));
      const pat = await createPat(limited, member);
      const rotated = await request(limited.app).post(`/api/token/${pat.id}/rotate`).set(headers);
      expect(rotated.status).toBe(201);
      const refused = await request(limited.app).post(`/api/token/${rotated.body.id}/rotate`).set(headers);
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 429, code: 'rate_limited' });
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      await limited.close();
    }
  });
});
