// The smallest SQL surface the migration runner needs, so one runner serves both
// drivers: a dedicated `pg` connection (Postgres) and an in-process PGlite database.
import type { PGliteInterface } from "@electric-sql/pglite";
import type pg from "pg";

/**
 * One database session. Every call must run on the same connection, in order: the runner's
 * advisory lock and BEGIN/COMMIT are session state, so a pool would break them.
 */
export interface SqlExecutor {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<Row extends object>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements, without parameters (simple query protocol). */
  exec(script: string): Promise<void>;
}

/** Wraps a connected `pg.Client` (or a client checked out of a pool and held for the whole run). */
export function pgExecutor(client: pg.ClientBase): SqlExecutor {
  return {
    async query<Row extends object>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      const result = await client.query<Row>(sql, [...params]);
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      // Without parameters, pg uses the simple query protocol, which accepts many statements.
      await client.query(script);
    },
  };
}

/** Wraps a PGlite database; PGlite has a single session, so every call shares it. */
export function pgliteExecutor(db: PGliteInterface): SqlExecutor {
  return {
    async query<Row extends object>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      const result = await db.query<Row>(sql, [...params]);
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await db.exec(script);
    },
  };
}
