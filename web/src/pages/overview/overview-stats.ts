/** Pure aggregations for the overview, tested without a browser. */

export interface JobPoint {
  status: string;
  createdAt: string;
  finishedAt?: string | null;
  cause?: string | null;
}

/** Jobs finished per minute over the last `minutes` whole minutes, oldest first (the current minute last). */
export function finishedPerMinute(jobs: JobPoint[], now: number, minutes = 10): { minute: number; count: number }[] {
  const current = Math.floor(now / 60_000);
  const buckets = Array.from({ length: minutes }, (_, i) => ({
    minute: (current - minutes + 1 + i) * 60_000,
    count: 0,
  }));
  for (const job of jobs) {
    if (!job.finishedAt) continue;
    const index = Math.floor(Date.parse(job.finishedAt) / 60_000) - (current - minutes + 1);
    const bucket = buckets[index];
    if (bucket) bucket.count++;
  }
  return buckets;
}

/** Failed and timed-out jobs grouped by cause, most frequent first. */
export function failuresByCause(jobs: JobPoint[]): { cause: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const job of jobs) {
    if (job.status !== "FAILED" && job.status !== "TIMED_OUT") continue;
    const cause = job.cause?.trim() || (job.status === "TIMED_OUT" ? "timed out" : "unknown");
    counts.set(cause, (counts.get(cause) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([cause, count]) => ({ cause, count }))
    .sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause));
}

/** The start of the window, rounded down to the minute so the query's variables change once a minute. */
export function windowStart(now: number, minutes: number): string {
  return new Date((Math.floor(now / 60_000) - minutes + 1) * 60_000).toISOString();
}
