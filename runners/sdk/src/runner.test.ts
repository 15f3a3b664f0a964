import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cancelRun, collectRun, getHealth, RunnerHttpError, streamRun } from "./client.js";
import type { RunnerLine, RunRequest } from "./protocol.js";
import {
  CancelledError,
  listenOptionsFromEnv,
  type RunContext,
  type RunnerDefinition,
  RunnerError,
  type RunningRunner,
  startRunner,
} from "./runner.js";

/** A promise with its resolve function outside, to hold a run until the test lets it go. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open: (value: T) => void = () => {};
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

let outputRoot = "";
const started: RunningRunner[] = [];

beforeEach(async () => {
  outputRoot = await mkdtemp(path.join(tmpdir(), "vyvo-sdk-"));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((runner) => runner.shutdown()));
  await rm(outputRoot, { recursive: true, force: true });
});

async function start(definition: RunnerDefinition, options: { heartbeatMs?: number } = {}) {
  const diagnostics: string[] = [];
  const runner = await startRunner(definition, {
    port: 0,
    host: "127.0.0.1",
    diagnostics: (line) => diagnostics.push(line),
    ...options,
  });
  started.push(runner);
  return { runner, baseUrl: `http://127.0.0.1:${runner.port}`, diagnostics };
}

function runRequest(requestId: string, input: Record<string, unknown> = {}): RunRequest {
  return { request_id: requestId, input, route: null, output_dir: path.join(outputRoot, requestId) };
}

async function postRaw(baseUrl: string, pathname: string, body: string, method = "POST") {
  const response = await fetch(new URL(pathname, baseUrl), { method, body: method === "GET" ? undefined : body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Waits until `check` holds, polling; fails the test if it never does. */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("GET /health", () => {
  it("answers 503 loading during setup and 200 ok with the concurrency once set up", async () => {
    const setupDone = gate();
    const { runner, baseUrl } = await start({
      name: "slow-setup",
      setup: () => setupDone.promise,
      run: async () => ({}),
    });
    expect(await getHealth(baseUrl)).toEqual({ status: 503, body: { status: "loading" } });
    expect((await postRaw(baseUrl, "/run", JSON.stringify(runRequest("early")))).status).toBe(503);
    setupDone.open();
    await runner.ready;
    expect(await getHealth(baseUrl)).toEqual({ status: 200, body: { status: "ok", max_concurrency: 1, running: 0 } });
  });

  it("answers 500 failed when setup throws", async () => {
    const { runner, baseUrl } = await start({
      name: "broken",
      setup: async () => {
        throw new Error("weights not found");
      },
      run: async () => ({}),
    });
    await expect(runner.ready).rejects.toThrow("weights not found");
    expect(await getHealth(baseUrl)).toEqual({ status: 500, body: { status: "failed", error: "weights not found" } });
  });
});

