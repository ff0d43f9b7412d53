/**
 * The organization's pages in a real browser: an owner switches legacy tokens on and off from
 * Access Token Settings (confirming, with counts, what switching off stops), a member resets
 * and uses one in between; an annotator sees the settings read-only and no API keys; an admin
 * revokes a member's token from API keys; an administrator manages members; the audit log
 * shows who did what.
 */
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { browserSuite, describeWithChromium, exchange, literally, withPage, type WebApp } from '../support/browser';
import { bearer, createMember, createPat, loginAccess, type Member } from '../support/factories';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

/** Chooses `value` in a filter, whether it is a <select> (by its option's label or value) or a text field. */
async function choose(field: Locator, value: string | RegExp): Promise<void> {
  if ((await field.evaluate((el) => el.tagName)) === 'SELECT') {
    const options = await field
      .locator('option')
      .evaluateAll((els) => els.map((el) => ({ label: el.textContent ?? '', value: el.getAttribute('value') ?? '' })));
    const match = options.find((o) =>
      typeof value === 'string' ? o.label.trim() === value || o.value === value : value.test(o.label),
    );
    if (!match) throw new Error(`no option ${value} in ${JSON.stringify(options)}`);
    await field.selectOption({ value: match.value });
  } else {
    if (typeof value !== 'string') throw new Error(`a text filter needs a string, not ${value}`);
    await field.fill(value);
  }
}

/** The answer to the page's next save of Access Token Settings (POST /api/jwt/settings). */
function saveResponse(page: Page) {
  return page.waitForResponse(
    (r) => new URL(r.url()).pathname.replace(/\/$/, '') === '/api/jwt/settings' && r.request().method() === 'POST',
  );
}

