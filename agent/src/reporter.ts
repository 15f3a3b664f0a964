import { errorMessage, type Logger } from "./log.js";
import type {
  AgentReportInput,
  AgentReportResult,
  AttemptRef,
  CommandAckInput,
  CompletionInput,
  FailureInput,
  LogLineInput,
  ProgressInput,
} from "./protocol.js";

/**
 * Batches everything the agent reports about attempts into `agentReport` mutations (R10, R11).
 *
 * - Items queue in the order they happen; a batch is the first `maxBatch` (200) of them, one batch in flight at a
 *   time, so the server sees them in order. Logs and progress wait for the flush interval (or a full batch); acks,
 *   starts and results go out at once.
 * - Log lines get a per-attempt `seq` from 0 when they are queued; a batch that is sent again keeps its seqs, so the
 *   server (which stores each (attemptId, seq) once) drops the copies.
 * - While the transport is not ready nothing is sent; a batch whose send failed goes back to the front of the queue.
 *   The buffer of log lines is bounded: past `maxBufferedLogs` the oldest lines are dropped (and counted), never
 *   acks or results.
 * - A batch the server answers with GraphQL errors is retried, split in halves to isolate a bad item, and a single
 *   item that keeps failing is dropped with an error in the agent's log.
 */

export interface ReportTransport {
  /** True when a report may be sent now (connected and greeted). */
  ready(): boolean;
  send(input: AgentReportInput): Promise<AgentReportResult>;
}

/** Thrown by a transport when the request got a GraphQL error answer (as opposed to no answer). */
export interface GraphQLErrorLike {
  readonly graphQLErrors: readonly unknown[];
}

function isGraphQLError(error: unknown): error is GraphQLErrorLike {
  return typeof error === "object" && error !== null && Array.isArray((error as GraphQLErrorLike).graphQLErrors);
}

type ItemBody =
  | { kind: "ack"; value: CommandAckInput }
  | { kind: "started"; value: AttemptRef }
  | { kind: "log"; value: LogLineInput }
  | { kind: "progress"; value: ProgressInput }
  | { kind: "completed"; value: CompletionInput }
  | { kind: "failed"; value: FailureInput }
  | { kind: "cancelled"; value: AttemptRef };

type Item = ItemBody & {
  attemptId: string | undefined;
  failures: number;
  /** In a batch on its way to the server: not to be changed. */
  sending?: boolean;
  /** Left the queue (sent, dropped or forgotten). */
  done?: boolean;
  /** Resolves the promise returned for a terminal report once the server answered (or the item was dropped). */
  settle?: () => void;
};

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ReporterOptions {
  transport: ReportTransport;
  log: Logger;
  flushIntervalMs: number;
  maxBatch?: number;
  maxBufferedLogs?: number;
  maxMessageChars?: number;
  now?: () => Date;
  timers?: Timers;
  /** The server rejected a report about this attempt (R9): the node does not hold it any more. */
  onRejected?: (attemptId: string, reason: string) => void;
}

export class Reporter {
  private queue: Item[] = [];
  private readonly seqs = new Map<string, number>();
  private readonly pendingProgress = new Map<string, Item>();
  private flushing: Promise<void> | undefined;
  private timer: unknown;
  private soon: unknown;
  private flushIntervalMs: number;
  private batchLimit: number;
  private droppedLogs = 0;
  private logCount = 0;
  private stopped = false;
  private readonly maxBatch: number;
  private readonly maxBufferedLogs: number;
  private readonly maxMessageChars: number;
  private readonly now: () => Date;
  private readonly timers: Timers;

  constructor(private readonly options: ReporterOptions) {
    this.flushIntervalMs = options.flushIntervalMs;
    this.maxBatch = options.maxBatch ?? 200;
    this.batchLimit = this.maxBatch;
    this.maxBufferedLogs = options.maxBufferedLogs ?? 100_000;
    this.maxMessageChars = options.maxMessageChars ?? 16_384;
    this.now = options.now ?? (() => new Date());
    this.timers = options.timers ?? realTimers;
  }

