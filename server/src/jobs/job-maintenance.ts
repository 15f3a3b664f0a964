import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { QueuedJob, QueuePort } from "../queue/port.js";
import type { JobTransitions } from "./job-transitions.js";

export interface MaintenanceConfig {
  leaseTtlMs: number;
}

const BATCH = 500;

/**
 * Work no request triggers: deadlines, retention, and rebuilding the queue from Postgres.
 * Safe on every replica at once: the queue's atomic scripts and guarded row updates decide.
 */
export class JobMaintenance {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: QueuePort,
    private readonly events: EventBus,
    private readonly transitions: JobTransitions,
    private readonly clock: Clock,
    private readonly config: MaintenanceConfig,
  ) {}

  /** Jobs nobody started before their start deadline, and attempts past their execution timeout. */
  async enforceDeadlines(): Promise<number> {
    const now = new Date(this.clock.now());
    let ended = 0;
    const unstarted = await this.prisma.job.findMany({
      where: { status: { in: ["QUEUED", "RETRY_WAIT"] }, startDeadlineAt: { lt: now } },
      select: { id: true },
      take: BATCH,
    });
    for (const { id } of unstarted) {
      if (!(await this.queue.expireUnstarted(id))) continue;
      const outcome = await this.transitions.apply({
        jobId: id,
        trigger: "timeout",
        actor: "deadline",
        cause: "start deadline passed before any agent started the job",
        data: (job, at) => ({
          error: "Request timed out before it started",
          errorType: "request_timeout",
          cause: "start deadline passed",
          totalTimeMs: at.getTime() - job.createdAt.getTime(),
        }),
      });
      if (outcome.applied) ended++;
    }
    const overdue = await this.prisma.$queryRaw<{ id: string; currentAttemptId: string }[]>`
      SELECT "id", "currentAttemptId" FROM "Job"
      WHERE "status" IN ('ASSIGNED', 'RUNNING') AND "timeoutMs" IS NOT NULL AND "currentAttemptId" IS NOT NULL
        AND COALESCE("startedAt", "updatedAt") + ("timeoutMs" * interval '1 millisecond') < ${now}
      LIMIT ${BATCH}`;
    for (const job of overdue) {
      const held = await this.queue.get(job.id);
      if ((await this.queue.finish({ jobId: job.id, attemptId: job.currentAttemptId }, now.getTime())) === "stale")
        continue;
      const cause = "execution timeout";
      const outcome = await this.transitions.apply({
        jobId: job.id,
        trigger: "timeout",
        attemptId: job.currentAttemptId,
        actor: "deadline",
        cause,
        data: (row, at) => ({
          error: "Request timed out while running",
          errorType: "request_timeout",
          cause,
          runTimeMs: row.startedAt ? at.getTime() - row.startedAt.getTime() : null,
          totalTimeMs: at.getTime() - row.createdAt.getTime(),
        }),
        also: (tx, _row, at) =>
          tx.jobAttempt.updateMany({
            where: { id: job.currentAttemptId },
            data: { status: "TIMED_OUT", cause, finishedAt: at },
          }),
      });
      if (outcome.applied) ended++;
      if (held?.agentId) {
        this.events.publish(topics.agentCommands(held.agentId), [
          {
            __typename: "CancelJobCommand",
            commandId: randomUUID(),
            jobId: job.id,
            attemptId: job.currentAttemptId,
            reason: cause,
          },
        ]);
      }
    }
    return ended;
  }

  /** Deletes finished jobs (with their events, logs and attempts) past their retention. */
  async purgeExpiredResults(): Promise<number> {
    const { count } = await this.prisma.job.deleteMany({
      where: { retentionUntil: { lt: new Date(this.clock.now()) } },
    });
    return count;
  }

  /**
   * Puts every unfinished job back into the queue if the queue lost it (a flushed Redis, a
   * restarted embedded server). Jobs the queue still knows are left as they are.
   */
  async reconcileQueue(): Promise<{ scanned: number; restored: number }> {
    let cursor: string | undefined;
    let scanned = 0;
    let restored = 0;
    const now = this.clock.now();
    for (;;) {
      const jobs = await this.prisma.job.findMany({
        where: { status: { in: ["QUEUED", "RETRY_WAIT", "ASSIGNED", "RUNNING"] } },
        orderBy: { id: "asc" },
        take: BATCH,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
        include: { attempts: { orderBy: { number: "desc" }, take: 1 } },
      });
      if (jobs.length === 0) break;
      for (const job of jobs) {
        const attempt = job.attempts[0];
        const base = {
          jobId: job.id,
          modelId: job.modelId,
          priority: job.priority,
          maxAttempts: job.maxAttempts,
          attempts: job.attemptCount,
          enqueuedAt: job.createdAt.getTime(),
        };
        let entry: QueuedJob;
        if ((job.status === "ASSIGNED" || job.status === "RUNNING") && job.currentAttemptId && attempt?.nodeId) {
          // The agent may still be running it: give it one lease to report back, else the reaper requeues.
          entry = {
            ...base,
            state: "leased",
            attemptId: job.currentAttemptId,
            agentId: attempt.nodeId,
            leaseExpiresAt: now + this.config.leaseTtlMs,
          };
        } else if (job.status === "RETRY_WAIT") {
          entry = { ...base, state: "delayed", notBefore: now };
        } else {
          entry = { ...base, state: "ready" };
        }
        if ((await this.queue.restore(entry)) === "restored") restored++;
      }
      scanned += jobs.length;
      cursor = jobs[jobs.length - 1]?.id;
    }
    if (restored > 0) this.events.publish(topics.workAvailable, "*");
    return { scanned, restored };
  }
}