/** `Authorization: Token <key>` at whoami: the status and error code. */
async function useLegacy(web: WebApp, key: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${web.url}/api/current-user/whoami`, { headers: { Authorization: `Token ${key}` } });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, ...(body.code ? { code: body.code } : {}) };
}

/** A legacy token for `member`, made over the API (legacy tokens must be on). */
async function resetLegacy(web: WebApp, member: Member): Promise<string> {
  const res = await request(web.t.app)
    .post('/api/current-user/reset-token/')
    .set(bearer(await loginAccess(web.t, member)));
  if (res.status !== 201) throw new Error(`reset-token failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

describeWithChromium('The organization’s pages, in a browser', () => {
  const suite = browserSuite();

  it(
    'an owner switches Legacy tokens on; a member resets one and uses it; switched off after confirming the counts, it is refused',
    async () => {
      const owner = await createMember(suite.web.t, { role: 'owner' });
      const member = await createMember(suite.web.t, { role: 'reviewer', organizationId: owner.organizationId });
      const other = await createMember(suite.web.t, { role: 'annotator', organizationId: owner.organizationId });

      // Off (the default): the member's page says an admin must enable them, and offers no reset.
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('heading', { name: 'Legacy token', exact: true }).waitFor();
          await page.getByText(/admin/i).first().waitFor();
          expect(await page.getByRole('button', { name: 'Reset token' }).count()).toBe(0);
        },
        { as: member },
      );

      await withPage(
        suite,
        async (page) => {
          await page.goto('/organization/settings');
          await page.getByRole('heading', { name: 'Access Token Settings' }).waitFor();
          const legacy = page.getByLabel('Legacy tokens', { exact: true });
          expect(await legacy.isChecked()).toBe(false);
          await legacy.check();
          const saved = saveResponse(page);
          await page.getByRole('button', { name: 'Save', exact: true }).click();
          expect((await saved).status()).toBe(200);
        },
        { as: owner },
      );
      expect(
        (await suite.web.t.database.prisma.organization.findUniqueOrThrow({ where: { id: owner.organizationId } }))
          .legacyApiTokensEnabled,
      ).toBe(true);

      // On: the member resets theirs from the page and uses it.
      let key = '';
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('heading', { name: 'Legacy token', exact: true }).waitFor();
          await page.getByRole('button', { name: 'Reset token', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Reset token' }) });
          await confirm.getByRole('button', { name: 'Reset token', exact: true }).click();
          const field = page.getByRole('dialog', { name: 'Token created' }).getByLabel('Token', { exact: true });
          await field.waitFor();
          key = await field.inputValue();
          await page.getByRole('dialog', { name: 'Token created' }).getByRole('button', { name: 'Done' }).click();
          await page.getByRole('dialog', { name: 'Token created' }).waitFor({ state: 'hidden' });
          // Its hint (never the key) and when it was created.
          const hint = (
            await suite.web.t.database.prisma.legacyToken.findFirstOrThrow({
              where: { userId: member.userId, revokedAt: null },
            })
          ).hint;
          await page.getByText(hint).waitFor();
          expect(await page.content()).not.toContain(key);
        },
        { as: member },
      );
      expect(await useLegacy(suite.web, key)).toEqual({ status: 200 });
      // A second live legacy token, never used: the confirmation counts 2 live, 1 used.
      await resetLegacy(suite.web, other);
      await suite.web.t.usage.flush();

      await withPage(
        suite,
        async (page) => {
          await page.goto('/organization/settings');
          const legacy = page.getByLabel('Legacy tokens', { exact: true });
          await legacy.waitFor();
          expect(await legacy.isChecked()).toBe(true);
          await legacy.uncheck();
          await page.getByRole('button', { name: 'Save', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Save' }) });
          await confirm.waitFor();
          const text = await confirm.innerText();
          expect(text).toMatch(/\b2\b/);
          expect(text).toMatch(/\b1\b/);
          expect(text).toMatch(/30 days/);
          const saved = saveResponse(page);
          await confirm.getByRole('button', { name: 'Save', exact: true }).click();
          expect((await saved).status()).toBe(200);
        },
        { as: owner },
      );
      expect(await useLegacy(suite.web, key)).toMatchObject({ status: 401, code: 'token_type_disabled' });

      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('heading', { name: 'Legacy token', exact: true }).waitFor();
          await page.getByText(/admin/i).first().waitFor();
          expect(await page.getByRole('button', { name: 'Reset token' }).count()).toBe(0);
        },
        { as: member },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'asks before switching Personal access tokens off, and Cancel keeps them on',
    async () => {
      const owner = await createMember(suite.web.t, { role: 'administrator' });
      const pat = await createPat(suite.web.t, owner, { name: 'Still on' });
      await withPage(
        suite,
        async (page) => {
          await page.goto('/organization/settings');
          const pats = page.getByLabel('Personal access tokens', { exact: true });
          await pats.waitFor();
          await pats.uncheck();
          await page.getByRole('button', { name: 'Save', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Save' }) });
          expect(await confirm.innerText()).toMatch(/\b1\b/);
          await page.keyboard.press('Escape');
          await confirm.waitFor({ state: 'hidden' });
        },
        { as: owner },
      );
      expect((await exchange(suite.web, pat.token)).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows an annotator the settings read-only, no API keys link, and at API keys only a sentence',
    async () => {
      const annotator = await createMember(suite.web.t, { role: 'annotator' });
      await withPage(
        suite,
        async (page) => {
          await page.goto('/organization/settings');
          await page.getByRole('heading', { name: 'Access Token Settings' }).waitFor();
          for (const label of [
            'Personal access tokens',
            'Legacy tokens',
            'Personal access token time-to-live (days)',
            'Access token lifetime (seconds)',
          ]) {
            const field = page.getByLabel(label, { exact: true });
            await field.waitFor();
            expect([label, await field.isEditable()]).toEqual([label, false]);
          }
          const save = page.getByRole('button', { name: 'Save', exact: true });
          expect((await save.count()) === 0 || (await save.isDisabled())).toBe(true);
          expect(await page.getByRole('link', { name: 'API keys', exact: true }).count()).toBe(0);

          await page.goto('/organization/api-keys');
          await page.getByText(/only owners and administrators/i).waitFor();
          expect(await page.getByRole('table').count()).toBe(0);
          expect(await page.getByRole('link', { name: 'API keys', exact: true }).count()).toBe(0);
        },
        { as: annotator },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'lets an admin find a member’s PAT in API keys, filter by owner and type, and revoke it',
    async () => {
      const admin = await createMember(suite.web.t, { role: 'administrator' });
      const member = await createMember(suite.web.t, { role: 'manager', organizationId: admin.organizationId });
      await createPat(suite.web.t, admin, { name: 'Admin own' });
      const pat = await createPat(suite.web.t, member, { name: 'Member CI' });
      expect((await exchange(suite.web, pat.token)).status).toBe(200);
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('link', { name: 'API keys', exact: true }).click();
          await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
          expect(new URL(page.url()).pathname).toBe('/organization/api-keys');
          const headers = (await page.getByRole('columnheader').allInnerTexts()).map((h) => h.trim());
          expect(headers).toEqual(
            expect.arrayContaining(['Name', 'Owner', 'Type', 'Role', 'Created', 'Last used', 'Expires']),
          );
          const row = page.getByRole('row', { name: /Member CI/ });
          expect(await row.innerText()).toContain(member.email);
          await page.getByRole('row', { name: /Admin own/ }).waitFor();

          // Filtered by owner: only the member's.
          await choose(page.getByLabel('Owner', { exact: true }), literally(member.email));
          await page.getByRole('row', { name: /Admin own/ }).waitFor({ state: 'detached' });
          await row.waitFor();
          // Filtered by type legacy: none of the member's PATs.
          await choose(page.getByLabel('Type', { exact: true }), /legacy/i);
          await row.waitFor({ state: 'detached' });
          await choose(page.getByLabel('Type', { exact: true }), /PAT|personal/i);
          await row.waitFor();

          await row.getByRole('button', { name: 'Revoke', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Revoke' }) });
          await confirm.getByRole('button', { name: 'Revoke', exact: true }).click();
          await confirm.waitFor({ state: 'hidden' });
          // Gone from the live tokens (or shown revoked, without a Revoke button).
          await row.getByRole('button', { name: 'Revoke', exact: true }).waitFor({ state: 'detached' });
        },
        { as: admin },
      );
      expect(await exchange(suite.web, pat.token)).toMatchObject({ status: 401, code: 'token_blacklisted' });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'lets an administrator invite a member with a role up to their own, change the role, and remove them',
    async () => {
      const owner = await createMember(suite.web.t, { role: 'owner' });
      const admin = await createMember(suite.web.t, { role: 'administrator', organizationId: owner.organizationId });
      const email = `new-${admin.userId}@example.com`;
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('link', { name: 'Members', exact: true }).click();
          await page.getByRole('heading', { name: 'Members', exact: true }).waitFor();
          // An owner is above an administrator: nothing to manage on that row.
          const ownerRow = page.getByRole('row', { name: literally(owner.email) });
          await ownerRow.waitFor();
          expect(await ownerRow.getByRole('button').count()).toBe(0);

          const role = page.getByLabel('Role', { exact: true });
          const roles = (await role.locator('option').allTextContents()).map((r) => r.trim().toLowerCase());
          expect(roles).toContain('administrator');
          expect(roles).not.toContain('owner');
          await page.getByLabel('Email', { exact: true }).fill(email);
          await choose(role, 'Manager');
          await page.getByLabel('Password for a new account', { exact: true }).fill('a new password');
          await page.getByRole('button', { name: 'Invite', exact: true }).click();
          const row = page.getByRole('row', { name: literally(email) });
          await row.waitFor();
          expect(await row.innerText()).toMatch(/Manager/);

          await row.getByRole('button', { name: 'Change role', exact: true }).click();
          const dialog = page.getByRole('dialog', { name: 'Change role' });
          await choose(dialog.getByLabel('New role', { exact: true }), 'Reviewer');
          await dialog.getByRole('button', { name: 'Change role', exact: true }).click();
          await dialog.waitFor({ state: 'hidden' });
          await row.filter({ hasText: 'Reviewer' }).waitFor();

          await row.getByRole('button', { name: 'Remove', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Remove' }) });
          await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
          // The page says so once the server answered (while the dialog is open the list is
          // aria-hidden, so the row's absence alone proves nothing).
          await page
            .getByRole('status')
            .filter({ hasText: `${email} was removed.` })
            .waitFor();
          await row.waitFor({ state: 'detached' });
        },
        { as: admin },
      );
      const user = await suite.web.t.database.prisma.user.findUniqueOrThrow({ where: { email } });
      expect(await suite.web.t.database.prisma.membership.count({ where: { userId: user.id } })).toBe(0);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows the audit log newest first, with actors, filterable by action and actor',
    async () => {
      const owner = await createMember(suite.web.t, { role: 'owner' });
      const member = await createMember(suite.web.t, { role: 'reviewer', organizationId: owner.organizationId });
      const ownerAccess = await loginAccess(suite.web.t, owner);
      const created = await createPat(suite.web.t, member, { name: 'Audited' });
      const rotated = await request(suite.web.t.app)
        .post(`/api/token/${created.id}/rotate/`)
        .set(bearer(await loginAccess(suite.web.t, member)));
      expect(rotated.status).toBe(201);
      expect(
        (await request(suite.web.t.app).delete(`/api/token/${rotated.body.id}/`).set(bearer(ownerAccess))).status,
      ).toBe(204);
      expect(
        (
          await request(suite.web.t.app)
            .post('/api/jwt/settings/')
            .set(bearer(ownerAccess))
            .send({ legacy_api_tokens_enabled: true })
        ).status,
      ).toBe(200);

      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('link', { name: 'Audit log', exact: true }).click();
          await page.getByRole('heading', { name: 'Audit log', exact: true }).waitFor();
          expect(new URL(page.url()).pathname).toBe('/organization/audit');
          const headers = (await page.getByRole('columnheader').allInnerTexts()).map((h) => h.trim());
          expect(headers).toEqual(expect.arrayContaining(['Time', 'Actor', 'Action', 'Target']));
          const rows = page.getByRole('row').filter({ has: page.getByRole('cell') });
          await rows.filter({ hasText: 'settings.updated' }).first().waitFor();
          // Newest first: this page's own sign-in, the settings change, the revocation, the rotation.
          const texts = await rows.allInnerTexts();
          const at = (action: string) => texts.findIndex((t) => t.includes(action));
          expect(texts[0]).toContain('session.created');
          expect(at('settings.updated')).toBe(1);
          expect(at('settings.updated')).toBeLessThan(at('pat.revoked'));
          expect(at('pat.revoked')).toBeLessThan(at('pat.rotated'));
          expect(at('pat.rotated')).toBeLessThan(at('pat.created'));
          expect(texts[at('pat.rotated')]).toContain(member.email);
          expect(texts[at('pat.revoked')]).toContain(owner.email);
          // Relative times ("in" here: the database stamps audit events with its own clock,
          // ahead of the app's frozen one), the exact one on hover.
          const time = rows.nth(at('pat.revoked')).locator('time');
          expect(await time.innerText()).toMatch(/^(just now|in \d+ \w+|\d+ \w+ ago|yesterday|tomorrow)$/);
          expect(await time.getAttribute('title')).toMatch(/\d{4}/);

          await choose(page.getByLabel('Action', { exact: true }), 'pat.rotated');
          await rows.filter({ hasText: 'settings.updated' }).waitFor({ state: 'detached' });
          expect((await rows.allInnerTexts()).every((t) => t.includes('pat.rotated'))).toBe(true);
          expect(await rows.count()).toBe(1);

          await choose(page.getByLabel('Action', { exact: true }), /all|any/i);
          await choose(page.getByLabel('Actor', { exact: true }), literally(member.email));
          await rows.filter({ hasText: 'settings.updated' }).waitFor({ state: 'detached' });
          await rows.filter({ hasText: 'pat.rotated' }).waitFor();
          expect((await rows.allInnerTexts()).every((t) => t.includes(member.email))).toBe(true);
        },
        { as: owner },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
