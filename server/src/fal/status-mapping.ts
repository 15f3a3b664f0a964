import type { Job } from "../generated/prisma/client.js";
import type { JobStatus } from "../jobs/state-machine.js";

/**
 * Our jobs as fal's clients see them. Pure (fal-api.md §2).
 *
 * fal knows three statuses; failed, cancelled and timed-out jobs are COMPLETED with `error` and
 * `error_type`, and their result endpoint answers the error with its HTTP code. Our richer state
 * travels in extra fields (job_status, cause, attempts, timings) that both clients ignore.
 */

export type FalStatus = "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED";

export type JobStatusRow = Pick<
  Job,
  | "id"
  | "modelId"
  | "status"
  | "error"
  | "errorType"
  | "cause"
  | "attemptCount"
  | "maxAttempts"
  | "queueWaitMs"
  | "runTimeMs"
  | "totalTimeMs"
  | "createdAt"
  | "startedAt"
  | "finishedAt"
>;

export type JobResultRow = Pick<Job, "id" | "status" | "output" | "error" | "errorType" | "cause">;

export interface RequestUrls {
  response_url: string;
  status_url: string;
  cancel_url: string;
}

export interface FalLogEntry {
  message: string;
  level: string;
  source: "USER";
  timestamp: string;
}

export interface FalError {
  statusCode: number;
  errorType: string;
  retryable: boolean;
  /** The start deadline the caller set passed: clients must not retry (X-Fal-Request-Timeout-Type: user). */
  userTimeout: boolean;
  body: Record<string, unknown>;
}

export interface FalReply {
  statusCode: number;
  body: unknown;
  headers: Record<string, string>;
}

export function falStatusOf(status: JobStatus): FalStatus {
  switch (status) {
    case "QUEUED":
    case "RETRY_WAIT":
      return "IN_QUEUE";
    case "ASSIGNED":
    case "RUNNING":
      return "IN_PROGRESS";
    default:
      return "COMPLETED";
  }
}

/** `queueBase` is the shim's absolute queue prefix, e.g. http://host:4000/fal/queue. */
export function requestUrls(queueBase: string, appId: string, requestId: string): RequestUrls {
  const response = `${queueBase}/${appId}/requests/${encodeURIComponent(requestId)}`;
  return { response_url: response, status_url: `${response}/status`, cancel_url: `${response}/cancel` };
}

const LEVELS: Record<string, string> = {
  info: "INFO",
  warn: "WARN",
  warning: "WARN",
  error: "ERROR",
  debug: "DEBUG",
  trace: "DEBUG",
  stdout: "STDOUT",
  stderr: "STDERR",
};

export function falLogOf(line: { level: string; message: string; at: Date | string }): FalLogEntry {
  return {
    message: line.message,
    level: LEVELS[line.level.toLowerCase()] ?? line.level.toUpperCase(),
    source: "USER",
    timestamp: new Date(line.at).toISOString(),
  };
}

/**
 * The status body. `logs` is null when the caller did not ask for them (the key is always there:
 * Python reads it unconditionally); `queuePosition` counts the requests ahead of this one.
 */
export function falStatusPayload(
  job: JobStatusRow,
  opts: { urls: RequestUrls; queuePosition: number | null; logs: FalLogEntry[] | null },
): Record<string, unknown> {
  const status = falStatusOf(job.status);
  const body: Record<string, unknown> = { status, request_id: job.id, ...opts.urls };
  if (status === "IN_QUEUE") body.queue_position = opts.queuePosition ?? 0;
  else body.logs = opts.logs;
  if (status === "COMPLETED") {
    if (job.runTimeMs !== null) body.metrics = { inference_time: job.runTimeMs / 1000 };
    const error = falErrorOf(job);
    if (error) {
      body.error = job.error ?? error.errorType;
      body.error_type = error.errorType;
    }
  }
  // Beyond fal: what really happened, for people and tools that look.
  body.job_status = job.status;
  body.cause = job.cause;
  body.attempts = job.attemptCount;
  body.max_attempts = job.maxAttempts;
  body.queue_wait_ms = job.queueWaitMs;
  body.run_time_ms = job.runTimeMs;
  body.total_time_ms = job.totalTimeMs;
  body.created_at = job.createdAt.toISOString();
  body.started_at = job.startedAt?.toISOString() ?? null;
  body.finished_at = job.finishedAt?.toISOString() ?? null;
  return body;
}

