import os from "node:os";
import path from "node:path";
import { ArtifactUploader } from "./artifacts.js";
import { BundleCache } from "./bundles.js";
import type { AgentConfig } from "./config.js";
import { graphqlWsUrl } from "./config.js";
import { Connection, TransportError } from "./connection.js";
import { resolveCredentials } from "./enrollment.js";
import type { GpuInfo } from "./gpu.js";
import { GpuProbe } from "./gpu-probe.js";
import { JobExecution } from "./job-executor.js";
import { errorMessage, type Logger } from "./log.js";
import { NodeCommandHandler } from "./node-commands.js";
import {
  type AgentReportResult,
  type AttemptRef,
  type CancelJobCommand,
  COMMANDS_SUBSCRIPTION,
  type CommandsVariables,
  HEARTBEAT_MUTATION,
  type HeartbeatInput,
  type HeartbeatResult,
  type HelloCommand,
  parseCommand,
  REPORT_MUTATION,
  type RunJobCommand,
} from "./protocol.js";
import { Reporter } from "./reporter.js";
import { RunnerEnvStore } from "./runner-env.js";
import { RunnerManager } from "./runner-manager.js";
import { runningBundlePath } from "./upgrade.js";
import { AGENT_VERSION } from "./version.js";

/**
 * The agent: enrolls (or reuses its token), holds the connection, turns commands into job executions, heartbeats,
 * drains and shuts down. Everything it talks to is built here from the config; tests may swap the outside world
 * (WebSocket class, fetch, GPU probe) through `AgentDeps`.
 */

export interface AgentDeps {
  log: Logger;
  fetchFn?: typeof fetch;
  webSocketImpl?: unknown;
  gpuProbe?: { probe(): Promise<GpuInfo[]> };
  random?: () => number;
  hostname?: string;
  /** Base for relative `cwd`s of process runners without a bundle. */
  runnersDir?: string;
  /** The bundle an UpgradeAgentCommand replaces (default: the one this process runs from, if any). */
  bundlePath?: string | null;
}

type StopKind =
  | { kind: "cancel"; command: CancelJobCommand; silent: boolean }
  | { kind: "lost" }
  | { kind: "shutdown" };

interface AttemptEntry {
  ref: AttemptRef;
  execution: JobExecution | undefined;
  /** running: the execution works; reporting: its final report waits for the server. */
  phase: "running" | "reporting";
  stop: StopKind | undefined;
}

export interface AgentSnapshot {
  nodeId: string | undefined;
  connected: boolean;
  ready: boolean;
  draining: boolean;
  running: AttemptRef[];
  intervals: { heartbeatIntervalMs: number; leaseTtlMs: number; logFlushIntervalMs: number };
  runnerStarts: number;
  pendingReports: number;
}

/** Remembers the last `max` finished attempt ids, so a repeated RunJob never runs an attempt twice. */
class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max: number) {}

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.max) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}

