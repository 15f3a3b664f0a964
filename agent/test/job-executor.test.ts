import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArtifactUploader } from "../src/artifacts.js";
import { BundleCache } from "../src/bundles.js";
import { JobExecution, runnerFailure } from "../src/job-executor.js";
import { silentLogger } from "../src/log.js";
import { groupAlive } from "../src/process-group.js";
import type { AgentReportInput, RunJobCommand } from "../src/protocol.js";
import { Reporter } from "../src/reporter.js";
import { RunnerManager } from "../src/runner-manager.js";
import { tinyRunner } from "./helpers/runners.js";

let workDir: string;
let runners: RunnerManager;
let reporter: Reporter;
let sent: AgentReportInput[];
let uploads: string[];

function command(input: Record<string, unknown>, overrides: Partial<RunJobCommand> = {}): RunJobCommand {
  const n = Math.random().toString(36).slice(2, 8);
  return {
    __typename: "RunJobCommand",
    commandId: `cmd-${n}`,
    jobId: `job-${n}`,
    attemptId: `att-${n}`,
    modelId: "acme/tiny",
    modelVersionId: "mv-1",
    route: "/fast",
    input,
    runner: tinyRunner(),
    timeoutMs: null,
    leaseExpiresAt: null,
    ...overrides,
  };
}

function execution(cmd: RunJobCommand): JobExecution {
  const uploader = new ArtifactUploader({
    serverUrl: "https://vyvo.example.com",
    authToken: () => undefined,
    request: async <T>(_q: string, variables: Record<string, unknown>) => {
      const input = variables.input as { fileName: string };
      uploads.push(input.fileName);
      return {
        agentArtifactUpload: {
          artifactId: "a1",
          uploadUrl: "https://s3.example.com/put",
          url: `https://cdn.example.com/${input.fileName}`,
        },
      } as T;
    },
    put: async () => {},
  });
  return new JobExecution(cmd, { runners, reporter, uploader, log: silentLogger, stopGraceMs: 500 });
}

/** Everything reported about one attempt, flattened. */
async function reported(attemptId: string) {
  await reporter.flush();
  const pick = <K extends keyof AgentReportInput>(key: K) =>
    sent.flatMap((s) => (s[key] ?? []) as { attemptId: string }[]).filter((i) => i.attemptId === attemptId);
  return {
    started: pick("started"),
    logs: pick("logs") as unknown as { seq: number; level: string; message: string }[],
    progress: pick("progress") as unknown as { progress: number }[],
    completed: pick("completed") as unknown as { output: Record<string, unknown> }[],
    failed: pick("failed") as unknown as { error: string; errorType: string; cause: string; retryable: boolean }[],
  };
}

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-exec-"));
  sent = [];
  uploads = [];
  runners = new RunnerManager({
    workDir,
    log: silentLogger,
    bundles: new BundleCache({
      dir: path.join(workDir, "bundles"),
      serverUrl: "http://127.0.0.1:1",
      authToken: () => undefined,
      log: silentLogger,
    }),
    startupTimeoutMs: 5_000,
    idleTimeoutMs: 0,
    maxRunners: 4,
    stopGraceMs: 500,
    containerEngine: "docker",
    crashLoop: { baseMs: 5_000, maxMs: 10_000, stableAfterMs: 60_000 },
  });
  reporter = new Reporter({
    log: silentLogger,
    flushIntervalMs: 10_000,
    transport: {
      ready: () => true,
      send: async (input) => {
        sent.push(JSON.parse(JSON.stringify(input)));
        return { agentReport: { accepted: 1, rejected: [] } };
      },
    },
  });
});

afterEach(async () => {
  reporter.stop();
  await runners.stopAll(200);
  await rm(workDir, { recursive: true, force: true });
});

