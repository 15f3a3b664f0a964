// The runner side of runners/CONTRACT.md: an HTTP server on node:http that runs one author-supplied
// function per POST /run and streams its logs, progress and outcome as NDJSON.
import { mkdir } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  ERROR_TYPES,
  type ErrorLine,
  formatListeningLine,
  formatRunnerLine,
  type LogLevel,
  parseRunRequest,
  type RunnerLine,
  type ValidationIssue,
} from "./protocol.js";

export type { LogLevel, ValidationIssue } from "./protocol.js";

/** What a run function gets besides its input. */
export interface RunContext {
  readonly requestId: string;
  readonly route: string | null;
  /** Absolute folder the agent gave for this run's files; it exists when `run` starts. */
  readonly outputDir: string;
  /** Aborted when the agent closes the request, calls /cancel, or the runner is shutting down. */
  readonly signal: AbortSignal;
  log(level: LogLevel, message: string): void;
  /** `progress` is clamped to 0..1. */
  progress(progress: number, message?: string): void;
  /** Absolute path of a file named `name` directly inside outputDir. */
  outputFile(name: string): string;
  /** The `file://` URL of a file inside outputDir, as results must carry it. */
  fileUrl(filePath: string): string;
  /**
   * Lets the event loop run (so /health, /cancel and a closed request are noticed), then throws
   * the abort reason if the run was cancelled. Call it often in CPU-bound loops.
   */
  checkpoint(): Promise<void>;
}

export type JsonObject = Record<string, unknown>;

export interface RunnerDefinition<Input extends JsonObject = JsonObject, Output extends JsonObject = JsonObject> {
  name: string;
  /** Loads the model. /health answers 503 "loading" until it resolves; if it throws, the runner fails. */
  setup?: () => Promise<void>;
  /** Checks the input before `run`; a non-empty list fails the run with a validation_error. */
  validate?: (input: JsonObject) => ValidationIssue[];
  run: (input: Input, ctx: RunContext) => Promise<Output>;
  /** Runs at once; more /run requests get 429. Default 1. */
  maxConcurrency?: number;
  /** Called once on shutdown after the runs in flight have stopped. */
  teardown?: () => Promise<void>;
}

/** An error with a contract error_type. Throw it from `run` to choose the type and retryability. */
export class RunnerError extends Error {
  readonly errorType: string;
  readonly retryable: boolean;
  readonly detail: ValidationIssue[] | undefined;

  constructor(message: string, options: { errorType?: string; retryable?: boolean; detail?: ValidationIssue[] } = {}) {
    super(message);
    this.name = "RunnerError";
    this.errorType = options.errorType ?? ERROR_TYPES.runner;
    this.retryable = options.retryable ?? false;
    this.detail = options.detail;
  }
}

/** A validation_error found during the run (e.g. an input URL that does not load). */
export class InputError extends RunnerError {
  constructor(detail: ValidationIssue[]) {
    super(detail.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; "), {
      errorType: ERROR_TYPES.validation,
      retryable: false,
      detail,
    });
    this.name = "InputError";
  }
}

/** The abort reason of a run stopped by the agent (request closed or /cancel). */
export class CancelledError extends RunnerError {
  constructor(reason: string) {
    super(`cancelled: ${reason}`, { errorType: ERROR_TYPES.cancelled, retryable: false });
    this.name = "CancelledError";
  }
}

/** The abort reason of runs stopped because the runner received SIGTERM. */
export class ShutdownError extends RunnerError {
  constructor() {
    super("runner is shutting down", { errorType: ERROR_TYPES.shutdown, retryable: true });
    this.name = "ShutdownError";
  }
}

export interface StartOptions {
  port: number;
  host: string;
  /** Quiet time after which a heartbeat line is sent on a run's stream. Default 15 s. */
  heartbeatMs?: number;
  /** How long shutdown waits for aborted runs to return before it gives up on them. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Where the SDK writes its own operational lines (not run logs). Default stderr. */
  diagnostics?: (line: string) => void;
}

export interface RunningRunner {
  readonly host: string;
  readonly port: number;
  /** Resolves when setup is done, rejects if it failed. */
  readonly ready: Promise<void>;
  /** Stops taking work, aborts runs in flight, waits for them, runs teardown, closes the server. */
  shutdown(): Promise<void>;
}

type RunnerState = "loading" | "ready" | "failed" | "stopping";

