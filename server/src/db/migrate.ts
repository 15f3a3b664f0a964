// Applies schema/prisma/migrations the way `prisma migrate deploy` does, without Prisma's
// schema engine (a native download that these machines cannot reach). It writes the same
// `_prisma_migrations` rows and takes the same advisory lock, so Prisma's own CLI, run later by
// someone who has it, sees the same history and never races this runner.
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlExecutor } from "./sql-executor.js";

export const defaultMigrationsDir = fileURLToPath(new URL("../../../schema/prisma/migrations/", import.meta.url));

/** The key Prisma Migrate locks on Postgres; sharing it makes our runner and Prisma's exclude each other. */
export const prismaMigrateLockKey = 72707369;

/** Prisma's own definition (schema-engine, postgres flavour), so `prisma migrate` reads our rows. */
const createMigrationsTableSql = `
CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

export interface MigrationFile {
  /** The folder name, e.g. `20261127000000_init`; folders apply in name order. */
  name: string;
  sql: string;
  /** sha256 of migration.sql as lowercase hex, as Prisma stores it. */
  checksum: string;
}

export interface MigrateOptions {
  migrationsDir?: string;
  log?: (msg: string) => void;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

/** A migration problem that needs a person: the message says what happened and what to do. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | string | null;
  rolled_back_at: Date | string | null;
}

export function migrationChecksum(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

/** Like Prisma, accept a file whose only change is its line endings (git may rewrite them). */
function checksumMatches(sql: string, recorded: string): boolean {
  const variants = [sql, sql.replaceAll("\r\n", "\n"), sql.replaceAll("\r\n", "\n").replaceAll("\n", "\r\n")];
  return variants.some((variant) => migrationChecksum(variant) === recorded);
}

export async function readMigrations(migrationsDir: string = defaultMigrationsDir): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw new MigrationError(`No migrations folder at ${migrationsDir}.`);
    throw error;
  });
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: MigrationFile[] = [];
  for (const name of folders) {
    let sql: string;
    try {
      sql = await readFile(join(migrationsDir, name, "migration.sql"), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new MigrationError(`Migration folder ${name} has no migration.sql (in ${migrationsDir}).`);
      }
      throw error;
    }
    migrations.push({ name, sql, checksum: migrationChecksum(sql) });
  }
  return migrations;
}

/**
 * Brings the database up to date: applies every migration folder not yet recorded, each in its own
 * transaction, under Prisma's advisory lock. Refuses to run when an applied migration was edited or
 * when Prisma recorded a failed one, because then the database and the files disagree.
 */
export async function migrate(executor: SqlExecutor, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrations(options.migrationsDir);

  await acquireMigrationLock(executor, log);
  try {
    await executor.exec(createMigrationsTableSql);
    const rows = await executor.query<MigrationRow>(
      "SELECT id, checksum, migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at",
    );
    const appliedNames = checkHistory(migrations, rows, log);

    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      if (appliedNames.has(migration.name)) {
        result.alreadyApplied.push(migration.name);
        continue;
      }
      log(`applying migration ${migration.name}`);
      await applyOne(executor, migration);
      result.applied.push(migration.name);
    }
    if (result.applied.length === 0) log(`database schema is up to date (${migrations.length} migrations)`);
    return result;
  } finally {
    // If the session died, Postgres released the lock with it; keep the original error.
    await executor.query("SELECT pg_advisory_unlock($1)", [prismaMigrateLockKey]).catch(() => {});
  }
}

async function acquireMigrationLock(executor: SqlExecutor, log: (msg: string) => void): Promise<void> {
  const [attempt] = await executor.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
    prismaMigrateLockKey,
  ]);
  if (attempt?.locked) return;
  // Another replica (or `prisma migrate`) is migrating; wait for it, then find its work done.
  log("waiting for the migration lock held by another process");
  await executor.query("SELECT pg_advisory_lock($1)", [prismaMigrateLockKey]);
}

/** Returns the names of migrations already applied; throws when the history cannot be trusted. */
function checkHistory(migrations: MigrationFile[], rows: MigrationRow[], log: (msg: string) => void): Set<string> {
  const byName = new Map(migrations.map((migration) => [migration.name, migration]));
  const applied = new Set<string>();
  for (const row of rows) {
    if (row.rolled_back_at !== null) continue; // marked rolled back: Prisma ignores it, and so do we
    if (row.finished_at === null) {
      throw new MigrationError(
        `Migration ${row.migration_name} failed on an earlier run and was left half-applied. ` +
          "Repair the database by hand, then mark it with `prisma migrate resolve --rolled-back " +
          `${row.migration_name}\` (or --applied), or delete its row from _prisma_migrations.`,
      );
    }
    const local = byName.get(row.migration_name);
    if (!local) {
      // A newer release may have migrated already (rolling deploy); its columns are additive to us.
      log(`warning: the database has migration ${row.migration_name}, which this build does not ship`);
      applied.add(row.migration_name);
      continue;
    }
    if (!checksumMatches(local.sql, row.checksum)) {
      throw new MigrationError(
        `Migration ${row.migration_name} was changed after it was applied: the database recorded checksum ` +
          `${row.checksum}, the file now has ${local.checksum}. Applied migrations are immutable; restore ` +
          "the file and put the change in a new migration folder.",
      );
    }
    applied.add(row.migration_name);
  }
  return applied;
}

async function applyOne(executor: SqlExecutor, migration: MigrationFile): Promise<void> {
  await executor.exec("BEGIN");
  try {
    await executor.exec(migration.sql);
    // The row Prisma writes on success: one step (the whole script), no logs. now() is the
    // transaction's start, so started_at/finished_at bracket the script as Prisma's do.
    await executor.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await executor.exec("COMMIT");
  } catch (error) {
    await executor.exec("ROLLBACK").catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      `Migration ${migration.name} failed and was rolled back, nothing of it is applied: ${reason}`,
      { cause: error },
    );
  }
}
