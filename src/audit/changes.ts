/**
 * Every write goes through a {@link Change}: one transaction, the audit event it describes
 * written in that same transaction, and, once committed, this instance's copy of the
 * authentication state brought up to date, so the caller's next request (and every check after
 * the answer) already sees the change.
 */
import { transaction, type Db } from '../db/handle';
import { recordAudit, type AuditEvent } from './audit.store';

/** The audit event(s) of a change, from what it did; undefined (or none) when it did nothing worth a record. */
export type Describe<T> = (result: T) => AuditEvent | readonly AuditEvent[] | undefined;

export type Change = <T>(work: (tx: Db) => Promise<T>, describe?: Describe<T>) => Promise<T>;

/**
 * `applied` resolves once this instance has applied every change committed before the call
 * (the change feed's marker); a process without that state (the CLI) passes none.
 */
export function changes(db: Db, applied: () => Promise<void> = () => Promise.resolve()): Change {
  return async (work, describe) => {
    const result = await transaction(db, async (tx) => {
      const done = await work(tx);
      const described = describe?.(done);
      const events: readonly AuditEvent[] = described === undefined ? [] : [described].flat();
      for (const event of events) await recordAudit(tx, event);
      return done;
    });
    await applied();
    return result;
  };
}
