/** Label Studio's (DRF's) page-number paging: `?page=&page_size=` → `{count, next, previous, results}`. */
import type { Request } from 'express';
import { z } from 'zod';
import { fail } from '../errors';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

export interface Page {
  readonly page: number;
  readonly size: number;
  readonly skip: number;
}

/** A positive integer of at most six digits. */
const pageNumber = z.string().regex(/^(?=\d{1,6}$)0*[1-9]\d*$/);

/** The paging parameters, as the OpenAPI document describes them; {@link readPage} reads them. */
export const pageQuery = z.object({
  page: pageNumber.optional().meta({
    description: 'The page, from 1. Not a positive integer, or past the last page: 404 `Invalid page.`.',
  }),
  page_size: pageNumber.optional().meta({
    description: `Results per page: default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE} (a larger size is cut to it; an invalid one is the default).`,
  }),
});

const positive = (value: unknown, fallback: number) => {
  if (value === undefined || value === '') return fallback;
  return pageNumber.safeParse(value).success ? Number(value) : undefined;
};

/** The requested page; DRF answers a bad page number with 404 "Invalid page.". */
export function readPage(req: Request): Page {
  const page = positive(req.query.page, 1);
  const size = Math.min(positive(req.query.page_size, DEFAULT_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  if (page === undefined) throw fail('not_found', { detail: 'Invalid page.' });
  return { page, size, skip: (page - 1) * size };
}

export function pageBody<T>(req: Request, issuer: string, page: Page, count: number, results: T[]) {
  if (page.page > 1 && page.skip >= count) throw fail('not_found', { detail: 'Invalid page.' });
  const link = (n: number) => {
    const url = new URL(req.originalUrl, issuer);
    url.searchParams.set('page', String(n));
    url.searchParams.set('page_size', String(page.size));
    return `${issuer}${url.pathname}${url.search}`;
  };
  return {
    count,
    next: page.skip + results.length < count ? link(page.page + 1) : null,
    previous: page.page > 1 ? link(page.page - 1) : null,
    results,
  };
}
