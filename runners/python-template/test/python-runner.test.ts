// The Python template driven like the TypeScript runners: a child process on PORT=0, the same
// client, the same contract.
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelRun, collectRun, getHealth, RunnerHttpError, streamRun } from "../../sdk/src/client.js";
import type { FinalLine, RunnerLine, RunRequest } from "../../sdk/src/protocol.js";
import { type RunnerProcess, spawnRunner } from "../../sdk/src/runner-process.js";

const TEMPLATE_DIR = fileURLToPath(new URL("../", import.meta.url));
const PYTHON = process.env.PYTHON ?? "python3";

/** Keeps the tests from leaving __pycache__ folders in the work tree. */
const PYTHON_ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };

function startPythonRunner(): Promise<RunnerProcess> {
  return spawnRunner({
    command: PYTHON,
    args: [path.join(TEMPLATE_DIR, "main.py")],
    cwd: TEMPLATE_DIR,
    env: PYTHON_ENV,
  });
}

let runner: RunnerProcess;
let outputRoot = "";
let count = 0;

function request(input: Record<string, unknown>): RunRequest {
  count++;
  return { request_id: `py-${count}`, input, route: "/text", output_dir: path.join(outputRoot, `py-${count}`) };
}

async function runnerIsIdle(): Promise<boolean> {
  const health = await getHealth(runner.baseUrl);
  return health.status === 200 && (health.body as { running: number }).running === 0;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Starts a run that would wait a minute, and returns once its first line has arrived. */
async function startSlowRun(signal?: AbortSignal) {
  const body = request({ text: "slow", delay_ms: 60_000 });
  const stream = streamRun(runner.baseUrl, body, { signal });
  const first = await stream.next();
  expect(first.value).toEqual({ type: "log", level: "info", message: "received 4 characters to upper" });
  return { body, stream };
}

async function finalOf(
  stream: AsyncGenerator<RunnerLine, FinalLine>,
  timeoutMs: number,
): Promise<FinalLine | "timed out"> {
  const drain = (async () => {
    for (;;) {
      const next = await stream.next();
      if (next.done) return next.value;
    }
  })();
  return Promise.race([drain, sleep(timeoutMs).then(() => "timed out" as const)]);
}

beforeAll(async () => {
  outputRoot = await mkdtemp(path.join(tmpdir(), "vyvo-python-"));
  runner = await startPythonRunner();
});

afterAll(async () => {
  const ended = await runner?.stop();
  await rm(outputRoot, { recursive: true, force: true });
  expect(ended).toEqual({ code: 0, signal: null });
});

describe("the Python template", () => {
  it("announces its port and reports healthy", async () => {
    expect(runner.output()).toMatch(/^vyvo-runner listening on 127\.0\.0\.1:\d+$/m);
    expect(await getHealth(runner.baseUrl)).toEqual({
      status: 200,
      body: { status: "ok", max_concurrency: 1, running: 0 },
    });
  });

  it("streams logs and progress, then a result whose file:// URL is inside output_dir", async () => {
    const body = request({ text: "héllo wörld", transform: "title", delay_ms: 100 });
    const { lines, final } = await collectRun(runner.baseUrl, body);
    if (final.type !== "result") throw new Error(`run failed: ${JSON.stringify(final)}`);
    const output = final.output as { text: string; file: { url: string; file_size: number } };
    expect(output.text).toBe("Héllo Wörld");
    const filePath = fileURLToPath(output.file.url);
    expect(path.dirname(filePath)).toBe(body.output_dir);
    expect(await readFile(filePath, "utf8")).toBe("Héllo Wörld");
    expect(output.file.file_size).toBe(Buffer.byteLength("Héllo Wörld"));
    const progress = lines.flatMap((line) => (line.type === "progress" ? [line.progress] : []));
    expect(progress).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });

  it("fails invalid input with a validation_error and a detail array", async () => {
    const { lines, final } = await collectRun(runner.baseUrl, request({ transform: "shout", delay_ms: -1 }));
    expect(lines).toEqual([final]);
    expect(final).toEqual({
      type: "error",
      error:
        "body.text: Field required; body.transform: Input should be 'upper', 'lower', 'reverse', 'title'; body.delay_ms: Input should be an integer from 0 to 60000",
      error_type: "validation_error",
      retryable: false,
      detail: [
        { loc: ["body", "text"], msg: "Field required", type: "missing" },
        {
          loc: ["body", "transform"],
          msg: "Input should be 'upper', 'lower', 'reverse', 'title'",
          type: "literal_error",
        },
        { loc: ["body", "delay_ms"], msg: "Input should be an integer from 0 to 60000", type: "int_range" },
      ],
    });
  });

  it("refuses a malformed envelope with 400", async () => {
    const response = await fetch(`${runner.baseUrl}/run`, {
      method: "POST",
      body: JSON.stringify({ request_id: "x", input: {} }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "output_dir must be an absolute path", error_type: "bad_request" });
  });

  it("stops a run when the request is closed", async () => {
    const controller = new AbortController();
    const { body } = await startSlowRun(controller.signal);
    expect(await runnerIsIdle()).toBe(false);
    controller.abort();
    // stderr arrives through a pipe, so wait for the line rather than expect it the moment the slot is free.
    const aborted = `run ${body.request_id} aborted (cancelled: client closed the request)`;
    await waitUntil(async () => runner.output().includes(aborted), 3_000);
    expect(await runnerIsIdle()).toBe(true);
  });

  it("answers 429 while busy and stops the run on POST /cancel", async () => {
    const { body, stream } = await startSlowRun();
    const refused = await collectRun(runner.baseUrl, request({ text: "second" })).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RunnerHttpError);
    expect((refused as RunnerHttpError).status).toBe(429);
    expect(await cancelRun(runner.baseUrl, body.request_id)).toEqual({ status: 200, body: { cancelled: true } });
    expect(await finalOf(stream, 3_000)).toEqual({
      type: "error",
      error: "cancelled: cancel requested",
      error_type: "cancelled",
      retryable: false,
    });
    expect(await cancelRun(runner.baseUrl, body.request_id)).toMatchObject({ status: 404 });
  });

  it("keeps output_file and file_url inside output_dir", () => {
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(TEMPLATE_DIR)})
from vyvo_runner import RunContext, RunnerError
ctx = RunContext("r", None, "/tmp/out", lambda line: None)
results = {"url": ctx.file_url(ctx.output_file("a.png"))}
for label, action in {"parent": lambda: ctx.output_file("../a"), "nested": lambda: ctx.output_file("x/a"),
                      "outside": lambda: ctx.file_url("/etc/passwd"), "sibling": lambda: ctx.file_url("/tmp/out2/a")}.items():
    try:
        results[label] = action()
    except RunnerError:
        results[label] = "refused"
print(json.dumps(results))`;
    const result = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", env: PYTHON_ENV });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      url: "file:///tmp/out/a.png",
      parent: "refused",
      nested: "refused",
      outside: "refused",
      sibling: "refused",
    });
  });
});

describe("the Python template on SIGTERM", () => {
  it("ends the run in flight with a retryable runner_shutdown and exits 0", async () => {
    const other = await startPythonRunner();
    try {
      const stream = streamRun(other.baseUrl, request({ text: "slow", delay_ms: 60_000 }));
      await stream.next();
      const ended = other.stop(5_000);
      expect(await finalOf(stream, 5_000)).toEqual({
        type: "error",
        error: "runner is shutting down",
        error_type: "runner_shutdown",
        retryable: true,
      });
      expect(await ended).toEqual({ code: 0, signal: null });
    } finally {
      other.child.kill("SIGKILL");
    }
  });
});