export class Agent {
  private readonly log: Logger;
  private readonly attempts = new Map<string, AttemptEntry>();
  private readonly recent = new RecentIds(5_000);
  private readonly runners: RunnerManager;
  private readonly reporter: Reporter;
  private readonly uploader: ArtifactUploader;
  private readonly gpuProbe: { probe(): Promise<GpuInfo[]> };
  private readonly runnerEnv: RunnerEnvStore;
  private readonly nodeCommands: NodeCommandHandler;
  private restartAsked = false;
  private connection: Connection | undefined;
  private nodeToken: string | undefined;
  private nodeId: string | undefined;
  private ready = false;
  private draining = false;
  private intervals: AgentSnapshot["intervals"];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatRunning = false;
  private idleWaiters: (() => void)[] = [];
  private readyWaiters: (() => void)[] = [];
  private shutdownPromise: Promise<void> | undefined;
  private closed = false;
  private finish!: (error: Error | undefined) => void;
  /** Resolves when the agent has stopped: with the error that stopped it (4403), or undefined after shutdown. */
  readonly finished: Promise<Error | undefined>;

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.log;
    this.finished = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.intervals = {
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      leaseTtlMs: config.heartbeatIntervalMs * 3,
      logFlushIntervalMs: config.logFlushIntervalMs,
    };
    this.runnerEnv = new RunnerEnvStore(config.workDir);
    const bundles = new BundleCache({
      dir: path.join(config.workDir, "bundles"),
      serverUrl: config.serverUrl,
      authToken: () => this.nodeToken,
      fetchFn: deps.fetchFn,
      log: this.log,
    });
    this.runners = new RunnerManager({
      workDir: config.workDir,
      log: this.log,
      bundles,
      startupTimeoutMs: config.runnerStartupTimeoutMs,
      idleTimeoutMs: config.runnerIdleTimeoutMs,
      maxRunners: config.maxRunners ?? config.capacity,
      stopGraceMs: config.stopGraceMs,
      containerEngine: config.containerEngine,
      crashLoop: {
        baseMs: config.crashLoopBaseMs,
        maxMs: config.crashLoopMaxMs,
        stableAfterMs: config.crashLoopStableMs,
      },
      runnersDir: deps.runnersDir,
      extraEnv: () => this.runnerEnv.variables(),
    });
    this.reporter = new Reporter({
      log: this.log,
      flushIntervalMs: config.logFlushIntervalMs,
      transport: {
        ready: () => this.ready && (this.connection?.isOnline ?? false),
        send: (input) => this.request<AgentReportResult>(REPORT_MUTATION, { input }),
      },
      onRejected: (attemptId, reason) => this.loseAttempt(attemptId, `report rejected: ${reason}`),
    });
    this.uploader = new ArtifactUploader({
      serverUrl: config.serverUrl,
      authToken: () => this.nodeToken,
      request: async <T>(query: string, variables: Record<string, unknown>) => {
        await this.untilReady(Math.max(60_000, this.intervals.leaseTtlMs));
        return this.request<T>(query, variables);
      },
    });
    this.gpuProbe = deps.gpuProbe ?? new GpuProbe({ command: config.nvidiaSmi, log: this.log });
    this.nodeCommands = new NodeCommandHandler({
      log: this.log,
      ack: (commandId, step, detail) => this.reporter.ack({ commandId, step, detail: detail ?? null }),
      runners: this.runners,
      bundles,
      env: this.runnerEnv,
      drain: () => this.drain(),
      resume: () => this.resume(),
      restart: (reason) => this.restart(reason),
      upgrade: {
        target: deps.bundlePath === undefined ? runningBundlePath() : deps.bundlePath,
        serverUrl: config.serverUrl,
        authToken: () => this.nodeToken,
        fetchFn: deps.fetchFn,
      },
    });
  }

  /** True once a RestartAgent or UpgradeAgent command stopped the agent: the CLI exits with the restart code. */
  get restartRequested(): boolean {
    return this.restartAsked;
  }

  /** Enrolls or loads the node token, then connects. Rejects if there are no usable credentials. */
  async start(): Promise<void> {
    const credentials = await resolveCredentials(this.config, { log: this.log, fetchFn: this.deps.fetchFn });
    this.nodeToken = credentials.nodeToken;
    this.nodeId = credentials.nodeId;
    await this.runnerEnv.load();
    const hostname = this.deps.hostname ?? os.hostname();
    this.connection = new Connection({
      url: graphqlWsUrl(this.config.serverUrl),
      connectionParams: () => ({ nodeToken: this.nodeToken, agentVersion: AGENT_VERSION, hostname }),
      subscription: { query: COMMANDS_SUBSCRIPTION, variables: () => ({ ...this.commandVariables() }) },
      onCommands: (batch) => this.onCommands(batch),
      onConnected: () => {},
      onDisconnected: () => {
        this.ready = false;
      },
      onFatal: (error) => void this.fail(error),
      log: this.log,
      backoff: { baseMs: this.config.reconnectBaseMs, maxMs: this.config.reconnectMaxMs },
      random: this.deps.random,
      webSocketImpl: this.deps.webSocketImpl,
    });
    this.reporter.start();
    this.log.info("agent starting", {
      version: AGENT_VERSION,
      node: this.config.nodeName,
      capacity: this.config.capacity,
      models: this.config.models?.join(",") || "any",
      workDir: this.config.workDir,
      credentials: credentials.source,
    });
    this.connection.start();
  }

  snapshot(): AgentSnapshot {
    return {
      nodeId: this.nodeId,
      connected: this.connection?.isOnline ?? false,
      ready: this.ready,
      draining: this.draining,
      running: this.runningRefs(),
      intervals: { ...this.intervals },
      runnerStarts: this.runners.startCount,
      pendingReports: this.reporter.pending,
    };
  }

  /** Finish what runs, accept nothing new (capacity 0 is advertised). Resolves when no attempt is left. */
  drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.log.info("draining: finishing running attempts, accepting no new ones", { running: this.attempts.size });
      this.connection?.resubscribe();
    }
    return this.untilIdle();
  }

  /** Ends a drain (ResumeWorkCommand): full capacity is advertised again. False while shutting down. */
  resume(): boolean {
    if (this.shutdownPromise) return false;
    if (this.draining) {
      this.draining = false;
      this.log.info("draining ended: accepting work again");
      this.connection?.resubscribe();
    }
    return true;
  }

  /** Drains and stops; the CLI then exits with the restart code, and the service starts the agent again. */
  restart(reason: string): void {
    this.log.info("restarting", { reason });
    this.restartAsked = true;
    void this.shutdown();
  }

  /**
   * Graceful stop: drain for up to `deadlineMs`, then stop what still runs (reported failed, retryable, cause
   * "agent shutdown"), flush the reports, close the connection and stop every runner.
   */
  shutdown(deadlineMs = this.config.shutdownDeadlineMs): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.log.info("shutting down", { deadlineMs, running: this.attempts.size });
      const drained = await withTimeout(this.drain(), deadlineMs);
      if (!drained) {
        this.log.warn("drain deadline passed: stopping the attempts still running", { running: this.attempts.size });
        for (const entry of this.attempts.values()) {
          if (entry.phase === "running" && entry.execution && !entry.stop) {
            entry.stop = { kind: "shutdown" };
            entry.execution.stop({ kind: "shutdown" });
          }
        }
        await withTimeout(this.untilIdle(), this.config.stopGraceMs + 15_000);
      }
      await this.reporter.flushAll(5_000);
      await this.close();
      this.finish(undefined);
    })();
    return this.shutdownPromise;
  }

  /** Synchronous last resort for process exit: SIGKILL every runner group. */
  killRunnersNow(): void {
    this.runners.killAllNow();
  }

  // ---- commands --------------------------------------------------------------------------------------------------

  private onCommands(batch: unknown[]): void {
    for (const raw of batch) {
      const parsed = parseCommand(raw);
      if (!parsed.ok) {
        this.log.warn("skipping a command the agent cannot use", { typename: parsed.typename, error: parsed.error });
        this.refuseMalformed(raw);
        continue;
      }
      const command = parsed.command;
      switch (command.__typename) {
        case "HelloCommand":
          this.onHello(command);
          break;
        case "RunJobCommand":
          this.onRunJob(command);
          break;
        case "CancelJobCommand":
          this.onCancelJob(command);
          break;
        default:
          this.nodeCommands.handle(command);
      }
    }
  }

  private onHello(hello: HelloCommand): void {
    this.nodeId = hello.nodeId;
    this.intervals = {
      heartbeatIntervalMs: hello.heartbeatIntervalMs,
      leaseTtlMs: hello.leaseTtlMs,
      logFlushIntervalMs: hello.logFlushIntervalMs,
    };
    if (hello.heartbeatIntervalMs >= hello.leaseTtlMs) {
      this.log.warn("heartbeat interval is not shorter than the lease: leases may lapse", { ...this.intervals });
    }
    this.reporter.setFlushInterval(hello.logFlushIntervalMs);
    this.ready = true;
    this.log.info("hello from the server", { nodeId: hello.nodeId, ...this.intervals });
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    this.scheduleHeartbeat(0);
    void this.reporter.flush();
  }

  private onRunJob(command: RunJobCommand): void {
    const ref = { jobId: command.jobId, attemptId: command.attemptId };
    if (this.attempts.has(ref.attemptId) || this.recent.has(ref.attemptId)) {
      this.log.info("ignoring RunJob for an attempt this agent already has", ref);
      return;
    }
    if (this.draining) {
      this.refuse(ref, "the agent is draining", "agent_draining", "node draining");
      return;
    }
    // Only executing attempts hold a slot: one whose result is on its way to the server does not.
    if (this.executing() >= this.config.capacity) {
      this.refuse(ref, `the agent is at capacity (${this.config.capacity})`, "no_capacity", "no capacity");
      return;
    }
    const models = this.config.models;
    if (models && models.length > 0 && !models.includes(command.modelId)) {
      this.refuse(ref, `this agent does not serve ${command.modelId}`, "model_not_served", "model not served");
      return;
    }
    const execution = new JobExecution(command, {
      runners: this.runners,
      reporter: this.reporter,
      uploader: this.uploader,
      log: this.log,
      stopGraceMs: this.config.stopGraceMs,
    });
    const entry: AttemptEntry = { ref, execution, phase: "running", stop: undefined };
    this.attempts.set(ref.attemptId, entry);
    this.log.info("running attempt", { ...ref, modelVersionId: command.modelVersionId });
    this.track(entry, async () => {
      const result = await execution.run();
      entry.phase = "reporting";
      const stop = entry.stop;
      if (stop?.kind === "cancel") {
        this.ack(stop.command, "stopped");
        if (stop.silent) this.reporter.forget(ref.attemptId);
        else return this.reporter.cancelled(ref);
        return;
      }
      if (stop?.kind === "lost") {
        this.reporter.forget(ref.attemptId);
        return;
      }
      if (stop?.kind === "shutdown") {
        return this.reporter.failed(ref, {
          error: "the agent shut down before the attempt finished",
          errorType: "agent_shutdown",
          cause: "agent shutdown",
          retryable: true,
        });
      }
      return result.delivered;
    });
  }

  private onCancelJob(command: CancelJobCommand): void {
    const ref = { jobId: command.jobId, attemptId: command.attemptId };
    // R7: attempts the server no longer holds for us are stopped without a result.
    const silent = command.reason === "lease lost";
    this.ack(command, "received");
    const entry = this.attempts.get(ref.attemptId);
    if (!entry) {
      this.ack(command, "stopped", "not running on this node");
      if (!silent && !this.recent.has(ref.attemptId)) void this.reporter.cancelled(ref);
      return;
    }
    if (entry.phase === "reporting" || !entry.execution || entry.stop) {
      if (silent) this.reporter.forget(ref.attemptId);
      this.ack(command, "stopped", entry.stop ? "already stopping" : "already finished");
      return;
    }
    this.log.info("cancelling attempt", { ...ref, reason: command.reason, graceMs: command.graceMs });
    entry.stop = { kind: "cancel", command, silent };
    if (silent) this.reporter.forget(ref.attemptId);
    entry.execution.stop({
      kind: "cancel",
      graceMs: command.graceMs ?? this.config.stopGraceMs,
      onStep: (step) => this.ack(command, step),
    });
    this.ack(command, "request_aborted");
  }

  /** R8/R9: the node does not hold this attempt any more: stop it and say nothing more about it. */
  private loseAttempt(attemptId: string, why: string): void {
    this.reporter.forget(attemptId);
    const entry = this.attempts.get(attemptId);
    if (!entry || entry.stop) return;
    this.log.warn("attempt lost", { attemptId, why });
    entry.stop = { kind: "lost" };
    entry.execution?.stop({ kind: "lost" });
  }

  private refuse(ref: AttemptRef, error: string, errorType: string, cause: string): void {
    this.log.warn("refusing RunJob", { ...ref, cause });
    const entry: AttemptEntry = { ref, execution: undefined, phase: "reporting", stop: undefined };
    this.attempts.set(ref.attemptId, entry);
    this.track(entry, () => this.reporter.failed(ref, { error, errorType, cause, retryable: true }));
  }

  /** A RunJob the agent cannot read still gets an answer, so the job does not wait for its lease to lapse. */
  private refuseMalformed(raw: unknown): void {
    const obj = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    if (obj.__typename !== "RunJobCommand") return;
    if (typeof obj.jobId !== "string" || typeof obj.attemptId !== "string") return;
    const ref = { jobId: obj.jobId, attemptId: obj.attemptId };
    if (this.attempts.has(ref.attemptId) || this.recent.has(ref.attemptId)) return;
    const entry: AttemptEntry = { ref, execution: undefined, phase: "reporting", stop: undefined };
    this.attempts.set(ref.attemptId, entry);
    this.track(entry, () =>
      this.reporter.failed(ref, {
        error: "the agent could not read the RunJob command",
        errorType: "invalid_command",
        cause: "invalid command",
        retryable: false,
      }),
    );
  }

  /** Keeps the attempt listed as running until `work` (its execution and final report) is done. */
  private track(entry: AttemptEntry, work: () => Promise<void> | undefined): void {
    void (async () => {
      try {
        await work();
      } catch (error) {
        this.log.error("attempt bookkeeping failed", { ...entry.ref, error: errorMessage(error) });
      } finally {
        this.attempts.delete(entry.ref.attemptId);
        this.recent.add(entry.ref.attemptId);
        if (this.attempts.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    })();
  }

  private ack(command: CancelJobCommand, step: string, detail?: string): void {
    // jobId/attemptId are optional fields of CommandAckInput in the server's schema; with them the step is
    // recorded on the job.
    this.reporter.ack({
      commandId: command.commandId,
      step,
      detail: detail ?? null,
      jobId: command.jobId,
      attemptId: command.attemptId,
    });
  }

  // ---- heartbeats ------------------------------------------------------------------------------------------------

  private scheduleHeartbeat(delayMs: number): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => void this.heartbeatTick(), delayMs);
  }

  private async heartbeatTick(): Promise<void> {
    if (this.heartbeatRunning) return;
    this.heartbeatRunning = true;
    try {
      if (this.ready) await this.heartbeat();
    } catch (error) {
      this.log.warn("heartbeat failed", { error: errorMessage(error) });
    } finally {
      this.heartbeatRunning = false;
      if (!this.closed) this.scheduleHeartbeat(this.intervals.heartbeatIntervalMs);
    }
  }

  private async heartbeat(): Promise<void> {
    const gpus = await this.gpuProbe.probe();
    const running = this.runningRefs();
    const input: HeartbeatInput = {
      freeSlots: this.draining ? 0 : Math.max(0, this.config.capacity - this.executing()),
      running,
      gpus,
      runners: this.runners.states(),
      agentVersion: AGENT_VERSION,
    };
    const result = await this.request<HeartbeatResult>(HEARTBEAT_MUTATION, { input });
    for (const attemptId of result.agentHeartbeat.lostAttemptIds ?? []) this.loseAttempt(attemptId, "lease lost");
  }

  // ---- plumbing --------------------------------------------------------------------------------------------------

  private commandVariables(): CommandsVariables {
    const models = this.config.models && this.config.models.length > 0 ? this.config.models : null;
    return { capacity: this.draining ? 0 : this.config.capacity, models, running: this.runningRefs() };
  }

  private executing(): number {
    let count = 0;
    for (const entry of this.attempts.values()) if (entry.phase === "running") count++;
    return count;
  }

  /** Attempts to list as running (R7, R8): executing, or finished with the final report not yet delivered. */
  private runningRefs(): AttemptRef[] {
    return [...this.attempts.values()].map((entry) => ({ ...entry.ref }));
  }

  private request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    if (!this.connection) return Promise.reject(new TransportError("not connected"));
    return this.connection.request<T>(query, variables);
  }

  private untilIdle(): Promise<void> {
    if (this.attempts.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async untilReady(timeoutMs: number): Promise<void> {
    if (this.ready) return;
    const ready = new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    if (!(await withTimeout(ready, timeoutMs))) throw new TransportError(`not connected for ${timeoutMs} ms`);
  }

  private async fail(error: Error): Promise<void> {
    this.log.error("agent stopping", { error: error.message });
    for (const entry of this.attempts.values()) {
      this.reporter.forget(entry.ref.attemptId);
      if (entry.execution && !entry.stop) {
        entry.stop = { kind: "lost" };
        entry.execution.stop({ kind: "lost" });
      }
    }
    await withTimeout(this.untilIdle(), this.config.stopGraceMs + 5_000);
    await this.close();
    this.finish(error);
  }

  private async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    this.reporter.stop();
    const connection = this.connection;
    this.connection = undefined;
    this.ready = false;
    await connection?.close();
    await this.runners.stopAll(Math.min(this.config.stopGraceMs, 5_000));
  }
}

/** True if `promise` settled within `ms`. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
