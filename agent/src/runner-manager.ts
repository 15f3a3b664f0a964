import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type CrashLoopPolicy, CrashLoopTracker } from "./backoff.js";
import { type BundleCache, BundleError, safeName } from "./bundles.js";
import { containerName, containerRemoveArgv, containerRunArgv } from "./container-command.js";
import { errorMessage, type Logger } from "./log.js";
import { type StopResult, type StopStep, signalGroup, stopProcessGroup } from "./process-group.js";
import type { RunnerSpec, RunnerStateInput } from "./protocol.js";
import { freePort, healthStatus } from "./runner-client.js";

/**
 * Runner processes: one per model version and concurrent attempt. A runner serves one attempt at a time (the
 * contract's default concurrency is 1) and stays resident afterwards, so the next job of the same version skips the
 * cold start. Starting waits for `GET /health` = 200; a runner that exits unexpectedly or never gets healthy counts
 * as a crash of its model version, and a version that keeps crashing is not started again until its back-off ends.
 */

export type RunnerFailureCause =
  | "runner crashed"
  | "health check failed"
  | "runner crash loop"
  | "artifact fetch failed";

/** Why a runner could not be had. `failureCause` is the report's `cause` (R12). */
export class RunnerStartError extends Error {
  override name = "RunnerStartError";

  constructor(
    readonly failureCause: RunnerFailureCause,
    message: string,
    readonly retryable: boolean,
    readonly outputTail: string[] = [],
  ) {
    super(message);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  error?: string;
}

export function describeExit(exit: ExitInfo): string {
  if (exit.error) return exit.error;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

export type RunnerState = "starting" | "idle" | "busy" | "stopping";

const TAIL_LINES = 40;

export class Runner {
  readonly id = randomBytes(4).toString("hex");
  state: RunnerState = "starting";
  runs = 0;
  healthySince: number | undefined;
  lastUsedAt: number;
  exit: ExitInfo | undefined;
  /** Set before the agent stops it on purpose, so its exit is not counted as a crash. */
  expectedExit = false;
  idleTimer: NodeJS.Timeout | undefined;
  readonly exited: Promise<ExitInfo>;
  private readonly tail: string[] = [];

  constructor(
    readonly modelVersionId: string,
    readonly specKey: string,
    readonly port: number,
    readonly child: ChildProcess,
    readonly containerName: string | undefined,
    now: number,
  ) {
    this.lastUsedAt = now;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
      child.once("error", (error) => {
        // spawn failed (ENOENT, EACCES): there will be no "exit"
        if (child.pid === undefined) {
          this.exit ??= { code: null, signal: null, error: `could not start: ${error.message}` };
          resolve(this.exit);
        }
      });
    });
    this.exited.catch(() => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** The last lines the runner wrote to stdout/stderr (for failure reports). */
  outputTail(): string[] {
    return [...this.tail];
  }

  /** Called for every output line while starting: a "listening" line makes the next health check happen now. */
  onOutputLine: ((line: string) => void) | undefined;

  pushOutput(line: string): void {
    this.tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.onOutputLine?.(line);
  }
}

export interface AcquireRequest {
  modelId: string;
  modelVersionId: string;
  spec: RunnerSpec;
  signal?: AbortSignal;
}

export interface RunnerManagerOptions {
  workDir: string;
  log: Logger;
  bundles: BundleCache;
  startupTimeoutMs: number;
  /** An idle runner is stopped after this long; 0 = never. */
  idleTimeoutMs: number;
  maxRunners: number;
  stopGraceMs: number;
  containerEngine: string;
  crashLoop: CrashLoopPolicy;
  /** Where relative `cwd`s of runners without a bundle are resolved. Default: the work folder. */
  runnersDir?: string;
  /** Environment and secrets pushed by the control plane (ConfigureEnvCommand), read at each runner start. */
  extraEnv?: () => Record<string, string>;
  healthPollMs?: number;
  now?: () => number;
}

/** Environment a runner inherits: the agent's, minus its own VYVO_* settings (they include its tokens). */
export function runnerBaseEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !key.startsWith("VYVO_")) out[key] = value;
  }
  return out;
}

