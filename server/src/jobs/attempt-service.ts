import type { Job, ModelVersion, Prisma, PrismaClient } from "../generated/prisma/client.js";
import type { Clock } from "../clock.js";
import { type EventBus, topics } from "../events/event-bus.js";
import { type AttemptRef, type BackoffPolicy, type Claim, type QueuePort } from "../queue/port.js";
import type { JobTransitions } from "./job-transitions.js";

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
    private readonly clock: Clock,
    private readonly config: AttemptsConfig,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records the claims an agent just won and returns what to send it. Claims of finished jobs are dropped. */
  async assign(nodeId: string, claims: Claim[]): Promise<RunJobPayload[]> {
    if (claims.length === 0) return [];
    const jobs = await this.prisma.job.findMany({
      where: { id: { in: claims.map((c) => c.jobId) } },
      include: { modelVersion: true },
    });
    const byId = new Map(jobs.map((job) => [job.id, job]));
    const payloads: RunJobPayload[] = [];
    for (const claim of claims) {
      const job = byId.get(claim.jobId);
      const outcome = job
        ? await this.transitions.apply({
            jobId: claim.jobId,
            trigger: "assign",
            beforeAttempt: claim.attempt,
            cause: `claimed by node ${nodeId}`,
            actor: `node:${nodeId}`,
            detail: { attempt: claim.attempt },
            data: () => ({ attemptCount: claim.attempt, currentAttemptId: claim.attemptId }),
            also: (tx, _job, at) =>
              tx.jobAttempt.create({
                data: { id: claim.attemptId, jobId: claim.jobId, number: claim.attempt, nodeId, status: "ASSIGNED", assignedAt: at },
              }),
          })
        : null;
      if (!job || !outcome?.applied) {
        // The queue held a job that Postgres already ended (or never had): let it go.
        await this.queue.finish(claim, this.clock.now());
        continue;
      }
      payloads.push(toPayload(job, job.modelVersion, claim));
    }
    if (payloads.length) this.events.publish(topics.queueUpdated, { models: [...new Set(payloads.map((p) => p.modelId))] });
    return payloads;
  }

  /** Fencing: the attempt must be the job's current one and held by this node. */
  async verify(nodeId: string, refs: AttemptRef[]): Promise<ReportVerdict[]> {
    return Promise.all(
      refs.map(async (ref) => {
        const held = await this.queue.get(ref.jobId);
        if (!held || held.state !== "leased") return { ok: false, reason: "attempt is no longer held" } as const;
        if (held.attemptId !== ref.attemptId) return { ok: false, reason: "attempt was superseded" } as const;
        if (held.agentId !== nodeId) return { ok: false, reason: "attempt is held by another node" } as const;
        return { ok: true } as const;
      }),
    );
  }

  async started(nodeId: string, ref: AttemptRef): Promise<ReportVerdict> {
    const [verdict] = await this.verify(nodeId, [ref]);
    if (!verdict?.ok) return this.reject(ref, "start", verdict?.reason ?? "unknown attempt", nodeId);
    await this.transitions.apply({
      jobId: ref.jobId,
      trigger: "start",
      attemptId: ref.attemptId,
      actor: `node:${nodeId}`,
      data: (job, at) => ({
        startedAt: job.startedAt ?? at,
        queueWaitMs: job.queueWaitMs ?? at.getTime() - job.createdAt.getTime(),
      }),
      also: (tx, _job, at) =>
        tx.jobAttempt.update({ where: { id: ref.attemptId }, data: { status: "RUNNING", startedAt: at } }),
    });
    return { ok: true };
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

  async completed(nodeId: string, ref: AttemptRef, output: unknown): Promise<ReportVerdict> {
    const [verdict] = await this.verify(nodeId, [ref]);
    if (!verdict?.ok) return this.reject(ref, "complete", verdict?.reason ?? "unknown attempt", nodeId);
    if ((await this.queue.finish(ref, this.clock.now())) === "stale") {
      return this.reject(ref, "complete", "attempt was superseded", nodeId);
    }
    await this.transitions.apply({
      jobId: ref.jobId,
      trigger: "succeed",
      attemptId: ref.attemptId,
      actor: `node:${nodeId}`,
      data: (job, at) => ({ output: output as Prisma.InputJsonValue, ...this.finishTimes(job, at) }),
      also: (tx, _job, at) =>
        tx.jobAttempt.update({ where: { id: ref.attemptId }, data: { status: "SUCCEEDED", finishedAt: at } }),
    });
    this.events.publish(topics.queueUpdated, { jobId: ref.jobId });
    return { ok: true };
  }

  async failed(nodeId: string, ref: AttemptRef, failure: Failure): Promise<ReportVerdict> {
    const [verdict] = await this.verify(nodeId, [ref]);
    if (!verdict?.ok) return this.reject(ref, "fail", verdict?.reason ?? "unknown attempt", nodeId);
    const now = this.clock.now();
    const decision = failure.retryable
      ? await this.queue.retry(ref, now, this.backoff())
      : (await this.queue.finish(ref, now)) === "ok"
        ? "exhausted"
        : "stale";
    if (decision === "stale") return this.reject(ref, "fail", "attempt was superseded", nodeId);
    await this.endAttempt(ref, decision === "retry" ? "retry" : "fail", "FAILED", failure, `node:${nodeId}`);
    if (decision === "retry") this.events.publish(topics.queueUpdated, { jobId: ref.jobId });
    return { ok: true };
  }

  /** A step of a command the agent carried out (cancel: received, sigterm, sigkill, stopped…), kept on the job. */
  async acknowledged(nodeId: string, ref: AttemptRef, step: string, detail: string | null): Promise<void> {
    await this.transitions
      .note(ref.jobId, `ack:${step}`, { attemptId: ref.attemptId, actor: `node:${nodeId}`, ...(detail ? { cause: detail } : {}) })
      .catch(() => undefined); // an ack for a job already deleted by retention changes nothing
  }

  /** The agent stopped the runner after a CancelJob; the job was already ended by the cancel. */
  async cancelledByAgent(nodeId: string, ref: AttemptRef): Promise<ReportVerdict> {
    await this.transitions.note(ref.jobId, "runner_stopped", { attemptId: ref.attemptId, actor: `node:${nodeId}` });
    return { ok: true };
  }

  /** Expired leases go back to the queue (or fail when out of attempts); due retries are queued again. */
  async reapExpiredLeases(limit = 200): Promise<number> {
    const { expired, promoted } = await this.queue.reap(this.clock.now(), limit, this.backoff());
    for (const lease of expired) {
      const cause = "agent lost: lease expired";
      await this.endAttempt(
        lease,
        lease.outcome === "retry" ? "retry" : "fail",
        "LOST",
        { error: "The agent running this request stopped responding", errorType: "agent_lost", cause, retryable: true },
        "reaper",
      );
    }
    for (const jobId of promoted) {
      await this.transitions.apply({ jobId, trigger: "requeue", actor: "reaper", cause: "backoff over" });
    }
    if (promoted.length) {
      const models = await this.prisma.job.findMany({ where: { id: { in: promoted } }, select: { modelId: true }, distinct: ["modelId"] });
      for (const { modelId } of models) this.events.publish(topics.workAvailable, modelId);
    }
    return expired.length + promoted.length;
  }

  private async endAttempt(
    ref: AttemptRef,
    trigger: "retry" | "fail",
    attemptStatus: "FAILED" | "LOST",
    failure: Failure,
    actor: string,
  ) {
    await this.transitions.apply({
      jobId: ref.jobId,
      trigger,
      attemptId: ref.attemptId,
      cause: failure.cause,
      actor,
      detail: { error: failure.error, errorType: failure.errorType },
      data: (job, at) =>
        trigger === "fail"
          ? { error: failure.error, errorType: failure.errorType, cause: failure.cause, ...this.finishTimes(job, at) }
          : { cause: failure.cause },
      also: (tx, _job, at) =>
        tx.jobAttempt.updateMany({
          where: { id: ref.attemptId },
          data: { status: attemptStatus, cause: failure.cause, finishedAt: at },
        }),
    });
  }

  private finishTimes(job: Job, at: Date) {
    return {
      runTimeMs: job.startedAt ? at.getTime() - job.startedAt.getTime() : null,
      totalTimeMs: at.getTime() - job.createdAt.getTime(),
      retentionUntil: new Date(at.getTime() + this.config.resultRetentionMs),
    };
  }

  private backoff(): BackoffPolicy {
    return { baseMs: this.config.retryBaseMs, maxMs: this.config.retryMaxMs, random: this.random() };
  }

  /** A late or foreign report: recorded on the job, never applied. */
  private async reject(ref: AttemptRef, report: string, reason: string, nodeId: string): Promise<ReportVerdict> {
    await this.transitions
      .note(ref.jobId, "report_rejected", { attemptId: ref.attemptId, cause: reason, actor: `node:${nodeId}`, detail: { report } })
      .catch(() => undefined); // the job may be gone (retention); the rejection stands anyway
    return { ok: false, reason };
  }
}


function toPayload(job: Job, version: ModelVersion, claim: Claim): RunJobPayload {
  return {
    jobId: job.id,
    attemptId: claim.attemptId,
    modelId: job.modelId,
    modelVersionId: version.id,
    route: job.route,
    input: job.input,
    runner: version.runner,
    timeoutMs: job.timeoutMs,
    leaseExpiresAt: claim.leaseExpiresAt,
  };
}

function uniqueRefs(lines: { jobId: string; attemptId: string }[]): AttemptRef[] {
  const seen = new Map<string, AttemptRef>();
  for (const line of lines) if (!seen.has(line.attemptId)) seen.set(line.attemptId, { jobId: line.jobId, attemptId: line.attemptId });
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
