import type { SqlClient } from "../db/sql-client.js";
import type { Job } from "../generated/prisma/client.js";
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
 * A write-behind queue for job transitions. Whatever is asked for while writes are in flight
 * goes out together in the next one: one transaction, one statement per trigger, whatever the
 * number of jobs. Up to `maxInFlight` writes run at once, on disjoint sets of jobs, so that one
 * write's commit (its WAL flush) overlaps the next one's work.
 *
 * Order: a job with a write in flight waits for it before its next transition is written, and
 * two transitions of the same job in one batch go to successive statements, so every job's
 * transitions are written, and published, in the order they were asked for. Each caller's
 * promise settles once its batch committed, after the new state was published.
 */
export class TransitionBatcher {
  private pending: Pending[] = [];
  private inFlight = 0;
  /** Jobs with a write in flight. */
  private readonly busy = new Set<string>();
  private scheduled = false;
  private readonly statements = new Map<BatchedTrigger, string>();

  constructor(
    private readonly sql: SqlClient,
    private readonly now: () => number,
    /** Gets every batch's new job states, in order, once the batch committed. */
    private readonly published: (jobs: Job[]) => void,
    private readonly maxInFlight = 2,
  ) {}

  apply(transition: BatchedTransition): Promise<BatchedOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ transition, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a write once the rest of this turn of the event loop has added what it has to add. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startWrite();
    });
  }

  private startWrite(): void {
    if (this.inFlight >= this.maxInFlight) return;
    // Everything pending except what must wait for a write in flight (and what comes after it).
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const waiting = new Set<string>();
    for (const item of this.pending) {
      const jobId = item.transition.jobId;
      if (batch.length < MAX_BATCH && !this.busy.has(jobId) && !waiting.has(jobId)) batch.push(item);
      else {
        rest.push(item);
        waiting.add(jobId);
      }
    }
    this.pending = rest;
    if (batch.length === 0) return;
    this.inFlight++;
    for (const item of batch) this.busy.add(item.transition.jobId);
    void this.write(batch).finally(() => {
      this.inFlight--;
      for (const item of batch) this.busy.delete(item.transition.jobId);
      this.schedule();
    });
    this.schedule();
  }

  /** One transaction for the whole batch: one commit, one WAL flush, however many statements. */
  private async write(batch: Pending[]): Promise<void> {
    const groups = groupsInOrder(batch);
    let results: Record<string, unknown>[][];
    try {
      results = await this.commit(groups);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    // Committed: publish (in the order the transitions were asked for, group by group), then answer.
    const outcomes = groups.flatMap((group, g) => {
      const byOrd = new Map((results[g] ?? []).map((row) => [row._ord as number, row]));
      return group.items.map((item, ord): [Pending, BatchedOutcome] => {
        const row = byOrd.get(ord);
        if (!row) return [item, { applied: false }];
        return [item, { applied: true, job: jobOf(row), from: row._from as JobStatus, runner: row._runner ?? null }];
      });
    });
    this.published(outcomes.flatMap(([, outcome]) => (outcome.applied ? [outcome.job] : [])));
    for (const [item, outcome] of outcomes) item.resolve(outcome);
  }

  private async commit(groups: Group[]): Promise<Record<string, unknown>[][]> {
    const at = new Date(this.now()).toISOString();
    const statements = groups.map((group) => ({
      text: this.statement(group.trigger),
      params: [JSON.stringify(group.items.map((item, ord) => inputRow(item.transition, ord))), at],
      name: `vyvo_transition_${group.trigger}`,
    }));
    for (let tries = 1; ; tries++) {
      try {
        const [only] = statements;
        // One statement is a transaction of its own: no BEGIN and COMMIT round trips.
        if (only && statements.length === 1) return [await this.sql.query(only.text, only.params, only.name)];
        return await this.sql.transaction(async (query) => {
          const results: Record<string, unknown>[][] = [];
          for (const { text, params, name } of statements)
            results.push(await query<Record<string, unknown>>(text, params, name));
          return results;
        });
      } catch (error) {
        // Each statement locks its rows in id order, but two batches (replicas) with several
        // statements can still cross; Postgres breaks the tie by failing one: run it again.
        if ((error as { code?: string }).code !== DEADLOCK || tries >= 3) throw error;
      }
    }
  }

  private statement(trigger: BatchedTrigger): string {
    let text = this.statements.get(trigger);
    if (!text) {
      text = transitionStatement(trigger);
      this.statements.set(trigger, text);
    }
    return text;
  }
}

interface Group {
  trigger: BatchedTrigger;
  items: Pending[];
}

/**
 * Statements for a batch, in the order they must run: the n-th transition of a job in the batch
 * goes to the n-th wave (a report may start and complete a job at once); within a wave, one
 * statement per trigger.
 */
function groupsInOrder(batch: Pending[]): Group[] {
  const waves: Map<BatchedTrigger, Pending[]>[] = [];
  const seen = new Map<string, number>();
  for (const item of batch) {
    const wave = seen.get(item.transition.jobId) ?? 0;
    seen.set(item.transition.jobId, wave + 1);
    const byTrigger = waves[wave] ?? new Map<BatchedTrigger, Pending[]>();
    waves[wave] = byTrigger;
    const group = byTrigger.get(item.transition.trigger);
    if (group) group.push(item);
    else byTrigger.set(item.transition.trigger, [item]);
  }
  return waves.flatMap((byTrigger) => [...byTrigger].map(([trigger, items]) => ({ trigger, items })));
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
      return {
        ord,
        job_id: t.jobId,
        attempt_id: t.attemptId,
        actor: t.actor,
        output: t.output,
        retention_ms: t.retentionMs,
      };
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
