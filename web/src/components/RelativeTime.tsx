/** "3 days ago", "in 2 months": the exact time is in `title` (on hover) and `dateTime`. */
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

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });

export function relativeTime(date: Date, now = Date.now()): string {
  const seconds = (date.getTime() - now) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [limit, unit, size] of SCALE) {
    if (Math.abs(seconds) < limit) {
      const count = Math.max(1, Math.round(Math.abs(seconds) / size));
      return relative.format(Math.sign(seconds) * count, unit);
    }
  }
  return exact.format(date);
}

export function RelativeTime({ value, none = 'Never' }: { readonly value: string | null; readonly none?: string }) {
  if (!value) return <>{none}</>;
  const date = new Date(value);
  return (
    <time dateTime={value} title={exact.format(date)}>
      {relativeTime(date)}
    </time>
  );
}
