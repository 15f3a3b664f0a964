// The SQL migrations against schema.prisma (read through Prisma's own parser), and the runner's
// bookkeeping against what `prisma migrate deploy` writes. Runs on the real Postgres server.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/postgres.js";
import {
  defaultMigrationsDir,
  MigrationError,
  migrate,
  migrationChecksum,
  prismaMigrateLockKey,
  readMigrations,
} from "./migrate.js";
import { getDmmf, readSchemaDmmf, schemaPrismaPath } from "./prisma-dmmf.js";
import { acceptAnyDefaults, expectedSchemaShape, readDatabaseShape, type SchemaShape } from "./schema-shape.js";
import { pgExecutor, pgliteExecutor, type SqlExecutor } from "./sql-executor.js";

const slow = { timeout: 60_000 };

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function appSchemaShape(db: SqlExecutor, expected: SchemaShape): Promise<SchemaShape> {
  const actual = await readDatabaseShape(db, { ignoreTables: ["_prisma_migrations"] });
  return acceptAnyDefaults(actual, expected);
}

/** A copy of the migrations folder that a test may edit. */
async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vyvo-migrations-"));
  await cp(defaultMigrationsDir, dir, { recursive: true });
  return dir;
}

describe("migrations on an empty Postgres database", () => {
  let testDatabase: TestDatabase;
  let client: pg.Client;
  let db: SqlExecutor;
  const expected = expectedSchemaShape(readSchemaDmmf().datamodel);

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    client = await connect(testDatabase.url);
    db = pgExecutor(client);
    await migrate(db);
  }, 60_000);

  afterAll(async () => {
    await client?.end();
    await testDatabase?.drop();
  });

  test("create exactly the tables, columns, enums, indexes and foreign keys of schema.prisma", async () => {
    expect(await appSchemaShape(db, expected)).toEqual(expected);
  });

  test("the check reads the schema through Prisma's DMMF: models, enums, indexes, relations", () => {
    const { datamodel } = readSchemaDmmf();
    expect(datamodel.models.map((model) => model.name)).toContain("Job");
    expect(datamodel.enums.find((e) => e.name === "JobStatus")?.values.map((v) => v.name)).toEqual([
      "QUEUED",
      "ASSIGNED",
      "RUNNING",
      "RETRY_WAIT",
      "SUCCEEDED",
      "FAILED",
      "CANCELLED",
      "TIMED_OUT",
    ]);
    expect(expected.tables.Job?.indexes.Job_idempotencyKey_key).toEqual({ columns: ["idempotencyKey"], unique: true });
    expect(expected.tables.JobAttempt?.foreignKeys.JobAttempt_nodeId_fkey).toEqual({
      columns: ["nodeId"],
      referencedTable: "Node",
      referencedColumns: ["id"],
      onDelete: "SET NULL",
      onUpdate: "CASCADE",
    });
    expect(expected.tables.JobEvent?.columns.id).toEqual({
      type: "bigint",
      nullable: false,
      default: `nextval('"JobEvent_id_seq"'::regclass)`,
    });
  });

  test("the check fails when schema.prisma gains a field that no migration adds", async () => {
    const schema = await readFile(schemaPrismaPath, "utf8");
    const edited = schema.replace(/model Node \{\n/, "model Node {\n  region String?\n");
    expect(edited).not.toBe(schema);
    const withExtraField = expectedSchemaShape(getDmmf(edited).datamodel);
    expect(await appSchemaShape(db, withExtraField)).not.toEqual(withExtraField);
  });

  test("the check fails when a migration changes the database without schema.prisma", async () => {
    await client.query("BEGIN");
    try {
      await client.query(`ALTER TABLE "Node" ALTER COLUMN "capacity" SET DEFAULT 2`);
      await client.query(`CREATE INDEX "Node_pool_idx" ON "Node"("pool")`);
      expect(await appSchemaShape(db, expected)).not.toEqual(expected);
    } finally {
      await client.query("ROLLBACK");
    }
    expect(await appSchemaShape(db, expected)).toEqual(expected);
  });

  test("_prisma_migrations has Prisma's table definition and the rows `prisma migrate deploy` writes", async () => {
    const columns = await db.query<{ name: string; type: string; nullable: boolean; default: string | null }>(`
      SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
             pg_get_expr(d.adbin, d.adrelid) AS default
      FROM pg_attribute a
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = '_prisma_migrations'::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`);
    expect(columns).toEqual([
      { name: "id", type: "character varying(36)", nullable: false, default: null },
      { name: "checksum", type: "character varying(64)", nullable: false, default: null },
      { name: "finished_at", type: "timestamp with time zone", nullable: true, default: null },
      { name: "migration_name", type: "character varying(255)", nullable: false, default: null },
      { name: "logs", type: "text", nullable: true, default: null },
      { name: "rolled_back_at", type: "timestamp with time zone", nullable: true, default: null },
      { name: "started_at", type: "timestamp with time zone", nullable: false, default: "now()" },
      { name: "applied_steps_count", type: "integer", nullable: false, default: "0" },
    ]);
    const [primaryKey] = await db.query<{ name: string }>(
      `SELECT conname::text AS name FROM pg_constraint
       WHERE conrelid = '_prisma_migrations'::regclass AND contype = 'p'`,
    );
    expect(primaryKey?.name).toBe("_prisma_migrations_pkey");

    const files = await readMigrations();
    const rows = await db.query<{
      id: string;
      checksum: string;
      migration_name: string;
      logs: string | null;
      rolled_back_at: Date | null;
      applied_steps_count: number;
      started_at: Date;
      finished_at: Date;
    }>("SELECT * FROM _prisma_migrations ORDER BY migration_name");
    expect(rows.map((row) => row.migration_name)).toEqual(files.map((file) => file.name));
    for (const [index, row] of rows.entries()) {
      const file = files[index];
      expect(row.checksum).toBe(
        migrationChecksum(await readFile(join(defaultMigrationsDir, row.migration_name, "migration.sql"), "utf8")),
      );
      expect(row.checksum).toBe(file?.checksum);
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
      expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  test("the migrations folder has Prisma's lock file for postgresql", async () => {
    const lock = await readFile(join(defaultMigrationsDir, "migration_lock.toml"), "utf8");
    expect(lock).toMatch(/^provider = "postgresql"$/m);
  });

  test("running the migrator again changes nothing", async () => {
    const before = await db.query("SELECT * FROM _prisma_migrations ORDER BY id");
    const result = await migrate(db);
    expect(result.applied).toEqual([]);
    expect(result.alreadyApplied).toEqual((await readMigrations()).map((file) => file.name));
    expect(await db.query("SELECT * FROM _prisma_migrations ORDER BY id")).toEqual(before);
    expect(await appSchemaShape(db, expected)).toEqual(expected);
  });

  test("a recorded checksum that no longer matches the file is refused with a clear error", async () => {
    const [first] = await db.query<{ id: string; checksum: string }>(
      "SELECT id, checksum FROM _prisma_migrations ORDER BY migration_name LIMIT 1",
    );
    if (!first) throw new Error("no migration rows");
    await db.query("UPDATE _prisma_migrations SET checksum = $1 WHERE id = $2", ["0".repeat(64), first.id]);
    try {
      const attempt = migrate(db);
      await expect(attempt).rejects.toBeInstanceOf(MigrationError);
      await expect(attempt).rejects.toThrow(/was changed after it was applied.*restore the file/s);
    } finally {
      await db.query("UPDATE _prisma_migrations SET checksum = $1 WHERE id = $2", [first.checksum, first.id]);
    }
    // The lock was released on the way out: the next run gets it and passes.
    await expect(migrate(db)).resolves.toMatchObject({ applied: [] });
  });

  test("an edited migration file is refused; a change of line endings alone is not", async () => {
    const dir = await copyOfMigrations();
    try {
      const [first] = await readMigrations(dir);
      if (!first) throw new Error("no migrations");
      const file = join(dir, first.name, "migration.sql");

      await writeFile(file, first.sql.replaceAll("\n", "\r\n"));
      await expect(migrate(db, { migrationsDir: dir })).resolves.toMatchObject({ applied: [] });

      await writeFile(file, `${first.sql}\n-- an innocent-looking edit\n`);
      await expect(migrate(db, { migrationsDir: dir })).rejects.toThrow(
        new RegExp(`Migration ${first.name} was changed after it was applied`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a migration that Prisma recorded as failed blocks the start until it is resolved", async () => {
    const id = "00000000-0000-4000-8000-000000000001";
    await db.query("INSERT INTO _prisma_migrations (id, checksum, migration_name, logs) VALUES ($1, $2, $3, 'boom')", [
      id,
      "0".repeat(64),
      "20990101000000_half_done",
    ]);
    try {
      await expect(migrate(db)).rejects.toThrow(/20990101000000_half_done failed on an earlier run/);
      await db.query("UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = $1", [id]);
      await expect(migrate(db)).resolves.toMatchObject({ applied: [] });
    } finally {
      await db.query("DELETE FROM _prisma_migrations WHERE id = $1", [id]);
    }
  });

  test("a failing migration is rolled back whole and not recorded", async () => {
    const dir = await copyOfMigrations();
    try {
      const name = "20990101000000_broken";
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, "migration.sql"), `CREATE TABLE "Broken" ("id" TEXT);\nSELECT 1 / 0;\n`);
      await expect(migrate(db, { migrationsDir: dir })).rejects.toThrow(
        /Migration 20990101000000_broken failed and was rolled back.*division by zero/,
      );
      expect(await db.query(`SELECT to_regclass('"Broken"') AS broken`)).toEqual([{ broken: null }]);
      expect(await db.query("SELECT 1 FROM _prisma_migrations WHERE migration_name = $1", [name])).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("two server replicas starting at once", () => {
  test("apply each migration exactly once", slow, async () => {
    const testDatabase = await createTestDatabase();
    const clients = await Promise.all([connect(testDatabase.url), connect(testDatabase.url)]);
    try {
      const results = await Promise.all(clients.map((client) => migrate(pgExecutor(client))));
      const names = (await readMigrations()).map((file) => file.name);
      expect(results.flatMap((result) => result.applied).sort()).toEqual(names);
      const [counts] = await pgExecutor(clients[0] as pg.Client).query<{ rows: number; names: number }>(
        "SELECT count(*)::int AS rows, count(DISTINCT migration_name)::int AS names FROM _prisma_migrations",
      );
      expect(counts).toEqual({ rows: names.length, names: names.length });
    } finally {
      await Promise.all(clients.map((client) => client.end()));
      await testDatabase.drop();
    }
  });

  test("a runner waits while another session holds Prisma's migration lock", slow, async () => {
    const testDatabase = await createTestDatabase();
    const [holder, runner] = await Promise.all([connect(testDatabase.url), connect(testDatabase.url)]);
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [prismaMigrateLockKey]);
      const logs: string[] = [];
      let finished = false;
      const run = migrate(pgExecutor(runner), { log: (msg) => logs.push(msg) }).finally(() => {
        finished = true;
      });
      while (!logs.some((msg) => msg.includes("waiting for the migration lock"))) await sleep(20);
      await sleep(200);
      expect(finished).toBe(false);
      expect(await holder.query("SELECT to_regclass('\"Job\"') AS job")).toMatchObject({ rows: [{ job: null }] });

      await holder.query("SELECT pg_advisory_unlock($1)", [prismaMigrateLockKey]);
      await expect(run).resolves.toMatchObject({ applied: (await readMigrations()).map((file) => file.name) });
    } finally {
      await Promise.all([holder.end(), runner.end()]);
      await testDatabase.drop();
    }
  });
});

describe("migrations on PGlite", () => {
  test("create the same schema as on Postgres", slow, async () => {
    const pglite = await PGlite.create();
    try {
      const db = pgliteExecutor(pglite);
      await expect(migrate(db)).resolves.toMatchObject({ applied: (await readMigrations()).map((f) => f.name) });
      const expected = expectedSchemaShape(readSchemaDmmf().datamodel);
      expect(await appSchemaShape(db, expected)).toEqual(expected);
      await expect(migrate(db)).resolves.toMatchObject({ applied: [] });
    } finally {
      await pglite.close();
    }
  });
});
