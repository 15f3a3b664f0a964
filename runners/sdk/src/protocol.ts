// The wire format of the runner contract (runners/CONTRACT.md), shared by runners and by the agent.
// Pure data and parsing: no I/O here, so the agent can import it without starting anything.
import path from "node:path";
import { fileURLToPath } from "node:url";

export type LogLevel = "debug" | "info" | "warn" | "error";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** One entry of a fal-style validation `detail` array (pydantic v2 shape). */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
  ctx?: Record<string, unknown>;
}

/** Body of `POST /run`. */
export interface RunRequest {
  request_id: string;
  input: Record<string, unknown>;
  route: string | null;
  output_dir: string;
}

export type LogLine = { type: "log"; level: LogLevel; message: string };
export type ProgressLine = { type: "progress"; progress: number; message?: string };
/** Sent on a quiet stream so that nothing between runner and agent mistakes a long run for a dead one. */
export type HeartbeatLine = { type: "heartbeat" };
export type ResultLine = { type: "result"; output: Record<string, unknown> };
export type ErrorLine = {
  type: "error";
  error: string;
  error_type: string;
  retryable: boolean;
  detail?: ValidationIssue[];
};
export type FinalLine = ResultLine | ErrorLine;
export type RunnerLine = LogLine | ProgressLine | HeartbeatLine | FinalLine;

/** error_type values the SDKs emit. Runners may use others (e.g. `oom`); the agent passes them on. */
export const ERROR_TYPES = {
  validation: "validation_error",
  runner: "runner_error",
  cancelled: "cancelled",
  shutdown: "runner_shutdown",
} as const;

export function isFinalLine(line: RunnerLine): line is FinalLine {
  return line.type === "result" || line.type === "error";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Checks the `POST /run` envelope (not the model input: that is the runner's `validate`). */
export function parseRunRequest(body: unknown): Parsed<RunRequest> {
  if (!isPlainObject(body)) return { ok: false, error: "body must be a JSON object" };
  const { request_id: requestId, input, route, output_dir: outputDir } = body;
  if (typeof requestId !== "string" || requestId.length === 0) {
    return { ok: false, error: "request_id must be a non-empty string" };
  }
  if (!isPlainObject(input)) return { ok: false, error: "input must be a JSON object" };
  if (route !== undefined && route !== null && typeof route !== "string") {
    return { ok: false, error: "route must be a string or null" };
  }
  if (typeof outputDir !== "string" || !path.isAbsolute(outputDir)) {
    return { ok: false, error: "output_dir must be an absolute path" };
  }
  return { ok: true, value: { request_id: requestId, input, route: route ?? null, output_dir: outputDir } };
}

function isIssue(value: unknown): value is ValidationIssue {
  return (
    isPlainObject(value) &&
    Array.isArray(value.loc) &&
    value.loc.every((part) => typeof part === "string" || typeof part === "number") &&
    typeof value.msg === "string" &&
    typeof value.type === "string"
  );
}

/**
 * Parses one NDJSON line from a runner. Returns null for blank lines and for line types this
 * version does not know (the contract says to ignore them); throws on malformed lines.
 */
export function parseRunnerLine(text: string): RunnerLine | null {
  if (text.trim() === "") return null;
  const value: unknown = JSON.parse(text);
  if (!isPlainObject(value) || typeof value.type !== "string") {
    throw new Error(`runner line is not an object with a "type": ${text.slice(0, 200)}`);
  }
  switch (value.type) {
    case "log": {
      const level = LOG_LEVELS.includes(value.level as LogLevel) ? (value.level as LogLevel) : "info";
      return { type: "log", level, message: String(value.message ?? "") };
    }
    case "progress": {
      if (typeof value.progress !== "number" || !Number.isFinite(value.progress)) {
        throw new Error("progress line without a numeric progress");
      }
      const progress = Math.min(1, Math.max(0, value.progress));
      return typeof value.message === "string"
        ? { type: "progress", progress, message: value.message }
        : { type: "progress", progress };
    }
    case "heartbeat":
      return { type: "heartbeat" };
    case "result":
      if (!isPlainObject(value.output)) throw new Error("result line whose output is not an object");
      return { type: "result", output: value.output };
    case "error": {
      const line: ErrorLine = {
        type: "error",
        error: typeof value.error === "string" ? value.error : "runner error",
        error_type: typeof value.error_type === "string" ? value.error_type : ERROR_TYPES.runner,
        retryable: value.retryable === true,
      };
      if (Array.isArray(value.detail)) line.detail = value.detail.filter(isIssue);
      return line;
    }
    default:
      return null;
  }
}

export function formatRunnerLine(line: RunnerLine): string {
  return `${JSON.stringify(line)}\n`;
}

/**
 * The line a runner prints on stdout once its port is bound (before setup finishes), so that a
 * parent that passed PORT=0 learns the port: `vyvo-runner listening on 127.0.0.1:41234`.
 */
const LISTENING_PATTERN = /^vyvo-runner listening on (\S+):(\d+)\s*$/;

export function formatListeningLine(host: string, port: number): string {
  return `vyvo-runner listening on ${host}:${port}`;
}

export function parseListeningLine(line: string): { host: string; port: number } | null {
  const match = LISTENING_PATTERN.exec(line);
  if (!match?.[1] || !match[2]) return null;
  return { host: match[1], port: Number(match[2]) };
}

/**
 * The absolute path a `file://` URL names when that file lies inside `outputDir`, else null.
 * Only such files are uploaded by the agent; anything else (other schemes, paths outside the
 * folder, `..` escapes) stays as it is in the output.
 */
export function outputFilePath(url: string, outputDir: string): string | null {
  if (!url.startsWith("file://")) return null;
  let filePath: string;
  try {
    filePath = fileURLToPath(url);
  } catch {
    return null;
  }
  const relative = path.relative(path.resolve(outputDir), path.resolve(filePath));
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) return null;
  return path.resolve(filePath);
}

/** Every string in `output` that is a `file://` URL, with its JSON path (e.g. ["images", 0, "url"]). */
export function findFileUrls(output: unknown): { pointer: (string | number)[]; url: string }[] {
  const found: { pointer: (string | number)[]; url: string }[] = [];
  const visit = (value: unknown, pointer: (string | number)[]): void => {
    if (typeof value === "string") {
      if (value.startsWith("file://")) found.push({ pointer, url: value });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        visit(item, [...pointer, index]);
      });
    } else if (isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) visit(item, [...pointer, key]);
    }
  };
  visit(output, []);
  return found;
}
