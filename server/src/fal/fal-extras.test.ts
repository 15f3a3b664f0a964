import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ECHO, type FalHarness, sleep, startFalHarness } from "./fal-test-harness.js";

// What the shim adds beyond fal, as extra endpoints and fields only: the request list, queue
// stats, retry of a finished request, our status beside fal's; and client tokens (/tokens/),
// which the JS client's connectionMode "client" uses instead of its key.

let h: FalHarness;

beforeAll(async () => {
  h = await startFalHarness();
});

afterAll(async () => {
  await h?.close();
});

async function json<T = Record<string, unknown>>(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: T }> {
  const response = await h.fetch(path, init);
  return { status: response.status, body: (await response.json()) as T };
}

async function untilCompleted(requestId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const { body } = await json(`/fal/queue/${ECHO}/requests/${requestId}/status`);
    if (body.status === "COMPLETED") return body;
    await sleep(30);
  }
}

describe("beyond fal", () => {
  it("stats: depth, running and paused of an app's queue", async () => {
    await h.pause();
    const fal = h.client();
    const a = await fal.queue.submit(ECHO, { input: { prompt: "a" } });
    const b = await fal.queue.submit(ECHO, { input: { prompt: "b" } });
    const { status, body } = await json(`/fal/queue/${ECHO}/stats`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ app_id: ECHO, queue_depth: 2, paused: true, oldest_wait_ms: expect.any(Number) });
    for (const { request_id: requestId } of [a, b]) await fal.queue.cancel(ECHO, { requestId });
    expect((await json(`/fal/queue/${ECHO}/stats`)).body).toMatchObject({ queue_depth: 0 });
    expect((await json("/fal/queue/nobody/nothing/stats")).status).toBe(404);
    await h.resume();
  });

  it("retry runs a cancelled request again under the same id", async () => {
    await h.pause();
    const fal = h.client();
    const { request_id: requestId } = await fal.queue.submit(ECHO, { input: { prompt: "again" } });
    await fal.queue.cancel(ECHO, { requestId });
    await h.resume();
    const retried = await json(`/fal/queue/${ECHO}/requests/${requestId}/retry`, { method: "POST" });
    expect(retried).toMatchObject({ status: 202, body: { status: "IN_QUEUE", request_id: requestId } });
    expect(await untilCompleted(requestId)).toMatchObject({ job_status: "SUCCEEDED", attempts: 1 });
    expect((await fal.queue.result(ECHO, { requestId })).data).toEqual({ text: "AGAIN", route: null });
    const twice = await json(`/fal/queue/${ECHO}/requests/${requestId}/retry`, { method: "POST" });
    expect(twice.status).toBe(409); // a success is not run again
  });

  it("status carries the cause, attempts and times next to fal's fields", async () => {
    const { request_id: requestId } = await h.client().queue.submit(ECHO, { input: { prompt: "fail" } });
    const body = await untilCompleted(requestId);
    expect(body).toMatchObject({
      status: "COMPLETED",
      error: "the model crashed",
      error_type: "runner_server_error",
      job_status: "FAILED",
      cause: "runner error",
      attempts: 1,
      max_attempts: 2,
      queue_wait_ms: expect.any(Number),
      run_time_ms: expect.any(Number),
      total_time_ms: expect.any(Number),
      created_at: expect.any(String),
      finished_at: expect.any(String),
    });
  });

  it("the request list pages newest first and filters by status", async () => {
    const fal = h.client();
    const ids: string[] = [];
    for (const prompt of ["l1", "l2", "l3"]) ids.push((await fal.queue.submit(ECHO, { input: { prompt } })).request_id);
    for (const id of ids) await untilCompleted(id);
    type Page = {
      requests: { request_id: string; status: string; job_status: string; status_url: string }[];
      next_cursor: string | null;
    };
    const first = await json<Page>(`/fal/queue/${ECHO}/requests?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.requests.map((r) => r.request_id)).toEqual([ids[2], ids[1]]);
    expect(first.body.requests[0]).toMatchObject({
      status: "COMPLETED",
      job_status: "SUCCEEDED",
      status_url: expect.stringContaining(ids[2] as string),
    });
    const second = await json<Page>(`/fal/queue/${ECHO}/requests?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.requests[0]?.request_id).toBe(ids[0]);
    const failed = await json<Page>(`/fal/queue/${ECHO}/requests?status=FAILED`);
    expect(failed.body.requests.every((r) => r.job_status === "FAILED")).toBe(true);
    expect((await json(`/fal/queue/${ECHO}/requests?status=LOST`)).status).toBe(400);
    expect((await json(`/fal/queue/${ECHO}/requests?cursor=bogus`)).status).toBe(400);
  });
});

describe("client tokens", () => {
  it("connectionMode client: a token from /tokens/ stands in for the key, for the apps it names", async () => {
    const fal = h.client(undefined, "fetch");
    const stream = await fal.stream(ECHO, { input: { prompt: "token" }, connectionMode: "client" });
    expect(await stream.done()).toEqual({ text: "TOKEN", route: null });

    const token = (
      await json<string>("/fal/rest/tokens/", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ allowed_apps: ["files"], token_expiration: 60 }),
      })
    ).body;
    const elsewhere = await fetch(`${h.server.url}/fal/run/${ECHO}?fal_jwt_token=${token}`, {
      method: "POST",
      body: '{"prompt":"x"}',
    });
    expect(elsewhere.status).toBe(401);
    const forged = await fetch(`${h.server.url}/fal/run/${ECHO}?fal_jwt_token=${token}x`, {
      method: "POST",
      body: '{"prompt":"x"}',
    });
    expect(forged.status).toBe(401);
  });
});
