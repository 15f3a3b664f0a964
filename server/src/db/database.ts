// Opens the system of record: PostgreSQL when a URL is given, otherwise an embedded PGlite
// database in the data folder, so `npm start` works on a bare machine. Both get the same
// migrations and the same Prisma client.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
import { migrate } from "./migrate.js";
import { pgSqlClient, prismaSqlClient, type SqlClient } from "./sql-client.js";
import { pgExecutor, pgliteExecutor } from "./sql-executor.js";

export interface Database {
  prisma: PrismaClient;
  /** Plain SQL for the statements that run per job (see sql-client.ts). */
  sql: SqlClient;
  kind: "postgres" | "pglite";
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgresql://… of the production database; leave it out for the embedded one. */
  databaseUrl?: string;
  /** Data folder of this server; the embedded database lives in `${dataDir}/pglite`. */
  dataDir: string;
  log?: (msg: string) => void;
  /** Where the migration folders are; defaults to schema/prisma/migrations of this checkout. */
  migrationsDir?: string;
}

/** Connects, applies pending migrations, and returns a ready Prisma client. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openPglite(opts);
}

async function openPostgres(databaseUrl: string, opts: OpenDatabaseOptions): Promise<Database> {
  // Migrations get a connection of their own: the advisory lock and transactions are per session.
  const migrationClient = new pg.Client({ connectionString: databaseUrl });
  await migrationClient.connect();
  try {
    await migrate(pgExecutor(migrationClient), { migrationsDir: opts.migrationsDir, log: opts.log });
  } finally {
    await migrationClient.end();
  }

  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  await prisma.$connect();
  const sql = pgSqlClient(databaseUrl);
  return {
    prisma,
    sql,
    kind: "postgres",
    async close() {
      await sql.close();
      await prisma.$disconnect(); // ends the adapter's pool
    },
  };
}

// PGlite is one session: an interactive transaction holds it until it ends, so code inside
// `$transaction(async (tx) => …)` must use `tx`: a query on the outer client waits for it and the transaction times out.
async function openPglite(opts: OpenDatabaseOptions): Promise<Database> {
  const dataDir = join(opts.dataDir, "pglite");
  await mkdir(dataDir, { recursive: true });
  const started = Date.now();
  const pglite = await PGlite.create({ dataDir });
  opts.log?.(`embedded database ready in ${Date.now() - started} ms (${dataDir})`);

  try {
    await migrate(pgliteExecutor(pglite), { migrationsDir: opts.migrationsDir, log: opts.log });
  } catch (error) {
    await pglite.close();
    throw error;
  }

  // One PGlite copy (pinned at the root) for us and the adapter: it maps constraint errors to
  // Prisma's codes (P2002…) only for errors of the copy it imports.
  const adapter = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter });
  await prisma.$connect();
  return {
    prisma,
    sql: prismaSqlClient(prisma),
    kind: "pglite",
    async close() {
      await prisma.$disconnect();
      // The adapter leaves the PGlite instance open; closing it flushes the data folder.
      await pglite.close();
    },
  };
}
