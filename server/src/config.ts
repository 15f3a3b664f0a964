import { z } from "zod";

/**
 * Every setting the server reads, parsed once at boot. A wrong value stops the start with
 * a message naming the variable; nothing else in the server reads process.env.
 */
const intFromEnv = (def: number) => z.coerce.number().int().positive().default(def);
const booleanFromEnv = (def: boolean) =>
  z
    .enum(["true", "false", "1", "0"])
    .transform((value) => value === "true" || value === "1")
    .default(def);

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
  /** A node with no heartbeat for this long is LOST and its work requeued. Default: max(3 × HEARTBEAT_INTERVAL_MS, LEASE_TTL_MS). */
  NODE_LOST_AFTER_MS: z.coerce.number().int().positive().optional(),
  /** How often every replica looks for lost nodes and for drains that finished or ran out of time. */
  NODE_SWEEP_INTERVAL_MS: intFromEnv(1_000),
  /** Encrypts SSH private keys at rest (AES-256-GCM): 32 bytes, base64. Replicas must share it. Unset: generated into DATA_DIR (0600). */
  NODE_SECRETS_KEY: z
    .string()
    .refine(
      (value) => Buffer.from(value, "base64").length === 32,
      "must be 32 bytes, base64 encoded (openssl rand -base64 32)",
    )
    .optional(),
  /** The agent bundle provisioning uploads to hosts. Default: agent/dist/vyvo-agent.mjs of this checkout (node agent/build.mjs). */
  AGENT_BUNDLE_PATH: z.string().min(1).optional(),
  /** The URL agents dial (their VYVO_SERVER_URL). Default: PUBLIC_URL, else the address this server listens on. */
  AGENT_SERVER_URL: z.url().optional(),
  /** SSH connect and handshake timeout of a provisioning run. */
  PROVISION_SSH_TIMEOUT_MS: intFromEnv(20_000),
  /** How long a provisioning run waits for the node to come online after starting its agent. */
  PROVISION_ONLINE_TIMEOUT_MS: intFromEnv(120_000),
  /** First start: the admin to create when none exists (else a one-time setup token is printed). */
  VYVO_ADMIN_EMAIL: z.email().optional(),
  VYVO_ADMIN_PASSWORD: z.string().min(10).optional(),
  /** Makes sure an admin API key with exactly this secret exists, so scripts can talk to a fresh server. */
  VYVO_BOOTSTRAP_API_KEY: z.string().min(20).optional(),
  SESSION_TTL_MS: intFromEnv(12 * 3_600_000),
  LOGIN_ATTEMPTS_PER_WINDOW: intFromEnv(10),
  LOGIN_WINDOW_MS: intFromEnv(15 * 60_000),
  /** GraphQL operations per minute per API key or session. */
  RATE_LIMIT_PER_MINUTE: intFromEnv(60_000),
  AUDIT_RETENTION_MS: intFromEnv(90 * 24 * 3_600_000),
  MAX_QUERY_DEPTH: intFromEnv(12),
  MAX_QUERY_ALIASES: intFromEnv(30),
  MAX_QUERY_COST: intFromEnv(20_000),
  MAX_QUERY_TOKENS: intFromEnv(5_000),
  /** Largest GraphQL request body; job inputs have their own, smaller limit (MAX_INPUT_BYTES). */
  MAX_GRAPHQL_BODY_BYTES: intFromEnv(4 * 1024 * 1024),
  /** Comma-separated origins allowed to open cookie-authenticated WebSockets besides the server's own. */
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  /** Signs artifact URLs; replicas must share it. Unset: generated once into DATA_DIR (mode 0600). */
  ARTIFACT_SIGNING_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Largest result file an agent may upload (GraphQL's Int caps it at 2^31-1). */
  ARTIFACT_MAX_BYTES: z.coerce.number().int().positive().max(2_147_483_647).default(1_073_741_824),
  /** Lifetime of upload URLs, and of the presigned GETs that download links redirect to (S3 allows 7 days at most). */
  ARTIFACT_PRESIGN_TTL_MS: z.coerce.number().int().min(1_000).max(604_800_000).default(900_000),
  /** Artifacts go to this S3 bucket when set, and to ${DATA_DIR}/artifacts otherwise. */
  S3_BUCKET: z.string().min(3).max(63).optional(),
  /** For S3-compatible servers (MinIO, R2); unset for AWS. */
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  /** With S3_SECRET_ACCESS_KEY; both unset: the AWS SDK's default chain (AWS_* env, instance role). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style URLs (endpoint/bucket/key), which MinIO and most S3-compatible servers need. */
  S3_FORCE_PATH_STYLE: booleanFromEnv(false),
  /** Puts every object under this folder of the bucket, e.g. "vyvo/". */
  S3_KEY_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_-][A-Za-z0-9._-]*\/)+$/, "must be folder names, each ending in /, like vyvo/")
    .optional(),
  /** fal shim: largest request body (JSON with inline data URIs, one upload or upload part). */
  FAL_MAX_BODY_BYTES: intFromEnv(100 * 1024 * 1024),
  /** fal shim: data URIs longer than this are stored and passed to the runner as URLs (jobs stay under MAX_INPUT_BYTES); 0: never. */
  FAL_DATA_URI_OFFLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(256 * 1024),
  /** fal shim: how long `/fal/run` waits for a result before it cancels the job and answers 504. */
  FAL_SYNC_TIMEOUT_MS: intFromEnv(3_600_000),
  /** Ed25519 key that signs webhooks (PKCS#8 PEM, or the 32-byte seed in hex or base64); replicas must share it. Unset: generated into DATA_DIR. */
  WEBHOOK_SIGNING_KEY: z.string().optional(),
  WEBHOOK_MAX_ATTEMPTS: intFromEnv(10),
  /** First retry wait; doubles per attempt up to WEBHOOK_RETRY_MAX_MS (±20 % jitter): 10 attempts span ~2 h. */
  WEBHOOK_RETRY_BASE_MS: intFromEnv(15_000),
  WEBHOOK_RETRY_MAX_MS: intFromEnv(3_600_000),
  /** A receiver must answer one delivery within this. */
  WEBHOOK_TIMEOUT_MS: intFromEnv(15_000),
  /** Due retries are looked for this often (deliveries of ending jobs start at once). */
  WEBHOOK_SWEEP_INTERVAL_MS: intFromEnv(1_000),
});

/** Settings that only make sense together. */
const CheckedConfigSchema = ConfigSchema.superRefine((config, ctx) => {
  if (Boolean(config.S3_ACCESS_KEY_ID) !== Boolean(config.S3_SECRET_ACCESS_KEY)) {
    ctx.addIssue({
      code: "custom",
      path: ["S3_SECRET_ACCESS_KEY"],
      message: "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither",
    });
  }
  if (config.NODE_LOST_AFTER_MS !== undefined && config.NODE_LOST_AFTER_MS < config.LEASE_TTL_MS) {
    ctx.addIssue({
      code: "custom",
      path: ["NODE_LOST_AFTER_MS"],
      message: `must be at least LEASE_TTL_MS (${config.LEASE_TTL_MS}): a node is not lost while its leases still hold`,
    });
  }
  // A generated secret lives in one replica's data folder: links signed by one replica would fail on the others.
  if (config.NODE_ENV === "production" && config.S3_BUCKET && !config.ARTIFACT_SIGNING_SECRET) {
    ctx.addIssue({
      code: "custom",
      path: ["ARTIFACT_SIGNING_SECRET"],
      message: "required in production with S3_BUCKET (replicas must share it)",
    });
  }
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
  const result = CheckedConfigSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  return result.data;
}
