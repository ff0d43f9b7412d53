import type { Response } from 'express';
import { z } from 'zod';

/** A response carrying a credential must not be cached (RFC 6749 §5.1). */
export function noStore(res: Response): Response {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  return res;
}

/** Timestamps on the wire: ISO 8601 in UTC, or null. */
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** A timestamp as {@link iso} writes it, for the response schemas. */
export const timestamp = z.iso.datetime();

/** DRF's page (see paging.ts, `pageBody`), with `results` of `item`. */
export const paged = <T extends z.ZodType>(item: T) =>
  z.object({
    count: z.int().min(0),
    next: z.url().nullable().meta({ description: 'The next page, or null.' }),
    previous: z.url().nullable().meta({ description: 'The previous page, or null.' }),
    results: z.array(item),
  });