interface ActiveRun {
  controller: AbortController;
  settled: Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

class BodyTooLargeError extends Error {}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function errorLineFrom(error: unknown): ErrorLine {
  if (error instanceof RunnerError) {
    const line: ErrorLine = {
      type: "error",
      error: error.message,
      error_type: error.errorType,
      retryable: error.retryable,
    };
    if (error.detail) line.detail = error.detail;
    return line;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { type: "error", error: message, error_type: ERROR_TYPES.runner, retryable: false };
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Starts a runner in this process. Tests use it directly; `serveRunner` wraps it for a real process. */
export async function startRunner<Input extends JsonObject, Output extends JsonObject>(
  definition: RunnerDefinition<Input, Output>,
  options: StartOptions,
): Promise<RunningRunner> {
  const maxConcurrency = definition.maxConcurrency ?? 1;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const diagnostics = options.diagnostics ?? ((line: string) => process.stderr.write(`${line}\n`));
  const active = new Map<string, ActiveRun>();
  let state: RunnerState = "loading";
  let setupError = "";

  const handleHealth = (res: http.ServerResponse): void => {
    if (state === "ready") {
      sendJson(res, 200, { status: "ok", max_concurrency: maxConcurrency, running: active.size });
    } else if (state === "failed") {
      sendJson(res, 500, { status: "failed", error: setupError });
    } else {
      sendJson(res, 503, { status: state });
    }
  };

  const handleCancel = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let requestId: unknown;
    try {
      requestId = (JSON.parse(await readBody(req)) as { request_id?: unknown }).request_id;
    } catch {
      sendJson(res, 400, { error: "body must be JSON with a request_id", error_type: "bad_request" });
      return;
    }
    const run = typeof requestId === "string" ? active.get(requestId) : undefined;
    if (!run) {
      sendJson(res, 404, { cancelled: false, error: "no such run in progress" });
      return;
    }
    run.controller.abort(new CancelledError("cancel requested"));
    sendJson(res, 200, { cancelled: true });
  };

  const handleRun = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, { error: "body too large", error_type: "bad_request" });
      } else {
        sendJson(res, 400, { error: "body is not valid JSON", error_type: "bad_request" });
      }
      return;
    }
    if (state !== "ready") {
      sendJson(res, 503, { status: state });
      return;
    }
    const parsed = parseRunRequest(body);
    if (!parsed.ok) {
      sendJson(res, 400, { error: parsed.error, error_type: "bad_request" });
      return;
    }
    const request = parsed.value;
    if (active.has(request.request_id)) {
      sendJson(res, 409, { error: "a run with this request_id is in progress", error_type: "bad_request" });
      return;
    }
    if (active.size >= maxConcurrency) {
      sendJson(res, 429, { error: "busy", max_concurrency: maxConcurrency });
      return;
    }

    const controller = new AbortController();
    let finishRun = (): void => {};
    const settled = new Promise<void>((resolve) => {
      finishRun = resolve;
    });
    active.set(request.request_id, { controller, settled });

    res.writeHead(200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();

    let lastWriteAt = Date.now();
    const emit = (line: RunnerLine): void => {
      if (res.writableEnded || res.destroyed) return;
      res.write(formatRunnerLine(line));
      lastWriteAt = Date.now();
    };
    const heartbeat = setInterval(
      () => {
        if (Date.now() - lastWriteAt >= heartbeatMs) emit({ type: "heartbeat" });
      },
      Math.max(10, Math.floor(heartbeatMs / 2)),
    );
    heartbeat.unref();

    // "close" before the response ended means the agent hung up: that is a cancellation.
    res.on("close", () => {
      if (!res.writableEnded) controller.abort(new CancelledError("client closed the request"));
    });

    const outputDir = path.resolve(request.output_dir);
    const context = createContext(request.request_id, request.route, outputDir, controller.signal, emit);
    const startedAt = Date.now();
    diagnostics(`[${definition.name}] run ${request.request_id} started`);
    let outcome = "failed";
    try {
      const issues = definition.validate?.(request.input) ?? [];
      if (issues.length > 0) throw new InputError(issues);
      await mkdir(outputDir, { recursive: true });
      controller.signal.throwIfAborted(); // cancelled while the folder was made: don't start the work
      const output: unknown = await definition.run(request.input as Input, context);
      controller.signal.throwIfAborted();
      if (!isJsonObject(output)) throw new RunnerError("run() must return a JSON object");
      emit({ type: "result", output });
      outcome = "succeeded";
    } catch (error) {
      // Once aborted, the abort reason is the outcome, whatever the run function threw or returned.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      emit(errorLineFrom(reason));
      outcome = controller.signal.aborted ? `aborted (${errorLineFrom(reason).error})` : "failed";
      if (!controller.signal.aborted && !(error instanceof RunnerError)) {
        diagnostics(`[${definition.name}] run ${request.request_id} threw: ${(error as Error)?.stack ?? error}`);
      }
    } finally {
      clearInterval(heartbeat);
      active.delete(request.request_id);
      res.end();
      diagnostics(`[${definition.name}] run ${request.request_id} ${outcome} after ${Date.now() - startedAt} ms`);
      finishRun();
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://runner");
    const route = `${req.method} ${url.pathname}`;
    const fail = (error: unknown): void => {
      diagnostics(`[${definition.name}] ${route} failed: ${(error as Error)?.stack ?? error}`);
      if (!res.headersSent) sendJson(res, 500, { error: "internal error", error_type: "runner_error" });
      else res.destroy();
    };
    switch (route) {
      case "GET /health":
        handleHealth(res);
        return;
      case "POST /run":
        handleRun(req, res).catch(fail);
        return;
      case "POST /cancel":
        handleCancel(req, res).catch(fail);
        return;
      default:
        if (["/health", "/run", "/cancel"].includes(url.pathname)) sendJson(res, 405, { error: "method not allowed" });
        else sendJson(res, 404, { error: "not found" });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  const ready = (async () => {
    try {
      await definition.setup?.();
      if (state === "loading") state = "ready";
    } catch (error) {
      setupError = error instanceof Error ? error.message : String(error);
      if (state === "loading") state = "failed";
      throw error;
    }
  })();
  ready.catch(() => {}); // callers that care await `ready`; an unobserved rejection must not crash the process

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      state = "stopping";
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const runs = [...active.values()];
      for (const run of runs) run.controller.abort(new ShutdownError());
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownTimeoutMs ?? 10_000).unref());
      await Promise.race([Promise.all(runs.map((run) => run.settled)), timeout]);
      await ready.catch(() => {});
      await definition.teardown?.();
      server.closeAllConnections();
      await closed;
    })();
    return shutdownPromise;
  };

  return { host: options.host, port, ready, shutdown };
}

