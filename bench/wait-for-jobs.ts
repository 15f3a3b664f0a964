import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";

export async function succeededCount(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "Job" WHERE "status" = 'SUCCEEDED'`);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Polls Postgres (the system of record, read on the bench's own connection) until at least
 * `target` jobs are SUCCEEDED; returns the performance.now() time it saw them.
 */
export async function waitForSucceeded(
  client: pg.Client,
  target: number,
  timeoutMs: number,
  onPoll?: (succeeded: number) => void,
  pollMs = 20,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const succeeded = await succeededCount(client);
    const seenAt = performance.now();
    onPoll?.(succeeded);
    if (succeeded >= target) return seenAt;
    if (seenAt > deadline) throw new Error(`only ${succeeded} of ${target} jobs SUCCEEDED after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}
