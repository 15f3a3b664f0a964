import { type KeyObject, randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { DomainError, notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { Job, PrismaClient, WebhookDelivery } from "../generated/prisma/client.js";
import { isTerminal } from "../jobs/state-machine.js";
import { decide, type WebhookRetryPolicy } from "./retry-policy.js";
import { type Jwk, jwksOf, signWebhook } from "./webhook-signer.js";

export type WebhookJob = Pick<Job, "id" | "status" | "output" | "error" | "errorType" | "cause">;

export interface WebhookServiceConfig {
  policy: WebhookRetryPolicy;
  /** Per attempt: the receiver must answer within this. */
  timeoutMs: number;
  /** Delivered and failed records are deleted after this. */
  retentionMs: number;
  /** Deliveries claimed (and sent concurrently) per round. */
  batch?: number;
}

export interface WebhookDeps {
  prisma: PrismaClient;
  events: EventBus;
  clock: Clock;
  signingKey: KeyObject;
  /** The body a receiver gets for a finished job (the fal shim renders fal's payload). */
  render: (job: WebhookJob) => unknown;
  onError: (error: unknown, context: string) => void;
  random?: () => number;
  fetch?: typeof fetch;
}

interface ClaimedRow {
  id: string;
  jobId: string;
  url: string;
  userId: string;
  attempts: number;
  maxAttempts: number;
}

interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** How long a claimed delivery stays invisible to other replicas beyond its own timeout. */
const CLAIM_MARGIN_MS = 30_000;

/**
 * Webhooks of finished jobs: recorded at submit, sent when the job ends, retried with backoff,
 * every attempt recorded. Runs on every replica: a delivery is claimed by one atomic UPDATE over
 * rows locked FOR UPDATE SKIP LOCKED, and its outcome is written only while the claim is still
 * the latest (fenced by the attempt count), so two replicas never send the same attempt.
 */
export class WebhookService {
  /** Jobs submitted here whose webhook waits for the end: their end triggers a round at once. */
  private readonly watching = new Set<string>();
  private running: Promise<number> | null = null;
  private again = false;
  private readonly random: () => number;
  private readonly fetch: typeof fetch;
  private subscription: AsyncIterator<unknown> | null = null;

  constructor(
    private readonly deps: WebhookDeps,
    private readonly config: WebhookServiceConfig,
  ) {
    this.random = deps.random ?? Math.random;
    this.fetch = deps.fetch ?? globalThis.fetch;
  }

  /** The public keys receivers verify signatures with. */
  jwks(): { keys: Jwk[] } {
    return jwksOf([this.deps.signingKey]);
  }

  async register(jobId: string, url: string, userId: string): Promise<WebhookDelivery> {
    const delivery = await this.deps.prisma.webhookDelivery.create({
      data: { id: randomUUID(), jobId, url, userId, state: "WAITING", maxAttempts: this.config.policy.maxAttempts },
    });
    this.watching.add(jobId);
    return delivery;
  }

  /** Listens for jobs that end, to send their webhooks without waiting for the next periodic round. */
  start(): void {
    const iterator = this.deps.events.subscribe<{ id: string; status: Job["status"] }>(topics.jobsChanged);
    this.subscription = iterator;
    void (async () => {
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          const job = next.value;
          if (this.watching.has(job.id) && isTerminal(job.status)) {
            this.watching.delete(job.id);
            void this.sweep().catch((error) => this.deps.onError(error, "webhook delivery"));
          }
        }
      } catch (error) {
        this.deps.onError(error, "webhook job subscription");
      }
    })();
  }

  stop(): void {
    void this.subscription?.return?.();
    this.subscription = null;
  }

  /**
   * One delivery round: webhooks of jobs that ended become due, then due ones are claimed and
   * sent. Calls during a round coalesce into one more round. Returns how many were attempted.
   */
  sweep(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let attempted = 0;
      try {
        do {
          this.again = false;
          await this.promoteFinished();
          for (;;) {
            const claimed = await this.claimDue();
            attempted += claimed.length;
            if (claimed.length) await this.deliver(claimed);
            if (claimed.length < (this.config.batch ?? 16)) break;
          }
        } while (this.again);
      } finally {
        this.running = null;
      }
      return attempted;
    })();
    return this.running;
  }

  /** Sends a delivered or failed webhook again, with a fresh budget of attempts. */
  async redeliver(id: string): Promise<WebhookDelivery> {
    const now = new Date(this.deps.clock.now());
    const existing = await this.deps.prisma.webhookDelivery.findUnique({ where: { id } });
    if (!existing) throw notFound("webhook delivery", id);
    const updated = await this.deps.prisma.webhookDelivery.updateMany({
      where: { id, state: { in: ["DELIVERED", "FAILED"] } },
      data: { state: "PENDING", nextAttemptAt: now, maxAttempts: existing.attempts + this.config.policy.maxAttempts },
    });
    if (updated.count === 0)
      throw new DomainError("INVALID_STATE", `webhook delivery ${id} is ${existing.state}; it is sent already`);
    void this.sweep().catch((error) => this.deps.onError(error, "webhook delivery"));
    return this.deps.prisma.webhookDelivery.findUniqueOrThrow({ where: { id } });
  }

  /** Deletes finished records past retention, and waiting ones whose job is gone. */
  async purgeExpired(): Promise<number> {
    const before = new Date(this.deps.clock.now() - this.config.retentionMs);
    const { count } = await this.deps.prisma.webhookDelivery.deleteMany({
      where: { state: { in: ["DELIVERED", "FAILED"] }, updatedAt: { lt: before } },
    });
    const orphans = await this.deps.prisma.$executeRaw`
      DELETE FROM "WebhookDelivery" AS d
      WHERE d."state" IN ('WAITING', 'PENDING') AND d."createdAt" < ${before}
        AND NOT EXISTS (SELECT 1 FROM "Job" AS j WHERE j."id" = d."jobId")`;
    return count + orphans;
  }

  /** WAITING → PENDING for jobs that ended; concurrent replicas serialise on the row locks. */
  private async promoteFinished(): Promise<void> {
    const now = new Date(this.deps.clock.now());
    await this.deps.prisma.$executeRaw`
      UPDATE "WebhookDelivery" AS d
      SET "state" = 'PENDING', "nextAttemptAt" = ${now}, "updatedAt" = ${now}
      FROM "Job" AS j
      WHERE j."id" = d."jobId" AND d."state" = 'WAITING'
        AND j."status" IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`;
  }

  private async claimDue(): Promise<ClaimedRow[]> {
    const now = this.deps.clock.now();
    const leaseUntil = new Date(now + this.config.timeoutMs + CLAIM_MARGIN_MS);
    const at = new Date(now);
    return this.deps.prisma.$queryRaw<ClaimedRow[]>`
      UPDATE "WebhookDelivery" AS w
      SET "attempts" = w."attempts" + 1, "nextAttemptAt" = ${leaseUntil}, "lastAttemptAt" = ${at}, "updatedAt" = ${at}
      FROM (
        SELECT "id" FROM "WebhookDelivery"
        WHERE "state" = 'PENDING' AND "nextAttemptAt" <= ${at}
        ORDER BY "nextAttemptAt"
        LIMIT ${this.config.batch ?? 16}
        FOR UPDATE SKIP LOCKED
      ) AS due
      WHERE w."id" = due."id"
      RETURNING w."id", w."jobId", w."url", w."userId", w."attempts", w."maxAttempts"`;
  }

  private async deliver(claimed: ClaimedRow[]): Promise<void> {
    const jobs = await this.deps.prisma.job.findMany({
      where: { id: { in: [...new Set(claimed.map((row) => row.jobId))] } },
      select: { id: true, status: true, output: true, error: true, errorType: true, cause: true },
    });
    const byId = new Map(jobs.map((job) => [job.id, job]));
    await Promise.all(
      claimed.map(async (row) => {
        const job = byId.get(row.jobId);
        const outcome: AttemptOutcome = job
          ? await this.post(row, job)
          : { statusCode: null, error: "the job no longer exists", durationMs: 0 };
        await this.record(row, outcome, !job);
      }),
    );
  }

  private async post(row: ClaimedRow, job: WebhookJob): Promise<AttemptOutcome> {
    const started = Date.now();
    const body = JSON.stringify(this.deps.render(job));
    const signed = signWebhook(
      { requestId: job.id, userId: row.userId, timestamp: Math.floor(this.deps.clock.now() / 1000), body },
      this.deps.signingKey,
    );
    try {
      const response = await this.fetch(row.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "vyvo-webhooks/1", ...signed },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      const ok = response.status >= 200 && response.status < 300;
      return {
        statusCode: response.status,
        error: ok ? null : `HTTP ${response.status}`,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const message =
        (error as Error).name === "TimeoutError"
          ? `no answer within ${this.config.timeoutMs} ms`
          : (cause ?? (error as Error).message);
      return { statusCode: null, error: message, durationMs: Date.now() - started };
    }
  }

  /** Writes the outcome unless another claim of the row happened since ours (fenced by attempts). */
  private async record(row: ClaimedRow, outcome: AttemptOutcome, giveUp: boolean): Promise<void> {
    const now = this.deps.clock.now();
    const at = new Date(now);
    const policy = { ...this.config.policy, maxAttempts: row.maxAttempts };
    const decision = giveUp
      ? { state: "FAILED" as const }
      : decide(row.attempts, outcome.statusCode, policy, this.random());
    const next = decision.state === "PENDING" ? new Date(now + decision.retryInMs) : null;
    const deliveredAt = decision.state === "DELIVERED" ? at : null;
    const entry = JSON.stringify([{ at: at.toISOString(), attempt: row.attempts, ...outcome }]);
    await this.deps.prisma.$executeRaw`
      UPDATE "WebhookDelivery"
      SET "state" = ${decision.state}::"WebhookDeliveryState", "nextAttemptAt" = ${next},
          "lastStatusCode" = ${outcome.statusCode}, "lastError" = ${outcome.error},
          "deliveredAt" = COALESCE(${deliveredAt}, "deliveredAt"),
          "attemptLog" = "attemptLog" || ${entry}::jsonb, "updatedAt" = ${at}
      WHERE "id" = ${row.id} AND "attempts" = ${row.attempts}`;
  }
}