describe("POST /run", () => {
  it("streams logs and progress as they happen, then the result", async () => {
    const proceed = gate();
    const { baseUrl } = await start({
      name: "stepper",
      async run(input, ctx) {
        ctx.log("info", `got ${String(input.word)}`);
        ctx.progress(0.5, "half");
        await proceed.promise;
        ctx.progress(7); // clamped to 1
        return { echoed: input.word };
      },
    });
    const stream = streamRun(baseUrl, runRequest("r1", { word: "hi" }));
    // The first two lines arrive while the run is still held: the stream is not buffered to the end.
    expect((await stream.next()).value).toEqual({ type: "log", level: "info", message: "got hi" });
    expect((await stream.next()).value).toEqual({ type: "progress", progress: 0.5, message: "half" });
    proceed.open();
    expect((await stream.next()).value).toEqual({ type: "progress", progress: 1 });
    expect((await stream.next()).value).toEqual({ type: "result", output: { echoed: "hi" } });
    expect((await stream.next()).done).toBe(true);
  });

  it("answers with Content-Type application/x-ndjson", async () => {
    const { baseUrl } = await start({ name: "plain", run: async () => ({ ok: true }) });
    const response = await fetch(`${baseUrl}/run`, { method: "POST", body: JSON.stringify(runRequest("ct")) });
    expect(response.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(await response.text()).toBe('{"type":"result","output":{"ok":true}}\n');
  });

  it("fails with a validation_error and its detail without calling run", async () => {
    let ran = false;
    const { baseUrl } = await start({
      name: "strict",
      validate: (input) =>
        typeof input.n === "number" ? [] : [{ loc: ["body", "n"], msg: "Field required", type: "missing" }],
      run: async () => {
        ran = true;
        return {};
      },
    });
    const { final } = await collectRun(baseUrl, runRequest("v", {}));
    expect(final).toEqual({
      type: "error",
      error: "body.n: Field required",
      error_type: "validation_error",
      retryable: false,
      detail: [{ loc: ["body", "n"], msg: "Field required", type: "missing" }],
    });
    expect(ran).toBe(false);
  });

  it("passes a RunnerError's type and retryability, and makes other errors non-retryable runner_errors", async () => {
    const { baseUrl } = await start({
      name: "thrower",
      async run(input) {
        if (input.kind === "oom") throw new RunnerError("CUDA out of memory", { errorType: "oom", retryable: true });
        if (input.kind === "not-object") return [1, 2] as unknown as Record<string, unknown>;
        throw new TypeError("boom");
      },
    });
    expect((await collectRun(baseUrl, runRequest("a", { kind: "oom" }))).final).toEqual({
      type: "error",
      error: "CUDA out of memory",
      error_type: "oom",
      retryable: true,
    });
    expect((await collectRun(baseUrl, runRequest("b", { kind: "bug" }))).final).toEqual({
      type: "error",
      error: "boom",
      error_type: "runner_error",
      retryable: false,
    });
    expect((await collectRun(baseUrl, runRequest("c", { kind: "not-object" }))).final).toMatchObject({
      error: "run() must return a JSON object",
      error_type: "runner_error",
    });
  });

  it("answers 429 while busy, and takes work again when the run ends", async () => {
    const release = gate();
    const { baseUrl } = await start({
      name: "single",
      run: async () => {
        await release.promise;
        return { done: true };
      },
    });
    const first = collectRun(baseUrl, runRequest("first"));
    await eventually(async () => ((await getHealth(baseUrl)).body as { running: number }).running === 1);
    const refused = await collectRun(baseUrl, runRequest("second")).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RunnerHttpError);
    expect((refused as RunnerHttpError).status).toBe(429);
    expect(JSON.parse((refused as RunnerHttpError).body)).toEqual({ error: "busy", max_concurrency: 1 });
    release.open();
    expect((await first).final).toEqual({ type: "result", output: { done: true } });
    expect((await collectRun(baseUrl, runRequest("third"))).final.type).toBe("result");
  });

  it("runs as many at once as max_concurrency says", async () => {
    const release = gate();
    const { baseUrl } = await start({
      name: "pair",
      maxConcurrency: 2,
      run: async () => {
        await release.promise;
        return {};
      },
    });
    const runs = [collectRun(baseUrl, runRequest("one")), collectRun(baseUrl, runRequest("two"))];
    await eventually(async () => ((await getHealth(baseUrl)).body as { running: number }).running === 2);
    await expect(collectRun(baseUrl, runRequest("three"))).rejects.toMatchObject({ status: 429 });
    release.open();
    expect((await Promise.all(runs)).map((run) => run.final.type)).toEqual(["result", "result"]);
  });

  it("refuses a malformed envelope with 400 and a duplicate request_id with 409", async () => {
    const release = gate();
    const { baseUrl } = await start({
      name: "envelope",
      maxConcurrency: 2,
      run: async () => {
        await release.promise;
        return {};
      },
    });
    const cases = [
      "not json",
      JSON.stringify({ input: {}, output_dir: "/tmp/x" }),
      JSON.stringify({ request_id: "x", input: [], output_dir: "/tmp/x" }),
      JSON.stringify({ request_id: "x", input: {}, output_dir: "relative/dir" }),
      JSON.stringify({ request_id: "x", input: {}, route: 5, output_dir: "/tmp/x" }),
    ];
    for (const body of cases) {
      const answer = await postRaw(baseUrl, "/run", body);
      expect(answer.status, body).toBe(400);
      expect(answer.body.error_type).toBe("bad_request");
    }
    const first = collectRun(baseUrl, runRequest("same"));
    await eventually(async () => ((await getHealth(baseUrl)).body as { running: number }).running === 1);
    await expect(collectRun(baseUrl, runRequest("same"))).rejects.toMatchObject({ status: 409 });
    release.open();
    await first;
  });

  it("answers 404 and 405 outside the contract's routes", async () => {
    const { baseUrl } = await start({ name: "routes", run: async () => ({}) });
    expect((await postRaw(baseUrl, "/predict", "{}")).status).toBe(404);
    expect((await postRaw(baseUrl, "/run", "", "GET")).status).toBe(405);
  });

  it("sends heartbeat lines on a quiet stream", async () => {
    const { baseUrl } = await start(
      {
        name: "quiet",
        run: async () => {
          await sleep(200);
          return {};
        },
      },
      { heartbeatMs: 40 },
    );
    const { lines } = await collectRun(baseUrl, runRequest("hb"));
    expect(lines.filter((line) => line.type === "heartbeat").length).toBeGreaterThanOrEqual(2);
  });
});

