import type { Clock } from "../clock.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { Job, PrismaClient } from "../generated/prisma/client.js";
import type { AttemptRef, BackoffPolicy, Claim, QueuePort } from "../queue/port.js";
import type { JobTransitions } from "./job-transitions.js";
import type { RunSpec, RunSpecCache } from "./run-spec-cache.js";
import type { BatchedTransition } from "./transition-batcher.js";

export interface AttemptsConfig {
  retryBaseMs: number;
  retryMaxMs: number;
  resultRetentionMs: number;
}

/** What an agent needs to run one attempt. */
export interface RunJobPayload {
  jobId: string;
  attemptId: string;
  modelId: string;
  modelVersionId: string;
  route: string | null;
  input: unknown;
  runner: unknown;
  timeoutMs: number | null;
  leaseExpiresAt: number;
}

export interface LogLine {
  jobId: string;
  attemptId: string;
  seq: number;
  level: string;
  message: string;
  at: Date;
}

export interface Failure {
  error: string;
  errorType: string;
  cause: string;
  retryable: boolean;
}

export type ReportVerdict = { ok: true } | { ok: false; reason: string };

/** The attempt reports of one agentReport that change jobs' states. */
export interface AttemptReports {
  started: AttemptRef[];
  completed: (AttemptRef & { output: unknown })[];
  failed: (AttemptRef & Failure)[];
}

export interface AttemptVerdicts {
  started: ReportVerdict[];
  completed: ReportVerdict[];
  failed: ReportVerdict[];
}

/** A transition about one attempt of a job (the report's fencing token). */
type FencedTransition = BatchedTransition & { attemptId: string };

/** What one report of an agentReport comes to: a transition to write, or a refusal to record. */
type Plan = { ref: AttemptRef; kind: "start" | "complete" | "fail" } & (
  | { reason: string }
  | { attempt: number; transition: FencedTransition }
);

interface Checked {
  verdict: ReportVerdict;
  /** The attempt number Redis holds (0 when it holds none). */
  attempt: number;
}

/** Where assign sends its results: the agent's command stream, through the gateway. */
export interface Dispatch {
  /** Give the agent these attempts to run. */
  run(payloads: RunJobPayload[]): void;
  /** These claims are not the agent's after all; `sent` ones must be stopped. */
  drop(refs: AttemptRef[], sent: boolean): void;
}

/**
 * Everything agents report about attempts, and the loops that end attempts nobody reports on.
 * Redis decides (fenced by attempt id, atomically across replicas); Postgres records.
 */