describe("job execution (real runner)", () => {
  it("RunJob → started → logs and progress → completed, and the runner stays resident", async () => {
    const cmd = command({ mode: "slow", steps: 3, delayMs: 10 });
    await (await execution(cmd).run()).delivered;
    const r = await reported(cmd.attemptId);
    expect(r.started).toHaveLength(1);
    expect(r.logs.map((l) => l.seq)).toEqual([0, 1, 2, 3]);
    expect(r.logs[1]?.message).toBe("step 1/3");
    expect(r.progress.at(-1)?.progress).toBe(1);
    expect(r.completed).toHaveLength(1);
    expect(r.completed[0]?.output).toMatchObject({ steps: 3 });
    expect(r.failed).toHaveLength(0);
    expect(runners.states()).toMatchObject([{ state: "idle", runs: 1 }]);
  });

  it("sends request_id, input, route and a fresh output_dir, then cleans the folder", async () => {
    const cmd = command({ mode: "echo", prompt: "a cat" });
    const exec = execution(cmd);
    await (await exec.run()).delivered;
    const r = await reported(cmd.attemptId);
    expect(r.completed[0]?.output).toMatchObject({ echo: { mode: "echo", prompt: "a cat" }, route: "/fast" });
    expect(r.logs[0]?.message).toContain(`run ${cmd.attemptId} (echo)`);
  });

  it("R15: uploads result files and reports their URLs", async () => {
    const cmd = command({ mode: "file" });
    await (await execution(cmd).run()).delivered;
    const r = await reported(cmd.attemptId);
    expect(uploads).toEqual(["out.png"]);
    expect(r.completed[0]?.output).toEqual({
      image: { url: "https://cdn.example.com/out.png", content_type: "image/png" },
      again: "https://cdn.example.com/out.png",
      outside: "file:///etc/hostname",
      text: "file:// is just text here",
    });
  });

  it("R12: a runner error event fails the attempt with the runner's retryability", async () => {
    const cmd = command({ mode: "error" });
    await (await execution(cmd).run()).delivered;
    expect((await reported(cmd.attemptId)).failed).toEqual([
      {
        jobId: cmd.jobId,
        attemptId: cmd.attemptId,
        error: "the model broke",
        errorType: "runner_error",
        cause: "runner error",
        retryable: true,
      },
    ]);
    expect(runners.states()).toMatchObject([{ state: "idle" }]);
  });

  it("R12: a validation_error is never retryable, whatever the runner says", async () => {
    const cmd = command({ mode: "validation_error" });
    await (await execution(cmd).run()).delivered;
    const r = await reported(cmd.attemptId);
    expect(r.failed[0]).toMatchObject({ errorType: "validation_error", cause: "invalid input", retryable: false });
    expect(r.logs.at(-1)?.message).toContain('"loc":["body","prompt"]');
    expect(runnerFailure({ error: "x", error_type: "oom", retryable: true })).toMatchObject({
      cause: "oom",
      retryable: true,
    });
  });

  it("R12: a runner that crashes mid-run fails the attempt with cause 'runner crashed', retryable", async () => {
    const cmd = command({ mode: "crash" });
    await (await execution(cmd).run()).delivered;
    const r = await reported(cmd.attemptId);
    expect(r.started).toHaveLength(1);
    expect(r.failed[0]).toMatchObject({ cause: "runner crashed", errorType: "runner_crashed", retryable: true });
    expect(r.failed[0]?.error).toContain("exit code 7");
    expect(r.logs.map((l) => l.message)).toContain("tiny-runner: segfault (pretend)");
    expect(runners.list()).toHaveLength(0);
  });

  it("a runner that never starts fails the attempt before 'started'; the next one fails fast (crash loop)", async () => {
    const spec = tinyRunner("--crash-on-start");
    const first = command({}, { runner: spec });
    await (await execution(first).run()).delivered;
    const r1 = await reported(first.attemptId);
    expect(r1.started).toHaveLength(0);
    expect(r1.failed[0]).toMatchObject({ cause: "runner crashed", retryable: true });
    const second = command({}, { runner: spec });
    await (await execution(second).run()).delivered;
    expect((await reported(second.attemptId)).failed[0]).toMatchObject({ cause: "runner crash loop", retryable: true });
  });

  it("times out, kills the runner, and fails with cause 'timeout'", async () => {
    const cmd = command({ mode: "hang" }, { timeoutMs: 300 });
    await (await execution(cmd).run()).delivered;
    expect((await reported(cmd.attemptId)).failed[0]).toMatchObject({
      cause: "timeout",
      errorType: "timeout",
      retryable: false,
    });
    expect(runners.list()).toHaveLength(0);
  });

  it("R13: cancel aborts the request, SIGTERMs, then SIGKILLs a runner that ignores it, and reports nothing itself", async () => {
    const cmd = command({ mode: "hang" }, { runner: tinyRunner("--ignore-sigterm") });
    const exec = execution(cmd);
    const running = exec.run();
    const deadline = Date.now() + 5_000;
    while ((await reported(cmd.attemptId)).logs.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const pid = exec.runnerPid!;
    const steps: string[] = [];
    exec.stop({ kind: "cancel", graceMs: 300, onStep: (s) => steps.push(s) });
    const result = await running;
    expect(result.delivered).toBeUndefined();
    expect(steps).toEqual(["sigterm", "sigkill"]);
    expect(groupAlive(pid)).toBe(false);
    const r = await reported(cmd.attemptId);
    expect(r.completed).toHaveLength(0);
    expect(r.failed).toHaveLength(0);
  });

  it("skips lines that are not JSON or of unknown type", async () => {
    const cmd = command({ mode: "garbage" });
    await (await execution(cmd).run()).delivered;
    expect((await reported(cmd.attemptId)).completed[0]?.output).toEqual({ ok: true });
  });

  it("refuses a runner spec it cannot read, not retryable", async () => {
    const cmd = command({}, { runner: { kind: "vm", image: "x" } });
    await (await execution(cmd).run()).delivered;
    expect((await reported(cmd.attemptId)).failed[0]).toMatchObject({ cause: "invalid runner spec", retryable: false });
  });
});
