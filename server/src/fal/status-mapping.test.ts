import { describe, expect, it } from "vitest";
import { JOB_STATUSES, type JobStatus } from "../jobs/state-machine.js";
import {
  falErrorOf,
  falLogOf,
  falResultOf,
  falStatusOf,
  falStatusPayload,
  falWebhookPayload,
  type JobStatusRow,
  requestUrls,
} from "./status-mapping.js";

const created = new Date("2026-11-28T10:00:00.000Z");

function row(status: JobStatus, extra: Partial<JobStatusRow> = {}): JobStatusRow {
  return {
    id: "req-1",
    modelId: "acme/echo",
    status,
    error: null,
    errorType: null,
    cause: null,
    attemptCount: 0,
    maxAttempts: 3,
    queueWaitMs: null,
    runTimeMs: null,
    totalTimeMs: null,
    createdAt: created,
    startedAt: null,
    finishedAt: null,
    ...extra,
  };
}

const urls = requestUrls("http://h:4000/fal/queue", "acme/echo", "req-1");

describe("status mapping", () => {
  it("every status of ours is one of fal's three, and no other string ever appears", () => {
    const mapped = Object.fromEntries(JOB_STATUSES.map((status) => [status, falStatusOf(status)]));
    expect(mapped).toEqual({
      QUEUED: "IN_QUEUE",
      RETRY_WAIT: "IN_QUEUE",
      ASSIGNED: "IN_PROGRESS",
      RUNNING: "IN_PROGRESS",
      SUCCEEDED: "COMPLETED",
      FAILED: "COMPLETED",
      CANCELLED: "COMPLETED",
      TIMED_OUT: "COMPLETED",
    });
  });

  it("URLs use the short app path", () => {
    expect(urls).toEqual({
      response_url: "http://h:4000/fal/queue/acme/echo/requests/req-1",
      status_url: "http://h:4000/fal/queue/acme/echo/requests/req-1/status",
      cancel_url: "http://h:4000/fal/queue/acme/echo/requests/req-1/cancel",
    });
  });

  it("IN_QUEUE carries queue_position (Python requires it)", () => {
    const body = falStatusPayload(row("QUEUED"), { urls, queuePosition: 3, logs: null });
    expect(body).toMatchObject({ status: "IN_QUEUE", request_id: "req-1", queue_position: 3, ...urls });
    expect(body).not.toHaveProperty("logs");
  });

  it("IN_PROGRESS and COMPLETED always have the logs key: null unless asked for", () => {
    expect(falStatusPayload(row("RUNNING"), { urls, queuePosition: null, logs: null })).toHaveProperty("logs", null);
    const done = falStatusPayload(row("SUCCEEDED", { runTimeMs: 1500 }), { urls, queuePosition: null, logs: [] });
    expect(done).toMatchObject({ status: "COMPLETED", logs: [], metrics: { inference_time: 1.5 } });
    expect(done).not.toHaveProperty("error");
  });

  it("a failure is COMPLETED with error and error_type, and our own status and cause beside them", () => {
    const failed = row("FAILED", { error: "CUDA out of memory", errorType: "oom", cause: "oom", attemptCount: 3 });
    expect(falStatusPayload(failed, { urls, queuePosition: null, logs: null })).toMatchObject({
      status: "COMPLETED",
      error: "CUDA out of memory",
      error_type: "runner_server_error",
      job_status: "FAILED",
      cause: "oom",
      attempts: 3,
      max_attempts: 3,
    });
  });

  it("log lines get fal's levels and ISO timestamps", () => {
    expect(falLogOf({ level: "info", message: "hi", at: created })).toEqual({
      message: "hi",
      level: "INFO",
      source: "USER",
      timestamp: "2026-11-28T10:00:00.000Z",
    });
    expect(falLogOf({ level: "warning", message: "", at: created }).level).toBe("WARN");
    expect(falLogOf({ level: "custom", message: "", at: created }).level).toBe("CUSTOM");
  });
});

describe("errors and results", () => {
  const ended = (status: JobStatus, errorType: string | null, cause: string | null = null) =>
    ({ id: "req-1", status, output: null, error: "it broke", errorType, cause }) as const;

  it.each([
    ["CANCELLED", "cancelled", null, 499, "client_cancelled"],
    ["TIMED_OUT", "request_timeout", "start deadline passed", 504, "request_timeout"],
    ["FAILED", "agent_lost", null, 503, "runner_disconnected"],
    ["FAILED", "runner_crashed", null, 503, "runner_disconnected"],
    ["FAILED", "runner_protocol_error", null, 502, "runner_incomplete_response"],
    ["FAILED", "runner_error", null, 500, "runner_server_error"],
    ["FAILED", "startup_timeout", null, 504, "startup_timeout"],
    ["FAILED", null, null, 500, "runner_server_error"],
  ] as const)("%s %s → %d %s", (status, errorType, cause, code, falType) => {
    const error = falErrorOf(ended(status, errorType, cause));
    expect(error).toMatchObject({
      statusCode: code,
      errorType: falType,
      body: { detail: "it broke", error_type: falType },
    });
  });

  it("only a passed start deadline is the user's timeout (clients must not retry it)", () => {
    expect(falErrorOf(ended("TIMED_OUT", "request_timeout", "start deadline passed"))?.userTimeout).toBe(true);
    expect(falErrorOf(ended("TIMED_OUT", "request_timeout", "execution timeout"))?.userTimeout).toBe(false);
    const reply = falResultOf(ended("TIMED_OUT", "request_timeout", "start deadline passed"));
    expect(reply.headers).toEqual({
      "x-fal-error-type": "request_timeout",
      "x-fal-retryable": "true",
      "x-fal-request-timeout-type": "user",
    });
  });

  it("a runner's validation error is a 422 with a detail array", () => {
    const reply = falResultOf(ended("FAILED", "validation_error"));
    expect(reply.statusCode).toBe(422);
    expect(reply.body).toEqual({
      detail: [{ loc: ["body"], msg: "it broke", type: "value_error" }],
      message: "it broke",
    });
  });

  it("success: the output is the whole body; not finished: 400 still in progress", () => {
    expect(falResultOf({ ...ended("SUCCEEDED", null), output: { images: [1] } })).toEqual({
      statusCode: 200,
      body: { images: [1] },
      headers: {},
    });
    expect(falResultOf(ended("RUNNING", null))).toEqual({
      statusCode: 400,
      body: { detail: "Request is still in progress" },
      headers: {},
    });
  });

  it("webhook payloads: OK with the output, ERROR with the error body", () => {
    expect(falWebhookPayload({ ...ended("SUCCEEDED", null), output: { a: 1 } })).toEqual({
      request_id: "req-1",
      gateway_request_id: "req-1",
      status: "OK",
      payload: { a: 1 },
      error: null,
    });
    expect(falWebhookPayload(ended("FAILED", "validation_error"))).toMatchObject({
      status: "ERROR",
      error: "Invalid status code: 422",
      payload: { detail: [{ loc: ["body"], msg: "it broke", type: "value_error" }] },
    });
  });
});
