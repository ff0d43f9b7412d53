/**
 * The web pages as the server serves them (src/web/web.routes.ts): the built index.html at each
 * page's path under the page policy, revalidated; hashed assets immutable; never framed; and
 * the API around them unchanged (an unknown path, or a write to a page's path, is still the
 * JSON 404, and no page shadows an API path). Needs the pages built (`npm run build:web`;
 * `pretest` builds them).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { sendError, toAppError } from '../../src/errors';
import { PAGE_POLICY, PAGES, PUBLIC_DIR, webRouter } from '../../src/web/web.routes';
import { startTestApp, type TestApp } from '../support/app';

const INDEX = path.join(PUBLIC_DIR, 'index.html');

let t: TestApp;
let index: string;
let assets: string[];

beforeAll(async () => {
  if (!existsSync(INDEX)) throw new Error(`${INDEX} is missing: build the pages first (npm run build:web)`);
  index = readFileSync(INDEX, 'utf8');
  assets = readdirSync(path.join(PUBLIC_DIR, 'assets'));
  t = await startTestApp();
});
afterAll(() => t.close());

/** The headers that keep a page from being framed, by the policy and by the older header. */
function expectNeverFramed(res: request.Response): void {
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['x-frame-options']).toBe('DENY');
}

function expectJson404(res: request.Response): void {
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ status_code: 404, code: 'not_found' });
}

describe('the pages', () => {
  it.each(PAGES.flatMap((page) => (page === '/' ? [page] : [page, `${page}/`])))(
    'GET %s answers the built index.html under the page policy, revalidated',
    async (page) => {
      const res = await request(t.app).get(page);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toBe(index);
      expect(res.headers['content-security-policy']).toBe(PAGE_POLICY);
      expect(res.headers['cache-control']).toBe('no-cache');
      expectNeverFramed(res);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    },
  );

  it.each(PAGES)('HEAD %s answers the same headers and no body', async (page) => {
    const res = await request(t.app).head(page);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(PAGE_POLICY);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text ?? '').toBe('');
  });

  it('the policy allows this origin only, no inline code, and the page holds none', () => {
    expect(PAGE_POLICY).toContain("default-src 'none'");
    expect(PAGE_POLICY).toContain("script-src 'self'");
    expect(PAGE_POLICY).toContain("style-src 'self'");
    expect(PAGE_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    // Every script names its file (no inline one), and nothing carries an inline style.
    for (const [tag] of index.matchAll(/<script\b[^>]*>/g)) expect(tag).toMatch(/\ssrc="\/assets\/[^"]+"/);
    expect(index).not.toMatch(/\sstyle=|<style\b|\son[a-z]+=/i);
  });
});

describe('/assets/', () => {
  it('serves each file the page names, immutable and under the page policy', async () => {
    const named = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(([, url]) => url!);
    expect(named.length).toBeGreaterThan(0);
    for (const url of named) {
      const res = await request(t.app).get(url);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-security-policy']).toBe(PAGE_POLICY);
      expectNeverFramed(res);
    }
  });

  it('answers a built file byte for byte, with its type', async () => {
    const file = assets.find((name) => name.endsWith('.js'))!;
    const res = await request(t.app)
      .get(`/assets/${file}`)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (chunk: Buffer) => chunks.push(chunk));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(res.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect((res.body as Buffer).equals(readFileSync(path.join(PUBLIC_DIR, 'assets', file)))).toBe(true);
  });

  it.each(['/assets/missing.js', '/assets/', '/assets', '/assets/%2e%2e/index.html', '/assets/../index.html'])(
    '%s is the JSON 404',
    async (url) => {
      expectJson404(await request(t.app).get(url));
    },
  );
});

describe('around the pages', () => {
  it.each(['/nope', '/index.html', '/organization', '/organization/unknown', '/account/extra', '/login.php'])(
    'GET %s (not a page) stays the JSON 404',
    async (url) => {
      expectJson404(await request(t.app).get(url));
    },
  );

  it.each(['post', 'put', 'delete'] as const)('%s to a page path stays the JSON 404', async (method) => {
    for (const page of ['/', '/login', '/account']) expectJson404(await request(t.app)[method](page));
  });

  it('shadows no API path: those answer JSON under the API’s own policy', async () => {
    const setup = await request(t.app).get('/api/setup');
    expect(setup.status).toBe(200);
    expect(setup.headers['content-type']).toMatch(/^application\/json/);
    expect(setup.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    const token = await request(t.app).get('/api/token/');
    expect({ status: token.status, code: token.body.code }).toEqual({ status: 401, code: 'not_authenticated' });
    for (const url of ['/healthz', '/.well-known/jwks.json', '/api/openapi.json']) {
      const res = await request(t.app).get(url);
      expect(res.headers['content-type']).toMatch(/^application\/([a-z-]+\+)?json/);
      expect(res.headers['content-security-policy']).not.toBe(PAGE_POLICY);
    }
    expectJson404(await request(t.app).get('/api/login'));
  });

  it('without a build, a page is the JSON 404 saying so', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'latchkey-no-pages-'));
    try {
      const app = express().use(webRouter(empty));
      app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) =>
        sendError(req, res, toAppError(err)),
      );
      const res = await request(app).get('/login');
      expectJson404(res);
      expect(res.body.detail).toBe('The web pages are not built: run `npm run build`.');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
