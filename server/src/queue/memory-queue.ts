/**
 * The embedded queue driver: the same contract as RedisQueue, in process. Each method does its
 * whole state change synchronously before its first await point, so within one process every
 * change is atomic just as a Lua script is in Redis. The structures mirror the Redis keys
 * (see redis-queue.ts) so the two drivers order, fence and count alike.
 */
import {
  type AttemptRef,
  attemptIdFor,
  type BackoffPolicy,
  backoffDelay,
  type CancelResult,
  type Claim,
  type ClaimRequest,
  type EnqueueInput,
  type EnqueueResult,
  type FinishResult,
  jitterFor,
  type QueuedJob,
  type QueuedJobState,
  type QueuePort,
  type QueueStats,
  type ReapedLease,
  type ReapResult,
  type RenewResult,
  type RetryResult,
  readyScore,
} from "./port.js";
import {
  type NormalizedEnqueue,
  normalizeEnqueue,
  normalizeRestore,
  requireBackoff,
  requireId,
  requireInteger,
} from "./queue-input.js";
import { SortedSet } from "./sorted-set.js";

interface StoredJob {
  jobId: string;
  modelId: string;
  priority: number;
  maxAttempts: number;
  attempts: number;
  enqueuedAt: number;
  /** Global enqueue sequence: FIFO order within a priority, across models. */
  sequence: number;
  state: QueuedJobState;
  idempotencyKey?: string;
  notBefore?: number;
  attemptId?: string;
  agentId?: string;
  leaseExpiresAt?: number;
}

interface ModelQueue {
  /** By readyScore: the rank is the queue position. */
  ready: SortedSet;
  /** The same jobs by enqueuedAt, for the oldest wait. */
  readySince: SortedSet;
  delayed: Set<string>;
  leased: Set<string>;
}

export class MemoryQueue implements QueuePort {
  readonly #jobs = new Map<string, StoredJob>();
  readonly #models = new Map<string, ModelQueue>();
  readonly #paused = new Set<string>();
  /** Delayed jobs of every model by due time. */
  readonly #delayed = new SortedSet();
  /** Leased jobs by lease expiry. */
  readonly #leases = new SortedSet();
  readonly #agents = new Map<string, Set<string>>();
  readonly #idempotency = new Map<string, string>();
  #sequence = 0;