describe("output files", () => {
  it("creates output_dir and turns files inside it into file:// URLs", async () => {
    const { baseUrl } = await start({
      name: "writer",
      async run(_input, ctx) {
        const file = ctx.outputFile("answer.txt");
        await writeFile(file, "42");
        return { file: { url: ctx.fileUrl(file) } };
      },
    });
    const request = runRequest("files");
    const { final } = await collectRun(baseUrl, request);
    if (final.type !== "result") throw new Error(`run failed: ${JSON.stringify(final)}`);
    const url = (final.output as { file: { url: string } }).file.url;
    expect(url).toBe(`file://${request.output_dir}/answer.txt`);
    expect(await readFile(fileURLToPath(url), "utf8")).toBe("42");
    expect((await stat(request.output_dir)).isDirectory()).toBe(true);
  });

  it("refuses names and paths that would leave output_dir", async () => {
    const attempts: Record<string, string> = {};
    const { baseUrl } = await start({
      name: "escaper",
      async run(_input, ctx) {
        for (const [label, action] of Object.entries({
          parent: () => ctx.outputFile("../evil.txt"),
          nested: () => ctx.outputFile("a/b.txt"),
          outsideUrl: () => ctx.fileUrl("/etc/passwd"),
          dirItself: () => ctx.fileUrl(ctx.outputDir),
        })) {
          try {
            attempts[label] = action();
          } catch (error) {
            attempts[label] = (error as Error).name;
          }
        }
        return {};
      },
    });
    await collectRun(baseUrl, runRequest("escape"));
    expect(attempts).toEqual({
      parent: "RunnerError",
      nested: "RunnerError",
      outsideUrl: "RunnerError",
      dirItself: "RunnerError",
    });
  });
});

