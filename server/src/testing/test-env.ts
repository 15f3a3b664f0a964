import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { type Config, parseConfig } from "../config.js";
import { type RunningServer, startServer } from "../main.js";
import { createTestDatabase } from "./postgres.js";

export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Every test server makes sure this admin API key exists (VYVO_BOOTSTRAP_API_KEY). */
export const TEST_API_KEY = "vyvo_test_bootstrap_admin_key_0123456789";

/** Short intervals so that leases expire and loops run within a test's time. */
export const fastIntervals = {
  HEARTBEAT_INTERVAL_MS: "200",
  LEASE_TTL_MS: "1200",
  REAPER_INTERVAL_MS: "100",
  DEADLINE_SWEEP_INTERVAL_MS: "100",
  RETRY_BASE_MS: "50",
  RETRY_MAX_MS: "200",
  LOG_FLUSH_INTERVAL_MS: "50",
};

/**
 * A real Postgres database and a Redis key prefix of its own, so test files can run in
 * parallel; `cleanup` drops both.
 */
export interface TestEnv {
  env: Record<string, string>;
  databaseUrl: string;
  redisPrefix: string;
  dataDir: string;
  config(overrides?: Record<string, string>): Config;
  /** Deletes every Redis key of this env (what FLUSHALL would do to it). */
  flushRedis(): Promise<number>;
  cleanup(): Promise<void>;
}

export async function createTestEnv(opts: { redis?: boolean; postgres?: boolean } = {}): Promise<TestEnv> {
  const useRedis = opts.redis ?? true;
  const usePostgres = opts.postgres ?? true;
  const db = usePostgres ? await createTestDatabase() : null;
  const dataDir = await mkdtemp(join(tmpdir(), "vyvo-test-"));
  const redisPrefix = `vyvo-test-${randomBytes(5).toString("hex")}`;
  const env: Record<string, string> = {
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "test",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DATA_DIR: dataDir,
    REDIS_PREFIX: redisPrefix,
    VYVO_BOOTSTRAP_API_KEY: TEST_API_KEY,
    ...fastIntervals,
    ...(db ? { DATABASE_URL: db.url } : {}),
    ...(useRedis ? { REDIS_URL: testRedisUrl } : {}),
  };
  const flushRedis = async () => {
    if (!useRedis) return 0;
    const redis = new Redis(testRedisUrl);
    try {
      let deleted = 0;
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${redisPrefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) deleted += await redis.del(...keys);
      } while (cursor !== "0");
      return deleted;
    } finally {
      redis.disconnect();
    }
  };
  return {
    env,
    databaseUrl: db?.url ?? "",
    redisPrefix,
    dataDir,
    config: (overrides = {}) => parseConfig({ ...env, ...overrides }),
    flushRedis,
    async cleanup() {
      await flushRedis();
      await db?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTestServer(env: TestEnv, overrides: Record<string, string> = {}): Promise<RunningServer> {
  return startServer(env.config(overrides));
}
