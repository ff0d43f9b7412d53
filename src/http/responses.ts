import type { Express, Response } from 'express';
import { z } from 'zod';

/**
 * A JSON body as it is sent: the JSON, then a newline, so that what curl prints does not run
 * into the shell's prompt. The JSON itself is unchanged (a parser skips the newline).
 */
export const jsonText = (value: unknown): string => `${JSON.stringify(value)}\n`;

/**
 * Makes `app`'s `res.json` send {@link jsonText}: the one place every JSON answer, success or
 * error, is serialized. Express's own `res.json` would also apply the `json spaces`,
 * `json replacer` and `json escape` settings, which this app does not use.
 */
export function sendJsonWithNewline(app: Express): void {
  app.response.json = function json(this: Response, value: unknown) {
    if (!this.get('Content-Type')) this.set('Content-Type', 'application/json');
    // `undefined` has no JSON: an empty body, as Express sends.
    return this.send(value === undefined ? undefined : jsonText(value));
  };
}

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
