/**
 * The revocation stream's log, `token_events`: database triggers write it (see the
 * token_events migration), in commit order; these are its reads.
 */
import { prismaOf, type Db } from '../db/handle';

export interface TokenEventRow {
  id: bigint;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

export interface EventBatch {
  /** Events after the cursor for the organization (and those for every organization), oldest first. */
  readonly rows: TokenEventRow[];
  /** The newest id in the log as this read saw it (null: empty); ids are in commit order, so every id up to it was visible too. */
  readonly head: bigint | null;
}

/**
 * Up to `limit` events of `organizationId` (or of every organization) after `after`, and the
 * log's head, in one statement: one snapshot, so a reader that got fewer rows than `limit`
 * has seen everything up to `head`.
 */
export async function readEvents(db: Db, organizationId: number, after: bigint, limit: number): Promise<EventBatch> {
  const rows = await prismaOf(db).$queryRaw<(TokenEventRow & { head: bigint | null })[]>`
    SELECT e.id, e.type, e.data, e.created_at, h.head
    FROM (SELECT max(id) AS head FROM token_events) h
    LEFT JOIN LATERAL (
      SELECT id, type, data, created_at FROM token_events
      WHERE id > ${after} AND (organization_id = ${organizationId} OR organization_id IS NULL)
      ORDER BY id LIMIT ${limit}
    ) e ON true`;
  const head = rows[0]?.head ?? null;
  return { rows: rows.filter((row) => row.id !== null).map(({ head: _head, ...row }) => row), head };
}

export interface LogBounds {
  /** The oldest id retained; null when the log is empty. */
  readonly oldest: bigint | null;
  /** The last id ever handed out; null when none ever was. */
  readonly issued: bigint | null;
}

export async function readLogBounds(db: Db): Promise<LogBounds> {
  const [row] = await prismaOf(db).$queryRaw<LogBounds[]>`
    SELECT (SELECT min(id) FROM token_events) AS oldest,
           (SELECT CASE WHEN is_called THEN last_value END FROM token_events_id_seq) AS issued`;
  return row ?? { oldest: null, issued: null };
}