/** Two specs start the same runner when their JSON is equal (a resident runner is reused only then). */
export function specKey(spec: RunnerSpec): string {
  if (spec.kind === "process") {
    return JSON.stringify([spec.kind, spec.command, spec.args, spec.cwd ?? null, spec.env, spec.artifactUrl ? 1 : 0]);
  }
  return JSON.stringify([spec.kind, spec.image, spec.args, spec.env, spec.gpus ?? null]);
}

export class RunnerManager {
  private readonly runners = new Set<Runner>();
  private readonly tracker: CrashLoopTracker;
  private readonly now: () => number;
  private starts = 0;

  constructor(private readonly options: RunnerManagerOptions) {
    this.now = options.now ?? Date.now;
    this.tracker = new CrashLoopTracker(options.crashLoop, this.now);
  }

  get outputsDir(): string {
    return path.join(this.options.workDir, "outputs");
  }

  /** How many runner processes were started so far (tests and metrics). */
  get startCount(): number {
    return this.starts;
  }

  list(): Runner[] {
    return [...this.runners];
  }

  /** For heartbeats. */
  states(): RunnerStateInput[] {
    return this.list().map((r) => ({
      modelVersionId: r.modelVersionId,
      state: r.state,
      pid: r.pid ?? null,
      port: r.port,
      runs: r.runs,
    }));
  }

  /** Milliseconds until a runner of this version may start again (crash-loop back-off). */
  backoffFor(modelVersionId: string): number {
    return this.tracker.blockedFor(modelVersionId);
  }

  /**
   * A healthy runner for the job, held exclusively until `release` or `stop`: a resident idle one of the same
   * version and spec, or a new one. Throws RunnerStartError (with its R12 cause) or the signal's abort reason.
   */
  async acquire(req: AcquireRequest): Promise<Runner> {
    const key = specKey(req.spec);
    const log = this.options.log.child({ modelVersionId: req.modelVersionId });
    for (const runner of this.runners) {
      if (runner.modelVersionId !== req.modelVersionId || runner.specKey !== key) continue;
      if (runner.state !== "idle" || !runner.alive) continue;
      runner.state = "busy";
      clearTimeout(runner.idleTimer);
      const status = await healthStatus(runner.port, 2_000);
      if (status === 200 && runner.alive) {
        runner.lastUsedAt = this.now();
        log.debug("reusing resident runner", { runner: runner.id, pid: runner.pid });
        return runner;
      }
      log.warn("resident runner failed its health check: replacing it", { runner: runner.id, status });
      if (runner.alive) {
        this.tracker.recordCrash(req.modelVersionId, runner.healthySince);
        await this.stop(runner, this.options.stopGraceMs);
      }
      break;
    }
    req.signal?.throwIfAborted();
    const blockedMs = this.tracker.blockedFor(req.modelVersionId);
    if (blockedMs > 0) {
      const crashes = this.tracker.consecutive(req.modelVersionId);
      throw new RunnerStartError(
        "runner crash loop",
        `the runner of ${req.modelVersionId} crashed ${crashes} time(s) in a row; next start allowed in ${Math.ceil(blockedMs / 1000)} s`,
        true,
      );
    }
    await this.makeRoom();
    return this.start(req, key);
  }

  /** Gives a runner back after an attempt: resident (idle) if it can serve again, else stopped. */
  release(runner: Runner, reusable: boolean): void {
    if (!this.runners.has(runner) || runner.state === "stopping") return;
    if (!reusable || !runner.alive) {
      void this.stop(runner, this.options.stopGraceMs);
      return;
    }
    runner.state = "idle";
    runner.lastUsedAt = this.now();
    if (this.options.idleTimeoutMs > 0) {
      runner.idleTimer = setTimeout(() => {
        if (runner.state === "idle") {
          this.options.log.info("stopping idle runner", { runner: runner.id, modelVersionId: runner.modelVersionId });
          void this.stop(runner, this.options.stopGraceMs);
        }
      }, this.options.idleTimeoutMs);
      runner.idleTimer.unref();
    }
  }