function createContext(
  requestId: string,
  route: string | null,
  outputDir: string,
  signal: AbortSignal,
  emit: (line: RunnerLine) => void,
): RunContext {
  return {
    requestId,
    route,
    outputDir,
    signal,
    log(level, message) {
      emit({ type: "log", level, message });
    },
    progress(progress, message) {
      // Clamped, and rounded so that float noise (0.13203125000000002) stays off the wire.
      const clamped = Number.isFinite(progress) ? Math.round(Math.min(1, Math.max(0, progress)) * 1e4) / 1e4 : 0;
      emit(
        message === undefined
          ? { type: "progress", progress: clamped }
          : { type: "progress", progress: clamped, message },
      );
    },
    outputFile(name) {
      if (name === "" || name === "." || name === ".." || name !== path.basename(name)) {
        throw new RunnerError(`output file name must be a plain file name, got ${JSON.stringify(name)}`);
      }
      return path.join(outputDir, name);
    },
    fileUrl(filePath) {
      const absolute = path.resolve(outputDir, filePath);
      const relative = path.relative(outputDir, absolute);
      if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) {
        throw new RunnerError(`${absolute} is not inside the output folder ${outputDir}; it would not be uploaded`);
      }
      return pathToFileURL(absolute).href;
    },
    async checkpoint() {
      await nextTurn();
      signal.throwIfAborted();
    },
  };
}

/** Reads PORT (0 = any free port) and the bind host from the environment. */
export function listenOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): { port: number; host: string } {
  const rawPort = env.PORT ?? "";
  const port = Number(rawPort);
  if (rawPort === "" || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be an integer 0..65535, got ${JSON.stringify(env.PORT)}`);
  }
  return { port, host: env.VYVO_RUNNER_HOST || "127.0.0.1" };
}

/**
 * Runs a runner as its own process: binds PORT, prints the listening line, runs setup, serves
 * until SIGTERM or SIGINT, then shuts down and exits. A failed setup exits with code 1.
 */
export async function serveRunner<Input extends JsonObject, Output extends JsonObject>(
  definition: RunnerDefinition<Input, Output>,
  options: Partial<StartOptions> = {},
): Promise<RunningRunner> {
  const runner = await startRunner(definition, { ...listenOptionsFromEnv(), ...options });
  process.stdout.write(`${formatListeningLine(runner.host, runner.port)}\n`);
  let signalled = false;
  const onSignal = (signalName: NodeJS.Signals): void => {
    if (signalled) process.exit(1); // a second signal means "now"
    signalled = true;
    process.stderr.write(`[${definition.name}] ${signalName}: shutting down\n`);
    runner.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`[${definition.name}] shutdown failed: ${(error as Error)?.stack ?? error}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  runner.ready.then(
    () => process.stderr.write(`[${definition.name}] ready\n`),
    (error: unknown) => {
      process.stderr.write(`[${definition.name}] setup failed: ${(error as Error)?.stack ?? error}\n`);
      process.exit(1);
    },
  );
  return runner;
}
