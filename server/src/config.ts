import { z } from "zod";

/**
 * Every setting the server reads, parsed once at boot. A wrong value stops the start with
 * a message naming the variable; nothing else in the server reads process.env.
 */
const intFromEnv = (def: number) => z.coerce.number().int().positive().default(def);

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default("0.0.0.0"),
  /** Base URL clients and agents use to reach this server (for absolute links). */
  PUBLIC_URL: z.url().optional(),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: z.string().startsWith("postgres").optional(),
  REDIS_URL: z.string().startsWith("redis").optional(),
  /** Key prefix for everything this deployment keeps in Redis (tests use one per run). */
  REDIS_PREFIX: z.string().min(1).default("vyvo"),
  DATA_DIR: z.string().default(".data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HEARTBEAT_INTERVAL_MS: intFromEnv(5_000),
  /** A lease lasts this long after the heartbeat that renewed it; lost agents are noticed within it. */
  LEASE_TTL_MS: intFromEnv(15_000),
  LOG_FLUSH_INTERVAL_MS: intFromEnv(100),
  REAPER_INTERVAL_MS: intFromEnv(500),
  DEADLINE_SWEEP_INTERVAL_MS: intFromEnv(1_000),
  RETRY_BASE_MS: intFromEnv(1_000),
  RETRY_MAX_MS: intFromEnv(60_000),
  DEFAULT_MAX_ATTEMPTS: intFromEnv(3),
  /** How long a finished job's input, output and logs are kept. */
  RESULT_RETENTION_MS: intFromEnv(7 * 24 * 3_600_000),
  MAX_INPUT_BYTES: intFromEnv(1_048_576),
  /** graphql-ws: close a socket that sends no connection_init within this time. */
  CONNECTION_INIT_WAIT_MS: intFromEnv(3_000),
  ENROLLMENT_TOKEN_TTL_MS: intFromEnv(24 * 3_600_000),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" so that `FOO= npm start` falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = ConfigSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  return result.data;
}
