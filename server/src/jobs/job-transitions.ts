import type { Clock } from "../clock.js";
import type { SqlClient } from "../db/sql-client.js";
import { type EventBus, topics } from "../events/event-bus.js";
import { type Job, Prisma, type PrismaClient } from "../generated/prisma/client.js";
import { isTerminal, type JobStatus, type JobTrigger, nextStatus } from "./state-machine.js";
import { type BatchedOutcome, type BatchedTransition, jobOf, TransitionBatcher } from "./transition-batcher.js";
import { INSERT_SUBMITTED } from "./transition-sql.js";

export interface TransitionRequest {
  jobId: string;
  trigger: JobTrigger;
  /** Fencing: apply only while this is the job's current attempt. */
  attemptId?: string;
  /** Apply only while fewer attempts than this were recorded (claims of a newer attempt). */
  beforeAttempt?: number;
  cause?: string;
  actor?: string;
  detail?: Prisma.InputJsonValue;
  /** Further columns to set with the status (output, error, timings…). */
  data?: (job: Job, at: Date) => Prisma.JobUpdateInput;
  /** Runs inside the same transaction after the job row changed (attempt rows…). */
  also?: (tx: Prisma.TransactionClient, job: Job, at: Date) => Promise<unknown>;
}

export type TransitionOutcome =
  | { applied: true; job: Job; from: JobStatus }
  | { applied: false; reason: "not_found" | "stale_attempt" | "superseded" | "not_allowed"; job: Job | null };

/**
 * Writes state changes of jobs: locks the row, asks the state machine, updates the job,
 * appends its JobEvent, then publishes the new state. Callers get told, not thrown at, when
 * a change no longer applies (another replica or a newer attempt got there first).
 *
 * Two ways in: `applyBatched` for the transitions every job goes through (batched, plain SQL:
 * transition-batcher.ts) and `apply` for the rare ones that need arbitrary columns or callbacks
 * (cancel, timeout, resubmit), one interactive transaction each.
 */
export class JobTransitions {
  private readonly batcher: TransitionBatcher;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly sql: SqlClient,
  ) {
    this.batcher = new TransitionBatcher(
      sql,
      () => clock.now(),
      (jobs) => this.publishAll(jobs),
    );
  }

  /** Queues the transition for the next batch; settles once it is written and published. */
  applyBatched(transition: BatchedTransition): Promise<BatchedOutcome> {
    return this.batcher.apply(transition);
  }

  /** Inserts new jobs with their submit events in one statement; returns the rows (not yet published). */
  async insertSubmitted(rows: Prisma.JobCreateManyInput[]): Promise<Job[]> {
    const input = rows.map((row, ord) => ({ ...row, ord }));
    const inserted = await this.sql.query<Record<string, unknown>>(
      INSERT_SUBMITTED,
      [JSON.stringify(input)],
      "vyvo_insert_submitted",
    );
    return inserted.map(jobOf);
  }

  async apply(req: TransitionRequest): Promise<TransitionOutcome> {
    const outcome = await this.prisma.$transaction(async (tx): Promise<TransitionOutcome> => {
      const rows = await tx.$queryRaw<Job[]>`SELECT * FROM "Job" WHERE "id" = ${req.jobId} FOR UPDATE`;
      const locked = rows[0];
      if (!locked) return { applied: false, reason: "not_found", job: null };
      if (req.attemptId !== undefined && locked.currentAttemptId !== req.attemptId) {
        return { applied: false, reason: "stale_attempt", job: locked };
      }
      if (req.beforeAttempt !== undefined && locked.attemptCount >= req.beforeAttempt) {
        return { applied: false, reason: "superseded", job: locked };
      }
      const to = nextStatus(locked.status, req.trigger);
      if (!to) return { applied: false, reason: "not_allowed", job: locked };
      const at = new Date(this.clock.now());
      const job = await tx.job.update({
        where: { id: req.jobId },
        data: { status: to, ...(isTerminal(to) ? { finishedAt: at } : {}), ...req.data?.(locked, at) },
      });
      await tx.jobEvent.create({
        data: {
          jobId: req.jobId,
          attemptId: req.attemptId ?? job.currentAttemptId,
          type: req.trigger,
          fromStatus: locked.status,
          toStatus: to,
          cause: req.cause ?? null,
          actor: req.actor ?? null,
          detail: req.detail ?? Prisma.DbNull,
          at,
        },
      });
      await req.also?.(tx, job, at);
      return { applied: true, job, from: locked.status };
    });
    if (outcome.applied) this.publish(outcome.job);
    return outcome;
  }

  /** Records something that happened to a job without changing its status (a rejected report, a cancel step). */
  async note(
    jobId: string,
    type: string,
    fields: { attemptId?: string; cause?: string; actor?: string; detail?: Prisma.InputJsonValue },
  ) {
    await this.prisma.jobEvent.create({
      data: {
        jobId,
        type,
        attemptId: fields.attemptId ?? null,
        cause: fields.cause ?? null,
        actor: fields.actor ?? null,
        detail: fields.detail ?? Prisma.DbNull,
        at: new Date(this.clock.now()),
      },
    });
    const job = await this.prisma.job.findUnique({ where: { id: jobId } });
    if (job) this.events.publish(topics.jobUpdated(jobId), job);
  }

  /** Publishes the whole row, so a subscriber sees every state in order, not just the latest. */
  publish(job: Job): void {
    this.publishAll([job]);
  }

  /** Many jobs' states in order, as one message on the bus. */
  publishAll(jobs: Job[]): void {
    if (jobs.length === 0) return;
    this.events.publishAll(
      jobs.map((job) => ({ topics: [topics.jobUpdated(job.id), topics.jobsChanged], payload: job })),
    );
  }
}
