import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { isUniqueViolation } from "../db/sql-client.js";
import { DomainError, notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import { type Job, Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { InputValidator } from "../models/input-validator.js";
import type { ModelService } from "../models/model-service.js";
import { clampPriority, type EnqueueInput, type QueuePort } from "../queue/port.js";
import type { JobTransitions } from "./job-transitions.js";
import type { RunSpec, RunSpecCache } from "./run-spec-cache.js";
import { isTerminal } from "./state-machine.js";
import type { WorkSignal } from "./work-signal.js";

export interface JobsConfig {
  maxInputBytes: number;
  resultRetentionMs: number;
}

export interface SubmitRequest {
  modelId: string;
  input: unknown;
  priority?: number;
  idempotencyKey?: string;
  route?: string;
  /** The job times out if no agent has started it by then (fal's x-fal-request-timeout). */
  startTimeoutMs?: number;
  /** Overrides the version's execution timeout. */
  timeoutMs?: number;
  /** false: a failed attempt is not retried. */
  retry?: boolean;
  actor?: string;
}

export type SubmitOutcome = { job: Job; created: boolean } | { error: DomainError };

/** A validated request: its row, and what dispatch will need (the version's runner). */
interface Prepared {
  row: Prisma.JobCreateManyInput;
  runner: unknown;
  inputBytes: number;
}

/** What clients do to jobs: submit, cancel, run again. Agents' reports go through AttemptService. */
export class JobService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: QueuePort,
    private readonly events: EventBus,
    private readonly transitions: JobTransitions,
    private readonly runSpecs: RunSpecCache,
    private readonly work: WorkSignal,
    private readonly models: ModelService,
    private readonly validator: InputValidator,
    private readonly clock: Clock,
    private readonly config: JobsConfig,
  ) {}

  async submit(req: SubmitRequest): Promise<{ job: Job; created: boolean }> {
    const [outcome] = await this.submitMany([req]);
    if (!outcome) throw new Error("submitMany returned nothing");
    if ("error" in outcome) throw outcome.error;
    return outcome;
  }

  /**
   * Validates every request, then writes all valid jobs and their first events in one
   * statement and queues them in one round trip. An invalid request gets its own error
   * and writes nothing; the others go on.
   */
  async submitMany(requests: SubmitRequest[]): Promise<SubmitOutcome[]> {
    const now = this.clock.now();
    const outcomes: (SubmitOutcome | undefined)[] = new Array(requests.length);
    const rows: Prisma.JobCreateManyInput[] = [];
    const prepared = new Map<string, Prepared>();
    const rowIndex: number[] = [];
    for (const [index, req] of requests.entries()) {
      try {
        const job = await this.prepare(req, now);
        rows.push(job.row);
        prepared.set(job.row.id as string, job);
        rowIndex.push(index);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        outcomes[index] = { error };
      }
    }
    await this.resolveIdempotent(rows, rowIndex, outcomes);
    const fresh = rows.filter((_, i) => outcomes[rowIndex[i] as number] === undefined);
    let inserted: Job[] = [];
    if (fresh.length > 0) {
      try {
        inserted = await this.transitions.insertSubmitted(fresh);
      } catch (error) {
        // A concurrent submit took an idempotency key between our check and our insert.
        if (!isUniqueViolation(error) || requests.length > 1) throw error;
        return this.submitMany(requests);
      }
      // Before the queue offers them to agents: dispatch sends RunJob from these without a read.
      for (const row of fresh) {
        const job = prepared.get(row.id as string) as Prepared;
        this.runSpecs.put(runSpecOf(row, job.runner), job.inputBytes);
      }
      const enqueued = this.queue.enqueueMany(fresh.map((row) => this.enqueueInput(row, now)));
      const models = new Set(fresh.map((row) => row.modelId));
      // Told before the enqueue answers: this replica's claims go out right behind it on the same
      // connection (one round trip for both). A claim that misses them waits for the bus's news.
      this.work.announce(models);
      await enqueued;
      for (const modelId of models) this.events.publish(topics.workAvailable, modelId);
      this.events.publish(topics.queueUpdated, { models: [...models] });
    }
    const byId = new Map(inserted.map((job) => [job.id, job]));
    const created: Job[] = [];
    for (const [i, row] of rows.entries()) {
      const index = rowIndex[i] as number;
      const job = byId.get(row.id as string);
      if (outcomes[index] === undefined && job) {
        outcomes[index] = { job, created: true };
        created.push(job);
      }
    }
    this.transitions.publishAll(created);
    return outcomes as SubmitOutcome[];
  }

  async cancel(jobId: string, actor: string): Promise<Job> {
    const job = await this.prisma.job.findUnique({ where: { id: jobId } });
    if (!job) throw notFound("job", jobId);
    if (isTerminal(job.status)) throw new DomainError("ALREADY_COMPLETED", `job ${jobId} is already ${job.status}`);
    const cause = `cancelled by ${actor}`;
    const held = await this.queue.cancel(jobId);
    this.runSpecs.delete(jobId);
    if (held.state === "leased") {
      // The job ends now. The attempt stays held until the agent reports the runner stopped (or the
      // lease runs out), so its last reports are still taken and it can acknowledge each step.
      this.events.publish(topics.agentCommands(held.agentId), [
        { __typename: "CancelJobCommand", commandId: randomUUID(), jobId, attemptId: held.attemptId, reason: cause },
      ]);
    }
    const outcome = await this.transitions.apply({
      jobId,
      trigger: "cancel",
      cause,
      actor,
      data: () => ({ error: "Request was cancelled", errorType: "cancelled", cause }),
      also: (tx, updated, at) =>
        updated.currentAttemptId
          ? tx.jobAttempt.updateMany({
              where: { id: updated.currentAttemptId, status: { in: ["ASSIGNED", "RUNNING"] } },
              data: { status: "CANCELLED", cause, finishedAt: at },
            })
          : Promise.resolve(),
    });
    if (!outcome.applied) {
      const current = outcome.job;
      if (current && isTerminal(current.status)) {
        throw new DomainError("ALREADY_COMPLETED", `job ${jobId} is already ${current.status}`);
      }
      throw new DomainError("INVALID_STATE", `job ${jobId} cannot be cancelled now`);
    }
    this.events.publish(topics.queueUpdated, { models: [job.modelId] });
    return outcome.job;
  }

  /** Runs a failed, cancelled or timed-out job again, with a fresh budget of attempts. */
  async resubmit(jobId: string, actor: string): Promise<Job> {
    const job = await this.prisma.job.findUnique({ where: { id: jobId }, include: { modelVersion: true } });
    if (!job) throw notFound("job", jobId);
    const now = this.clock.now();
    const outcome = await this.transitions.apply({
      jobId,
      trigger: "resubmit",
      actor,
      cause: `retried by ${actor}`,
      data: (locked) => ({
        maxAttempts: locked.attemptCount + job.modelVersion.maxAttempts,
        output: Prisma.DbNull,
        error: null,
        errorType: null,
        cause: null,
        finishedAt: null,
        retentionUntil: null,
        currentAttemptId: null,
      }),
    });
    if (!outcome.applied) {
      throw new DomainError(
        "INVALID_STATE",
        `job ${jobId} is ${outcome.job?.status}; only failed, cancelled or timed-out jobs can be retried`,
      );
    }
    await this.queue.enqueue({
      jobId,
      modelId: job.modelId,
      priority: job.priority,
      maxAttempts: outcome.job.maxAttempts,
      attempts: outcome.job.attemptCount,
      now,
    });
    this.events.publish(topics.workAvailable, job.modelId);
    return outcome.job;
  }

  async get(jobId: string): Promise<Job> {
    const job = await this.prisma.job.findUnique({ where: { id: jobId } });
    if (!job) throw notFound("job", jobId);
    return job;
  }

  /** 0-based place in its model's queue, or null when the job is not waiting. */
  position(jobId: string): Promise<number | null> {
    return this.queue.position(jobId);
  }

  private async prepare(req: SubmitRequest, now: number): Promise<Prepared> {
    const size = Buffer.byteLength(JSON.stringify(req.input ?? null));
    if (size > this.config.maxInputBytes) {
      throw new DomainError(
        "PAYLOAD_TOO_LARGE",
        `input is ${size} bytes; the limit is ${this.config.maxInputBytes} (upload large files and pass their URL)`,
      );
    }
    const version = await this.models.currentVersion(req.modelId);
    this.validator.validate(version.id, version.inputSchema, req.input);
    if (req.idempotencyKey !== undefined && (req.idempotencyKey.length === 0 || req.idempotencyKey.length > 200)) {
      throw new DomainError("INVALID_INPUT", "idempotency key must be 1 to 200 characters");
    }
    const row: Prisma.JobCreateManyInput = {
      id: randomUUID(),
      modelId: req.modelId,
      modelVersionId: version.id,
      status: "QUEUED",
      priority: clampPriority(req.priority ?? 0),
      input: req.input as Prisma.InputJsonValue,
      route: req.route ?? null,
      idempotencyKey: req.idempotencyKey ?? null,
      maxAttempts: req.retry === false ? 1 : version.maxAttempts,
      startDeadlineAt: req.startTimeoutMs ? new Date(now + req.startTimeoutMs) : null,
      timeoutMs: req.timeoutMs ?? version.timeoutMs,
      submittedBy: req.actor ?? null,
      createdAt: new Date(now),
    };
    return { row, runner: version.runner, inputBytes: size };
  }

  /** Requests whose idempotency key is already used get the existing job back. */
  private async resolveIdempotent(
    rows: Prisma.JobCreateManyInput[],
    rowIndex: number[],
    outcomes: (SubmitOutcome | undefined)[],
  ): Promise<void> {
    const keys = rows.map((row) => row.idempotencyKey).filter((key): key is string => typeof key === "string");
    if (keys.length === 0) return;
    const existing = await this.prisma.job.findMany({ where: { idempotencyKey: { in: keys } } });
    const byKey = new Map(existing.map((job) => [job.idempotencyKey, job]));
    const seen = new Map<string, number>();
    for (const [i, row] of rows.entries()) {
      const key = row.idempotencyKey;
      if (typeof key !== "string") continue;
      const index = rowIndex[i] as number;
      const job = byKey.get(key);
      if (job) outcomes[index] = { job, created: false };
      else if (seen.has(key)) {
        outcomes[index] = { error: new DomainError("CONFLICT", `idempotency key ${key} is used twice in one batch`) };
      } else seen.set(key, index);
    }
  }

  private enqueueInput(row: Prisma.JobCreateManyInput, now: number): EnqueueInput {
    return {
      jobId: row.id as string,
      modelId: row.modelId,
      priority: row.priority ?? 0,
      maxAttempts: row.maxAttempts,
      now,
      ...(row.idempotencyKey ? { idempotencyKey: row.idempotencyKey } : {}),
    };
  }
}

function runSpecOf(row: Prisma.JobCreateManyInput, runner: unknown): RunSpec {
  return {
    jobId: row.id as string,
    modelId: row.modelId,
    modelVersionId: row.modelVersionId,
    route: row.route ?? null,
    input: row.input,
    runner,
    timeoutMs: row.timeoutMs ?? null,
  };
}
