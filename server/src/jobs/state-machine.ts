/**
 * The job lifecycle as one transition table. Pure: no I/O, no clock.
 *
 *   QUEUED → ASSIGNED → RUNNING → SUCCEEDED | FAILED | CANCELLED | TIMED_OUT
 *                 ↘ RETRY_WAIT ↗ (between attempts)
 *
 * Every change of a job's status goes through `nextStatus`; the service uses `sourcesOf`
 * to guard its database update, so a transition that is not in this table is never written.
 */

export const JOB_STATUSES = [
  "QUEUED",
  "ASSIGNED",
  "RUNNING",
  "RETRY_WAIT",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "TIMED_OUT",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_TRIGGERS = [
  /** An agent claimed the job under a lease. */
  "assign",
  /** The runner accepted the input. */
  "start",
  "succeed",
  /** The attempt failed and no attempt is left (or the failure is not retryable). */
  "fail",
  /** The attempt failed or its lease expired; another attempt follows after a backoff. */
  "retry",
  /** The backoff is over; the job waits in its queue again. */
  "requeue",
  "cancel",
  /** Start deadline or execution timeout passed. */
  "timeout",
  /** An operator asked to run a finished, unsuccessful job again. */
  "resubmit",
] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

const TERMINAL: ReadonlySet<JobStatus> = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]);

const TABLE: Record<JobStatus, Partial<Record<JobTrigger, JobStatus>>> = {
  QUEUED: { assign: "ASSIGNED", cancel: "CANCELLED", timeout: "TIMED_OUT" },
  // A runner may accept and finish within one agent report, so ASSIGNED can end directly.
  ASSIGNED: {
    start: "RUNNING",
    succeed: "SUCCEEDED",
    fail: "FAILED",
    retry: "RETRY_WAIT",
    cancel: "CANCELLED",
    timeout: "TIMED_OUT",
  },
  RUNNING: { succeed: "SUCCEEDED", fail: "FAILED", retry: "RETRY_WAIT", cancel: "CANCELLED", timeout: "TIMED_OUT" },
  // A replica may claim a promoted job before another replica has recorded the promotion.
  RETRY_WAIT: { requeue: "QUEUED", assign: "ASSIGNED", cancel: "CANCELLED", timeout: "TIMED_OUT" },
  SUCCEEDED: {},
  FAILED: { resubmit: "QUEUED" },
  CANCELLED: { resubmit: "QUEUED" },
  TIMED_OUT: { resubmit: "QUEUED" },
};

export function nextStatus(from: JobStatus, trigger: JobTrigger): JobStatus | null {
  return TABLE[from][trigger] ?? null;
}

/** Every status from which `trigger` is allowed: the guard of the database update. */
export function sourcesOf(trigger: JobTrigger): JobStatus[] {
  return JOB_STATUSES.filter((status) => TABLE[status][trigger] !== undefined);
}

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

/** The target of a trigger (unique by construction: each trigger leads to one status). */
export function targetOf(trigger: JobTrigger): JobStatus {
  const targets = new Set(sourcesOf(trigger).map((from) => TABLE[from][trigger] as JobStatus));
  if (targets.size !== 1) throw new Error(`trigger ${trigger} has ${targets.size} targets`);
  return [...targets][0] as JobStatus;
}