/** HTTP codes of the error types fal documents (fal-api.md §2.3). */
export const FAL_ERROR_STATUS: Readonly<Record<string, number>> = {
  request_timeout: 504,
  startup_timeout: 504,
  runner_scheduling_failure: 503,
  runner_connection_timeout: 503,
  runner_disconnected: 503,
  runner_connection_refused: 503,
  runner_connection_error: 503,
  runner_incomplete_response: 502,
  runner_server_error: 500,
  client_disconnected: 499,
  client_cancelled: 499,
  bad_request: 400,
  internal_error: 500,
};

/** Our error types (agent, runner contract, job service) → the nearest fal type. */
const OUR_ERROR_TYPES: Readonly<Record<string, string>> = {
  cancelled: "client_cancelled",
  agent_lost: "runner_disconnected",
  agent_shutdown: "runner_disconnected",
  runner_crashed: "runner_disconnected",
  runner_protocol_error: "runner_incomplete_response",
  timeout: "request_timeout",
  invalid_runner: "runner_scheduling_failure",
  invalid_command: "internal_error",
  agent_error: "internal_error",
};

const VALIDATION_TYPES = new Set(["validation_error", "invalid_input"]);

/** How a finished, unsuccessful job reads to fal clients; null for success or a job still going. */
export function falErrorOf(job: Pick<Job, "status" | "error" | "errorType" | "cause">): FalError | null {
  if (job.status === "SUCCEEDED" || falStatusOf(job.status) !== "COMPLETED") return null;
  const message = job.error ?? "Request failed";
  if (job.status === "CANCELLED") return infraError("client_cancelled", job.error ?? "Request was cancelled");
  if (job.status === "TIMED_OUT") {
    const error = infraError("request_timeout", message);
    error.userTimeout = job.cause?.startsWith("start deadline") ?? false;
    return error;
  }
  const ours = job.errorType ?? "";
  if (VALIDATION_TYPES.has(ours)) {
    return {
      statusCode: 422,
      errorType: "validation_error",
      retryable: false,
      userTimeout: false,
      body: { detail: [{ loc: ["body"], msg: message, type: "value_error" }], message },
    };
  }
  const falType = FAL_ERROR_STATUS[ours] !== undefined ? ours : (OUR_ERROR_TYPES[ours] ?? "runner_server_error");
  return infraError(falType, message);
}

function infraError(errorType: string, detail: string): FalError {
  const statusCode = FAL_ERROR_STATUS[errorType] ?? 500;
  return {
    statusCode,
    errorType,
    retryable: statusCode === 502 || statusCode === 503 || statusCode === 504,
    userTimeout: false,
    body: { detail, error_type: errorType },
  };
}

export function errorHeaders(error: FalError): Record<string, string> {
  return {
    "x-fal-error-type": error.errorType,
    "x-fal-retryable": String(error.retryable),
    ...(error.userTimeout ? { "x-fal-request-timeout-type": "user" } : {}),
  };
}

/** The result endpoint: the output as the whole body, the error with its own code, or "still in progress". */
export function falResultOf(job: JobResultRow): FalReply {
  if (falStatusOf(job.status) !== "COMPLETED") {
    return { statusCode: 400, body: { detail: "Request is still in progress" }, headers: {} };
  }
  const error = falErrorOf(job);
  if (!error) return { statusCode: 200, body: job.output ?? {}, headers: {} };
  return { statusCode: error.statusCode, body: error.body, headers: errorHeaders(error) };
}

/** fal's webhook body (fal-api.md §2.5): the output on success, the error body on failure. */
export function falWebhookPayload(job: JobResultRow): Record<string, unknown> {
  const error = falErrorOf(job);
  if (!error)
    return { request_id: job.id, gateway_request_id: job.id, status: "OK", payload: job.output ?? {}, error: null };
  return {
    request_id: job.id,
    gateway_request_id: job.id,
    status: "ERROR",
    payload: error.body,
    error: `Invalid status code: ${error.statusCode}`,
  };
}