  /** Starts the periodic flush (every `logFlushIntervalMs`, R5). */
  start(): void {
    this.stopped = false;
    this.armTimer();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    this.timers.clearTimeout(this.soon);
  }

  setFlushInterval(ms: number): void {
    if (ms === this.flushIntervalMs) return;
    this.flushIntervalMs = ms;
    if (!this.stopped) this.armTimer();
  }

  get pending(): number {
    return this.queue.length;
  }

  get dropped(): number {
    return this.droppedLogs;
  }

  /** The next seq this attempt's log line would get. */
  nextSeq(attemptId: string): number {
    return this.seqs.get(attemptId) ?? 0;
  }

  ack(value: CommandAckInput): void {
    this.push({ kind: "ack", value, attemptId: undefined, failures: 0 }, true);
  }

  started(ref: AttemptRef): void {
    this.push({ kind: "started", value: { ...ref }, attemptId: ref.attemptId, failures: 0 }, true);
  }

  log(ref: AttemptRef, level: string, message: string): void {
    const seq = this.nextSeq(ref.attemptId);
    this.seqs.set(ref.attemptId, seq + 1);
    const text =
      message.length > this.maxMessageChars ? `${message.slice(0, this.maxMessageChars)}… [truncated]` : message;
    const value: LogLineInput = { ...ref, seq, level, message: text, at: this.now().toISOString() };
    this.logCount++;
    this.push({ kind: "log", value, attemptId: ref.attemptId, failures: 0 }, false);
    if (this.logCount > this.maxBufferedLogs) this.trimLogs();
  }

  /** Progress replaces an unsent progress item of the same attempt: only the latest value matters. */
  progress(ref: AttemptRef, progress: number, message?: string | null): void {
    const value: ProgressInput = { ...ref, progress, message: message ?? null };
    const queued = this.pendingProgress.get(ref.attemptId);
    if (queued && !queued.done && !queued.sending) {
      queued.value = value;
      return;
    }
    const item: Item = { kind: "progress", value, attemptId: ref.attemptId, failures: 0 };
    this.pendingProgress.set(ref.attemptId, item);
    this.push(item, false);
  }

  /** Resolves once the server has the report (or it was given up). */
  completed(ref: AttemptRef, output: unknown): Promise<void> {
    return this.terminal({ kind: "completed", value: { ...ref, output }, attemptId: ref.attemptId, failures: 0 });
  }

  failed(ref: AttemptRef, failure: Omit<FailureInput, "jobId" | "attemptId">): Promise<void> {
    return this.terminal({
      kind: "failed",
      value: { ...ref, ...failure },
      attemptId: ref.attemptId,
      failures: 0,
    });
  }

  cancelled(ref: AttemptRef): Promise<void> {
    return this.terminal({ kind: "cancelled", value: { ...ref }, attemptId: ref.attemptId, failures: 0 });
  }

  /** Drops everything not yet sent about an attempt (it was lost: R7, R8). Acks are kept. */
  forget(attemptId: string): void {
    const kept: Item[] = [];
    for (const item of this.queue) {
      if (item.attemptId === attemptId && item.kind !== "ack") {
        if (item.kind === "log") this.logCount--;
        item.done = true;
        item.settle?.();
      } else {
        kept.push(item);
      }
    }
    this.queue = kept;
    this.pendingProgress.delete(attemptId);
  }

