/**
 * The one door to Prisma. Services hold a {@link Db}, the pool or an open transaction, and can
 * only hand it to store functions; a store opens it with {@link prismaOf}. So every query lives
 * in a `*.store.ts` file, and the compiler (not a convention) says so: ESLint forbids importing
 * `prismaOf` or the generated client anywhere else.
 */
import type { Prisma } from '../generated/prisma/client';
import type { PrismaClient } from './database';

declare const opaque: unique symbol;

/** The pool or an open transaction, opaque outside stores. */
export interface Db {
  readonly [opaque]: 'Db';
}

/** What a store queries through. */
export type Queries = PrismaClient | Prisma.TransactionClient;

/** For stores (and the `db/` room) only. */
export const prismaOf = (db: Db): Queries => db as unknown as Queries;

/** Wraps a client or transaction for the rooms that may not see it. */
export const handleOf = (queries: Queries): Db => queries as unknown as Db;

/** Runs `work` in one transaction on the pool `db`. */
export function transaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  return (prismaOf(db) as PrismaClient).$transaction((tx) => work(handleOf(tx)));
}

/** A unique constraint refused the write (Postgres 23505, as Prisma reports it). */
export const isUniqueViolation = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && 'code' in err && err.code === 'P2002';
