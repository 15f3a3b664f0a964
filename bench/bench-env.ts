// The system under test: a real Postgres database and Redis key prefix of the bench's own, and
// the server started in-process (as `npm start` would start it) listening on a free port.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { parseConfig } from "../server/src/config.js";
import { type RunningServer, startServer } from "../server/src/main.js";
import { createTestDatabase } from "../server/src/testing/postgres.js";
import { TEST_API_KEY } from "../server/src/testing/test-env.js";

export const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

export const BENCH_MODEL = "bench/echo";

export interface BenchEnv {
  server: RunningServer;
  databaseUrl: string;
  /** A connection of the bench's own, to read what Postgres recorded (not through the server). */
  pg: pg.Client;
  redisPrefix: string;
  /** Node tokens, one per simulated agent (registered on demand). */
  registerNodes(count: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function createBenchEnv(): Promise<BenchEnv> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), "vyvo-bench-"));
  const redisPrefix = `vyvo-bench-${randomBytes(5).toString("hex")}`;
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(dataDir, { recursive: true, force: true }),
    () => db.drop(),
    () => deleteKeys(`${redisPrefix}:*`),
  ];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse())
      await cleanup().catch((error) => console.error("cleanup:", error));
  };
  try {
    const server = await startServer(
      parseConfig({
        PORT: "0",
        HOST: "127.0.0.1",
        NODE_ENV: "production",
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "silent",
        DATA_DIR: dataDir,
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: redisPrefix,
        // The clients act as an admin with this key (server/src/testing/graphql-client.ts).
        VYVO_BOOTSTRAP_API_KEY: TEST_API_KEY,
      }),
    );
    cleanups.push(() => server.close());
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());

    await server.services.models.createModel({ id: BENCH_MODEL });
    await server.services.models.createVersion({
      modelId: BENCH_MODEL,
      runner: { kind: "process", command: "node", args: ["echo.js"] },
      inputSchema: { type: "object", properties: { n: { type: "integer" }, tag: { type: "string" } }, required: ["n"] },
    });
    let registered = 0;
    return {
      server,
      databaseUrl: db.url,
      pg: client,
      redisPrefix,
      async registerNodes(count) {
        const tokens: string[] = [];
        for (let i = 0; i < count; i++) {
          const { nodeToken } = await server.services.nodes.register(`bench-node-${++registered}`, 16);
          tokens.push(nodeToken);
        }
        return tokens;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Deletes every key that matches `pattern` (SCAN, never KEYS); returns how many. */
export async function deleteKeys(pattern: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** Counts the jobs per status, straight from Postgres. */
export async function statusCounts(client: pg.Client): Promise<Record<string, number>> {
  const { rows } = await client.query<{ status: string; n: string }>(
    `SELECT "status", count(*) AS n FROM "Job" GROUP BY "status"`,
  );
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}
