import { mkdir, rm } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { ArtifactError, type ArtifactUploader } from "./artifacts.js";
import { safeName } from "./bundles.js";
import { errorMessage, type Logger } from "./log.js";
import { NdjsonParser, parseRunnerEvent, type RunnerEvent } from "./ndjson.js";
import type { StopStep } from "./process-group.js";
import { type AttemptRef, type FailureInput, parseRunnerSpec, type RunJobCommand } from "./protocol.js";
import type { Reporter } from "./reporter.js";
import { postRun, readSmallBody } from "./runner-client.js";
import { describeExit, type Runner, type RunnerManager, RunnerStartError } from "./runner-manager.js";

/**
 * One attempt, end to end: get a healthy runner, report `started`, `POST /run`, turn the NDJSON stream into log and
 * progress reports, upload result files, and report `completed` or `failed` (R12). Cancellation (R13) and a lost
 * lease (R7, R8) stop it from outside; then it reports nothing itself.
 */

type Failure = Omit<FailureInput, "jobId" | "attemptId">;

type Outcome =
  | { kind: "result"; output: unknown }
  | { kind: "error"; failure: Failure; detail?: unknown }
  | { kind: "crashed"; message: string }
  | { kind: "protocol"; message: string }
  | { kind: "aborted" };

/** Why an attempt was stopped from outside. */
export type StopReason =
  | { kind: "cancel"; graceMs: number; onStep: (step: StopStep) => void }
  | { kind: "lost" }
  | { kind: "shutdown" };

class TimeoutReason extends Error {
  override name = "TimeoutReason";
}

export interface ExecutorDeps {
  runners: RunnerManager;
  reporter: Reporter;
  uploader: ArtifactUploader;
  log: Logger;
  /** Grace for runners the agent stops on its own (timeout, lost lease, shutdown). */
  stopGraceMs: number;
  keepOutputs?: boolean;
}

export interface ExecutionResult {
  /** What was reported: a promise that settles once the server has it. Undefined when nothing is to be reported. */
  delivered: Promise<void> | undefined;
}

export class JobExecution {
  readonly ref: AttemptRef;
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  private runner: Runner | undefined;
  private readonly log: Logger;
  private readonly outputDir: string;

  constructor(
    readonly command: RunJobCommand,
    private readonly deps: ExecutorDeps,
  ) {
    this.ref = { jobId: command.jobId, attemptId: command.attemptId };
    this.log = deps.log.child({ jobId: command.jobId, attemptId: command.attemptId });
    this.outputDir = path.join(deps.runners.outputsDir, safeName(command.attemptId));
  }

  /** The pid of the runner serving this attempt, if any. */
  get runnerPid(): number | undefined {
    return this.runner?.pid;
  }

