import path from "node:path";
import { z } from "zod";

/**
 * The agent's configuration: parsed once at start from a JSON file (--config), the environment (VYVO_*) and flags,
 * in that order of precedence (a flag beats the environment, which beats the file). A wrong value stops the start
 * with a message that names the setting and where it came from.
 */

export class ConfigError extends Error {
  override name = "ConfigError";
}

const integer = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : value),
    z
      .number({ error: `must be an integer between ${min} and ${max}` })
      .int({ error: `must be an integer between ${min} and ${max}` })
      .min(min, { error: `must be an integer between ${min} and ${max}` })
      .max(max, { error: `must be an integer between ${min} and ${max}` }),
  );

const httpUrl = z.string({ error: "must be an http(s) URL" }).refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { error: "must be an http:// or https:// URL, e.g. https://vyvo.example.com" },
);

const token = z
  .string({ error: "must be a string" })
  .trim()
  .min(1, { error: "must not be empty" })
  .refine((value) => !/\s/.test(value), { error: "must not contain whitespace" });

/** A list from JSON (array) or from a flag/env value ("a,b, c"). Empty means "any model". */
const stringList = z.preprocess(
  (value) =>
    typeof value === "string"
      ? value
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== "")
      : value,
  z.array(z.string().trim().min(1), { error: "must be a comma-separated list or an array of strings" }),
);

const MAX_MS = 24 * 3_600_000;

export const AgentConfigSchema = z
  .object({
    serverUrl: httpUrl,
    enrollmentToken: token.optional(),
    nodeToken: token.optional(),
    workDir: z.string().trim().min(1, { error: "must not be empty" }),
    capacity: integer(1, 1024).default(1),
    models: stringList.optional(),
    nodeName: z
      .string()
      .trim()
      .min(1, { error: "must not be empty" })
      .max(253, { error: "must be at most 253 characters" }),
    /** Runner processes kept at once (busy + idle); the least recently used idle one is stopped first. */
    maxRunners: integer(1, 1024).optional(),
    containerEngine: z.string().trim().min(1).default("docker"),
    nvidiaSmi: z.string().trim().min(1).default("nvidia-smi"),
    runnerStartupTimeoutMs: integer(100, MAX_MS).default(300_000),
    /** An idle runner is stopped after this long; 0 keeps idle runners until they must make room. */
    runnerIdleTimeoutMs: integer(0, MAX_MS).default(600_000),
    /** Grace between SIGTERM and SIGKILL when the agent stops a runner on its own (timeouts, lost leases, exit). */
    stopGraceMs: integer(0, 600_000).default(10_000),
    shutdownDeadlineMs: integer(0, MAX_MS).default(60_000),
    /** Used until the server's HelloCommand says otherwise (R5). */
    heartbeatIntervalMs: integer(100, 600_000).default(10_000),
    logFlushIntervalMs: integer(10, 600_000).default(1_000),
    reconnectBaseMs: integer(1, 600_000).default(500),
    reconnectMaxMs: integer(1, 3_600_000).default(30_000),
    crashLoopBaseMs: integer(1, 3_600_000).default(1_000),
    crashLoopMaxMs: integer(1, 3_600_000).default(60_000),
    crashLoopStableMs: integer(0, MAX_MS).default(60_000),
    logLevel: z
      .enum(["debug", "info", "warn", "error"], { error: "must be one of debug, info, warn, error" })
      .default("info"),
  })
  .strict();

export type AgentConfig = z.output<typeof AgentConfigSchema>;
export type ConfigKey = keyof AgentConfig;

export const CONFIG_KEYS = Object.keys(AgentConfigSchema.shape) as ConfigKey[];

const SECRET_KEYS = new Set<string>(["enrollmentToken", "nodeToken"]);

/** `serverUrl` -> `server-url`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `serverUrl` -> `VYVO_SERVER_URL`. */
export function envName(key: string): string {
  return `VYVO_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export interface ConfigSources {
  /** Flag values by config key (already mapped from --kebab-case). */
  flags: Partial<Record<string, string>>;
  env: Record<string, string | undefined>;
  /** The parsed JSON of --config, if given. */
  file?: { path: string; data: unknown };
  hostname: string;
  homedir: string;
}

/** Merges the sources, validates, and returns the config or throws a ConfigError listing every problem. */
export function resolveConfig(sources: ConfigSources): AgentConfig {
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  if (sources.file !== undefined) {
    const data = sources.file.data;
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new ConfigError(`invalid configuration: ${sources.file.path} must hold a JSON object`);
    }
    for (const [key, value] of Object.entries(data)) {
      merged[key] = value;
      origin[key] = `${sources.file.path}: "${key}"`;
    }
  }
  for (const key of CONFIG_KEYS) {
    const value = sources.env[envName(key)];
    if (value !== undefined && value !== "") {
      merged[key] = value;
      origin[key] = envName(key);
    }
  }
  for (const key of CONFIG_KEYS) {
    const value = sources.flags[key];
    if (value !== undefined) {
      merged[key] = value;
      origin[key] = `--${flagName(key)}`;
    }
  }
  merged.workDir ??= path.join(sources.homedir, ".vyvo-agent");
  merged.nodeName ??= sources.hostname;

  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      if (issue.code === "unrecognized_keys") {
        return `  - unknown setting${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      }
      if (key === undefined) return `  - ${issue.message}`;
      const where = origin[key] ? ` (from ${origin[key]})` : "";
      const raw = merged[key];
      const got =
        raw === undefined
          ? "missing"
          : SECRET_KEYS.has(key)
            ? "got a value that is not shown"
            : `got ${JSON.stringify(raw)}`;
      return `  - ${issue.path.join(".")}${where}: ${issue.message} (${got})`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  config.workDir = path.resolve(config.workDir);
  if (config.reconnectMaxMs < config.reconnectBaseMs) {
    throw new ConfigError("invalid configuration:\n  - reconnectMaxMs: must not be smaller than reconnectBaseMs");
  }
  if (config.crashLoopMaxMs < config.crashLoopBaseMs) {
    throw new ConfigError("invalid configuration:\n  - crashLoopMaxMs: must not be smaller than crashLoopBaseMs");
  }
  return config;
}

/** `https://host/prefix` -> `https://host/prefix/graphql`; a URL that already ends in /graphql is kept. */
export function graphqlHttpUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (!url.pathname.endsWith("/graphql")) url.pathname = `${url.pathname.replace(/\/+$/, "")}/graphql`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** The graphql-ws endpoint: http -> ws, https -> wss, path /graphql. */
export function graphqlWsUrl(serverUrl: string): string {
  const url = new URL(graphqlHttpUrl(serverUrl));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}
