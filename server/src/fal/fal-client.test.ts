import { ApiError, type QueueStatus, ValidationError } from "@fal-ai/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ECHO, type FalHarness, sleep, startFalHarness } from "./fal-test-harness.js";

// The official @fal-ai/client (1.10.1), unchanged, against the shim: its hosts are rewritten to
// this server by requestMiddleware (fal-api.md §4.1). The runner is the scripted TestAgent.

let h: FalHarness;

beforeAll(async () => {
  h = await startFalHarness();
});

afterAll(async () => {
  await h?.close();
});

async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Polls until COMPLETED, as a caller of queue.status would. */
async function completed(poll: () => Promise<QueueStatus>): Promise<QueueStatus> {
  for (;;) {
    const status = await poll();
    if (status.status === "COMPLETED") return status;
    await sleep(50);
  }
}

const messages = (status: QueueStatus | undefined) =>
  (status && "logs" in status && Array.isArray(status.logs) ? status.logs : []).map((log) => log.message);

describe("subscribe", () => {
  it("polling: queue positions while the queue is paused, then logs, then the result", async () => {
    const fal = h.client();
    await h.pause();
    const ahead = await fal.queue.submit(ECHO, { input: { prompt: "first" } });
    const updates: QueueStatus[] = [];
    let enqueued = "";
    const subscribed = fal.subscribe(ECHO, {
      input: { prompt: "hello", steps: 3 },
      logs: true,
      pollInterval: 50,
      onEnqueue: (id) => {
        enqueued = id;
      },
      onQueueUpdate: (update) => updates.push(update),
    });
    await until(() => updates.some((u) => u.status === "IN_QUEUE" && u.queue_position === 1), "position 1");
    await h.resume();
    const result = await subscribed;

    expect(result.data).toEqual({ text: "HELLO", route: null });
    expect(result.requestId).toBe(enqueued);
    expect(updates[0]).toMatchObject({ status: "IN_QUEUE", request_id: enqueued, queue_position: 1 });
    expect(updates.map((u) => u.status)).toContain("IN_PROGRESS");
    const last = updates[updates.length - 1];
    expect(last?.status).toBe("COMPLETED");
    expect(messages(last)).toEqual(["step 1/3", "step 2/3", "step 3/3"]);
    expect(last && "logs" in last ? last.logs?.[0] : null).toMatchObject({
      level: "INFO",
      source: "USER",
      timestamp: expect.any(String),
    });
    expect(last).toMatchObject({
      metrics: { inference_time: expect.any(Number) },
      job_status: "SUCCEEDED",
      attempts: 1,
    });
    expect((await fal.queue.result(ECHO, { requestId: ahead.request_id })).data).toEqual({
      text: "FIRST",
      route: null,
    });
  });

  it("streaming: every status change once, each log line once, closed after COMPLETED", async () => {
    const fal = h.client();
    await h.pause();
    const updates: QueueStatus[] = [];
    const subscribed = fal.subscribe(ECHO, {
      input: { prompt: "streamed", steps: 3 },
      logs: true,
      mode: "streaming",
      onQueueUpdate: (update) => updates.push(update),
    });
    await until(() => updates.some((u) => u.status === "IN_QUEUE"), "IN_QUEUE over SSE");
    await h.resume();
    const result = await subscribed;
    expect(result.data).toEqual({ text: "STREAMED", route: null });
    expect(updates[0]).toMatchObject({ status: "IN_QUEUE", queue_position: 0 });
    const last = updates[updates.length - 1];
    expect(last?.status).toBe("COMPLETED");
    // The client concatenates each event's logs: the server must send only the new lines.
    expect(messages(last)).toEqual(["step 1/3", "step 2/3", "step 3/3"]);
  });

  it("a client-side timeout cancels the request on the server", async () => {
    const fal = h.client();
    let requestId = "";
    const outcome = fal.subscribe(ECHO, {
      input: { prompt: "hold" },
      timeout: 1_500,
      pollInterval: 50,
      onEnqueue: (id) => {
        requestId = id;
      },
    });
    await expect(outcome).rejects.toThrow(/timed out/);
    // The client fires the cancel and does not wait for it.
    for (let i = 0; i < 100 && (await h.server.services.jobs.get(requestId)).status !== "CANCELLED"; i++)
      await sleep(20);
    expect((await h.server.services.jobs.get(requestId)).status).toBe("CANCELLED");
  });
});

