// Plain SQL for the hot paths (submit, dispatch, reports). A Prisma query costs ~0.6 ms of
// client-side work even for `SELECT 1` (measured here; a `pg` query costs ~0.09 ms), so the
// statements that run per job batch go straight to `pg`. Prisma stays for everything else.
import pg from "pg";
import type { PrismaClient } from "../generated/prisma/client.js";

export interface SqlClient {
  /**
   * Runs one statement with `$1`-style parameters. Rows come back as Prisma's raw queries
   * return them: timestamps as Date (UTC), json/jsonb parsed, int4 as number, enums as strings.
   * Never select int8 columns (pg returns strings, Prisma BigInts): cast them. A `name` makes it a
   * prepared statement on Postgres: parsed and planned once per connection, not on every call.
   */
  query<Row extends object>(text: string, params?: readonly unknown[], name?: string): Promise<Row[]>;
  /**
   * Runs `work` in one transaction on one connection: its statements commit together, with one
   * WAL flush (on a slow disk the flush, not the statement, is what a commit costs). A thrown
   * error rolls everything back.
   */
  transaction<T>(work: (query: SqlQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type SqlQuery = <Row extends object>(text: string, params?: readonly unknown[], name?: string) => Promise<Row[]>;

/** Prisma stores DateTime as `timestamp(3)` holding UTC; pg would read it as local time. */
const TIMESTAMP_OID = 1114;
const parseUtcTimestamp = (value: string) => new Date(`${value.replace(" ", "T")}Z`);

/**
 * A pool of its own next to Prisma's (Postgres). Enough connections that concurrent submits
 * and transition batches commit together (Postgres flushes the WAL once for commits that wait
 * at the same time) instead of queueing for a connection behind each other's flush.
 */
export function pgSqlClient(connectionString: string, max = 16): SqlClient {
  const pool = new pg.Pool({
    connectionString,
    max,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === TIMESTAMP_OID
          ? parseUtcTimestamp
          : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  return {
    async query<Row extends object>(text: string, params: readonly unknown[] = [], name?: string) {
      return (await pool.query<Row>({ text, values: [...params], ...(name ? { name } : {}) })).rows;
    },
    async transaction<T>(work: (query: SqlQuery) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await work(
          async <Row extends object>(text: string, params: readonly unknown[] = [], name?: string) => {
            return (await client.query<Row>({ text, values: [...params], ...(name ? { name } : {}) })).rows;
          },
        );
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => {
          broken = rollbackError; // the connection is unusable: drop it from the pool
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Through Prisma's raw queries (PGlite): slower, but PGlite is one session that Prisma's
 * interactive transactions hold, so the embedded database must be reached through Prisma.
 */
export function prismaSqlClient(prisma: PrismaClient): SqlClient {
  return {
    query: <Row extends object>(text: string, params: readonly unknown[] = []) =>
      prisma.$queryRawUnsafe<Row[]>(text, ...params),
    transaction: <T>(work: (query: SqlQuery) => Promise<T>) =>
      prisma.$transaction((tx) =>
        work(<Row extends object>(text: string, params: readonly unknown[] = []) =>
          tx.$queryRawUnsafe<Row[]>(text, ...params),
        ),
      ),
    close: async () => {},
  };
}

/** A unique constraint refused the statement (pg's 23505, or Prisma's P2002 / raw P2010 for it). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as {
    code?: string;
    meta?: { code?: string; driverAdapterError?: { cause?: { kind?: string } } };
  } | null;
  if (!e) return false;
  return (
    e.code === "23505" ||
    e.code === "P2002" ||
    (e.code === "P2010" &&
      (e.meta?.code === "23505" || e.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation"))
  );
}
