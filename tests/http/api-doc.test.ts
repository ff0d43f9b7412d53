/**
 * The repository documents its own HTTP API: docs/API.md has one `### METHOD /path` heading for
 * each route the app serves, and none for a route it does not, so the page cannot drift from
 * the routers. The README's links stay inside the repository, where every clone has them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { servedRoutes } from '../support/routes';

const ROOT = path.resolve(__dirname, '../..');

function documentedRoutes(): string[] {
  const doc = readFileSync(path.join(ROOT, 'docs/API.md'), 'utf8');
  return [...doc.matchAll(/^### ([A-Z]+ \/\S*)$/gm)].map((m) => m[1]!).sort();
}

describe('docs/API.md', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('documents every route the app serves, and no other', () => {
    expect(documentedRoutes()).toEqual(servedRoutes(t.app));
  });
});

describe('README.md', () => {
  it('links only to files inside the repository, or to the web', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const local = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split('#')[0]!)
      .filter((target) => target !== '' && !/^https?:/.test(target));
    expect(local.length).toBeGreaterThan(0);
    for (const target of local) {
      const resolved = path.resolve(ROOT, target);
      expect({ target, inside: resolved.startsWith(`${ROOT}${path.sep}`), exists: existsSync(resolved) }).toEqual({
        target,
        inside: true,
        exists: true,
      });
    }
  });
});
