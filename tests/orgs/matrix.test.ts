/**
 * Label Studio's matrix: for each combination of the two toggles, what every credential path
 * gets. A toggle applies on the very next request and deletes nothing.
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, loginAccess, refreshAccess, type Member } from '../support/factories';

let t: TestApp;
let owner: Member;
let pat: string;
let access: string;
let legacy: string;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  await t.database.prisma.organization.update({
    where: { id: owner.organizationId },
    data: { legacyApiTokensEnabled: true },
  });
  await t.state.sync();
  pat = (await createPat(t, owner)).token;
  access = await refreshAccess(t, pat);
  legacy = (
    await request(t.app)
      .post('/api/current-user/reset-token')
      .set(bearer(await loginAccess(t, owner)))
  ).body.token;
});
afterAll(() => t.close());

const whoami = (headers: Record<string, string>) => request(t.app).get('/api/current-user/whoami').set(headers);

/** A PAT made while PATs are on, so that rotation can be tried under every setting. */
let toRotate: string;

async function outcomes() {
  const login = bearer(await loginAccess(t, owner));
  const rotation = await request(t.app).post('/api/token/rotate').set(login).send({ refresh: toRotate });
  return {
    bearer: (await whoami(bearer(access))).status,
    apiKeyAccess: (await whoami({ 'X-Api-Key': access })).status,
    token: (await whoami({ Authorization: `Token ${legacy}` })).status,
    apiKeyLegacy: (await whoami({ 'X-Api-Key': legacy })).status,
    refresh: (await request(t.app).post('/api/token/refresh').send({ refresh: pat })).status,
    create: (await request(t.app).post('/api/token').set(login).send({ name: 'matrix' })).status,
    rotate: rotation.status,
  };
}

describe.each([
  [true, false],
  [true, true],
  [false, true],
  [false, false],
])('api_tokens_enabled=%s, legacy_api_tokens_enabled=%s', (api, legacyOn) => {
  beforeAll(async () => {
    await t.database.prisma.organization.update({
      where: { id: owner.organizationId },
      data: { apiTokensEnabled: true },
    });
    await t.state.sync();
    toRotate = (await createPat(t, owner, { name: 'to rotate' })).token;
    await request(t.app)
      .post('/api/jwt/settings')
      .set(bearer(await loginAccess(t, owner)))
      .send({ api_tokens_enabled: api, legacy_api_tokens_enabled: legacyOn })
      .expect(200);
  });

  it('every credential path answers as the settings say', async () => {
    expect(await outcomes()).toEqual({
      bearer: api ? 200 : 401,
      apiKeyAccess: api ? 200 : 401,
      token: legacyOn ? 200 : 401,
      apiKeyLegacy: legacyOn ? 200 : 401,
      refresh: api ? 200 : 401,
      create: api ? 201 : 403,
      rotate: api ? 200 : 403,
    });
  });

  it('says why, with the contract’s codes and details', async () => {
    if (!api) {
      const res = await whoami(bearer(access));
      expect(res.body.code).toBe('token_type_disabled');
      expect((await request(t.app).post('/api/token/refresh').send({ refresh: pat })).body.code).toBe(
        'token_type_disabled',
      );
    }
    if (!legacyOn) {
      const res = await whoami({ Authorization: `Token ${legacy}` });
      expect(res.body.detail).toBe(
        'Authentication token no longer valid: legacy token authentication has been disabled for this organization',
      );
      expect(res.headers['www-authenticate']).toBe('Token realm="latchkey"');
    }
  });
});

it('a new organization starts with JWT on and legacy off', async () => {
  const fresh = await createMember(t);
  const res = await request(t.app)
    .get('/api/jwt/settings')
    .set(bearer(await loginAccess(t, fresh)));
  expect(res.body).toMatchObject({ api_tokens_enabled: true, legacy_api_tokens_enabled: false });
});