  async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    return this.#enqueue(normalizeEnqueue(input));
  }

  async enqueueMany(inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
    // Check every input first so a bad one fails the batch before any job is queued (as in Redis).
    return inputs.map(normalizeEnqueue).map((request) => this.#enqueue(request));
  }

  async claim(req: ClaimRequest): Promise<Claim[]> {
    const slots = requireInteger("slots", req.slots, 0);
    if (slots === 0) return [];
    const agentId = requireId("agentId", req.agentId);
    const leaseExpiresAt = requireInteger("now", req.now) + requireInteger("leaseMs", req.leaseMs, 1);
    const candidates = [...new Set(req.models === "*" ? this.#models.keys() : req.models)]
      .filter((modelId) => !this.#paused.has(modelId))
      .map((modelId) => this.#models.get(modelId))
      .filter((queue): queue is ModelQueue => queue !== undefined);

    const claims: Claim[] = [];
    while (claims.length < slots) {
      let best: { queue: ModelQueue; jobId: string; score: number } | undefined;
      for (const queue of candidates) {
        const head = queue.ready.first();
        if (head && (best === undefined || head.score < best.score))
          best = { queue, jobId: head.member, score: head.score };
      }
      if (best === undefined) break;
      const job = this.#job(best.jobId);
      this.#leaveReady(job);
      job.attempts += 1;
      job.state = "leased";
      job.attemptId = attemptIdFor(job.jobId, job.attempts);
      job.agentId = agentId;
      job.leaseExpiresAt = leaseExpiresAt;
      this.#holdLease(job);
      claims.push({
        jobId: job.jobId,
        modelId: job.modelId,
        attemptId: job.attemptId,
        attempt: job.attempts,
        enqueuedAt: job.enqueuedAt,
        leaseExpiresAt,
      });
    }
    return claims;
  }

  async renew(agentId: string, attempts: AttemptRef[], leaseMs: number, now: number): Promise<RenewResult> {
    const leaseExpiresAt = requireInteger("now", now) + requireInteger("leaseMs", leaseMs, 1);
    const result: RenewResult = { renewed: [], lost: [] };
    for (const ref of attempts) {
      const job = this.#heldBy(ref);
      if (job && job.agentId === agentId) {
        job.leaseExpiresAt = leaseExpiresAt;
        this.#leases.add(job.jobId, leaseExpiresAt);
        result.renewed.push({ jobId: ref.jobId, attemptId: ref.attemptId });
      } else {
        result.lost.push({ jobId: ref.jobId, attemptId: ref.attemptId });
      }
    }
    return result;
  }

  async finish(ref: AttemptRef, _now: number): Promise<FinishResult> {
    const job = this.#heldBy(ref);
    if (!job) return "stale";
    this.#releaseLease(job);
    this.#forget(job);
    return "ok";
  }

  async retry(ref: AttemptRef, now: number, backoff: BackoffPolicy): Promise<RetryResult> {
    requireInteger("now", now);
    const policy = requireBackoff(backoff);
    const job = this.#heldBy(ref);
    if (!job) return "stale";
    return this.#retryOrExhaust(job, now, policy, 0) === undefined ? "exhausted" : "retry";
  }

  async reap(now: number, limit: number, backoff: BackoffPolicy): Promise<ReapResult> {
    requireInteger("now", now);
    requireInteger("limit", limit, 1);
    const policy = requireBackoff(backoff);
    const expired = this.#leases.rangeUpTo(now, limit).map((jobId, index): ReapedLease => {
      const job = this.#job(jobId);
      const lease = { jobId, attemptId: job.attemptId ?? "", agentId: job.agentId ?? "" };
      const retryAt = this.#retryOrExhaust(job, now, policy, index);
      return retryAt === undefined ? { ...lease, outcome: "exhausted" } : { ...lease, outcome: "retry", retryAt };
    });
    const promoted = this.#delayed.rangeUpTo(now, limit);
    for (const jobId of promoted) {
      const job = this.#job(jobId);
      this.#leaveDelayed(job);
      this.#makeReady(job);
    }
    return { expired, promoted };
  }

  async cancel(jobId: string): Promise<CancelResult> {
    const job = this.#jobs.get(jobId);
    if (!job) return { state: "absent" };
    if (job.state === "leased") return { state: "leased", agentId: job.agentId ?? "", attemptId: job.attemptId ?? "" };
    this.#removeWaiting(job);
    return { state: "removed" };
  }

  /** Removes a ready or delayed job; the start deadline covers queue wait and retries, not a running attempt. */
  async expireUnstarted(jobId: string): Promise<boolean> {
    const job = this.#jobs.get(jobId);
    if (!job || job.state === "leased") return false;
    this.#removeWaiting(job);
    return true;
  }

  async position(jobId: string): Promise<number | null> {
    const job = this.#jobs.get(jobId);
    if (job?.state !== "ready") return null;
    return this.#models.get(job.modelId)?.ready.rank(jobId) ?? null;
  }

  async get(jobId: string): Promise<QueuedJob | null> {
    const job = this.#jobs.get(jobId);
    return job ? toQueuedJob(job) : null;
  }

  async leasedBy(agentId: string): Promise<AttemptRef[]> {
    const jobIds = [...(this.#agents.get(agentId) ?? [])].sort();
    return jobIds.map((jobId) => ({ jobId, attemptId: this.#job(jobId).attemptId ?? "" }));
  }

  async stats(modelIds?: string[]): Promise<QueueStats[]> {
    const models = modelIds ?? [...this.#models.keys()].sort();
    return models.map((modelId) => {
      const queue = this.#models.get(modelId);
      return {
        modelId,
        depth: queue?.ready.size ?? 0,
        running: queue?.leased.size ?? 0,
        delayed: queue?.delayed.size ?? 0,
        oldestEnqueuedAt: queue?.readySince.first()?.score ?? null,
        paused: this.#paused.has(modelId),
      };
    });
  }

  async pause(modelId: string): Promise<void> {
    this.#paused.add(requireId("modelId", modelId));
    this.#modelQueue(modelId);
  }

  async resume(modelId: string): Promise<void> {
    this.#paused.delete(requireId("modelId", modelId));
  }

  async purge(modelId: string): Promise<string[]> {
    const queue = this.#models.get(modelId);
    if (!queue) return [];
    const removed = [...queue.ready.members(), ...queue.delayed];
    for (const jobId of removed) this.#removeWaiting(this.#job(jobId));
    return removed;
  }

  async restore(job: QueuedJob): Promise<"restored" | "exists"> {
    const restore = normalizeRestore(job);
    if (this.#jobs.has(restore.jobId)) return "exists";
    const stored: StoredJob = {
      jobId: restore.jobId,
      modelId: restore.modelId,
      priority: restore.priority,
      maxAttempts: restore.maxAttempts,
      attempts: restore.attempts,
      enqueuedAt: restore.enqueuedAt,
      sequence: ++this.#sequence,
      state: restore.state,
    };
    this.#jobs.set(stored.jobId, stored);
    this.#modelQueue(stored.modelId);
    if (restore.state === "ready") this.#makeReady(stored);
    else if (restore.state === "delayed") this.#makeDelayed(stored, restore.notBefore);
    else {
      stored.attemptId = restore.attemptId;
      stored.agentId = restore.agentId;
      stored.leaseExpiresAt = restore.leaseExpiresAt;
      this.#holdLease(stored);
    }
    return "restored";
  }

  async close(): Promise<void> {}

  #enqueue(request: NormalizedEnqueue): EnqueueResult {
    if (this.#jobs.has(request.jobId)) return { status: "duplicate", jobId: request.jobId };
    if (request.idempotencyKey !== undefined) {
      const firstJobId = this.#idempotency.get(request.idempotencyKey);
      if (firstJobId !== undefined && this.#jobs.has(firstJobId)) return { status: "duplicate", jobId: firstJobId };
      this.#idempotency.set(request.idempotencyKey, request.jobId);
    }
    const job: StoredJob = {
      jobId: request.jobId,
      modelId: request.modelId,
      priority: request.priority,
      maxAttempts: request.maxAttempts,
      attempts: request.attempts,
      enqueuedAt: request.now,
      sequence: ++this.#sequence,
      state: "ready",
    };
    if (request.idempotencyKey !== undefined) job.idempotencyKey = request.idempotencyKey;
    this.#jobs.set(job.jobId, job);
    this.#modelQueue(job.modelId);
    if (request.notBefore !== undefined) this.#makeDelayed(job, request.notBefore);
    else this.#makeReady(job);
    return { status: "enqueued", jobId: job.jobId };
  }

  #job(jobId: string): StoredJob {
    const job = this.#jobs.get(jobId);
    if (!job) throw new Error(`MemoryQueue: index names unknown job ${jobId}`);
    return job;
  }

  #modelQueue(modelId: string): ModelQueue {
    let queue = this.#models.get(modelId);
    if (!queue) {
      queue = { ready: new SortedSet(), readySince: new SortedSet(), delayed: new Set(), leased: new Set() };
      this.#models.set(modelId, queue);
    }
    return queue;
  }

  /** The job when it is leased under exactly this attempt (the fencing check). */
  #heldBy(ref: AttemptRef): StoredJob | undefined {
    const job = this.#jobs.get(ref.jobId);
    return job?.state === "leased" && job.attemptId === ref.attemptId ? job : undefined;
  }

  #makeReady(job: StoredJob): void {
    const queue = this.#modelQueue(job.modelId);
    queue.ready.add(job.jobId, readyScore(job.priority, job.sequence));
    queue.readySince.add(job.jobId, job.enqueuedAt);
    job.state = "ready";
    delete job.notBefore;
  }

  #leaveReady(job: StoredJob): void {
    const queue = this.#modelQueue(job.modelId);
    queue.ready.remove(job.jobId);
    queue.readySince.remove(job.jobId);
  }

  #makeDelayed(job: StoredJob, dueAt: number): void {
    this.#delayed.add(job.jobId, dueAt);
    this.#modelQueue(job.modelId).delayed.add(job.jobId);
    job.state = "delayed";
    job.notBefore = dueAt;
  }

  #leaveDelayed(job: StoredJob): void {
    this.#delayed.remove(job.jobId);
    this.#modelQueue(job.modelId).delayed.delete(job.jobId);
  }

  #holdLease(job: StoredJob): void {
    const agentId = job.agentId ?? "";
    this.#leases.add(job.jobId, job.leaseExpiresAt ?? 0);
    this.#modelQueue(job.modelId).leased.add(job.jobId);
    let held = this.#agents.get(agentId);
    if (!held) {
      held = new Set();
      this.#agents.set(agentId, held);
    }
    held.add(job.jobId);
  }

  #releaseLease(job: StoredJob): void {
    this.#leases.remove(job.jobId);
    this.#modelQueue(job.modelId).leased.delete(job.jobId);
    const agentId = job.agentId ?? "";
    const held = this.#agents.get(agentId);
    held?.delete(job.jobId);
    if (held?.size === 0) this.#agents.delete(agentId);
    delete job.attemptId;
    delete job.agentId;
    delete job.leaseExpiresAt;
  }

  #removeWaiting(job: StoredJob): void {
    if (job.state === "ready") this.#leaveReady(job);
    else this.#leaveDelayed(job);
    this.#forget(job);
  }

  #forget(job: StoredJob): void {
    if (job.idempotencyKey !== undefined && this.#idempotency.get(job.idempotencyKey) === job.jobId) {
      this.#idempotency.delete(job.idempotencyKey);
    }
    this.#jobs.delete(job.jobId);
  }

  /** As retryOrExhaust in lua/common.lua: returns the retry time, or undefined when exhausted. */
  #retryOrExhaust(job: StoredJob, now: number, policy: BackoffPolicy, index: number): number | undefined {
    this.#releaseLease(job);
    if (job.attempts >= job.maxAttempts) {
      this.#forget(job);
      return undefined;
    }
    const retryAt = now + backoffDelay(job.attempts, { ...policy, random: jitterFor(policy.random, index) });
    this.#makeDelayed(job, retryAt);
    return retryAt;
  }
}

function toQueuedJob(job: StoredJob): QueuedJob {
  const queued: QueuedJob = {
    jobId: job.jobId,
    modelId: job.modelId,
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    attempts: job.attempts,
    enqueuedAt: job.enqueuedAt,
    state: job.state,
  };
  if (job.notBefore !== undefined) queued.notBefore = job.notBefore;
  if (job.attemptId !== undefined) queued.attemptId = job.attemptId;
  if (job.agentId !== undefined) queued.agentId = job.agentId;
  if (job.leaseExpiresAt !== undefined) queued.leaseExpiresAt = job.leaseExpiresAt;
  return queued;
}