describe("queue", () => {
  it("submit, status and result; a subpath reaches the runner as its route", async () => {
    const fal = h.client();
    const submitted = await fal.queue.submit(`${ECHO}/fast`, { input: { prompt: "routed" } });
    expect(submitted).toMatchObject({
      status: "IN_QUEUE",
      request_id: expect.any(String),
      response_url: `${h.server.url}/fal/queue/${ECHO}/requests/${submitted.request_id}`,
      status_url: `${h.server.url}/fal/queue/${ECHO}/requests/${submitted.request_id}/status`,
      cancel_url: `${h.server.url}/fal/queue/${ECHO}/requests/${submitted.request_id}/cancel`,
      queue_position: expect.any(Number),
    });
    const requestId = submitted.request_id;
    const status = await completed(() => fal.queue.status(`${ECHO}/fast`, { requestId, logs: true }));
    expect(messages(status)).toEqual(["step 1/2", "step 2/2"]);
    const result = await fal.queue.result(`${ECHO}/fast`, { requestId });
    expect(result).toEqual({ data: { text: "ROUTED", route: "/fast" }, requestId });
    expect((await h.runner.waitForRun(requestId)).command.input).toEqual({ prompt: "routed" });

    // Leniently under the full path too, with a trailing slash.
    const full = await h.fetch(`/fal/queue/${ECHO}/fast/requests/${requestId}/status/`);
    expect(full.status).toBe(200);
    expect(full.headers.get("x-fal-request-id")).toBe(requestId);
    expect(await full.json()).toMatchObject({ status: "COMPLETED", logs: null });
  });

  it("a queued request that is cancelled never runs; its result is the cancellation", async () => {
    const fal = h.client();
    await h.pause();
    const { request_id: requestId } = await fal.queue.submit(ECHO, { input: { prompt: "never" } });
    await fal.queue.cancel(ECHO, { requestId });
    expect(await fal.queue.status(ECHO, { requestId })).toMatchObject({
      status: "COMPLETED",
      error_type: "client_cancelled",
      job_status: "CANCELLED",
    });
    const error = await fal.queue.result(ECHO, { requestId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 499, requestId, body: { error_type: "client_cancelled" } });
    const again = await fal.queue.cancel(ECHO, { requestId }).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 400, body: { status: "ALREADY_COMPLETED" } });
    await h.resume();
    await sleep(300);
    expect(h.runner.runs.has(requestId)).toBe(false);
  });

  it("a running request that is cancelled: the runner's agent is told to stop it", async () => {
    const fal = h.client();
    const { request_id: requestId } = await fal.queue.submit(ECHO, { input: { prompt: "hold" } });
    await h.runner.waitForHold(requestId);
    const reply = await h.fetch(`/fal/queue/${ECHO}/requests/${requestId}/cancel`, { method: "PUT" });
    expect(reply.status).toBe(202);
    expect(await reply.json()).toEqual({ status: "CANCELLATION_REQUESTED" });
    const command = await h.agent.waitForCommand((c) => c.__typename === "CancelJobCommand" && c.jobId === requestId);
    expect(command.reason).toMatch(/^cancelled by key:/);
    expect(await fal.queue.status(ECHO, { requestId })).toMatchObject({
      status: "COMPLETED",
      error_type: "client_cancelled",
    });
    h.runner.release(requestId);
  });

  it("x-fal-request-timeout: a request nobody starts in time ends as the user's timeout (504, not retried)", async () => {
    const fal = h.client();
    await h.pause();
    const { request_id: requestId } = await fal.queue.submit(ECHO, {
      input: { prompt: "late" },
      startTimeout: 1.2,
      priority: "low",
    });
    const status = await completed(() => fal.queue.status(ECHO, { requestId }));
    expect(status).toMatchObject({ error_type: "request_timeout", job_status: "TIMED_OUT" });
    const error = (await fal.queue.result(ECHO, { requestId }).catch((e: unknown) => e)) as ApiError<unknown>;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(504);
    expect(error.isUserTimeout).toBe(true);
    await h.resume();
  });
});

