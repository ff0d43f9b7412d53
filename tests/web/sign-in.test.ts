/**
 * Sign in (/login) in a real browser: password login and the user menu, the server's message
 * for a failed login, the first-run page (only while no user exists), a session that ended,
 * and a page that cannot be framed.
 */
import type { Browser } from 'playwright-core';
import { setupCode } from '../../src/setup/setup.service';
import {
  browserSuite,
  describeWithChromium,
  literally,
  launchBrowser,
  newContext,
  seriousAxeViolations,
  startWebApp,
  withPage,
} from '../support/browser';
import { createMember, PASSWORD } from '../support/factories';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

describeWithChromium('Sign in, in a browser', () => {
  const suite = browserSuite();

  it(
    'signs in with Email and Password, and the user menu leads to Account & Settings',
    async () => {
      const member = await createMember(suite.web.t, { role: 'owner' });
      await withPage(suite, async (page) => {
        await page.goto('/login');
        await page.getByLabel('Email').fill(member.email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        const menu = page.getByRole('button', { name: literally(member.email) });
        await menu.click();
        await page
          .getByRole('menuitem', { name: 'Account & Settings' })
          .or(page.getByRole('link', { name: 'Account & Settings' }))
          .click();
        await page.getByRole('heading', { name: 'Personal access tokens' }).waitFor();
        expect(new URL(page.url()).pathname).toBe('/account');
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows the server’s message for a failed login, and stays on Sign in',
    async () => {
      const member = await createMember(suite.web.t, { role: 'annotator' });
      await withPage(suite, async (page) => {
        await page.goto('/login');
        await page.getByLabel('Email').fill(member.email);
        await page.getByLabel('Password').fill('not the password');
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByText('Invalid email or password.').waitFor();
        expect(new URL(page.url()).pathname).toBe('/login');
        expect(await page.getByLabel('Password').isVisible()).toBe(true);
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows when to retry once failed logins lock the account out (429)',
    async () => {
      const member = await createMember(suite.web.t, { role: 'reviewer' });
      // The failures a person may make from one address, made from here (the same address).
      let status = 0;
      for (let i = 0; status !== 429 && i < 20; i++) {
        const res = await fetch(`${suite.web.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: member.email, password: 'wrong' }),
        });
        status = res.status;
      }
      expect(status).toBe(429);
      await withPage(suite, async (page) => {
        await page.goto('/login');
        await page.getByLabel('Email').fill(member.email);
        // Even the right password waits for the window to end.
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        const alert = page.getByRole('alert');
        await alert.waitFor();
        expect(await alert.innerText()).toMatch(/Try again in \d+ minutes?/);
        expect(new URL(page.url()).pathname).toBe('/login');
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'runs under its policy: a script the page did not ship is refused, and the test notices',
    async () => {
      await expect(
        withPage(suite, async (page) => {
          await page.goto('/login');
          await page.getByRole('button', { name: 'Log in' }).waitFor();
          // What an injection would try: a script of its own, inline.
          await page.evaluate(`(() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
          })()`);
          expect(await page.evaluate('window.injected === true')).toBe(false);
        }),
      ).rejects.toThrow(/CSP violation: script-src/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'sends the user of a session that ended to Sign in, with a message',
    async () => {
      const member = await createMember(suite.web.t, { role: 'manager' });
      await withPage(
        suite,
        async (page, context) => {
          await page.goto('/account');
          await page.getByRole('heading', { name: 'Personal access tokens' }).waitFor();
          // The session ends elsewhere (a logout from another tab, an admin, its expiry): the
          // browser still holds its cookies, which the server now refuses.
          const cookies = await context.cookies();
          const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
          const csrf = cookies.find((c) => c.name === 'csrftoken')!.value;
          const logout = await fetch(`${suite.web.url}/api/auth/logout`, {
            method: 'POST',
            headers: { Cookie: header, 'X-CSRFToken': csrf },
          });
          expect(logout.status).toBe(204);
          expect((await context.cookies()).map((c) => c.name).sort()).toEqual(['csrftoken', 'latchkey_session']);
          // The next thing the user does meets the ended session.
          await page.getByRole('button', { name: 'Create token' }).click();
          await page.getByRole('dialog', { name: 'Create token' }).getByRole('button', { name: 'Create' }).click();
          await page.waitForURL((url) => url.pathname === '/login');
          await page
            .getByText(/session/i)
            .first()
            .waitFor();
          await page.getByLabel('Email').waitFor();
        },
        { as: member },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'opens a page that needs a session at Sign in when there is none',
    async () => {
      await withPage(suite, async (page) => {
        await page.goto('/account');
        await page.waitForURL((url) => url.pathname === '/login');
        await page.getByRole('button', { name: 'Log in' }).waitFor();
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'offers no first-run form once a user exists, even with the setup code in the address',
    async () => {
      await createMember(suite.web.t);
      await withPage(suite, async (page) => {
        await page.goto(`/login#setup=${setupCode(suite.web.t.tags)}`);
        await page.getByRole('button', { name: 'Log in' }).waitFor();
        expect(await page.getByRole('button', { name: 'Create owner' }).count()).toBe(0);
        expect(await page.getByLabel('Setup code').count()).toBe(0);
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'cannot be framed: the page’s policy forbids it, and the browser refuses',
    async () => {
      const res = await fetch(`${suite.web.url}/login`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');

      // Another origin (localhost is not 127.0.0.1) tries to frame the sign-in page. Its context
      // records no problems: the browser's refusal, logged as an error, is the point.
      const context = await newContext(suite.browser, suite.web);
      try {
        const page = await context.newPage();
        const framing = `http://localhost:${new URL(suite.web.url).port}/api/does-not-matter`;
        await page.route(framing, (route) =>
          route.fulfill({
            contentType: 'text/html',
            body: `<iframe title="framed" src="${suite.web.url}/login"></iframe>`,
          }),
        );
        // The frame's first navigation is the browser's error page, never the sign-in page.
        const framed = page.waitForEvent('framenavigated', (f) => f !== page.mainFrame());
        await page.goto(framing);
        expect((await framed).url()).toBe('chrome-error://chromewebdata/');
        expect(await (await framed).getByRole('button', { name: 'Log in' }).count()).toBe(0);
      } finally {
        await context.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describeWithChromium('First run, in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  }, PROCESS_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
  }, PROCESS_TEST_TIMEOUT_MS);

  it(
    'creates the first owner with the setup code from the address, which never reaches the server, then only signs in',
    async () => {
      const web = await startWebApp();
      try {
        const code = setupCode(web.t.tags);
        const requested: string[] = [];
        await withPage({ browser, web }, async (page, context) => {
          context.on('request', (r) => requested.push(`${r.url()} ${r.postData() ?? ''}`));
          await page.goto(`/login#setup=${code}`);
          const field = page.getByLabel('Setup code');
          await field.waitFor();
          expect(await field.inputValue()).toBe(code);
          expect(await seriousAxeViolations(page)).toEqual([]);
          // The fragment is cleared from the address bar (and history) at once.
          await page.waitForURL((url) => url.hash === '');
          await page.getByLabel('Email').fill('first@example.com');
          await page.getByLabel('Password').fill(PASSWORD);
          await page.getByRole('button', { name: 'Create owner' }).click();
          await page.getByRole('button', { name: /first@example\.com/ }).waitFor();
        });
        // The code went out only in the body of POST /api/setup, never in an address.
        expect(requested.filter((r) => r.includes(code))).toEqual([
          expect.stringMatching(new RegExp(`^${literally(web.url).source}/api/setup/? `)),
        ]);
        const owner = await web.t.database.prisma.user.findUniqueOrThrow({
          where: { email: 'first@example.com' },
          include: { memberships: true },
        });
        expect(owner.memberships.map((m) => m.role)).toEqual(['owner']);

        // Now a user exists: the same link offers only Sign in, and that works.
        await withPage({ browser, web }, async (page) => {
          await page.goto(`/login#setup=${code}`);
          await page.getByRole('button', { name: 'Log in' }).waitFor();
          expect(await page.getByRole('button', { name: 'Create owner' }).count()).toBe(0);
          await page.getByLabel('Email').fill('first@example.com');
          await page.getByLabel('Password').fill(PASSWORD);
          await page.getByRole('button', { name: 'Log in' }).click();
          await page.getByRole('button', { name: /first@example\.com/ }).waitFor();
        });
      } finally {
        await web.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shows the server’s refusal of a wrong setup code, and creates no one',
    async () => {
      const web = await startWebApp();
      try {
        await withPage({ browser, web }, async (page) => {
          await page.goto('/login#setup=not-the-code');
          await page.getByLabel('Email').fill('first@example.com');
          await page.getByLabel('Password').fill(PASSWORD);
          await page.getByRole('button', { name: 'Create owner' }).click();
          await page.getByText(/Wrong setup code/).waitFor();
        });
        expect(await web.t.database.prisma.user.count()).toBe(0);
      } finally {
        await web.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
