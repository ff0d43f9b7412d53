/**
 * The web pages in a real browser: Debian's `chromium` (found as ./tools.ts finds every external
 * program, and skipped the same way without one) driven by playwright-core, against a real
 * Latchkey listening on a loopback port, on a database of its own.
 *
 * One browser per test file, a fresh context (cookies, storage, clock) per test, so that no
 * test depends on another's session. Every context records what the page reports as wrong
 * (console errors, uncaught exceptions, Content-Security-Policy violations) and `withPage`
 * fails the test on any.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import {
  chromium as playwrightChromium,
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  type Locator,
  type Page,
} from 'playwright-core';
import { startTestApp, type TestApp, type TestAppOptions } from './app';
import { PASSWORD, type Member } from './factories';
import { chromium } from './tools';
import { EVENT_TIMEOUT_MS, PROCESS_TEST_TIMEOUT_MS } from './wait';

/** `describe`, or `describe.skip` (its title saying why) without a chromium, unless one is required (CI). */
export const describeWithChromium = (title: string, fn: () => void) => chromium.describe(title, fn);

/**
 * Headless, without the sandbox (tests run as root in containers) or a GPU, and without
 * anything that would reach beyond this machine (updates, sync, QUIC probes).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The same pixels every run, so that the screenshots change only when the pages do.
  '--force-color-profile=srgb',
  '--disable-partial-raster',
  '--disable-skia-runtime-opts',
  '--font-render-hinting=none',
];

/** A browser for one test file: `close()` it in afterAll. */
export function launchBrowser(): Promise<Browser> {
  return playwrightChromium.launch({
    executablePath: chromium.binary(),
    args: CHROMIUM_ARGS,
    timeout: EVENT_TIMEOUT_MS,
  });
}

/** A Latchkey listening on a loopback port, its issuer that port's URL (so the pages' recipes show it). */
export interface WebApp {
  readonly t: TestApp;
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * startTestApp() behind a real HTTP server. The server listens first (port 0, so no race for
 * a port), and the app, configured with that URL as its issuer, answers once it exists (no one
 * knows the URL before).
 */
export async function startWebApp(options: TestAppOptions = {}): Promise<WebApp> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stopServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  let t: TestApp;
  try {
    t = await startTestApp({ ...options, env: { LATCHKEY_ISSUER: url, ...options.env } });
  } catch (err) {
    await stopServer();
    throw err;
  }
  server.on('request', t.app);
  return {
    t,
    url,
    async close() {
      await stopServer();
      await t.close();
    },
  };
}

/** Cookies, storage, viewport and clock of one test: nothing carries over from another test. */
export async function newContext(browser: Browser, web: WebApp): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: web.url,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
    reducedMotion: 'reduce',
    // "Copy" writes the PAT to the clipboard; the test reads it back.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  context.setDefaultTimeout(EVENT_TIMEOUT_MS);
  // The page's clock is the server's (frozen) one: relative times ("3 days ago") and the
  // "used in the last 30 days" instant agree with what the server wrote, and stay still.
  await context.clock.setFixedTime(web.t.clock());
  return context;
}

/**
 * What the page reports as wrong. Chromium logs every refused request as a console error
 * ("Failed to load resource: ... 401"); those of the API are answers the page handles (a
 * failed login, a page for admins only), so they are not problems, whereas a refused asset or
 * page is. A CSP violation is both logged and raised as an event, which an init script (run by
 * the browser itself, not subject to the page's policy) turns into a console error too.
 */