  /**
   * SIGTERM the runner's process group, wait `graceMs`, SIGKILL if needed, and verify it is gone (R13). Containers
   * are also removed with `<engine> rm -f`, since killing the engine's client leaves the container running.
   */
  async stop(runner: Runner, graceMs: number, onStep?: (step: StopStep) => void): Promise<StopResult> {
    runner.expectedExit = true;
    runner.state = "stopping";
    clearTimeout(runner.idleTimer);
    let result: StopResult = { killed: false, gone: true };
    if (runner.pid !== undefined) {
      result = await stopProcessGroup(runner.pid, { graceMs, isGone: () => !runner.alive, onStep });
      if (!result.gone) {
        this.options.log.error("runner process group survived SIGKILL", { runner: runner.id, pid: runner.pid });
      }
    }
    if (runner.containerName) await this.removeContainer(runner.containerName);
    this.runners.delete(runner);
    return result;
  }

  /**
   * Stops idle runners (of one model version, or all): after the runner environment changed, or to remove a
   * version. Busy ones go on with their attempt.
   */
  async stopIdle(modelVersionId?: string): Promise<number> {
    const idle = this.list().filter(
      (r) => r.state === "idle" && (!modelVersionId || r.modelVersionId === modelVersionId),
    );
    await Promise.all(idle.map((runner) => this.stop(runner, this.options.stopGraceMs)));
    return idle.length;
  }