describe("cancellation", () => {
  /** A run that loops on checkpoint() until its signal fires, recording the abort reason. */
  function loopingRunner(seen: { reason?: unknown; started: boolean }): RunnerDefinition {
    return {
      name: "looper",
      async run(_input, ctx: RunContext) {
        seen.started = true;
        ctx.signal.addEventListener("abort", () => {
          seen.reason = ctx.signal.reason;
        });
        for (;;) {
          ctx.progress(0.1);
          await sleep(5);
          await ctx.checkpoint();
        }
      },
    };
  }

  it("aborts the run's signal when the agent closes the request", async () => {
    const seen: { reason?: unknown; started: boolean } = { started: false };
    const { baseUrl, diagnostics } = await start(loopingRunner(seen));
    const controller = new AbortController();
    const run = collectRun(baseUrl, runRequest("closed"), {
      signal: controller.signal,
      onLine: () => controller.abort(),
    });
    await expect(run).rejects.toThrow();
    await eventually(() => seen.reason !== undefined);
    expect(seen.reason).toBeInstanceOf(CancelledError);
    expect((seen.reason as CancelledError).message).toBe("cancelled: client closed the request");
    await eventually(async () => ((await getHealth(baseUrl)).body as { running: number }).running === 0);
    expect(diagnostics.some((line) => line.includes("closed aborted (cancelled: client closed the request)"))).toBe(
      true,
    );
  });

  it("cancels by request_id through POST /cancel and ends the stream with a cancelled error", async () => {
    const seen: { reason?: unknown; started: boolean } = { started: false };
    const { baseUrl } = await start(loopingRunner(seen));
    const run = collectRun(baseUrl, runRequest("victim"));
    await eventually(() => seen.started);
    expect(await cancelRun(baseUrl, "victim")).toEqual({ status: 200, body: { cancelled: true } });
    expect((await run).final).toEqual({
      type: "error",
      error: "cancelled: cancel requested",
      error_type: "cancelled",
      retryable: false,
    });
    expect(await cancelRun(baseUrl, "victim")).toEqual({
      status: 404,
      body: { cancelled: false, error: "no such run in progress" },
    });
  });

  it("discards the result of a run that finishes after it was cancelled", async () => {
    const cancelled = gate();
    let started = false;
    const { baseUrl } = await start({
      name: "stubborn",
      async run(_input, ctx) {
        ctx.signal.addEventListener("abort", () => cancelled.open());
        started = true;
        await cancelled.promise; // ignores the signal and returns a result anyway
        return { late: true };
      },
    });
    const run = collectRun(baseUrl, runRequest("late"));
    await eventually(() => started);
    await cancelRun(baseUrl, "late");
    expect((await run).final).toMatchObject({ type: "error", error_type: "cancelled" });
  });
});

describe("shutdown", () => {
  it("refuses new work, stops runs in flight with a retryable runner_shutdown, then tears down", async () => {
    const seen: { started: boolean } = { started: false };
    let tornDown = false;
    const { runner, baseUrl } = await start({
      name: "stopper",
      async run(_input, ctx) {
        seen.started = true;
        for (;;) await ctx.checkpoint();
      },
      teardown: async () => {
        tornDown = true;
      },
    });
    const run = collectRun(baseUrl, runRequest("inflight"));
    await eventually(() => seen.started);
    await runner.shutdown();
    expect((await run).final).toEqual({
      type: "error",
      error: "runner is shutting down",
      error_type: "runner_shutdown",
      retryable: true,
    });
    expect(tornDown).toBe(true);
    await expect(getHealth(baseUrl)).rejects.toThrow(); // the port is closed
  });
});

describe("listenOptionsFromEnv", () => {
  it("reads PORT and the bind host, defaulting to loopback", () => {
    expect(listenOptionsFromEnv({ PORT: "8123" })).toEqual({ port: 8123, host: "127.0.0.1" });
    expect(listenOptionsFromEnv({ PORT: "0", VYVO_RUNNER_HOST: "0.0.0.0" })).toEqual({ port: 0, host: "0.0.0.0" });
    expect(() => listenOptionsFromEnv({})).toThrow(/PORT/);
    expect(() => listenOptionsFromEnv({ PORT: "http" })).toThrow(/PORT/);
  });
});

describe("streamRun", () => {
  it("reports a stream that ends without a final line as incomplete", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end('{"type":"log","level":"info","message":"about to crash"}\n');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const lines: RunnerLine[] = [];
    const failure = await collectRun(`http://127.0.0.1:${port}`, runRequest("crash"), {
      onLine: (line) => lines.push(line),
    }).catch((error: unknown) => error);
    server.close();
    expect((failure as Error).name).toBe("IncompleteResponseError");
    expect(lines).toEqual([{ type: "log", level: "info", message: "about to crash" }]);
  });
});
