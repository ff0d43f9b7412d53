/** Page-number paging (src/http/paging.ts), as Label Studio (DRF) pages: `{count, next, previous, results}`. */
import type { Request } from 'express';
import fc from 'fast-check';
import { pageBody, readPage } from '../../src/http/paging';

const ISSUER = 'https://latchkey.test';

/** What the paging reads of a request: its query and its original URL. */
function request(url: string): Request {
  const parsed = new URL(url, ISSUER);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of parsed.searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return { query, originalUrl: `${parsed.pathname}${parsed.search}` } as unknown as Request;
}

const notFound = { status: 404, code: 'not_found', detail: 'Invalid page.' };

describe('readPage', () => {
  it('defaults to page 1 of 50, and caps the page size at 500', () => {
    expect(readPage(request('/api/token'))).toEqual({ page: 1, size: 50, skip: 0 });
    expect(readPage(request('/api/token?page=&page_size='))).toEqual({ page: 1, size: 50, skip: 0 });
    expect(readPage(request('/api/token?page=3&page_size=20'))).toEqual({ page: 3, size: 20, skip: 40 });
    expect(readPage(request('/api/token?page_size=501')).size).toBe(500);
  });

  it('answers a bad page number with 404 "Invalid page.", and ignores a bad page size', () => {
    for (const page of ['0', '-1', 'abc', '1.5', '1e3', '1234567', ' 1', '0x10'])
      expect(() => readPage(request(`/api/token?page=${encodeURIComponent(page)}`))).toThrow(
        expect.objectContaining(notFound),
      );
    expect(() => readPage(request('/api/token?page=1&page=2'))).toThrow(expect.objectContaining(notFound));
    for (const size of ['0', '-5', 'ten', '1.5'])
      expect(readPage(request(`/api/token?page_size=${size}`)).size).toBe(50);
  });
});

describe('pageBody', () => {
  it('links next and previous pages on the issuer, keeping the other query parameters', () => {
    const req = request('/api/token?ordering=-created_at&page=2&page_size=10');
    const body = pageBody(
      req,
      ISSUER,
      readPage(req),
      35,
      Array.from({ length: 10 }, (_, i) => i),
    );
    expect(body).toMatchObject({
      count: 35,
      next: `${ISSUER}/api/token?ordering=-created_at&page=3&page_size=10`,
      previous: `${ISSUER}/api/token?ordering=-created_at&page=1&page_size=10`,
    });
  });

  it('answers an empty first page, but 404 for a page past the end', () => {
    const first = request('/api/token');
    expect(pageBody(first, ISSUER, readPage(first), 0, [])).toEqual({
      count: 0,
      next: null,
      previous: null,
      results: [],
    });
    const past = request('/api/token?page=2&page_size=10');
    expect(() => pageBody(past, ISSUER, readPage(past), 10, [])).toThrow(expect.objectContaining(notFound));
  });

  it('following next from page 1 visits every row once, and previous leads back', () => {
    fc.assert(
      // Any page size (above the cap too), and a count of a few pages, full or not.
      fc.property(fc.integer({ min: 1, max: 600 }), fc.nat(12), fc.nat(599), (pageSize, pages, rest) => {
        const count = pages * Math.min(pageSize, 500) + (rest % Math.min(pageSize, 500));
        const rows = Array.from({ length: count }, (_, i) => i);
        const seen: number[] = [];
        let url: string | null = `/api/token?page_size=${pageSize}`;
        for (let expected = 1; url !== null; expected++) {
          const req = request(url);
          const page = readPage(req);
          expect(page).toEqual({ page: expected, size: Math.min(pageSize, 500), skip: (expected - 1) * page.size });
          const body = pageBody(req, ISSUER, page, count, rows.slice(page.skip, page.skip + page.size));
          expect(body.count).toBe(count);
          if (body.previous === null) expect(page.page).toBe(1);
          else
            expect(readPage(request(body.previous))).toEqual({
              ...page,
              page: page.page - 1,
              skip: page.skip - page.size,
            });
          seen.push(...body.results);
          url = body.next;
        }
        expect(seen).toEqual(rows);
      }),
    );
  });
});