  /**
   * Asks the running attempt to stop. For a cancel, the runner gets SIGTERM, grace, SIGKILL with each step passed to
   * `onStep`; `run()` settles once the runner is verified gone.
   */
  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller.abort(reason);
  }

  /** Runs the attempt; resolves with the report to wait for. Never rejects. */
  async run(): Promise<ExecutionResult> {
    try {
      return await this.execute();
    } catch (error) {
      if (this.stopReason) return { delivered: undefined };
      this.log.error("attempt failed unexpectedly", { error: errorMessage(error) });
      return this.fail({ error: errorMessage(error), errorType: "agent_error", cause: "agent error", retryable: true });
    } finally {
      if (!this.deps.keepOutputs) await rm(this.outputDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async execute(): Promise<ExecutionResult> {
    const { command, deps } = this;
    const signal = this.controller.signal;
    const parsed = parseRunnerSpec(command.runner);
    if (!parsed.ok) {
      return this.fail({
        error: parsed.error,
        errorType: "invalid_runner",
        cause: "invalid runner spec",
        retryable: false,
      });
    }
    await rm(this.outputDir, { recursive: true, force: true });
    await mkdir(this.outputDir, { recursive: true });

    try {
      this.runner = await deps.runners.acquire({
        modelId: command.modelId,
        modelVersionId: command.modelVersionId,
        spec: parsed.spec,
        signal,
      });
    } catch (error) {
      if (this.stopReason) return { delivered: undefined };
      if (error instanceof RunnerStartError) {
        for (const line of error.outputTail) deps.reporter.log(this.ref, "error", line);
        return this.fail({
          error: error.message,
          errorType: error.failureCause.replaceAll(" ", "_"),
          cause: error.failureCause,
          retryable: error.retryable,
        });
      }
      throw error;
    }
    const runner = this.runner;
    if (this.stopReason) return this.stopRunner(runner);
    deps.reporter.started(this.ref);
    runner.runs++;
    this.log.info("attempt started", { runner: runner.id, pid: runner.pid });

    let timer: NodeJS.Timeout | undefined;
    if (command.timeoutMs) {
      timer = setTimeout(() => this.controller.abort(new TimeoutReason()), command.timeoutMs);
    }
    let outcome: Outcome;
    try {
      outcome = await this.stream(runner, signal);
    } finally {
      clearTimeout(timer);
    }

    if (this.stopReason) return this.stopRunner(runner);
    if (outcome.kind === "aborted") {
      // Only the timeout aborts without a stop reason.
      await deps.runners.stop(runner, deps.stopGraceMs);
      return this.fail({
        error: `execution timed out after ${command.timeoutMs} ms`,
        errorType: "timeout",
        cause: "timeout",
        retryable: false,
      });
    }
    if (outcome.kind === "crashed") {
      for (const line of runner.outputTail().slice(-20)) deps.reporter.log(this.ref, "error", line);
      await deps.runners.stop(runner, 0);
      return this.fail({
        error: outcome.message,
        errorType: "runner_crashed",
        cause: "runner crashed",
        retryable: true,
      });
    }
    if (outcome.kind === "protocol") {
      await deps.runners.stop(runner, deps.stopGraceMs);
      return this.fail({
        error: outcome.message,
        errorType: "runner_protocol_error",
        cause: "runner error",
        retryable: true,
      });
    }
    deps.runners.release(runner, runner.alive);
    if (outcome.kind === "error") {
      if (outcome.detail !== undefined)
        deps.reporter.log(this.ref, "error", `detail: ${JSON.stringify(outcome.detail)}`);
      return this.fail(outcome.failure);
    }

    let output: unknown;
    try {
      output = await deps.uploader.rewriteOutput(outcome.output, this.outputDir, this.ref);
    } catch (error) {
      if (this.stopReason) return { delivered: undefined };
      const message = error instanceof ArtifactError ? error.message : errorMessage(error);
      return this.fail({
        error: message,
        errorType: "artifact_upload_error",
        cause: "artifact upload failed",
        retryable: true,
      });
    }
    if (this.stopReason) return { delivered: undefined };
    this.log.info("attempt completed");
    return { delivered: deps.reporter.completed(this.ref, output) };
  }

  /** POST /run and read its NDJSON stream until a result or error event, the runner's exit, or an abort. */
  private async stream(runner: Runner, signal: AbortSignal): Promise<Outcome> {
    const request = new AbortController();
    const onAbort = (): void => request.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let exited = !runner.alive;
    const onExit = (): void => {
      exited = true;
      request.abort();
    };
    if (exited) request.abort();
    else runner.child.once("exit", onExit);
    const crashed = async (): Promise<Outcome> => {
      const exit = await runner.exited;
      return { kind: "crashed", message: `runner exited during the attempt (${describeExit(exit)})` };
    };
    try {
      let res: http.IncomingMessage;
      try {
        res = await postRun(
          runner.port,
          {
            request_id: this.command.attemptId,
            input: this.command.input,
            route: this.command.route,
            output_dir: this.outputDir,
          },
          request.signal,
        );
      } catch (error) {
        if (signal.aborted) return { kind: "aborted" };
        if (exited || (await exitsSoon(runner))) return crashed();
        return { kind: "protocol", message: `POST /run failed: ${errorMessage(error)}` };
      }
      if (res.statusCode !== 200) return this.httpError(res);

      let outcome: Outcome | undefined;
      try {
        outcome = await this.read(res);
      } catch (error) {
        if (signal.aborted) return { kind: "aborted" };
        if (exited || (await exitsSoon(runner))) return crashed();
        return { kind: "protocol", message: `the runner's stream broke: ${errorMessage(error)}` };
      }
      if (outcome) return outcome;
      if (signal.aborted) return { kind: "aborted" };
      if (exited || (await exitsSoon(runner))) return crashed();
      return { kind: "protocol", message: "the runner's stream ended without a result or error event" };
    } finally {
      signal.removeEventListener("abort", onAbort);
      runner.child.off("exit", onExit);
    }
  }

  /**
   * Reads NDJSON until a terminal event (resolves with it; the rest of the stream is drained and discarded, so the
   * runner ends its request normally) or the end of the stream (resolves undefined). Rejects if the stream breaks.
   */
  private read(res: http.IncomingMessage): Promise<Outcome | undefined> {
    const parser = new NdjsonParser();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (outcome: Outcome | undefined): void => {
        done = true;
        resolve(outcome);
        // A runner that keeps its stream open after the final event is hung up on.
        if (outcome) setTimeout(() => res.complete || res.destroy(), 5_000).unref();
      };
      const consume = (items: ReturnType<NdjsonParser["push"]>): void => {
        for (const item of items) {
          if (done) return;
          const outcome = this.handle(item);
          if (outcome) finish(outcome);
        }
      };
      res.on("data", (chunk: Buffer) => {
        if (!done) consume(parser.push(chunk));
      });
      res.on("end", () => {
        if (done) return;
        consume(parser.end());
        if (!done) finish(undefined);
      });
      res.on("error", (error) => {
        if (!done) reject(error);
      });
      res.on("close", () => {
        if (!done) reject(new Error("the stream closed before it ended"));
      });
    });
  }

  private handle(item: ReturnType<NdjsonParser["push"]>[number]): Outcome | undefined {
    if (item.kind === "invalid") {
      this.log.warn("runner wrote a line that is not JSON", { error: item.error, line: item.line.slice(0, 200) });
      return undefined;
    }
    const parsed = parseRunnerEvent(item.value);
    if (!parsed.ok) {
      this.log.debug("skipping runner line", { error: parsed.error });
      return undefined;
    }
    return this.apply(parsed.event);
  }

  private apply(event: RunnerEvent): Outcome | undefined {
    const { reporter } = this.deps;
    switch (event.type) {
      case "heartbeat":
        return undefined;
      case "log":
        reporter.log(this.ref, event.level, event.message);
        return undefined;
      case "progress":
        reporter.progress(this.ref, event.progress, event.message ?? null);
        return undefined;
      case "result":
        return { kind: "result", output: event.output };
      case "error":
        return { kind: "error", failure: runnerFailure(event), detail: event.detail };
    }
  }

  private async httpError(res: http.IncomingMessage): Promise<Outcome> {
    const status = res.statusCode ?? 0;
    const text = await readSmallBody(res).catch(() => "");
    let message = text.trim().slice(0, 500) || `HTTP ${status}`;
    let errorType = "runner_http_error";
    try {
      const body = JSON.parse(text) as { error?: unknown; error_type?: unknown };
      if (typeof body.error === "string") message = body.error;
      if (typeof body.error_type === "string") errorType = body.error_type;
    } catch {
      // not JSON: keep the text
    }
    // 4xx other than busy (409, 429) means the request itself is wrong: trying again will not help.
    const retryable = status >= 500 || status === 409 || status === 429 || status < 400;
    return {
      kind: "error",
      failure: { error: `runner answered ${status}: ${message}`, errorType, cause: "runner error", retryable },
    };
  }

  private async stopRunner(runner: Runner): Promise<ExecutionResult> {
    const reason = this.stopReason;
    if (reason?.kind === "cancel") {
      await this.deps.runners.stop(runner, reason.graceMs, reason.onStep);
    } else {
      await this.deps.runners.stop(runner, this.deps.stopGraceMs);
    }
    return { delivered: undefined };
  }

  private fail(failure: Failure): ExecutionResult {
    if (this.stopReason) return { delivered: undefined };
    this.log.warn("attempt failed", { cause: failure.cause, error: failure.error, retryable: failure.retryable });
    return { delivered: this.deps.reporter.failed(this.ref, failure) };
  }
}

/** R12: a runner's validation error is never retried, whatever the runner said. */
export function runnerFailure(event: { error: string; error_type: string; retryable: boolean }): Failure {
  if (event.error_type === "validation_error") {
    return { error: event.error, errorType: event.error_type, cause: "invalid input", retryable: false };
  }
  const cause = event.error_type === "oom" ? "oom" : "runner error";
  return { error: event.error, errorType: event.error_type, cause, retryable: event.retryable };
}

/** A broken stream is a crash if the process exits within a moment. */
async function exitsSoon(runner: Runner, withinMs = 1_000): Promise<boolean> {
  if (!runner.alive) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), withinMs);
  });
  const result = await Promise.race([runner.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}