  /** Sends everything queued (in batches) while the transport is ready. Concurrent calls share one run. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Flushes until the queue is empty, the transport is not ready, or `timeoutMs` passed. True when all was sent. */
  async flushAll(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      if (!this.options.transport.ready()) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      await Promise.race([
        this.flush(),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
      ]);
      if (this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.queue.length === 0;
  }

  private terminal(item: Item): Promise<void> {
    return new Promise((resolve) => {
      item.settle = resolve;
      this.push(item, true);
    });
  }

  private push(item: Item, urgent: boolean): void {
    this.queue.push(item);
    if (urgent || this.queue.length >= this.maxBatch) this.flushSoon();
  }

  private flushSoon(): void {
    if (this.stopped || this.soon !== undefined) return;
    this.soon = this.timers.setTimeout(() => {
      this.soon = undefined;
      void this.flush();
    }, 0);
  }

  private armTimer(): void {
    this.timers.clearTimeout(this.timer);
    const tick = (): void => {
      this.timer = this.timers.setTimeout(tick, this.flushIntervalMs);
      void this.flush();
    };
    this.timer = this.timers.setTimeout(tick, this.flushIntervalMs);
  }

  private trimLogs(): void {
    let excess = this.logCount - this.maxBufferedLogs;
    if (excess <= 0) return;
    const before = this.queue.length;
    this.queue = this.queue.filter((item) => {
      if (excess > 0 && item.kind === "log" && !item.sending) {
        item.done = true;
        excess--;
        return false;
      }
      return true;
    });
    const dropped = before - this.queue.length;
    this.logCount -= dropped;
    if (this.droppedLogs === 0) this.options.log.warn("report buffer full: dropping the oldest log lines");
    this.droppedLogs += dropped;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.options.transport.ready()) {
      const batch = this.queue.slice(0, this.batchLimit);
      for (const item of batch) item.sending = true;
      let result: AgentReportResult;
      try {
        result = await this.options.transport.send(toInput(batch));
      } catch (error) {
        for (const item of batch) item.sending = false;
        if (!isGraphQLError(error)) {
          this.options.log.debug("report not sent; will retry", { error: errorMessage(error), items: batch.length });
          return;
        }
        this.onGraphQLError(batch, error);
        return;
      }
      this.remove(batch);
      this.batchLimit = this.maxBatch;
      for (const rejection of result.agentReport.rejected ?? []) {
        this.options.log.warn("server rejected a report", { attemptId: rejection.attemptId, reason: rejection.reason });
        this.options.onRejected?.(rejection.attemptId, rejection.reason);
      }
      for (const item of batch) item.settle?.();
    }
  }

  private onGraphQLError(batch: Item[], error: GraphQLErrorLike): void {
    const first = batch[0];
    if (!first) return;
    const detail = error.graphQLErrors.map((e) => errorMessage((e as { message?: unknown }).message ?? e)).join("; ");
    if (batch.length > 1) {
      this.batchLimit = Math.ceil(batch.length / 2);
      this.options.log.warn("report refused by the server; retrying in smaller batches", { error: detail });
      return;
    }
    first.failures++;
    if (first.failures >= 3) {
      this.options.log.error("report item dropped after repeated errors", { kind: first.kind, error: detail });
      this.remove([first]);
      first.settle?.();
      this.batchLimit = this.maxBatch;
    }
  }

  private remove(batch: Item[]): void {
    const sent = new Set(batch);
    this.queue = this.queue.filter((item) => !sent.has(item));
    for (const item of batch) {
      item.done = true;
      item.sending = false;
      if (item.kind === "log") this.logCount--;
      if (item.kind === "progress" && item.attemptId && this.pendingProgress.get(item.attemptId) === item) {
        this.pendingProgress.delete(item.attemptId);
      }
    }
  }
}

/** Groups a batch into the fields of AgentReportInput (the server applies them in R11 order). */
export function toInput(batch: readonly ItemBody[]): AgentReportInput {
  const fields: { [K in ItemBody["kind"]]: Extract<ItemBody, { kind: K }>["value"][] } = {
    ack: [],
    started: [],
    log: [],
    progress: [],
    completed: [],
    failed: [],
    cancelled: [],
  };
  for (const item of batch) (fields[item.kind] as unknown[]).push(item.value);
  const input: AgentReportInput = {};
  if (fields.ack.length) input.acks = fields.ack;
  if (fields.started.length) input.started = fields.started;
  if (fields.log.length) input.logs = fields.log;
  if (fields.progress.length) input.progress = fields.progress;
  if (fields.completed.length) input.completed = fields.completed;
  if (fields.failed.length) input.failed = fields.failed;
  if (fields.cancelled.length) input.cancelled = fields.cancelled;
  return input;
}