  /** Stops every runner (shutdown). */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all(this.list().map((runner) => this.stop(runner, graceMs)));
  }

  /** Last resort on process exit: SIGKILL every runner group synchronously. */
  killAllNow(): void {
    for (const runner of this.runners) {
      runner.expectedExit = true;
      if (runner.pid !== undefined && runner.alive) {
        try {
          signalGroup(runner.pid, "SIGKILL");
        } catch {
          // nothing more to do on the way out
        }
      }
    }
  }

  private async makeRoom(): Promise<void> {
    while (this.runners.size >= this.options.maxRunners) {
      const idle = this.list()
        .filter((r) => r.state === "idle")
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!idle) return;
      this.options.log.info("stopping least recently used runner to make room", {
        runner: idle.id,
        modelVersionId: idle.modelVersionId,
      });
      await this.stop(idle, this.options.stopGraceMs);
    }
  }

  private async start(req: AcquireRequest, key: string): Promise<Runner> {
    const { spec, modelId, modelVersionId } = req;
    const log = this.options.log.child({ modelVersionId });
    const port = await freePort();
    const dataDir = path.join(this.options.workDir, "models", safeName(modelId));
    await mkdir(dataDir, { recursive: true });
    await mkdir(this.outputsDir, { recursive: true });
    const vyvoEnv: Record<string, string> = {
      PORT: String(port),
      VYVO_MODEL_ID: modelId,
      VYVO_MODEL_VERSION_ID: modelVersionId,
      VYVO_WORK_DIR: dataDir,
    };

    let command: string;
    let args: string[];
    let cwd: string;
    let env: Record<string, string>;
    let name: string | undefined;
    if (spec.kind === "process") {
      let base = this.options.runnersDir ?? this.options.workDir;
      if (spec.artifactUrl) {
        try {
          base = await this.options.bundles.ensure(modelVersionId, spec.artifactUrl, req.signal);
        } catch (error) {
          req.signal?.throwIfAborted();
          const message = error instanceof BundleError ? error.message : errorMessage(error);
          throw new RunnerStartError("artifact fetch failed", message, true);
        }
      }
      command = spec.command;
      args = spec.args;
      cwd = spec.cwd ? path.resolve(base, spec.cwd) : base;
      env = { ...runnerBaseEnv(), ...this.options.extraEnv?.(), ...spec.env, ...vyvoEnv };
    } else {
      const extra = this.options.extraEnv?.() ?? {};
      name = containerName(modelVersionId, port);
      // Inside the container the runner must listen on all interfaces for the published port to reach it.
      const argv = containerRunArgv({
        engine: this.options.containerEngine,
        name,
        port,
        spec,
        env: { ...vyvoEnv, VYVO_RUNNER_HOST: "0.0.0.0" },
        mounts: [this.outputsDir, dataDir],
        inherit: Object.keys(extra),
      });
      command = argv[0] ?? this.options.containerEngine;
      args = argv.slice(1);
      cwd = this.options.workDir;
      env = { ...runnerBaseEnv(), ...extra };
    }
    req.signal?.throwIfAborted();

    const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.starts++;
    const runner = new Runner(modelVersionId, key, port, child, name, this.now());
    this.runners.add(runner);
    this.captureOutput(runner, log);
    log.info("runner starting", { runner: runner.id, pid: child.pid, port, kind: spec.kind });
    runner.exited.then((exit) => this.onExit(runner, exit, log));

    try {
      await this.waitHealthy(runner, req.signal);
    } catch (error) {
      if (req.signal?.aborted) {
        await this.stop(runner, Math.min(this.options.stopGraceMs, 2_000));
        throw req.signal.reason;
      }
      if (error instanceof RunnerStartError && error.failureCause === "health check failed") {
        this.tracker.recordCrash(modelVersionId, undefined);
        await this.stop(runner, Math.min(this.options.stopGraceMs, 2_000));
        throw new RunnerStartError(error.failureCause, error.message, true, runner.outputTail());
      }
      throw error;
    }
    runner.healthySince = this.now();
    runner.state = "busy";
    log.info("runner healthy", { runner: runner.id, pid: child.pid, port });
    return runner;
  }

  private async waitHealthy(runner: Runner, signal: AbortSignal | undefined): Promise<void> {
    const deadline = this.now() + this.options.startupTimeoutMs;
    let interval = this.options.healthPollMs ?? 25;
    let wake: (() => void) | undefined;
    runner.onOutputLine = (line) => {
      if (/listening/i.test(line)) wake?.();
    };
    try {
      for (;;) {
        signal?.throwIfAborted();
        if (!runner.alive) {
          const exit = await runner.exited;
          throw new RunnerStartError(
            "runner crashed",
            `runner exited before it was healthy (${describeExit(exit)})`,
            true,
            runner.outputTail(),
          );
        }
        const left = deadline - this.now();
        if (left <= 0) {
          throw new RunnerStartError(
            "health check failed",
            `runner was not healthy within ${this.options.startupTimeoutMs} ms`,
            true,
          );
        }
        const status = await healthStatus(runner.port, Math.min(2_000, Math.max(100, left)));
        if (status === 200) return;
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        await Promise.race([
          sleep(Math.min(interval, Math.max(1, left)), undefined, { signal }).catch(() => {}),
          runner.exited,
          woken,
        ]);
        interval = Math.min(500, Math.ceil(interval * 1.5));
      }
    } finally {
      runner.onOutputLine = undefined;
    }
  }

  private onExit(runner: Runner, exit: ExitInfo, log: Logger): void {
    clearTimeout(runner.idleTimer);
    if (runner.expectedExit) {
      log.debug("runner stopped", { runner: runner.id, exit: describeExit(exit) });
    } else {
      const { consecutive, delayMs } = this.tracker.recordCrash(runner.modelVersionId, runner.healthySince);
      log.warn("runner exited unexpectedly", {
        runner: runner.id,
        exit: describeExit(exit),
        crashesInARow: consecutive,
        backoffMs: delayMs,
        lastOutput: runner.outputTail().slice(-5).join(" | "),
      });
      // Whatever it left behind in its group goes too.
      if (runner.pid !== undefined) {
        try {
          signalGroup(runner.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      if (runner.containerName) void this.removeContainer(runner.containerName);
    }
    this.runners.delete(runner);
  }

  private captureOutput(runner: Runner, log: Logger): void {
    for (const [stream, name] of [
      [runner.child.stdout, "stdout"],
      [runner.child.stderr, "stderr"],
    ] as const) {
      if (!stream) continue;
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        if (partial.length > 8192) {
          lines.push(partial);
          partial = "";
        }
        for (const line of lines) {
          runner.pushOutput(line);
          log.debug(`runner ${name}`, { runner: runner.id, line });
        }
      });
      stream.on("end", () => {
        if (partial) runner.pushOutput(partial);
      });
    }
  }

  private removeContainer(name: string): Promise<void> {
    const [command, ...args] = containerRemoveArgv(this.options.containerEngine, name);
    return new Promise((resolve) => {
      execFile(command ?? this.options.containerEngine, args, { timeout: 30_000 }, () => resolve());
    });
  }
}
