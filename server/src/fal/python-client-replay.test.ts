import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY, ECHO, type FalHarness, sleep, startFalHarness } from "./fal-test-harness.js";

// fal_client (Python, 1.0.x) cannot be installed here (no PyPI), so its request pattern is
// replayed (fal-api.md §4.2): module globals patched to our base, the submit reply's URLs followed
// verbatim, `logs` sent as httpx renders a bool ("true"/"false"), status polled every 100 ms,
// and the keys read with Python's strictness (a missing key is a KeyError, an unknown status a
// ValueError).

let h: FalHarness;
let QUEUE_URL_FORMAT: string;
const headers = {
  authorization: `Key ${API_KEY}`,
  "user-agent": "fal-client/1.0.1 (python)",
  "content-type": "application/json",
};

beforeAll(async () => {
  h = await startFalHarness();
  QUEUE_URL_FORMAT = `${h.server.url}/fal/queue/`;
});

afterAll(async () => {
  await h?.close();
});

class KeyError extends Error {}

function key<T>(data: Record<string, unknown>, name: string): T {
  if (!(name in data)) throw new KeyError(`KeyError: '${name}'`);
  return data[name] as T;
}

type Status =
  | { kind: "Queued"; position: number }
  | { kind: "InProgress"; logs: unknown }
  | { kind: "Completed"; logs: unknown; metrics: unknown; error: unknown; errorType: unknown };

/** fal_client.client._BaseRequestHandle._parse_status */
function parseStatus(data: Record<string, unknown>): Status {
  switch (data.status) {
    case "IN_QUEUE":
      return { kind: "Queued", position: key(data, "queue_position") };
    case "IN_PROGRESS":
      return { kind: "InProgress", logs: key(data, "logs") };
    case "COMPLETED":
      return {
        kind: "Completed",
        logs: key(data, "logs"),
        metrics: data.metrics ?? {},
        error: data.error,
        errorType: data.error_type,
      };
    default:
      throw new Error(`ValueError: unknown status ${String(data.status)}`);
  }
}

async function httpx(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; data: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return {
    status: response.status,
    data: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

/** fal_client.submit → SyncRequestHandle built from the reply's URLs. */
async function submit(app: string, args: unknown) {
  const reply = await httpx("POST", `${QUEUE_URL_FORMAT}${app}`, args);
  if (reply.status >= 300) throw Object.assign(new Error(String(reply.data.detail)), reply);
  return {
    requestId: key<string>(reply.data, "request_id"),
    responseUrl: key<string>(reply.data, "response_url"),
    statusUrl: key<string>(reply.data, "status_url"),
    cancelUrl: key<string>(reply.data, "cancel_url"),
  };
}

type Handle = Awaited<ReturnType<typeof submit>>;

/** handle.iter_events(with_logs, interval=0.1): poll status_url until Completed. */
async function* iterEvents(handle: Handle, withLogs: boolean): AsyncGenerator<Status> {
  for (;;) {
    const reply = await httpx(
      "GET",
      `${handle.statusUrl}?${new URLSearchParams({ logs: withLogs ? "true" : "false" })}`,
    );
    expect([200, 202]).toContain(reply.status);
    const status = parseStatus(reply.data);
    yield status;
    if (status.kind === "Completed") return;
    await sleep(100);
  }
}

/** fal_client.subscribe(app, arguments, with_logs, on_queue_update) */
async function subscribe(app: string, args: unknown, withLogs: boolean, onQueueUpdate: (status: Status) => void) {
  const handle = await submit(app, args);
  for await (const status of iterEvents(handle, withLogs)) onQueueUpdate(status);
  // handle.get(): polls once more (logs off), then GETs response_url.
  for await (const _ of iterEvents(handle, false));
  const result = await httpx("GET", handle.responseUrl);
  return { handle, result };
}

describe("fal_client's request pattern", () => {
  it("subscribe with logs: positions while queued, logs while running, then the result", async () => {
    await h.pause();
    const updates: Status[] = [];
    const running = subscribe(ECHO, { prompt: "python", steps: 3 }, true, (status) => updates.push(status));
    while (!updates.some((u) => u.kind === "Queued")) await sleep(20);
    await h.resume();
    const { handle, result } = await running;
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ text: "PYTHON", route: null });
    expect(result.headers.get("x-fal-request-id")).toBe(handle.requestId);
    expect(updates[0]).toEqual({ kind: "Queued", position: 0 });
    const completed = updates[updates.length - 1] as Extract<Status, { kind: "Completed" }>;
    expect(completed.kind).toBe("Completed");
    expect((completed.logs as { message: string }[]).map((log) => log.message)).toEqual([
      "step 1/3",
      "step 2/3",
      "step 3/3",
    ]);
    expect(completed.error).toBeUndefined();
    // Every reply URL is absolute and on this server, so Python can follow it as given.
    for (const url of [handle.statusUrl, handle.responseUrl, handle.cancelUrl])
      expect(url.startsWith(`${h.server.url}/fal/queue/${ECHO}/requests/`)).toBe(true);
  });

  it("without logs, Completed carries logs None (the key is still there)", async () => {
    const handle = await submit(ECHO, { prompt: "quiet" });
    let last: Status | undefined;
    for await (const status of iterEvents(handle, false)) last = status;
    expect(last).toMatchObject({ kind: "Completed", logs: null });
  });

  it("top-level status()/result() rebuild the short URL from owner/alias; fal.apps uses trailing slashes", async () => {
    const handle = await submit(`${ECHO}/fast`, { prompt: "rebuilt" });
    const rebuilt = `${QUEUE_URL_FORMAT}${ECHO}/requests/${handle.requestId}`;
    expect(handle.statusUrl).toBe(`${rebuilt}/status`);
    for await (const _ of iterEvents(handle, false));
    expect((await httpx("GET", `${rebuilt}/status/?logs=0`)).status).toBe(200);
    expect((await httpx("GET", `${rebuilt}/`)).data).toEqual({ text: "REBUILT", route: "/fast" });
  });

  it("cancel via cancel_url; a failure is COMPLETED with error and error_type; errors are FalClientHTTPError-shaped", async () => {
    await h.pause();
    const queued = await submit(ECHO, { prompt: "cancel me" });
    expect((await httpx("PUT", queued.cancelUrl)).status).toBe(200);
    await h.resume();

    const failing = await submit(ECHO, { prompt: "fail" });
    let last: Status | undefined;
    for await (const status of iterEvents(failing, true)) last = status;
    expect(last).toMatchObject({ kind: "Completed", error: "the model crashed", errorType: "runner_server_error" });
    const result = await httpx("GET", failing.responseUrl);
    expect(result.status).toBe(500);
    // FalClientHTTPError(message=body["detail"], error_type=body.error_type or X-Fal-Error-Type)
    expect(result.data).toEqual({ detail: "the model crashed", error_type: "runner_server_error" });
    expect(result.headers.get("x-fal-error-type")).toBe("runner_server_error");
    // A 5xx with x-fal-request-id is the app's answer, not an ingress error: Python does not retry it.
    expect(result.headers.get("x-fal-request-id")).toBe(failing.requestId);

    const invalid = await httpx("POST", `${QUEUE_URL_FORMAT}${ECHO}`, { steps: "many" });
    expect(invalid.status).toBe(422);
    expect(invalid.data.detail).toEqual(expect.arrayContaining([expect.objectContaining({ loc: ["body", "prompt"] })]));
  });
});
