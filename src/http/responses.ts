import type { Response } from 'express';

/** A response carrying a credential must not be cached (RFC 6749 §5.1). */
export function noStore(res: Response): Response {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  return res;
}

/** Timestamps on the wire: ISO 8601 in UTC, or null. */
export const iso = (date: Date | null) => (date ? date.toISOString() : null);