export async function recordProblems(context: BrowserContext): Promise<string[]> {
  const problems: string[] = [];
  const apiAnswer = (message: ConsoleMessage) =>
    message.text().startsWith('Failed to load resource: the server responded with a status of') &&
    new URL(message.location().url || 'about:blank', 'http://x/').pathname.startsWith('/api/');
  context.on('console', (message) => {
    if (message.type() === 'error' && !apiAnswer(message))
      problems.push(`console error on ${message.location().url || message.page()?.url()}: ${message.text()}`);
  });
  context.on('weberror', (error) => problems.push(`uncaught on ${error.page()?.url()}: ${error.error().stack}`));
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' in ' + e.sourceFile))`);
  return problems;
}

/** Signs `member` in as the page would (the session and CSRF cookies land in `context`). */
export async function signIn(context: BrowserContext, member: Pick<Member, 'email'>): Promise<void> {
  const res = await context.request.post('/api/auth/login', { data: { email: member.email, password: PASSWORD } });
  if (res.status() !== 200) throw new Error(`login of ${member.email} failed: ${res.status()} ${await res.text()}`);
}

/** A test file's server and browser: started before its tests, closed after them, one of each. */
export interface BrowserSuite {
  readonly web: WebApp;
  readonly browser: Browser;
}

/** Registers the hooks that start and stop a {@link BrowserSuite}; read it inside tests and hooks. */
export function browserSuite(options: TestAppOptions = {}): BrowserSuite {
  let web: WebApp | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    web = await startWebApp(options);
    browser = await launchBrowser();
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  }, PROCESS_TEST_TIMEOUT_MS);
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the browser suite is read before its beforeAll ran');
    return value;
  };
  return {
    get web() {
      return started(web);
    },
    get browser() {
      return started(browser);
    },
  };
}

export interface PageOptions {
  /** Signed in as this member before the page opens (by default nobody is). */
  readonly as?: Pick<Member, 'email'>;
}

/**
 * Runs `fn` with a page of a fresh context, closes the context whatever happens, and fails if
 * the page reported a problem (after `fn`'s own failure, if any, which says more).
 */
export async function withPage<T>(
  { browser, web }: BrowserSuite,
  fn: (page: Page, context: BrowserContext) => Promise<T>,
  options: PageOptions = {},
): Promise<T> {
  const context = await newContext(browser, web);
  let result: T;
  let problems: string[];
  try {
    problems = await recordProblems(context);
    if (options.as) await signIn(context, options.as);
    result = await fn(await context.newPage(), context);
  } finally {
    await context.close();
  }
  expect(problems).toEqual([]);
  return result;
}

/** The violations axe finds on the page as it is now, of impact serious or critical, one line each. */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  // axe ran (its script is evaluated by the browser, which the page's CSP does not govern).
  if (results.passes.length === 0) throw new Error(`axe found nothing to check on ${page.url()}`);
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Where the README's screenshots live: docs/screenshots/<name>.png. */
export const SCREENSHOTS_DIR = path.join(__dirname, '../../docs/screenshots');

/** Replaces each key of `pairs` by its value in the page's text and fields (see `screenshot`). */
const SWAP_TEXT = `(pairs) => {
  const swap = (text) => Object.entries(pairs).reduce((t, [from, to]) => t.split(from).join(to), text);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) node.nodeValue = swap(node.nodeValue);
  for (const field of document.querySelectorAll('input, textarea')) field.value = swap(field.value);
}`;

/**
 * A screenshot of the viewport (1280x800) into docs/screenshots/<name>.png. What would change
 * from run to run (a secret, a legacy token's hint) is first replaced in the page by a stand-in
 * (`stable`: text to replace → its stand-in), so an unchanged page gives an unchanged file and
 * the picture still shows what the page looks like. Call it last on a page: the page's text is
 * no longer its own afterwards.
 */
export async function screenshot(page: Page, name: string, stable: Record<string, string> = {}): Promise<void> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  if (Object.keys(stable).length) await page.evaluate(`(${SWAP_TEXT})(${JSON.stringify(stable)})`);
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

/** True when `target` has the focus. */
export const focused = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement);

/** Presses Tab until `target` has the focus (none if it has) (at most `limit` times): reaching it by keyboard alone. */
export async function tabTo(page: Page, target: Locator, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await focused(target)) return;
    await page.keyboard.press('Tab');
  }
  if (await focused(target)) return;
  throw new Error(`${target} never got the focus after ${limit} presses of Tab`);
}

/** What the page holds where a script or the address bar could leak a secret: URL, storages, cookies, history. */
export async function clientSideState(page: Page): Promise<string> {
  const inPage = await page.evaluate(`JSON.stringify({
    href: location.href,
    localStorage: Object.entries(localStorage),
    sessionStorage: Object.entries(sessionStorage),
    cookie: document.cookie,
    history: history.state,
  })`);
  return `${page.url()} ${String(inPage)}`;
}

/** `text` as a regular expression that matches it literally (an email in an accessible name). */
export const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/** The accessible description of a field: the text of the elements its aria-describedby names. */
export async function describedBy(field: Locator): Promise<string> {
  const ids = (await field.getAttribute('aria-describedby'))?.split(/\s+/).filter(Boolean) ?? [];
  const page = field.page();
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).innerText()));
  return texts.join(' ');
}

/** What `POST /api/token/refresh` answers `pat`, from outside the browser: its status and error code (or access token). */
export async function exchange(web: WebApp, pat: string): Promise<{ status: number; code?: string; access?: string }> {
  const res = await fetch(`${web.url}/api/token/refresh`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh: pat }),
  });
  const body = (await res.json()) as { code?: string; access?: string };
  return {
    status: res.status,
    ...(body.code ? { code: body.code } : {}),
    ...(body.access ? { access: body.access } : {}),
  };
}
