import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BundleCache, safeName } from "../src/bundles.js";
import { silentLogger } from "../src/log.js";
import { groupAlive } from "../src/process-group.js";
import type { RunnerSpec } from "../src/protocol.js";
import { healthStatus } from "../src/runner-client.js";
import { RunnerManager, type RunnerManagerOptions, RunnerStartError } from "../src/runner-manager.js";
import { tinyRunner } from "./helpers/runners.js";

let workDir: string;
let managers: RunnerManager[] = [];

function manager(overrides: Partial<RunnerManagerOptions> = {}): RunnerManager {
  const m = new RunnerManager({
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
    stopGraceMs: 1_000,
    containerEngine: "docker",
    crashLoop: { baseMs: 300, maxMs: 2_000, stableAfterMs: 60_000 },
    ...overrides,
  });
  managers.push(m);
  return m;
}

const job = (spec: RunnerSpec, modelVersionId = "mv-1") => ({ modelId: "acme/tiny", modelVersionId, spec });

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-runners-"));
});

afterEach(async () => {
  for (const m of managers) await m.stopAll(200);
  managers = [];
  await rm(workDir, { recursive: true, force: true });
});

describe("runner manager (real processes)", () => {
  it("starts a runner, waits for /health, and reuses it: one start, two runs", async () => {
    const m = manager();
    const startsFile = path.join(workDir, "starts.txt");
    const spec = tinyRunner("--start-delay=300", `--starts-file=${startsFile}`);
    const first = await m.acquire(job(spec));
    expect(await healthStatus(first.port, 1000)).toBe(200);
    expect(m.states()).toEqual([{ modelVersionId: "mv-1", state: "busy", pid: first.pid, port: first.port, runs: 0 }]);
    m.release(first, true);
    const second = await m.acquire(job(spec));
    expect(second).toBe(first);
    m.release(second, true);
    expect(m.startCount).toBe(1);
    expect((await readFile(startsFile, "utf8")).trim().split("\n")).toHaveLength(1);
  });

  it("gives the runner its env: PORT, VYVO_MODEL_ID, VYVO_MODEL_VERSION_ID, VYVO_WORK_DIR, runner.env, no agent secrets", async () => {
    process.env.VYVO_NODE_TOKEN = "must-not-leak";
    try {
      const m = manager();
      const spec: RunnerSpec = { ...tinyRunner(), env: { EXTRA: "yes" } } as RunnerSpec;
      const runner = await m.acquire(job(spec));
      const res = await fetch(`http://127.0.0.1:${runner.port}/run`, {
        method: "POST",
        body: JSON.stringify({ request_id: "r", input: {}, route: null, output_dir: workDir }),
      });
      const result = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .at(-1);
      expect(result.output.env).toEqual({
        PORT: String(runner.port),
        VYVO_MODEL_ID: "acme/tiny",
        VYVO_MODEL_VERSION_ID: "mv-1",
        VYVO_WORK_DIR: path.join(workDir, "models", safeName("acme/tiny")),
        EXTRA: "yes",
      });
    } finally {
      delete process.env.VYVO_NODE_TOKEN;
    }
  });

  it("starts a second runner when the resident one is busy", async () => {
    const m = manager();
    const a = await m.acquire(job(tinyRunner()));
    const b = await m.acquire(job(tinyRunner()));
    expect(a.pid).not.toBe(b.pid);
    expect(m.startCount).toBe(2);
  });

  it("a runner that exits on start fails with cause 'runner crashed' and its output", async () => {
    const m = manager();
    const error = await m.acquire(job(tinyRunner("--crash-on-start"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunnerStartError);
    expect(error).toMatchObject({ failureCause: "runner crashed", retryable: true });
    expect((error as Error).message).toContain("exit code 3");
    expect((error as RunnerStartError).outputTail.join("\n")).toContain("crashing on start");
  });

  it("a runner that never gets healthy fails with 'health check failed' and is killed", async () => {
    const m = manager({ startupTimeoutMs: 600 });
    const error = await m.acquire(job(tinyRunner("--never-healthy"))).catch((e: unknown) => e);
    expect(error).toMatchObject({ failureCause: "health check failed", retryable: true });
    expect(m.list()).toHaveLength(0);
  });

  it("crash loop: fails fast while backing off, then tries again with a doubled delay", async () => {
    const m = manager();
    const spec = tinyRunner("--crash-on-start");
    await expect(m.acquire(job(spec))).rejects.toMatchObject({ failureCause: "runner crashed" });
    const started = m.startCount;
    const fast = Date.now();
    await expect(m.acquire(job(spec))).rejects.toMatchObject({ failureCause: "runner crash loop", retryable: true });
    expect(Date.now() - fast).toBeLessThan(100);
    expect(m.startCount).toBe(started);
    // another model version is not affected
    const other = await m.acquire(job(tinyRunner(), "mv-2"));
    expect(other.alive).toBe(true);
    await new Promise((r) => setTimeout(r, 320));
    await expect(m.acquire(job(spec))).rejects.toMatchObject({ failureCause: "runner crashed" });
    expect(m.startCount).toBe(started + 2);
    const backoff = m.backoffFor("mv-1");
    expect(backoff).toBeGreaterThan(300);
    expect(backoff).toBeLessThanOrEqual(600);
  });

  it("an idle runner that dies is not reused and counts as a crash", async () => {
    const m = manager();
    const runner = await m.acquire(job(tinyRunner()));
    m.release(runner, true);
    process.kill(runner.pid!, "SIGKILL");
    await runner.exited;
    expect(m.list()).toHaveLength(0);
    await expect(m.acquire(job(tinyRunner()))).rejects.toMatchObject({ failureCause: "runner crash loop" });
  });

  it("R13: stop sends SIGTERM and the runner exits within the grace", async () => {
    const m = manager();
    const runner = await m.acquire(job(tinyRunner()));
    const steps: string[] = [];
    const result = await m.stop(runner, 2_000, (s) => steps.push(s));
    expect(steps).toEqual(["sigterm"]);
    expect(result).toEqual({ killed: false, gone: true });
    expect(groupAlive(runner.pid!)).toBe(false);
  });

  it("R13: a runner that ignores SIGTERM gets SIGKILL after the grace, with its whole process group", async () => {
    const m = manager();
    const runner = await m.acquire(job(tinyRunner("--ignore-sigterm", "--spawn-child")));
    await new Promise((r) => setTimeout(r, 200)); // let the grandchild start
    expect(groupAlive(runner.pid!)).toBe(true);
    const steps: string[] = [];
    const began = Date.now();
    const result = await m.stop(runner, 300, (s) => steps.push(s));
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(steps).toEqual(["sigterm", "sigkill"]);
    expect(result).toEqual({ killed: true, gone: true });
    expect(groupAlive(runner.pid!)).toBe(false);
    expect(runner.exit?.signal).toBe("SIGKILL");
  });

  it("stops the least recently used idle runner to stay within maxRunners", async () => {
    const m = manager({ maxRunners: 1 });
    const a = await m.acquire(job(tinyRunner(), "mv-a"));
    m.release(a, true);
    const b = await m.acquire(job(tinyRunner(), "mv-b"));
    expect(a.alive).toBe(false);
    expect(m.list()).toEqual([b]);
  });

  it("stops idle runners after the idle timeout", async () => {
    const m = manager({ idleTimeoutMs: 150 });
    const runner = await m.acquire(job(tinyRunner()));
    m.release(runner, true);
    await runner.exited;
    expect(runner.expectedExit).toBe(true);
    expect(m.list()).toHaveLength(0);
  });

  it("a command that does not exist fails to start as a crash", async () => {
    const m = manager();
    const spec: RunnerSpec = {
      kind: "process",
      command: "/nonexistent/runner",
      args: [],
      env: {},
      cwd: null,
      artifactUrl: null,
    };
    const error = await m.acquire(job(spec)).catch((e: unknown) => e);
    expect(error).toMatchObject({ failureCause: "runner crashed" });
    expect((error as Error).message).toContain("ENOENT");
  });
});