describe("run and stream", () => {
  it("run waits for the output", async () => {
    const result = await h.client().run(ECHO, { input: { prompt: "sync" } });
    expect(result.data).toEqual({ text: "SYNC", route: null });
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("run answers a failed request with its error", async () => {
    const error = await h
      .client()
      .run(ECHO, { input: { prompt: "fail" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 500,
      body: { detail: "the model crashed", error_type: "runner_server_error" },
    });
  });

  it("run: a caller that goes away cancels its request (no runner works for nobody)", async () => {
    const abort = new AbortController();
    const before = new Set(h.runner.runs.keys());
    const running = h.client().run(ECHO, { input: { prompt: "hold" }, abortSignal: abort.signal });
    const requestId = await until(
      () => [...h.runner.runs.keys()].find((id) => !before.has(id)),
      "the run to reach the runner",
    );
    await h.runner.waitForHold(requestId);
    abort.abort();
    await expect(running).rejects.toThrow();
    for (let i = 0; i < 100 && (await h.server.services.jobs.get(requestId)).status !== "CANCELLED"; i++)
      await sleep(20);
    expect((await h.server.services.jobs.get(requestId)).status).toBe("CANCELLED");
    await h.agent.waitForCommand((c) => c.__typename === "CancelJobCommand" && c.jobId === requestId);
  });

  it("stream: progress events while it runs, the last event is the whole output", async () => {
    const stream = await h.client().stream(ECHO, { input: { prompt: "flow", steps: 3 } });
    const events: unknown[] = [];
    for await (const event of stream) events.push(event);
    const done = await stream.done();
    expect(done).toEqual({ text: "FLOW", route: null });
    expect(events[events.length - 1]).toEqual(done);
    const logLines = events
      .flatMap((event) => (event as { logs?: { message: string }[] }).logs ?? [])
      .map((log) => log.message);
    expect(logLines).toEqual(["step 1/3", "step 2/3", "step 3/3"]);
    expect(stream.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("errors", () => {
  it("invalid input is a ValidationError with fal's field errors", async () => {
    const error = await h
      .client()
      .subscribe(ECHO, { input: { steps: 0, extra: 1 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const fields = (error as ValidationError).fieldErrors;
    expect(fields.map((f) => f.loc.join("."))).toEqual(
      expect.arrayContaining(["body.prompt", "body.steps", "body.extra"]),
    );
    expect((error as ValidationError).getFieldErrors("steps")).toEqual([
      { loc: ["body", "steps"], msg: expect.any(String), type: "minimum" },
    ]);
    expect((error as ValidationError).message).toMatch(/schema/);
    await expect(h.client().run(ECHO, { input: [1, 2] as unknown as Record<string, unknown> })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it("a runner's validation error reaches the caller as a ValidationError from the result", async () => {
    const error = await h
      .client()
      .subscribe(ECHO, { input: { prompt: "invalid" }, pollInterval: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fieldErrors).toEqual([
      { loc: ["body"], msg: "steps must be even", type: "value_error" },
    ]);
  });

  it("a wrong or missing key is a 401; an unknown app a 404; workflows are reserved", async () => {
    await expect(h.client("wrong").queue.submit(ECHO, { input: { prompt: "x" } })).rejects.toMatchObject({
      status: 401,
    });
    expect((await fetch(`${h.server.url}/fal/queue/${ECHO}`, { method: "POST", body: "{}" })).status).toBe(401);
    await expect(h.client().queue.submit("nobody/nothing", { input: {} })).rejects.toMatchObject({ status: 404 });
    const reserved = await h.fetch("/fal/queue/workflows/acme/flow", { method: "POST", body: "{}" });
    expect(reserved.status).toBe(404);
    expect(await reserved.json()).toEqual({ detail: expect.stringMatching(/workflows.*reserved/) });
  });

  it("a bad header is a 400 that names it", async () => {
    const reply = await h.fetch(`/fal/queue/${ECHO}`, {
      method: "POST",
      body: '{"prompt":"x"}',
      headers: { "x-fal-queue-priority": "urgent" },
    });
    expect(reply.status).toBe(400);
    expect(await reply.json()).toMatchObject({ detail: expect.stringMatching(/x-fal-queue-priority/) });
  });
});
