/**
 * When a webhook is tried again. Pure.
 *
 * fal retries a failed delivery 10 times over about 2 hours. Exponential backoff from 15 s,
 * doubling, capped at 1 h: 15 s, 30 s, 1 min, … 32 min, 1 h — 9 waits, ~2 h 4 min in all.
 * Each wait is spread ±20 % (jitter) so receivers that were down are not hit by every
 * sender at once when they come back.
 */

export interface WebhookRetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  /** 0.2 = each wait lands within ±20 % of its nominal value. */
  jitter: number;
}

export const FAL_RETRY_POLICY: WebhookRetryPolicy = { maxAttempts: 10, baseMs: 15_000, maxMs: 3_600_000, jitter: 0.2 };

/** The wait after failed attempt number `attempt` (1-based); `random` is in [0, 1). */
export function retryDelayMs(attempt: number, policy: WebhookRetryPolicy, random: number): number {
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const spread = nominal * policy.jitter * (2 * random - 1);
  return Math.max(0, Math.round(nominal + spread));
}

/** A delivery counts once the receiver answers 2xx; anything else (or no answer) is tried again. */
export function isDelivered(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

export type DeliveryDecision = { state: "DELIVERED" } | { state: "PENDING"; retryInMs: number } | { state: "FAILED" };

/** What to record after an attempt: delivered, try again after a wait, or give up. */
export function decide(
  attempt: number,
  statusCode: number | null,
  policy: WebhookRetryPolicy,
  random: number,
): DeliveryDecision {
  if (isDelivered(statusCode)) return { state: "DELIVERED" };
  if (attempt >= policy.maxAttempts) return { state: "FAILED" };
  return { state: "PENDING", retryInMs: retryDelayMs(attempt, policy, random) };
}
