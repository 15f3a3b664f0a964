// fal status polling: many clients asking "is it done yet?" (fal-api.md §7: Python polls every
// 100 ms by default). 1,000 pollers, each at most 10 requests/s and one in flight, against
// GET /fal/queue/{app}/requests/{id}/status for ~10 s, over kept-alive connections.
//
// Standalone: `npx tsx bench/fal-status.ts` starts a server (real Postgres and Redis), queues
// jobs on a paused queue (the costlier IN_QUEUE path: row read plus queue position) and runs it.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { round, summarize } from "./stats.js";

export interface FalStatusBenchOptions {
  /** The app the jobs belong to; the status path names it. */
  appId?: string;
  pollers?: number;
  /** Requests per second per poller (a poller never has two in flight). */
  ratePerPoller?: number;
  durationS?: number;
  warmupS?: number;
  /** Sent as `Authorization: Key …` when the shim has FAL_API_KEYS. */
  apiKey?: string;
  /** Ask for logs (`logs=1`), as `subscribe({ logs: true })` does. */
  logs?: boolean;
}

export interface FalStatusBenchResult {
  fal_status_rps: number;
  fal_status_p99_ms: number;
  fal_status_p50_ms: number;
  target_rps: number;
  requests: number;
  errors: number;
}

export async function benchFalStatus(
  baseUrl: string,
  jobIds: string[],
  options: FalStatusBenchOptions = {},
): Promise<FalStatusBenchResult> {
  if (jobIds.length === 0) throw new Error("benchFalStatus needs at least one job id");
  const pollers = options.pollers ?? 1_000;
  const rate = options.ratePerPoller ?? 10;
  const durationMs = (options.durationS ?? 10) * 1000;
  const warmupMs = (options.warmupS ?? 2) * 1000;
  const appId = options.appId ?? "bench/echo";
  const target = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: pollers, maxFreeSockets: pollers });
  const headers: Record<string, string> = {
    accept: "application/json",
    ...(options.apiKey ? { authorization: `Key ${options.apiKey}` } : {}),
  };
  const query = options.logs ? "?logs=1" : "?logs=0";
  const intervalMs = 1000 / rate;

  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const stopAt = measureFrom + durationMs;

  const poll = (path: string) =>
    new Promise<number>((resolve) => {
      const req = request({ host: target.hostname, port: target.port, path, agent, headers }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      });
      req.once("error", () => resolve(0));
      req.end();
    });

  const poller = async (index: number) => {
    const jobId = jobIds[index % jobIds.length] as string;
    const path = `${target.pathname.replace(/\/$/, "")}/fal/queue/${appId}/requests/${jobId}/status${query}`;
    // Spread the first requests over one interval, as real clients do not start in lockstep.
    let next = started + Math.random() * intervalMs;
    for (;;) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      const sent = performance.now();
      if (sent >= stopAt) return;
      const status = await poll(path);
      const done = performance.now();
      if (sent >= measureFrom) {
        if (status === 200 || status === 202) latencies.push(done - sent);
        else errors++;
      }
      // Fixed rate; a poller that fell behind skips the slots it missed instead of bursting.
      next += intervalMs;
      if (next < done) next = done + (intervalMs - ((done - next) % intervalMs));
    }
  };

  try {
    await Promise.all(Array.from({ length: pollers }, (_, i) => poller(i)));
  } finally {
    agent.destroy();
  }
  const summary = summarize(latencies);
  return {
    fal_status_rps: round((latencies.length * 1000) / durationMs),
    fal_status_p99_ms: round(summary.p99),
    fal_status_p50_ms: round(summary.p50),
    target_rps: pollers * rate,
    requests: latencies.length,
    errors,
  };
}

async function main() {
  const { BENCH_MODEL, createBenchEnv } = await import("./bench-env.js");
  const env = await createBenchEnv();
  try {
    const { jobs, queues } = env.server.services;
    await queues.pause(BENCH_MODEL);
    const outcomes = await jobs.submitMany(
      Array.from({ length: 1_000 }, (_, n) => ({ modelId: BENCH_MODEL, input: { n } })),
    );
    const ids = outcomes.flatMap((outcome) => ("job" in outcome ? [outcome.job.id] : []));
    console.log(`${ids.length} queued jobs; polling ${env.server.url}`);
    const result = await benchFalStatus(env.server.url, ids, { appId: BENCH_MODEL });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await env.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
