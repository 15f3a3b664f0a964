/**
 * Checks and normalises what callers hand to a queue driver, the same way for both drivers, so
 * a bad number fails loudly at the call instead of landing in Redis as "NaN" or a float.
 */
import { attemptIdFor, type BackoffPolicy, clampPriority, type EnqueueInput, type QueuedJob } from "./port.js";

export function requireInteger(name: string, value: number, min = Number.MIN_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`queue: ${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

export function requireId(name: string, value: string): string {
  if (value.length === 0) throw new RangeError(`queue: ${name} must not be empty`);
  return value;
}

export interface NormalizedEnqueue {
  jobId: string;
  modelId: string;
  priority: number;
  maxAttempts: number;
  attempts: number;
  now: number;
  /** Set only when the job must wait (notBefore later than now). */
  notBefore: number | undefined;
  idempotencyKey: string | undefined;
}

export function normalizeEnqueue(input: EnqueueInput): NormalizedEnqueue {
  const now = requireInteger("now", input.now);
  const notBefore = input.notBefore === undefined ? undefined : requireInteger("notBefore", input.notBefore);
  return {
    jobId: requireId("jobId", input.jobId),
    modelId: requireId("modelId", input.modelId),
    priority: clampPriority(input.priority),
    maxAttempts: requireInteger("maxAttempts", input.maxAttempts, 1),
    attempts: requireInteger("attempts", input.attempts ?? 0, 0),
    now,
    notBefore: notBefore !== undefined && notBefore > now ? notBefore : undefined,
    idempotencyKey: input.idempotencyKey === "" ? undefined : input.idempotencyKey,
  };
}

export function requireBackoff(policy: BackoffPolicy): BackoffPolicy {
  requireInteger("backoff.baseMs", policy.baseMs, 0);
  requireInteger("backoff.maxMs", policy.maxMs, 0);
  if (!(policy.random >= 0 && policy.random < 1)) {
    throw new RangeError(`queue: backoff.random must be in [0, 1), got ${policy.random}`);
  }
  return policy;
}

interface RestoreBase {
  jobId: string;
  modelId: string;
  priority: number;
  maxAttempts: number;
  attempts: number;
  enqueuedAt: number;
}

/** A job to restore, with every field its state needs. */
export type NormalizedRestore = RestoreBase &
  (
    | { state: "ready" }
    | { state: "delayed"; notBefore: number }
    | { state: "leased"; agentId: string; attemptId: string; leaseExpiresAt: number }
  );

export function normalizeRestore(job: QueuedJob): NormalizedRestore {
  const base = {
    jobId: requireId("jobId", job.jobId),
    modelId: requireId("modelId", job.modelId),
    priority: clampPriority(job.priority),
    maxAttempts: requireInteger("maxAttempts", job.maxAttempts, 1),
    attempts: requireInteger("attempts", job.attempts, 0),
    enqueuedAt: requireInteger("enqueuedAt", job.enqueuedAt),
  };
  switch (job.state) {
    case "ready":
      return { ...base, state: "ready" };
    case "delayed":
      // Without a due time the job is due at once: the next reap makes it ready.
      return { ...base, state: "delayed", notBefore: requireInteger("notBefore", job.notBefore ?? 0) };
    case "leased": {
      if (job.agentId === undefined) throw new RangeError("queue: restoring a leased job needs its agentId");
      if (base.attempts < 1) throw new RangeError("queue: a leased job has used at least one attempt");
      return {
        ...base,
        state: "leased",
        agentId: requireId("agentId", job.agentId),
        attemptId: job.attemptId ?? attemptIdFor(base.jobId, base.attempts),
        // Without an expiry the lease counts as expired: the next reap requeues it.
        leaseExpiresAt: requireInteger("leaseExpiresAt", job.leaseExpiresAt ?? 0),
      };
    }
  }
}
