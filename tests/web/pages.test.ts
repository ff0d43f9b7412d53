/**
 * Every page, and the token dialogs, checked by axe (no violation of impact serious or
 * critical) and photographed into docs/screenshots/ for the README. The organization is the
 * same on every run (names, emails, times on the frozen clock; secrets masked), so an unchanged
 * page gives an unchanged picture.
 */
import type { Page } from 'playwright-core';
import request from 'supertest';
import { browserSuite, describeWithChromium, screenshot, seriousAxeViolations, withPage } from '../support/browser';
import {
  bearer,
  createMember,
  createOrganization,
  createPat,
  loginAccess,
  PASSWORD,
  type Member,
} from '../support/factories';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

/** Axe on the page as it is now: nothing serious or critical. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  expect([what, await seriousAxeViolations(page)]).toEqual([what, []]);
}

describeWithChromium('Every page: axe, and a screenshot for the README', () => {
  const suite = browserSuite();
  let owner: Member;
  let manager: Member;
  let annotator: Member;
  /** The seeded PATs' ids, by name. */
  const pats: Record<string, number> = {};

  beforeAll(async () => {
    const { t } = suite.web;
    const org = await createOrganization(t, 'Acme Labelling');
    owner = await createMember(t, { role: 'owner', organizationId: org, email: 'ada@example.com' });
    const admin = await createMember(t, { role: 'administrator', organizationId: org, email: 'grace@example.com' });
    manager = await createMember(t, { role: 'manager', organizationId: org, email: 'alan@example.com' });
    annotator = await createMember(t, { role: 'annotator', organizationId: org, email: 'edsger@example.com' });
    const names: Record<string, [string, string]> = {
      [owner.email]: ['Ada', 'Lovelace'],
      [admin.email]: ['Grace', 'Hopper'],
      [manager.email]: ['Alan', 'Turing'],
      [annotator.email]: ['Edsger', 'Dijkstra'],
    };
    for (const [email, [firstName, lastName]] of Object.entries(names))
      await t.database.prisma.user.update({ where: { email }, data: { firstName, lastName } });
    await t.database.prisma.organization.update({ where: { id: org }, data: { legacyApiTokensEnabled: true } });
    await t.state.sync();
    const seeded: [Member, Record<string, unknown>][] = [
      [owner, { name: 'Nightly export', expires_in_days: 90 }],
      [owner, { name: 'Label Studio SDK', role: 'manager' }],
      [manager, { name: 'CI pipeline', expires_in_days: 30 }],
      [admin, { name: 'Grafana datasource', role: 'reviewer' }],
    ];
    for (const [member, body] of seeded) pats[body.name as string] = (await createPat(t, member, body)).id;
    const reset = await request(t.app)
      .post('/api/current-user/reset-token/')
      .set(bearer(await loginAccess(t, owner)));
    expect(reset.status).toBe(201);
  }, PROCESS_TEST_TIMEOUT_MS);

  /**
   * Rows the database stamps itself (now(): audit events, users, memberships) get the frozen
   * clock's time, as the rest have, once the page's own sign-in is recorded too.
   */
  const settleTimes = async () => {
    const { prisma } = suite.web.t.database;
    const now = new Date(suite.web.t.clock());
    await prisma.auditEvent.updateMany({ data: { createdAt: now } });
    await prisma.user.updateMany({ data: { createdAt: now } });
    await prisma.membership.updateMany({ data: { createdAt: now } });
  };

  /**
   * The legacy token's hint changes with every run (its last four characters): a stand-in of
   * the same shape wherever it shows.
   */
  const stableHint = async (): Promise<Record<string, string>> => {
    const { hint } = await suite.web.t.database.prisma.legacyToken.findFirstOrThrow({
      where: { userId: owner.userId, revokedAt: null },
    });
    return { [hint]: hint.replace(/.{4}$/, 'Xy7Q') };
  };

  it(
    'Sign in',
    async () => {
      await withPage(suite, async (page) => {
        await page.goto('/login');
        await page.getByRole('button', { name: 'Log in' }).waitFor();
        await expectAccessible(page, 'sign in');
        await screenshot(page, 'sign-in');
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'Account & Settings, the Create token dialog and the Token created dialog',
    async () => {
      await withPage(
        suite,
        async (page) => {
          await settleTimes();
          await page.goto('/account');
          await page.getByRole('row', { name: /Label Studio SDK/ }).waitFor();
          await page.getByRole('heading', { name: 'Legacy token', exact: true }).waitFor();
          await expectAccessible(page, 'account');
          await screenshot(page, 'account', await stableHint());

          await page.getByRole('button', { name: 'Create token', exact: true }).click();
          const dialog = page.getByRole('dialog', { name: 'Create token' });
          await dialog.getByLabel('Name', { exact: true }).fill('Annotation export');
          await expectAccessible(page, 'create token dialog');
          await screenshot(page, 'create-token', await stableHint());
          await dialog.getByRole('button', { name: 'Create', exact: true }).click();

          const created = page.getByRole('dialog', { name: 'Token created' });
          const field = created.getByLabel('Token', { exact: true });
          await field.waitFor();
          const pat = await field.inputValue();
          await expectAccessible(page, 'token created dialog');
          // Every copy of the PAT (the field, the recipe) shows a stand-in; the run's own is a secret.
          await screenshot(page, 'token-created', {
            [pat]: 'eyJhbGciOi…(your new personal access token)',
            // The recipe's server: this run's port would change the picture every time.
            [suite.web.url]: 'https://latchkey.example.com',
            ...(await stableHint()),
          });
          await created.getByRole('button', { name: 'Done', exact: true }).click();
          await created.waitFor({ state: 'hidden' });
        },
        { as: owner },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'Access Token Settings, for an owner and read-only for an annotator',
    async () => {
      await withPage(
        suite,
        async (page) => {
          await settleTimes();
          await page.goto('/organization/settings');
          await page.getByLabel('Legacy tokens', { exact: true }).waitFor();
          await expectAccessible(page, 'settings');
          await screenshot(page, 'access-token-settings');
        },
        { as: owner },
      );
      await withPage(
        suite,
        async (page) => {
          await settleTimes();
          await page.goto('/organization/settings');
          await page.getByLabel('Legacy tokens', { exact: true }).waitFor();
          await expectAccessible(page, 'settings, read-only');
          await page.goto('/organization/api-keys');
          await page.getByText(/only owners and administrators/i).waitFor();
          await expectAccessible(page, 'API keys, refused');
        },
        { as: annotator },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'API keys',
    async () => {
      await withPage(
        suite,
        async (page) => {
          await settleTimes();
          await page.goto('/organization/api-keys');
          await page.getByRole('row', { name: /Grafana datasource/ }).waitFor();
          await expectAccessible(page, 'API keys');
          await screenshot(page, 'api-keys', await stableHint());
        },
        { as: owner },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'Members',
    async () => {
      await withPage(
        suite,
        async (page) => {
          await settleTimes();
          await page.goto('/organization/members');
          await page.getByRole('heading', { name: 'Members', exact: true }).waitFor();
          await page.getByText('edsger@example.com').first().waitFor();
          await expectAccessible(page, 'members');
          await screenshot(page, 'members');
        },
        { as: owner },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'Audit log',
    async () => {
      const { t } = suite.web;
      const org = owner.organizationId;
      await withPage(
        suite,
        async (page) => {
          // A morning's work after this page's own sign-in: the newest rows, above the fold.
          const access = bearer(await loginAccess(t, owner));
          const expectStatus = async (call: request.Test, status: number) => expect((await call).status).toBe(status);
          await expectStatus(
            request(t.app)
              .post(`/api/organizations/${org}/memberships/`)
              .set(access)
              .send({ email: 'barbara@example.com', role: 'annotator', password: PASSWORD }),
            201,
          );
          await expectStatus(
            request(t.app)
              .patch(`/api/organizations/${org}/memberships/${manager.userId}/`)
              .set(access)
              .send({ role: 'reviewer' }),
            200,
          );
          await expectStatus(request(t.app).post(`/api/token/${pats['Nightly export']}/rotate/`).set(access), 201);
          await expectStatus(
            request(t.app).delete(`/api/organizations/${org}/tokens/pat/${pats['Grafana datasource']}/`).set(access),
            204,
          );
          await expectStatus(request(t.app).post('/api/current-user/reset-token/').set(access), 201);
          await expectStatus(
            request(t.app).post('/api/jwt/settings/').set(access).send({ access_token_ttl_seconds: 600 }),
            200,
          );
          await expectStatus(
            request(t.app).post('/api/jwt/settings/').set(access).send({ api_token_ttl_days: 365 }),
            200,
          );
          await settleTimes();
          await page.goto('/organization/audit');
          await page.getByRole('heading', { name: 'Audit log', exact: true }).waitFor();
          await page.getByRole('cell', { name: /Member’s role changed/ }).waitFor();
          await expectAccessible(page, 'audit log');
          // Session ids are random, and the table's columns are as wide as their widest cell.
          const sessions = await t.database.prisma.auditEvent.findMany({
            where: { organizationId: org, targetType: 'session' },
            orderBy: { id: 'asc' },
          });
          const stable = Object.fromEntries(
            sessions.map((e, i) => [e.targetId!, `5e55${String(i + 1).padStart(28, '0')}`]),
          );
          await screenshot(page, 'audit-log', stable);
        },
        { as: owner },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
