/**
 * The web pages' pure helpers (web/src): they mirror server rules the pages cannot import
 * (the role order, the page list) and put times into words. No browser, no database.
 */
import * as server from '../../src/auth/roles';
import { PAGES } from '../../src/web/pages';
import { PAGES as SERVED } from '../../src/web/web.routes';
import * as web from '../../web/src/roles';
import { relativeTime, retryText } from '../../web/src/time';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000);

describe('the web pages', () => {
  it('order roles as the server does, and offer each user their own role and the ones below', () => {
    expect(web.ROLES).toEqual(server.ROLES);
    for (const a of web.ROLES) {
      expect(web.isAdmin(a)).toBe(server.isOrgAdmin(a));
      expect(web.rolesUpTo(a)).toEqual(server.ROLES.filter((b) => server.atLeast(a, b)));
    }
  });

  it('are served at the paths the app draws (one list)', () => {
    expect(SERVED).toBe(PAGES);
  });

  it.each([
    [10, 'just now'],
    [-30, 'just now'],
    [59.6, '1 minute ago'],
    [44 * 60, '44 minutes ago'],
    [50 * 60, '1 hour ago'],
    [3 * 86400, '3 days ago'],
    [-3 * 86400, 'in 3 days'],
    [-60 * 86400, 'in 2 months'],
    [400 * 86400, 'last year'],
  ])('say %p seconds ago as “%s”', (seconds, words) => {
    expect(relativeTime(ago(seconds), NOW)).toBe(words);
  });

  it('say when to retry in seconds, minutes with the clock time, or a date', () => {
    expect(retryText(40, NOW)).toBe('in 40 seconds');
    expect(retryText(892, NOW)).toMatch(/^in 15 minutes \(at .+\)$/);
    expect(retryText(60, NOW)).toMatch(/^in 1 minute \(at .+\)$/);
    expect(retryText(6 * 3600, NOW)).toMatch(/^at .+/);
  });
});
