/**
 * Account & Settings → Personal access tokens, in a real browser: a PAT created in the dialog
 * is shown once, works at /api/token/refresh, and is listed without its secret; rotation and
 * revocation by the page stop the old PAT; the secret never reaches storage or the address;
 * and the whole of creation works with the keyboard alone.
 */
import type { Page } from 'playwright-core';
import {
  clientSideState,
  describedBy,
  browserSuite,
  describeWithChromium,
  exchange,
  focused,
  tabTo,
  withPage,
} from '../support/browser';
import { createMember, createPat, withOrganization } from '../support/factories';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

/** The "Token created" dialog's PAT, once it shows. */
async function createdToken(page: Page): Promise<string> {
  const field = page.getByRole('dialog', { name: 'Token created' }).getByLabel('Token', { exact: true });
  await field.waitFor();
  return field.inputValue();
}

/** Closes the "Token created" dialog with "Done", and waits until it is gone. */
async function done(page: Page): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Token created' });
  await dialog.getByRole('button', { name: 'Done', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/** Everything of `pat` that would let someone use it: the whole token and its signature. */
const secretsOf = (pat: string) => [pat, pat.split('.')[2]!];

describeWithChromium('Personal access tokens on Account & Settings, in a browser', () => {
  const suite = browserSuite();

  it(
    'creates a PAT in the dialog, shows it once with the recipe, and lists it without its secret after Done',
    async () => {
      const member = await createMember(suite.web.t, { role: 'manager' });
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('heading', { name: 'Personal access tokens' }).waitFor();
          await page.getByRole('button', { name: 'Create token', exact: true }).click();

          const dialog = page.getByRole('dialog', { name: 'Create token' });
          await dialog.getByLabel('Name', { exact: true }).fill('CI deploy');
          // Roles up to the user's own, and no higher.
          const role = dialog.getByLabel('Role', { exact: true });
          const roles = (await role.locator('option').allTextContents()).map((r) => r.trim().toLowerCase());
          expect(roles).toEqual(expect.arrayContaining(['manager', 'reviewer', 'annotator']));
          expect(roles).not.toContain('owner');
          expect(roles).not.toContain('administrator');
          await role.selectOption({ label: (await role.locator('option', { hasText: /reviewer/i }).textContent())! });
          const expires = dialog.getByLabel('Expires in (days)', { exact: true });
          // The organization's maximum, the field's description (the default policy's 73000 days).
          expect(await describedBy(expires)).toMatch(/73[,.\s]?000/);
          await expires.fill('30');
          await dialog.getByRole('button', { name: 'Create', exact: true }).click();

          const pat = await createdToken(page);
          const created = page.getByRole('dialog', { name: 'Token created' });
          expect(await created.getByLabel('Token', { exact: true }).isEditable()).toBe(false);
          const text = await created.innerText();
          expect(text).toMatch(/again/i);
          expect(text).toContain(`curl -X POST ${suite.web.url}/api/token/refresh`);
          expect(text).toMatch(/label_studio_sdk/);
          expect(text).toContain(suite.web.url);

          await created.getByRole('button', { name: 'Copy', exact: true }).click();
          expect(await page.evaluate('navigator.clipboard.readText()')).toBe(pat);

          // Exchanged from outside the browser, as a script would.
          const exchanged = await exchange(suite.web, pat);
          expect(exchanged.status).toBe(200);
          const row = await suite.web.t.database.prisma.personalAccessToken.findFirstOrThrow({
            where: { userId: member.userId, name: 'CI deploy' },
          });
          expect(row.role).toBe('reviewer');
          expect(Math.round((row.expiresAt!.getTime() - row.createdAt.getTime()) / 86_400_000)).toBe(30);

          for (const secret of secretsOf(pat)) expect(await clientSideState(page)).not.toContain(secret);
          await done(page);

          const listed = page.getByRole('row', { name: /CI deploy/ });
          await listed.waitFor();
          expect(await listed.innerText()).toMatch(/reviewer/i);
          const headers = (await page.getByRole('columnheader').allInnerTexts()).map((h) => h.trim());
          expect(headers).toEqual(expect.arrayContaining(['Name', 'Role', 'Created', 'Expires', 'Last used']));
          await listed.getByRole('button', { name: 'Rotate', exact: true }).waitFor();
          await listed.getByRole('button', { name: 'Revoke', exact: true }).waitFor();
          const html = await page.content();
          for (const secret of secretsOf(pat)) {
            expect(html).not.toContain(secret);
            expect(await clientSideState(page)).not.toContain(secret);
          }
        },
        { as: member },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows the server’s validation message next to the field, and creates nothing',
    async () => {
      const member = await createMember(suite.web.t, { role: 'annotator' });
      await withOrganization(suite.web.t, member.organizationId, { apiTokenTtlDays: 90 }, () =>
        withPage(
          suite,
          async (page) => {
            await page.goto('/account');
            await page.getByRole('button', { name: 'Create token', exact: true }).click();
            const dialog = page.getByRole('dialog', { name: 'Create token' });
            const expires = dialog.getByLabel('Expires in (days)', { exact: true });
            expect(await describedBy(expires)).toMatch(/\b90\b/);
            await expires.fill('365');
            await dialog.getByRole('button', { name: 'Create', exact: true }).click();
            await expires.and(page.locator('[aria-invalid="true"]')).waitFor();
            // The server's words (src/http/validate.ts), tied to the field, not a generic failure.
            expect(await describedBy(expires)).toMatch(/less than or equal to 90/);
            expect(await page.getByRole('dialog', { name: 'Token created' }).count()).toBe(0);
          },
          { as: member },
        ),
      );
      expect(await suite.web.t.database.prisma.personalAccessToken.count({ where: { userId: member.userId } })).toBe(0);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'rotates a PAT after confirmation: the new one is shown once and works, the old one is refused',
    async () => {
      const member = await createMember(suite.web.t, { role: 'reviewer' });
      const old = await createPat(suite.web.t, member, { name: 'Nightly export' });
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          const row = page.getByRole('row', { name: /Nightly export/ });
          await row.getByRole('button', { name: 'Rotate', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Rotate' }) });
          await confirm.getByRole('button', { name: 'Rotate', exact: true }).click();
          const pat = await createdToken(page);
          expect(pat).not.toBe(old.token);
          await done(page);
          await page.getByRole('row', { name: /Nightly export/ }).waitFor();
          expect(await page.getByRole('row', { name: /Nightly export/ }).count()).toBe(1);
          expect(await page.content()).not.toContain(pat);

          // The new one first: presenting the rotated one revokes its whole family.
          expect((await exchange(suite.web, pat)).status).toBe(200);
          expect(await exchange(suite.web, old.token)).toMatchObject({ status: 401, code: 'token_blacklisted' });
        },
        { as: member },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'revokes a PAT after confirmation: it leaves the list and is refused',
    async () => {
      const member = await createMember(suite.web.t, { role: 'annotator' });
      const kept = await createPat(suite.web.t, member, { name: 'Kept laptop' });
      const pat = await createPat(suite.web.t, member, { name: 'Old laptop' });
      expect((await exchange(suite.web, pat.token)).status).toBe(200);
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          const row = page.getByRole('row', { name: /Old laptop/ });
          await row.getByRole('button', { name: 'Revoke', exact: true }).click();
          const confirm = page.getByRole('dialog').filter({ has: page.getByRole('button', { name: 'Revoke' }) });
          await confirm.getByRole('button', { name: 'Revoke', exact: true }).click();
          // The dialog closes once the server answered; until then the list is aria-hidden.
          await confirm.waitFor({ state: 'hidden' });
          await row.waitFor({ state: 'detached' });
          await page.getByRole('row', { name: /Kept laptop/ }).waitFor();
        },
        { as: member },
      );
      expect(await exchange(suite.web, pat.token)).toMatchObject({ status: 401, code: 'token_blacklisted' });
      expect((await exchange(suite.web, kept.token)).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'reaches Account & Settings from the user menu, creates a token and closes its dialogs with the keyboard alone (Tab, Enter, Escape)',
    async () => {
      const member = await createMember(suite.web.t, { role: 'owner' });
      await withPage(
        suite,
        async (page) => {
          // From another page to Account & Settings through the user menu.
          await page.goto('/organization/settings');
          await page.getByRole('heading', { name: 'Access Token Settings' }).waitFor();
          await tabTo(page, page.getByRole('button', { name: member.email }));
          await page.keyboard.press('Enter');
          await tabTo(page, page.getByRole('link', { name: 'Account & Settings', exact: true }));
          await page.keyboard.press('Enter');
          await page.waitForURL((url) => url.pathname === '/account');
          const open = page.getByRole('button', { name: 'Create token', exact: true });
          await open.waitFor();

          // Escape closes the dialog without creating anything, and gives the focus back.
          await tabTo(page, open);
          await page.keyboard.press('Enter');
          const dialog = page.getByRole('dialog', { name: 'Create token' });
          await dialog.waitFor();
          await page.keyboard.press('Escape');
          await dialog.waitFor({ state: 'hidden' });
          expect(await focused(open)).toBe(true);

          await page.keyboard.press('Enter');
          await dialog.waitFor();
          const name = dialog.getByLabel('Name', { exact: true });
          await tabTo(page, name);
          await page.keyboard.type('Typed by keyboard');
          await tabTo(page, dialog.getByRole('button', { name: 'Create', exact: true }));
          await page.keyboard.press('Enter');

          const pat = await createdToken(page);
          expect((await exchange(suite.web, pat)).status).toBe(200);
          await page.keyboard.press('Escape');
          await page.getByRole('dialog', { name: 'Token created' }).waitFor({ state: 'hidden' });
          await page.getByRole('row', { name: /Typed by keyboard/ }).waitFor();
          expect(await page.content()).not.toContain(pat);
          expect(await focused(open)).toBe(true);
        },
        { as: member },
      );
      expect(await suite.web.t.database.prisma.personalAccessToken.count({ where: { userId: member.userId } })).toBe(1);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows names as text, never as markup',
    async () => {
      const member = await createMember(suite.web.t, { role: 'reviewer' });
      const name = '<img src=x id=injected><b>bold</b>';
      await createPat(suite.web.t, member, { name });
      await withPage(
        suite,
        async (page) => {
          await page.goto('/account');
          await page.getByRole('rowheader', { name, exact: true }).waitFor();
          expect(await page.locator('#injected, tbody b').count()).toBe(0);
        },
        { as: member },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'says PATs are switched off instead of offering Create token while the organization disables them',
    async () => {
      const member = await createMember(suite.web.t, { role: 'owner' });
      await withOrganization(suite.web.t, member.organizationId, { apiTokensEnabled: false }, () =>
        withPage(
          suite,
          async (page) => {
            await page.goto('/account');
            await page.getByRole('heading', { name: 'Personal access tokens' }).waitFor();
            await page
              .getByText(/disabled|switched off|not enabled/i)
              .first()
              .waitFor();
            expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0);
          },
          { as: member },
        ),
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
