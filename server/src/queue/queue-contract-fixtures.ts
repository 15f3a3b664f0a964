/**
 * Shared fixtures of the QueuePort contract (queue-contract.ts, queue-contract-leases.ts).
 * Time is a fixed clock passed in by the test, as the port requires, so every number is exact.
 */
import type { BackoffPolicy, Claim, ClaimRequest, EnqueueInput, QueuePort } from "./port.js";

export type MakeQueue = () => Promise<{ queue: QueuePort; cleanup: () => Promise<void> }>;

/** The queue of the running test; each test gets a fresh one. */
export interface QueueHarness {
  readonly queue: QueuePort;
}

export const T0 = 1_700_000_000_000;
export const LEASE_MS = 30_000;
export const BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000, random: 0.25 };

export function jobInput(jobId: string, overrides: Partial<EnqueueInput> = {}): EnqueueInput {
  return { jobId, modelId: "m1", priority: 0, maxAttempts: 3, now: T0, ...overrides };
}

export function claimRequest(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return { agentId: "agent-1", models: "*", slots: 1, leaseMs: LEASE_MS, now: T0, ...overrides };
}

/** Claims everything the request allows (100 slots unless told) and returns the job ids in order. */
export async function claimIds(queue: QueuePort, request: Partial<ClaimRequest> = {}): Promise<string[]> {
  return (await queue.claim(claimRequest({ slots: 100, ...request }))).map((claim) => claim.jobId);
}

/** Claims the next ready job, failing the test when there is none. */
export async function claimOne(queue: QueuePort, agentId = "agent-1", now = T0): Promise<Claim> {
  const [claim] = await queue.claim(claimRequest({ agentId, now }));
  if (!claim) throw new Error("expected a claim");
  return claim;
}
