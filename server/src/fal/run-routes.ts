import { topics } from "../events/event-bus.js";
import type { RunRoute } from "./app-path.js";
import { actor, type FalCall, type FalDeps } from "./fal-context.js";
import { FalHttpError } from "./fal-errors.js";
import { onClientGone, sendJson } from "./http-io.js";
import { submitFromRequest } from "./queue-routes.js";
import { ChangeSignal, openSse, type SseStream } from "./sse.js";
import { errorHeaders, falLogOf, falResultOf, falStatusOf } from "./status-mapping.js";

/**
 * fal's sync API (fal-api.md §1.3): `POST /fal/run/{app}` answers with the output once the job
 * ends; `POST /fal/run/{app}/stream` answers with SSE, whose last event is the whole output.
 * Both submit a job without server-side retries, and cancel it when the client goes away.
 */
export async function handleRunRoute(deps: FalDeps, call: FalCall, route: RunRoute): Promise<void> {
  if (call.req.method !== "POST") throw FalHttpError.detail(405, "the run API takes POST");
  const job = await submitFromRequest(deps, call, route.app, "run");
  const run = new RunWatch(deps, call, job.id);
  try {
    await (route.streaming ? run.stream() : run.wait());
  } finally {
    run.close();
  }
}

const TICK_MS = 1_000;
const MIN_GAP_MS = 50;

interface Progress {
  progress: number;
  message: string | null;
}

class RunWatch {
  private settled = false;
  private progress: Progress | null = null;
  private readonly signal: ChangeSignal;
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;

  constructor(
    private readonly deps: FalDeps,
    private readonly call: FalCall,
    private readonly jobId: string,
  ) {
    const logsTopic = topics.jobLogs(jobId);
    this.signal = new ChangeSignal(deps.events, [topics.jobUpdated(jobId), logsTopic], TICK_MS, (topic, payload) => {
      if (topic === logsTopic) this.progress = latestProgress(payload) ?? this.progress;
    });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.signal.close();
    }, deps.syncTimeoutMs);
    this.timer.unref();
    onClientGone(call.res, () => {
      this.signal.close();
      if (!this.settled) void this.cancel("client disconnected");
    });
  }

  /** Sync: one JSON answer, the output or the error with its code. */
  async wait(): Promise<void> {
    while (!this.signal.closed) {
      await this.signal.wait();
      const job = await this.deps.queries.statusOf(this.jobId);
      if (!job || falStatusOf(job.status) === "COMPLETED") break;
    }
    await this.answer(null);
  }

  /** Streaming: SSE from the moment the job runs; progress and new log lines, then the output. */
  async stream(): Promise<void> {
    let sse: SseStream | null = null;
    let lastLogId: bigint | undefined;
    let lastSent = "";
    while (!this.signal.closed) {
      await this.signal.wait();
      const job = await this.deps.queries.statusOf(this.jobId);
      if (!job || falStatusOf(job.status) === "COMPLETED") break;
      if (falStatusOf(job.status) === "IN_PROGRESS") {
        sse ??= openSse(this.call.res, { "x-fal-request-id": this.jobId });
        const fresh = await this.deps.queries.logsOf(this.jobId, lastLogId);
        lastLogId = fresh[fresh.length - 1]?.id ?? lastLogId;
        const fingerprint = `${job.status}:${this.progress?.progress}:${this.progress?.message}`;
        if (fingerprint !== lastSent || fresh.length) {
          sse.send({
            status: "IN_PROGRESS",
            request_id: this.jobId,
            logs: fresh.map(falLogOf),
            ...(this.progress ? { progress: this.progress.progress, message: this.progress.message } : {}),
          });
          lastSent = fingerprint;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, MIN_GAP_MS));
    }
    await this.answer(sse);
  }

  close(): void {
    clearTimeout(this.timer);
    this.signal.close();
  }

  /** The final answer: through the open SSE stream when there is one, else as plain JSON. */
  private async answer(sse: SseStream | null): Promise<void> {
    if (this.call.res.destroyed) return;
    let job = await this.deps.queries.resultOf(this.jobId);
    if (job && falStatusOf(job.status) !== "COMPLETED" && this.timedOut) {
      await this.cancel(`no result within ${this.deps.syncTimeoutMs} ms`);
      job = await this.deps.queries.resultOf(this.jobId);
    }
    this.settled = true;
    const reply = !job
      ? { statusCode: 404, body: { detail: `Request ${this.jobId} not found` }, headers: {} }
      : this.timedOut && job.status === "CANCELLED"
        ? timeoutReply(this.deps.syncTimeoutMs)
        : falResultOf(job);
    if (!sse) {
      sendJson(this.call.res, reply.statusCode, reply.body, { "x-fal-request-id": this.jobId, ...reply.headers });
      return;
    }
    // Headers are gone: a failure becomes the last event, named "error".
    sse.send(reply.body, reply.statusCode === 200 ? undefined : "error");
    sse.close();
  }

  private async cancel(why: string): Promise<void> {
    await this.deps.jobs.cancel(this.jobId, `${actor(this.call)} (${why})`).catch(() => undefined);
  }
}

function timeoutReply(ms: number) {
  const error = {
    statusCode: 504,
    errorType: "request_timeout",
    retryable: true,
    userTimeout: false,
    body: { detail: `no result within ${ms} ms; the request was cancelled`, error_type: "request_timeout" },
  };
  return { statusCode: 504, body: error.body, headers: errorHeaders(error) };
}

/** Progress reports travel on the job's log topic as [{ progress, message }]. */
function latestProgress(payload: unknown): Progress | null {
  if (!Array.isArray(payload)) return null;
  let found: Progress | null = null;
  for (const item of payload) {
    if (item && typeof item === "object" && typeof (item as { progress?: unknown }).progress === "number") {
      const { progress, message } = item as { progress: number; message?: string | null };
      found = { progress, message: message ?? null };
    }
  }
  return found;
}