export class AttemptService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: QueuePort,
    private readonly events: EventBus,
    private readonly transitions: JobTransitions,
    private readonly runSpecs: RunSpecCache,
    private readonly clock: Clock,
    private readonly config: AttemptsConfig,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Records the claims an agent just won (one batched write for all of them) and has them run.
   * A job queued on this replica has its run spec at hand: its RunJob goes out at once, before
   * the assignment is written, and the batcher keeps every later transition of the attempt
   * behind that write. Other jobs go out once the write returns their rows. A claim whose job
   * Postgres already ended is let go (and stopped, if it was sent). Write errors are rethrown
   * after every claim was dealt with.
   */
  async assign(nodeId: string, claims: Claim[], dispatch: Dispatch): Promise<void> {
    if (claims.length === 0) return;
    const early: RunJobPayload[] = [];
    const writes = claims.map((claim) => {
      const write = this.transitions.applyBatched({
        trigger: "assign",
        jobId: claim.jobId,
        attemptId: claim.attemptId,
        attempt: claim.attempt,
        nodeId,
      });
      const spec = this.runSpecs.take(claim.jobId);
      if (spec) early.push(toPayload(spec, claim));
      return { claim, sent: spec !== undefined, write };
    });
    if (early.length) dispatch.run(early);

    const late: RunJobPayload[] = [];
    const letGo: { claim: Claim; sent: boolean }[] = [];
    const unsent: Claim[] = [];
    let failure: unknown;
    for (const { claim, sent, write } of writes) {
      try {
        const outcome = await write;
        if (!outcome.applied) letGo.push({ claim, sent });
        else if (!sent) late.push(toPayload(specOf(outcome.job, outcome.runner), claim));
      } catch (error) {
        failure ??= error;
        // Sent: the agent runs it and its reports record the assignment (see record). Not sent:
        // the lease runs out and the reaper puts the job back.
        if (!sent) unsent.push(claim);
      }
    }
    if (late.length) dispatch.run(late);
    // The queue held a job that Postgres already ended (or never had): let it go.
    const now = this.clock.now();
    await Promise.all(letGo.map(({ claim }) => this.queue.finish(claim, now)));
    for (const sent of [true, false]) {
      const refs = letGo.filter((item) => item.sent === sent).map(({ claim }) => refOf(claim));
      if (refs.length) dispatch.drop(refs, sent);
    }
    if (unsent.length) dispatch.drop(unsent.map(refOf), false);
    if (early.length + late.length) {
      this.events.publish(topics.queueUpdated, { models: [...new Set([...early, ...late].map((p) => p.modelId))] });
    }
    if (failure) throw failure;
  }

  /** Fencing: the attempt must be the job's current one and held by this node. */
  async verify(nodeId: string, refs: AttemptRef[]): Promise<ReportVerdict[]> {
    return (await this.check(nodeId, refs)).map(({ verdict }) => verdict);
  }

  /** The fencing verdicts, with the attempt number of each attempt that passed. */
  private check(nodeId: string, refs: AttemptRef[]): Promise<Checked[]> {
    // One read per job, however many reports of the report name it (started and completed).
    const reads = new Map<string, ReturnType<QueuePort["get"]>>();
    return Promise.all(
      refs.map(async (ref) => {
        let read = reads.get(ref.jobId);
        if (!read) {
          read = this.queue.get(ref.jobId);
          reads.set(ref.jobId, read);
        }
        const held = await read;
        const verdict: ReportVerdict =
          held?.state !== "leased"
            ? { ok: false, reason: "attempt is no longer held" }
            : held.attemptId !== ref.attemptId
              ? { ok: false, reason: "attempt was superseded" }
              : held.agentId !== nodeId
                ? { ok: false, reason: "attempt is held by another node" }
                : { ok: true };
        return { verdict, attempt: held?.attempts ?? 0 };
      }),
    );
  }

  /** Stores log lines once per (attempt, seq) and streams them to subscribers. */
  async logs(nodeId: string, lines: LogLine[]): Promise<Map<string, ReportVerdict>> {
    const refs = uniqueRefs(lines);
    const verdicts = await this.verify(nodeId, refs);
    const results = new Map(refs.map((ref, i) => [ref.attemptId, verdicts[i] as ReportVerdict]));
    const accepted = lines.filter((line) => results.get(line.attemptId)?.ok);
    if (accepted.length) {
      await this.prisma.jobLog.createMany({ data: accepted, skipDuplicates: true });
      for (const [jobId, jobLines] of groupBy(accepted, (line) => line.jobId)) {
        this.events.publish(topics.jobLogs(jobId), jobLines);
      }
    }
    for (const [i, ref] of refs.entries()) {
      const verdict = verdicts[i];
      if (verdict && !verdict.ok) await this.reject(ref, "logs", verdict.reason, nodeId);
    }
    return results;
  }

  async progress(nodeId: string, ref: AttemptRef, progress: number, message: string | null): Promise<ReportVerdict> {
    const [verdict] = await this.verify(nodeId, [ref]);
    if (!verdict?.ok) return { ok: false, reason: verdict?.reason ?? "unknown attempt" };
    this.events.publish(topics.jobLogs(ref.jobId), [{ jobId: ref.jobId, attemptId: ref.attemptId, progress, message }]);
    return { ok: true };
  }

  /**
   * What an agent reports about its attempts' lives (R11, R12): runners that started, results
   * and failures. Redis decides first, for all of them at once: one round trip checks the
   * fencing, one lets finished jobs go (or schedules their retry). Then every transition of the
   * report goes to the batcher together, starts before results, so one commit records them all.
   */
  async report(nodeId: string, items: AttemptReports): Promise<AttemptVerdicts> {
    const { started, completed, failed } = items;
    const refs: AttemptRef[] = [...started, ...completed, ...failed];
    const firstCompleted = started.length;
    const firstFailed = started.length + completed.length;
    const checked = await this.check(nodeId, refs);
    const held = (i: number) => checked[i]?.verdict.ok === true;
    const now = this.clock.now();
    const [finished, decided] = await Promise.all([
      Promise.all(completed.map((item, i) => (held(firstCompleted + i) ? this.queue.finish(item, now) : null))),
      Promise.all(failed.map((item, i) => (held(firstFailed + i) ? this.decideFailure(item, now) : null))),
    ]);

    // For each report, in R11 order: the transition to write, or why it is refused.
    const actor = `node:${nodeId}`;
    const plans = refs.map((ref, i): Plan => {
      const { verdict, attempt } = checked[i] as Checked;
      const kind = i < firstCompleted ? "start" : i < firstFailed ? "complete" : "fail";
      if (!verdict.ok) return { ref, kind, reason: verdict.reason };
      const { jobId, attemptId } = ref;
      if (kind === "start") return { ref, kind, attempt, transition: { trigger: "start", jobId, attemptId, actor } };
      if (kind === "complete") {
        if (finished[i - firstCompleted] === "stale") return { ref, kind, reason: "attempt was superseded" };
        const { output } = completed[i - firstCompleted] as AttemptReports["completed"][number];
        const retentionMs = this.config.resultRetentionMs;
        return { ref, kind, attempt, transition: { trigger: "succeed", jobId, attemptId, actor, output, retentionMs } };
      }
      const decision = decided[i - firstFailed];
      if (decision !== "retry" && decision !== "exhausted") return { ref, kind, reason: "attempt was superseded" };
      const failure = failed[i - firstFailed] as AttemptReports["failed"][number];
      return {
        ref,
        kind,
        attempt,
        transition: this.endOf(failure, decision === "retry" ? "retry" : "fail", "FAILED", failure, actor),
      };
    });
    await this.record(
      nodeId,
      plans.flatMap((plan) => ("transition" in plan ? [plan] : [])),
    );
    const verdicts = await Promise.all(
      plans.map((plan) =>
        "reason" in plan ? this.reject(plan.ref, plan.kind, plan.reason, nodeId) : { ok: true as const },
      ),
    );
    const results = {
      started: verdicts.slice(0, firstCompleted),
      completed: verdicts.slice(firstCompleted, firstFailed),
      failed: verdicts.slice(firstFailed),
    };
    if ([...results.completed, ...results.failed].some((verdict) => verdict.ok)) {
      this.events.publish(topics.queueUpdated, { jobIds: [...completed, ...failed].map((item) => item.jobId) });
    }
    return results;
  }

  /** A failed attempt: another try after a backoff, or the end when it may not or cannot retry. */
  private async decideFailure(ref: AttemptRef & Failure, now: number): Promise<"retry" | "exhausted" | "stale"> {
    if (ref.retryable) return this.queue.retry(ref, now, this.backoff());
    return (await this.queue.finish(ref, now)) === "ok" ? "exhausted" : "stale";
  }

  /** A step of a command the agent carried out (cancel: received, sigterm, sigkill, stopped…), kept on the job. */
  async acknowledged(nodeId: string, ref: AttemptRef, step: string, detail: string | null): Promise<void> {
    await this.transitions
      .note(ref.jobId, `ack:${step}`, {
        attemptId: ref.attemptId,
        actor: `node:${nodeId}`,
        ...(detail ? { cause: detail } : {}),
      })
      .catch(() => undefined); // an ack for a job already deleted by retention changes nothing
  }

  /** The agent stopped the runner after a CancelJob; the job was already ended by the cancel. */
  async cancelledByAgent(nodeId: string, ref: AttemptRef): Promise<ReportVerdict> {
    const [verdict] = await this.verify(nodeId, [ref]);
    if (verdict?.ok) await this.queue.finish(ref, this.clock.now()); // the lease kept since the cancel ends here
    await this.transitions.note(ref.jobId, "runner_stopped", { attemptId: ref.attemptId, actor: `node:${nodeId}` });
    return { ok: true };
  }

  /** Expired leases go back to the queue (or fail when out of attempts); due retries are queued again. */
  async reapExpiredLeases(limit = 200): Promise<number> {
    const { expired, promoted } = await this.queue.reap(this.clock.now(), limit, this.backoff());
    const cause = "agent lost: lease expired";
    const lost: Failure = {
      error: "The agent running this request stopped responding",
      errorType: "agent_lost",
      cause,
      retryable: true,
    };
    await Promise.all(
      expired.map((lease) =>
        this.transitions.applyBatched(
          this.endOf(lease, lease.outcome === "retry" ? "retry" : "fail", "LOST", lost, "reaper"),
        ),
      ),
    );
    const requeued = await Promise.all(
      promoted.map((jobId) =>
        this.transitions.applyBatched({ trigger: "requeue", jobId, actor: "reaper", cause: "backoff over" }),
      ),
    );
    const models = new Set<string>();
    for (const outcome of requeued) models.add(outcome.applied ? outcome.job.modelId : "*");
    for (const modelId of models) this.events.publish(topics.workAvailable, modelId);
    return expired.length + promoted.length;
  }

  /**
   * Writes transitions that Redis allowed (each attempt is held by this node), all into the same
   * batch. Postgres refuses one for lack of its assignment when the RunJob went out but the
   * replica that sent it died before its batch committed (or the write failed): then each such
   * job's assignment is recorded first and its refused transitions are written again, in order.
   * Any other refusal (a resent report, a job ended meanwhile) stands.
   */
  private async record(nodeId: string, writes: { transition: FencedTransition; attempt: number }[]): Promise<void> {
    const outcomes = await Promise.all(writes.map(({ transition }) => this.transitions.applyBatched(transition)));
    const refused = writes.filter(({ attempt }, i) => !outcomes[i]?.applied && attempt > 0);
    if (refused.length === 0) return;
    const assignments = new Map(refused.map(({ transition, attempt }) => [transition.jobId, { transition, attempt }]));
    await Promise.all(
      [...assignments.values()].map(({ transition: { jobId, attemptId }, attempt }) =>
        this.transitions.applyBatched({ trigger: "assign", jobId, attemptId, attempt, nodeId }),
      ),
    );
    await Promise.all(refused.map(({ transition }) => this.transitions.applyBatched(transition)));
  }

  private endOf(
    ref: AttemptRef,
    trigger: "retry" | "fail",
    attemptStatus: "FAILED" | "LOST",
    failure: Failure,
    actor: string,
  ): FencedTransition {
    const common = {
      jobId: ref.jobId,
      attemptId: ref.attemptId,
      actor,
      error: failure.error,
      errorType: failure.errorType,
      cause: failure.cause,
      attemptStatus,
    };
    return trigger === "fail"
      ? { trigger, ...common, retentionMs: this.config.resultRetentionMs }
      : { trigger, ...common };
  }

  private backoff(): BackoffPolicy {
    return { baseMs: this.config.retryBaseMs, maxMs: this.config.retryMaxMs, random: this.random() };
  }

  /** A late or foreign report: recorded on the job, never applied. */
  private async reject(ref: AttemptRef, report: string, reason: string, nodeId: string): Promise<ReportVerdict> {
    await this.transitions
      .note(ref.jobId, "report_rejected", {
        attemptId: ref.attemptId,
        cause: reason,
        actor: `node:${nodeId}`,
        detail: { report },
      })
      .catch(() => undefined); // the job may be gone (retention); the rejection stands anyway
    return { ok: false, reason };
  }
}

function toPayload(spec: RunSpec, claim: Claim): RunJobPayload {
  return {
    jobId: spec.jobId,
    attemptId: claim.attemptId,
    modelId: spec.modelId,
    modelVersionId: spec.modelVersionId,
    route: spec.route,
    input: spec.input,
    runner: spec.runner,
    timeoutMs: spec.timeoutMs,
    leaseExpiresAt: claim.leaseExpiresAt,
  };
}

function specOf(job: Job, runner: unknown): RunSpec {
  const { id: jobId, modelId, modelVersionId, route, input, timeoutMs } = job;
  return { jobId, modelId, modelVersionId, route, input, runner, timeoutMs };
}

function refOf(claim: Claim): AttemptRef {
  return { jobId: claim.jobId, attemptId: claim.attemptId };
}

function uniqueRefs(lines: { jobId: string; attemptId: string }[]): AttemptRef[] {
  const seen = new Map<string, AttemptRef>();
  for (const line of lines)
    if (!seen.has(line.attemptId)) seen.set(line.attemptId, { jobId: line.jobId, attemptId: line.attemptId });
  return [...seen.values()];
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
