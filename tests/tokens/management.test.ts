/** Creating, listing, rotating and revoking PATs: the rules, and another user's tokens. */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
  loginAccess,
  refreshAccess,
  withOrganization,
  type Member,
} from '../support/factories';

let t: TestApp;
let owner: Member;
let manager: Member;
let outsider: Member;

beforeAll(async () => {
  t = await startTestApp({ env: { LATCHKEY_PAT_LIMIT: '3' } });
  owner = await createMember(t, { role: 'owner' });
  outsider = await createMember(t, { role: 'owner' });
});
// A manager of each test's own: the PATs a test leaves live count towards the limit of 3.
beforeEach(async () => {
  manager = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
});
afterAll(() => t.close());

const as = async (member: Member) => bearer(await loginAccess(t, member));
const auditActions = async (targetId: number) =>
  (
    await t.database.prisma.auditEvent.findMany({
      where: { targetType: 'pat', targetId: String(targetId) },
      orderBy: { id: 'asc' },
    })
  ).map((e) => e.action);

describe('POST /api/token/', () => {
  it.each([
    [{ name: '' }, 'name', 'This field may not be blank.'],
    [{ name: 'x'.repeat(101) }, 'name', 'Ensure this field has no more than 100 characters.'],
    [{ expires_in_days: 0 }, 'expires_in_days', 'Ensure this value is greater than or equal to 1.'],
    [{ expires_in_days: 1.5 }, 'expires_in_days', 'A valid integer is required.'],
    [{ expires_in_days: 'soon' }, 'expires_in_days', 'A valid integer is required.'],
    [{ role: 'superuser' }, 'role', '"superuser" is not a valid choice.'],
  ])('400 for %j', async (body, field, message) => {
    const res = await request(t.app)
      .post('/api/token/')
      .set(await as(manager))
      .send(body);
    expect(res.status).toBe(400);
    expect(res.body.validation_errors).toEqual({ [field]: [message] });
  });

  it('defaults the name, the role (the creator’s) and the expiry (the org’s api_token_ttl_days)', async () => {
    const res = await request(t.app)
      .post('/api/token/')
      .set(await as(manager));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Personal access token', role: 'manager' });
    const { payload } = decodeJwt(res.body.token);
    expect((payload.exp as number) - (payload.iat as number)).toBe(73_000 * 86_400);
    await request(t.app)
      .delete(`/api/token/${res.body.id}`)
      .set(await as(manager))
      .expect(204);
  });

  it('refuses an expiry beyond the organization’s api_token_ttl_days', async () => {
    await withOrganization(t, owner.organizationId, { apiTokenTtlDays: 30 }, async () => {
      const res = await request(t.app)
        .post('/api/token/')
        .set(await as(manager))
        .send({ expires_in_days: 31 });
      expect(res.status).toBe(400);
      expect(res.body.validation_errors.expires_in_days[0]).toMatch(/less than or equal to 30/);
      const ok = await request(t.app)
        .post('/api/token/')
        .set(await as(manager))
        .send({ expires_in_days: 30 });
      expect(ok.status).toBe(201);
      await request(t.app)
        .delete(`/api/token/${ok.body.id}`)
        .set(await as(manager))
        .expect(204);
    });
  });

  it('caps the role at the creator’s own (403 above it, with insufficient_scope for Bearer)', async () => {
    const res = await request(t.app)
      .post('/api/token/')
      .set(await as(manager))
      .send({ role: 'administrator' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('permission_denied');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="latchkey", error="insufficient_scope"/);
    const lower = await request(t.app)
      .post('/api/token/')
      .set(await as(manager))
      .send({ role: 'annotator', name: 'read-only' });
    expect(lower.status).toBe(201);
    expect(decodeJwt(await refreshAccess(t, lower.body.token)).payload.role).toBe('annotator');
    await request(t.app)
      .delete(`/api/token/${lower.body.id}`)
      .set(await as(manager))
      .expect(204);
  });

  it('refuses a PAT-derived token from minting a PAT above the PAT’s own role', async () => {
    const weak = await createPat(t, manager, { role: 'reviewer' });
    const res = await request(t.app)
      .post('/api/token/')
      .set(bearer(await refreshAccess(t, weak.token)))
      .send({ role: 'manager' });
    expect(res.status).toBe(403);
    await request(t.app)
      .delete(`/api/token/${weak.id}`)
      .set(await as(manager))
      .expect(204);
  });

  it('enforces the per-user limit with 409, counting only live PATs', async () => {
    const user = await createMember(t, { organizationId: owner.organizationId, role: 'annotator' });
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createPat(t, user, { name: `t${i}` }));
    const res = await request(t.app)
      .post('/api/token/')
      .set(await as(user))
      .send({ name: 'one too many' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('token_limit_reached');
    await request(t.app)
      .delete(`/api/token/${made[0]!.id}`)
      .set(await as(user))
      .expect(204);
    expect(
      (
        await request(t.app)
          .post('/api/token/')
          .set(await as(user))
          .send({ name: 'fits again' })
      ).status,
    ).toBe(201);
  });

  it('is refused with 403 while PATs are disabled for the organization', async () => {
    await withOrganization(t, outsider.organizationId, { apiTokensEnabled: false }, async () => {
      const res = await request(t.app)
        .post('/api/token/')
        .set(await as(outsider));
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('token_type_disabled');
    });
  });
});

describe('another user’s PATs', () => {
  // Each test's own: some tests rotate or revoke theirs.
  let other: Member;
  let theirs: { token: string; id: number };
  beforeEach(async () => {
    other = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
    theirs = await createPat(t, other, { name: 'theirs' });
  });

  it('are not listed', async () => {
    const res = await request(t.app)
      .get('/api/token/')
      .set(await as(manager));
    expect(res.body.map((row: { id: number }) => row.id)).not.toContain(theirs.id);
  });

  it('cannot be deleted, rotated or blacklisted by their listed form by a non-admin (404)', async () => {
    const headers = await as(manager);
    expect((await request(t.app).delete(`/api/token/${theirs.id}/`).set(headers)).status).toBe(404);
    expect((await request(t.app).post('/api/token/rotate').set(headers).send({ refresh: theirs.token })).status).toBe(
      404,
    );
    const listed = theirs.token.split('.').slice(0, 2).join('.');
    const res = await request(t.app).post('/api/token/blacklist').set(headers).send({ refresh: listed });
    expect(res.status).toBe(404);
    expect(res.body.detail).toBe('Token is invalid or already blacklisted.');
  });

  it('cannot be touched from another organization, even by its owner', async () => {
    const headers = await as(outsider);
    expect((await request(t.app).delete(`/api/token/${theirs.id}`).set(headers)).status).toBe(404);
    expect((await request(t.app).post('/api/token/rotate').set(headers).send({ refresh: theirs.token })).status).toBe(
      404,
    );
    expect(
      (
        await request(t.app)
          .post('/api/token/blacklist')
          .set(headers)
          .send({ refresh: theirs.token.split('.').slice(0, 2).join('.') })
      ).status,
    ).toBe(404);
    expect((await refreshAccess(t, theirs.token)).length).toBeGreaterThan(0);
  });

  it('can be rotated by an org admin, staying its owner’s', async () => {
    const res = await request(t.app)
      .post('/api/token/rotate/')
      .set(await as(owner))
      .send({ refresh: theirs.token });
    expect(res.status).toBe(200);
    const { payload } = decodeJwt(res.body.refresh);
    expect(payload.user_id).toBe(String(other.userId));
    const rotated = await t.database.prisma.personalAccessToken.findUniqueOrThrow({
      where: { jti: payload.jti as string },
    });
    const listed = await request(t.app)
      .get('/api/token/')
      .set(await as(other));
    expect(listed.body.find((row: { id: number }) => row.id === rotated.id)).toMatchObject({
      name: 'theirs',
      role: 'manager',
    });
  });

  it('can be revoked by an org admin by id and by its listed form', async () => {
    await request(t.app)
      .delete(`/api/token/${theirs.id}`)
      .set(await as(owner))
      .expect(204);
    const again = await createPat(t, other, { name: 'again' });
    await request(t.app)
      .post('/api/token/blacklist')
      .set(await as(owner))
      .send({ refresh: again.token.split('.').slice(0, 2).join('.') })
      .expect(204);
    expect(await auditActions(again.id)).toEqual(['pat.created', 'pat.revoked']);
  });
});

describe('POST /api/token/blacklist/', () => {
  it('revokes with the full PAT and no credentials, then says already blacklisted', async () => {
    const { token, id } = await createPat(t, manager);
    await request(t.app).post('/api/token/blacklist/').send({ refresh: token }).expect(204);
    const res = await request(t.app).post('/api/token/blacklist/').send({ refresh: token });
    expect(res.status).toBe(404);
    expect(res.body.detail).toBe('Token is invalid or already blacklisted.');
    expect(await auditActions(id)).toEqual(['pat.created', 'pat.revoked']);
  });

  it('needs credentials for the listed (two-part) form; its owner may use it', async () => {
    const { token } = await createPat(t, manager);
    const listed = token.split('.').slice(0, 2).join('.');
    const anonymous = await request(t.app).post('/api/token/blacklist').send({ refresh: listed });
    expect(anonymous.status).toBe(401);
    await request(t.app)
      .post('/api/token/blacklist')
      .set(await as(manager))
      .send({ refresh: listed })
      .expect(204);
  });

  it('revokes nothing for a full PAT whose signature does not verify (404)', async () => {
    const { token } = await createPat(t, manager);
    const [h, p] = token.split('.');
    const res = await request(t.app)
      .post('/api/token/blacklist')
      .send({ refresh: `${h}.${p}.AAAA` });
    expect(res.status).toBe(404);
    expect((await request(t.app).post('/api/token/refresh').send({ refresh: token })).status).toBe(200);
  });

  it('400 without refresh', async () => {
    const res = await request(t.app).post('/api/token/blacklist').send({});
    expect(res.status).toBe(400);
    expect(res.body.validation_errors).toEqual({ refresh: ['This field is required.'] });
  });
});

describe('POST /api/token/rotate/', () => {
  it('replaces the PAT: new one works, same name and role, old one dead, audit recorded', async () => {
    const first = await createPat(t, manager, { name: 'deploy', role: 'reviewer', expires_in_days: 7 });
    const headers = await as(manager);
    const res = await request(t.app).post('/api/token/rotate').set(headers).send({ refresh: first.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['refresh']);
    const next = decodeJwt(res.body.refresh).payload;
    // The lifetime its parent was created with (7 days), not the org's 200 years.
    expect((next.exp as number) - (next.iat as number)).toBe(7 * 86_400);
    expect(decodeJwt(await refreshAccess(t, res.body.refresh)).payload.role).toBe('reviewer');
    expect((await request(t.app).post('/api/token/refresh').send({ refresh: first.token })).body.code).toBe(
      'token_blacklisted',
    );
    const row = await t.database.prisma.personalAccessToken.findUniqueOrThrow({ where: { jti: next.jti as string } });
    expect(row).toMatchObject({ name: 'deploy', parentId: first.id, familyId: decodeJwt(first.token).payload.jti });
    expect(await auditActions(row.id)).toEqual(['pat.rotated']);
  });

  it("keeps its parent's lifetime, capped by the org's current api_token_ttl_days", async () => {
    const first = await createPat(t, manager, { name: 'short', expires_in_days: 7 });
    await withOrganization(t, owner.organizationId, { apiTokenTtlDays: 2 }, async () => {
      const res = await request(t.app)
        .post('/api/token/rotate')
        .set(await as(manager))
        .send({ refresh: first.token });
      expect(res.status).toBe(200);
      const next = decodeJwt(res.body.refresh).payload;
      expect((next.exp as number) - (next.iat as number)).toBe(2 * 86_400);
      await request(t.app).post('/api/token/blacklist').send({ refresh: res.body.refresh }).expect(204);
    });
  });

  it('revokes the family when a rotated PAT is rotated again', async () => {
    const first = await createPat(t, manager);
    const headers = await as(manager);
    const second = (await request(t.app).post('/api/token/rotate').set(headers).send({ refresh: first.token })).body
      .refresh as string;
    const replay = await request(t.app).post('/api/token/rotate').set(headers).send({ refresh: first.token });
    expect(replay.status).toBe(400);
    expect(replay.body.validation_errors).toEqual({ non_field_errors: ['Invalid refresh token'] });
    expect((await request(t.app).post('/api/token/refresh').send({ refresh: second })).body.code).toBe(
      'token_blacklisted',
    );
    expect(await auditActions(first.id)).toEqual(['pat.created', 'pat.family_revoked']);
  });

  it('rotates once when two rotations race; the loser revokes the family', async () => {
    const first = await createPat(t, manager);
    const headers = await as(manager);
    const results = await Promise.all(
      [0, 1].map(() => request(t.app).post('/api/token/rotate').set(headers).send({ refresh: first.token })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const family = await t.database.prisma.personalAccessToken.findMany({
      where: { familyId: decodeJwt(first.token).payload.jti as string },
    });
    expect(family).toHaveLength(2);
    expect(family.every((p) => p.revokedAt !== null)).toBe(true);
  });

  it('400 Invalid refresh token for garbage, an access token or an expired PAT', async () => {
    const headers = await as(manager);
    const { token } = await createPat(t, manager, { expires_in_days: 1 });
    for (const refresh of ['garbage', await refreshAccess(t, token)]) {
      const res = await request(t.app).post('/api/token/rotate').set(headers).send({ refresh });
      expect(res.status).toBe(400);
      expect(res.body.validation_errors).toEqual({ non_field_errors: ['Invalid refresh token'] });
    }
    const start = t.clock();
    t.clock.advance(2 * 86_400);
    try {
      const res = await request(t.app)
        .post('/api/token/rotate')
        .set(await as(manager))
        .send({ refresh: token });
      expect(res.status).toBe(400);
    } finally {
      t.clock.set(start);
    }
  });

  it('needs credentials, and is 403 while PATs are disabled', async () => {
    const { token } = await createPat(t, outsider);
    expect((await request(t.app).post('/api/token/rotate').send({ refresh: token })).status).toBe(401);
    const headers = await as(outsider);
    await withOrganization(t, outsider.organizationId, { apiTokensEnabled: false }, async () => {
      const res = await request(t.app).post('/api/token/rotate').set(headers).send({ refresh: token });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('token_type_disabled');
    });
  });
});

describe('DELETE /api/token/{id}/', () => {
  it('revokes the caller’s own PAT; its access tokens stop; a second delete is 404', async () => {
    const { token, id } = await createPat(t, manager);
    const access = await refreshAccess(t, token);
    await request(t.app)
      .delete(`/api/token/${id}/`)
      .set(await as(manager))
      .expect(204);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).body.code).toBe(
      'token_blacklisted',
    );
    expect(
      (
        await request(t.app)
          .delete(`/api/token/${id}`)
          .set(await as(manager))
      ).status,
    ).toBe(404);
    expect(
      (
        await request(t.app)
          .delete('/api/token/not-a-number')
          .set(await as(manager))
      ).status,
    ).toBe(404);
  });
});

describe('PAT churn', () => {
  it('is bounded per user: past LATCHKEY_PAT_CREATE_PER_MINUTE creations and rotations, 429 with Retry-After until the minute is over', async () => {
    const limited = await startTestApp({ env: { LATCHKEY_PAT_CREATE_PER_MINUTE: '2' } });
    try {
      const member = await createMember(limited, { role: 'owner' });
      const headers = bearer(await loginAccess(limited, member));
      const first = await request(limited.app).post('/api/token/').set(headers).send({});
      expect(first.status).toBe(201);
      expect(
        (await request(limited.app).post('/api/token/rotate').set(headers).send({ refresh: first.body.token })).status,
      ).toBe(200);
      const refused = await request(limited.app).post('/api/token/').set(headers).send({});
      expect({ status: refused.status, code: refused.body.code, retryAfter: refused.headers['retry-after'] }).toEqual({
        status: 429,
        code: 'rate_limited',
        retryAfter: '60',
      });
      // Another user is not affected.
      const other = await createMember(limited, { organizationId: member.organizationId, role: 'annotator' });
      expect(
        (
          await request(limited.app)
            .post('/api/token/')
            .set(bearer(await loginAccess(limited, other)))
            .send({})
        ).status,
      ).toBe(201);
      limited.clock.advance(60);
      expect((await request(limited.app).post('/api/token/').set(headers).send({})).status).toBe(201);
    } finally {
      await limited.close();
    }
  });
});
