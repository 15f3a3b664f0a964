/**
 * The queue port: per-model ready queues, leases, retries and deadlines.
 *
 * Postgres is the system of record; the queue is a fast index of which job runs next and
 * who holds it. Every state change is atomic (one Lua script in Redis, one synchronous
 * step in memory) so that any number of server replicas can call it at once.
 * Times are epoch milliseconds, passed in by the caller (the queue never reads a clock).
 */

export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;

export interface EnqueueInput {
  jobId: string;
  modelId: string;
  /** Higher runs first; clamped to [MIN_PRIORITY, MAX_PRIORITY]. Equal priorities run FIFO. */
  priority: number;
  maxAttempts: number;
  /** Attempts already used (non-zero when a job is re-enqueued from Postgres). */
  attempts?: number;
  now: number;
  /** When set, the job waits in the delayed set until this time (retry backoff). */
  notBefore?: number;
  /**
   * A second submit with the same key returns the first job instead of queueing another, while
   * that first job is still in the queue (Postgres remembers keys for longer).
   */
  idempotencyKey?: string;
}

export type EnqueueResult =
  | { status: "enqueued"; jobId: string }
  /** The job id is already known, or the idempotency key belongs to another job. */
  | { status: "duplicate"; jobId: string };

export interface ClaimRequest {
  agentId: string;
  /** Models this agent serves; "*" for every model. */
  models: string[] | "*";
  slots: number;
  leaseMs: number;
  now: number;
}

export interface Claim {
  jobId: string;
  modelId: string;
  /** The fencing token: every report about this attempt must carry it. */
  attemptId: string;
  /** 1-based attempt number. */
  attempt: number;
  enqueuedAt: number;
  leaseExpiresAt: number;
}

export interface AttemptRef {
  jobId: string;
  attemptId: string;
}

export interface RenewResult {
  renewed: AttemptRef[];
  /** Attempts the agent still reports but no longer holds: it must stop them. */
  lost: AttemptRef[];
}

export type FinishResult = "ok" | "stale";
export type RetryResult = "retry" | "exhausted" | "stale";

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** A number in [0, 1) that the caller draws; jitter is derived from it per job. */
  random: number;
}

export interface ReapedLease {
  jobId: string;
  attemptId: string;
  agentId: string;
  /** retry: back in the delayed set until retryAt; exhausted: removed, attempts used up. */
  outcome: "retry" | "exhausted";
  retryAt?: number;
}

export interface ReapResult {
  expired: ReapedLease[];
  /** Delayed jobs whose time came, now back in their ready queue. */
  promoted: string[];
}

export type CancelResult =
  | { state: "removed" }
  | { state: "leased"; agentId: string; attemptId: string }
  | { state: "absent" };

export interface QueueStats {
  modelId: string;
  depth: number;
  running: number;
  delayed: number;
  oldestEnqueuedAt: number | null;
  paused: boolean;
}

export type QueuedJobState = "ready" | "delayed" | "leased";

export interface QueuedJob {
  jobId: string;
  modelId: string;
  priority: number;
  maxAttempts: number;
  attempts: number;
  enqueuedAt: number;
  state: QueuedJobState;
  attemptId?: string;
  agentId?: string;
  leaseExpiresAt?: number;
  notBefore?: number;
}

export interface QueuePort {
  enqueue(input: EnqueueInput): Promise<EnqueueResult>;
  enqueueMany(inputs: EnqueueInput[]): Promise<EnqueueResult[]>;
  /** Takes up to `slots` jobs, best priority first across the given models, skipping paused ones. */
  claim(req: ClaimRequest): Promise<Claim[]>;
  /**
   * Extends the leases of the attempts an agent still runs (one call per heartbeat). A lease past
   * its expiry that no reaper has taken yet still belongs to the agent and is renewed.
   */
  renew(agentId: string, attempts: AttemptRef[], leaseMs: number, now: number): Promise<RenewResult>;
  /**
   * Ends a held attempt for good (success, terminal failure, cancel, timeout) and forgets the job.
   * Fenced by the attempt id: "stale" when that attempt no longer holds the job; nothing changes.
   */
  finish(ref: AttemptRef, now: number): Promise<FinishResult>;
  /**
   * A failed attempt: delayed for another try (backoffDelay of the attempt number; `get` shows
   * the due time as notBefore), or exhausted and forgotten when attempts are used up. Fenced like finish.
   */
  retry(ref: AttemptRef, now: number, backoff: BackoffPolicy): Promise<RetryResult>;
  /**
   * Requeues leases with expiry <= now (with backoff; the i-th one in this call draws its jitter
   * from jitterFor(backoff.random, i)) and promotes due delayed jobs; at most `limit` of each.
   */
  reap(now: number, limit: number, backoff: BackoffPolicy): Promise<ReapResult>;
  /** Removes a ready or delayed job; for a leased one, says who holds it (it stays leased). */
  cancel(jobId: string): Promise<CancelResult>;
  /**
   * Start deadline passed: removes the job if it is waiting (ready, or delayed between retries, as
   * the fal start timeout covers queue wait and retries); false when an attempt holds it or it is unknown.
   */
  expireUnstarted(jobId: string): Promise<boolean>;
  /** 0-based position in its model's ready queue, or null when it is not waiting there. */
  position(jobId: string): Promise<number | null>;
  get(jobId: string): Promise<QueuedJob | null>;
  leasedBy(agentId: string): Promise<AttemptRef[]>;
  stats(modelIds?: string[]): Promise<QueueStats[]>;
  pause(modelId: string): Promise<void>;
  resume(modelId: string): Promise<void>;
  /** Removes every ready and delayed job of a model; returns their ids. */
  purge(modelId: string): Promise<string[]>;
  /**
   * Puts back a job known to Postgres if the queue lost it; leaves a known job untouched. A ready
   * job goes to the back of its priority band; a leased one needs agentId (attemptId defaults to
   * attemptIdFor(jobId, attempts)); missing notBefore / leaseExpiresAt mean "due now" / "expired".
   */
  restore(job: QueuedJob): Promise<"restored" | "exists">;
  close(): Promise<void>;
}

/** Exponential backoff with full jitter: attempt 1 waits up to base, attempt n up to base·2^(n-1), capped. */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(ceiling / 2 + (ceiling / 2) * policy.random);
}

export function clampPriority(priority: number): number {
  return Math.max(MIN_PRIORITY, Math.min(MAX_PRIORITY, Math.trunc(priority)));
}

export function attemptIdFor(jobId: string, attempt: number): string {
  return `${jobId}.${attempt}`;
}

/**
 * The jitter draw for the index-th job handled in one call (0 for `retry`): a golden-ratio
 * step from the caller's draw, so jobs reaped together spread out instead of retrying in step.
 */
export function jitterFor(random: number, index: number): number {
  return (random + index * 0.6180339887) % 1;
}

/** Room for the FIFO sequence under each priority band (2^42 ≈ 4.4·10^12 enqueues). */
export const SEQUENCE_SPAN = 2 ** 42;

/**
 * Ready-queue score: lower runs first. Higher priority takes a lower band, and the global enqueue
 * sequence orders jobs inside a band, so one ascending order ranks every model's jobs alike and
 * the rank of a job is its queue position. The largest score, (2001 · 2^42) + 2^42, stays below
 * 2^53, so it is an exact integer in a double (a Redis ZSET score, a Lua number).
 */
export function readyScore(priority: number, sequence: number): number {
  return (MAX_PRIORITY - clampPriority(priority)) * SEQUENCE_SPAN + sequence;
}
