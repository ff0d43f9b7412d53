import { exactTime, relativeTime } from '../time';

/** "3 days ago", "in 2 months": the exact time is in `title` (on hover) and `dateTime`. */
export function RelativeTime({ value, none = 'Never' }: { readonly value: string | null; readonly none?: string }) {
  if (!value) return <>{none}</>;
  const date = new Date(value);
  return (
    <time dateTime={value} title={exactTime.format(date)}>
      {relativeTime(date)}
    </time>
  );
}
