/** Times for people: "3 days ago", "in 2 months", "in 15 minutes (at 12:09)". */
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Each unit is used up to the limit past which the next one reads better ("45 minutes", then "1 hour"). */
const SCALE: [limit: number, unit: Intl.RelativeTimeFormatUnit, size: number][] = [
  [45 * MINUTE, 'minute', MINUTE],
  [22 * HOUR, 'hour', HOUR],
  [26 * DAY, 'day', DAY],
  [320 * DAY, 'month', 30.44 * DAY],
  [Infinity, 'year', 365.25 * DAY],
];

// In English, as the pages are; the exact time (on hover) is in the reader's own format.
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
export const exactTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });

export function relativeTime(date: Date, now = Date.now()): string {
  const seconds = (date.getTime() - now) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [limit, unit, size] of SCALE) {
    if (Math.abs(seconds) < limit) {
      const count = Math.max(1, Math.round(Math.abs(seconds) / size));
      return relative.format(Math.sign(seconds) * count, unit);
    }
  }
  return exactTime.format(date);
}

/** When to retry, `seconds` from now: "in 40 seconds", "in 15 minutes (at 12:09)", or a date. */
export function retryText(seconds: number, now = Date.now()): string {
  const at = new Date(now + seconds * 1000);
  if (seconds < 60) return `in ${Math.max(1, Math.round(seconds))} seconds`;
  const minutes = Math.ceil(seconds / 60);
  const clock = at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (minutes < 90) return `in ${minutes} minute${minutes === 1 ? '' : 's'} (at ${clock})`;
  return `at ${at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
}
