import type { Job } from "../generated/prisma/client.js";
import type { SqlClient } from "../db/sql-client.js";
import type { JobStatus } from "./state-machine.js";
import { type BatchedTrigger, transitionStatement } from "./transition-sql.js";

interface Fenced {
  jobId: string;
  /** The attempt the report is about: the change applies only while it is the job's current one. */
  attemptId: string;
  actor: string;
}

interface AttemptFailure extends Fenced {
  error: string;
  errorType: string;
  cause: string;
  /** FAILED when the runner failed, LOST when the agent stopped answering. */
  attemptStatus: "FAILED" | "LOST";
}

/** The transitions that run per job, written in batches (transition-sql.ts). */
export type BatchedTransition =
  | { trigger: "assign"; jobId: string; attemptId: string; attempt: number; nodeId: string }
  | ({ trigger: "start" } & Fenced)
  | ({ trigger: "succeed"; output: unknown; retentionMs: number } & Fenced)
  | ({ trigger: "fail"; retentionMs: number } & AttemptFailure)
  | ({ trigger: "retry" } & AttemptFailure)
  | { trigger: "requeue"; jobId: string; actor: string; cause: string };

/** Applied, with the row after and (for assign) the version's runner; or refused by the guard. */
export type BatchedOutcome = { applied: true; job: Job; from: JobStatus; runner: unknown } | { applied: false };

interface Pending {
  transition: BatchedTransition;
  resolve: (outcome: BatchedOutcome) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 1_000;
const DEADLOCK = "40P01";

/**
 * A write-behind queue for job transitions. Whatever is asked for while a write is in flight
 * goes out together in the next one: one statement per trigger, whatever the number of jobs.
 *
 * Order: one write at a time, and two transitions of the same job in one batch go to
 * successive statements (a report may start and complete a job at once), so every job's
 * transitions are written, and published, in the order they were asked for. Each caller's
 * promise settles once its statement committed, after the new state was published.
 */
export class TransitionBatcher {
  private pending: Pending[] = [];
  private writing = false;
  private readonly statements = new Map<BatchedTrigger, string>();

  constructor(
    private readonly sql: SqlClient,
    private readonly now: () => number,
    private readonly published: (job: Job) => void,
  ) {}

  apply(transition: BatchedTransition): Promise<BatchedOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ transition, resolve, reject });
      if (this.writing) return;
      this.writing = true;
      // Wait for the rest of this turn of the event loop: concurrent reports join the batch.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) await this.write(this.pending.splice(0, MAX_BATCH));
    } finally {
      this.writing = false;
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    // The n-th transition of a job in this batch goes to wave n.
    const waves: Pending[][] = [];
    const seen = new Map<string, number>();
    for (const item of batch) {
      const wave = seen.get(item.transition.jobId) ?? 0;
      seen.set(item.transition.jobId, wave + 1);
      (waves[wave] ??= []).push(item);
    }
    for (const wave of waves) {
      const byTrigger = new Map<BatchedTrigger, Pending[]>();
      for (const item of wave) {
        const group = byTrigger.get(item.transition.trigger);
        if (group) group.push(item);
        else byTrigger.set(item.transition.trigger, [item]);
      }
      for (const [trigger, items] of byTrigger) await this.writeGroup(trigger, items);
    }
  }

  private async writeGroup(trigger: BatchedTrigger, items: Pending[]): Promise<void> {
    let rows: Record<string, unknown>[];
    try {
      rows = await this.run(trigger, items.map((item, ord) => inputRow(item.transition, ord)));
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    const byOrd = new Map(rows.map((row) => [row._ord as number, row]));
    items.forEach((item, ord) => {
      const row = byOrd.get(ord);
      if (!row) return item.resolve({ applied: false });
      const job = jobOf(row);
      this.published(job);
      item.resolve({ applied: true, job, from: row._from as JobStatus, runner: row._runner ?? null });
    });
  }

  private async run(trigger: BatchedTrigger, rows: object[]): Promise<Record<string, unknown>[]> {
    let statement = this.statements.get(trigger);
    if (!statement) {
      statement = transitionStatement(trigger);
      this.statements.set(trigger, statement);
    }
    const params = [JSON.stringify(rows), new Date(this.now()).toISOString()];
    for (let tries = 1; ; tries++) {
      try {
        return await this.sql.query<Record<string, unknown>>(statement, params);
      } catch (error) {
        // Rows are locked in id order, but a single-row transaction elsewhere may still cross us.
        if ((error as { code?: string }).code !== DEADLOCK || tries >= 3) throw error;
      }
    }
  }
}

/** The JSON row a transition contributes to its statement ($1). */
function inputRow(t: BatchedTransition, ord: number): object {
  switch (t.trigger) {
    case "assign":
      return {
        ord,
        job_id: t.jobId,
        attempt_id: t.attemptId,
        attempt: t.attempt,
        node_id: t.nodeId,
        actor: `node:${t.nodeId}`,
        cause: `claimed by node ${t.nodeId}`,
        detail: { attempt: t.attempt },
      };
    case "start":
      return { ord, job_id: t.jobId, attempt_id: t.attemptId, actor: t.actor };
    case "succeed":
      return { ord, job_id: t.jobId, attempt_id: t.attemptId, actor: t.actor, output: t.output, retention_ms: t.retentionMs };
    case "fail":
    case "retry":
      return {
        ord,
        job_id: t.jobId,
        attempt_id: t.attemptId,
        actor: t.actor,
        cause: t.cause,
        detail: { error: t.error, errorType: t.errorType },
        error: t.error,
        error_type: t.errorType,
        attempt_status: t.attemptStatus,
        ...(t.trigger === "fail" ? { retention_ms: t.retentionMs } : {}),
      };
    case "requeue":
      return { ord, job_id: t.jobId, actor: t.actor, cause: t.cause };
  }
}

/** The Job row without the statement's `_` bookkeeping columns. */
export function jobOf(row: Record<string, unknown>): Job {
  const job: Record<string, unknown> = {};
  for (const key in row) if (!key.startsWith("_")) job[key] = row[key];
  return job as unknown as Job;
}
