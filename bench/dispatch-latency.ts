// Measurement 1: how long from a client's submitJob (GraphQL over HTTP) until an agent holds the
// RunJob, at a steady, open-loop rate: the next submit goes out on schedule whether or not
// earlier ones have answered, so a slow server cannot slow the load down and hide its own delay.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { gqlData } from "../server/src/testing/graphql-client.js";
import { BENCH_MODEL } from "./bench-env.js";
import type { Target } from "./client-process.js";
import { agentProblems, connectAgents } from "./sim-agent.js";
import { type Summary, summarize } from "./stats.js";
import { waitForSucceeded } from "./wait-for-jobs.js";

const SUBMIT = `mutation($i: SubmitJobInput!) { submitJob(input: $i) { job { id status } } }`;

export interface DispatchLatencyOptions {
  ratePerS: number;
  durationS: number;
  warmupS: number;
  agents: number;
  capacity: number;
}

export interface DispatchLatencyResult {
  ratePerS: number;
  durationS: number;
  jobs: number;
  agents: number;
  /** submit sent → RunJob received by the agent, ms. */
  dispatch: Summary;
  /** submit sent → HTTP answer received, ms. */
  submitRoundTrip: Summary;
  /** How late the pacer sent each submit against its schedule, ms (large values mean the load itself stalled). */
  sendLag: Summary;
}

export async function measureDispatchLatency(
  target: Target,
  options: DispatchLatencyOptions,
  log: (line: string) => void,
): Promise<DispatchLatencyResult> {
  const received = new Map<number, number>();
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  const agents = await connectAgents(target.url, target.nodeTokens.slice(0, options.agents), {
    capacity: options.capacity,
    onRunJob: (command, at) => received.set(command.input.n, at),
  });
  try {
    log(`  warm-up: ${options.warmupS} s at ${options.ratePerS} jobs/s`);
    const warmup = await pace(target.url, options.ratePerS, options.warmupS, -1_000_000);
    await waitForAll(received, warmup.sent.keys());
    log(`  measuring: ${options.durationS} s at ${options.ratePerS} jobs/s`);
    const measured = await pace(target.url, options.ratePerS, options.durationS, 0);
    await waitForAll(received, measured.sent.keys());
    await waitForSucceeded(db, warmup.sent.size + measured.sent.size, 30_000);
    const problems = agentProblems(agents);
    if (problems.length) throw new Error(`dispatch latency run was not clean:\n${problems.slice(0, 10).join("\n")}`);

    const dispatch: number[] = [];
    const roundTrip: number[] = [];
    const lag: number[] = [];
    for (const [n, send] of measured.sent) {
      dispatch.push((received.get(n) as number) - send.at);
      roundTrip.push((measured.answered.get(n) as number) - send.at);
      lag.push(send.at - send.due);
    }
    return {
      ratePerS: options.ratePerS,
      durationS: options.durationS,
      jobs: measured.sent.size,
      agents: options.agents,
      dispatch: summarize(dispatch),
      submitRoundTrip: summarize(roundTrip),
      sendLag: summarize(lag),
    };
  } finally {
    await Promise.all(agents.map((agent) => agent.close()));
    await db.end();
  }
}

interface PacedRun {
  sent: Map<number, { due: number; at: number }>;
  answered: Map<number, number>;
}

/** Sends submitJob n = first, first+1, … at `ratePerS` for `seconds`, and waits for every answer. */
async function pace(url: string, ratePerS: number, seconds: number, first: number): Promise<PacedRun> {
  const total = Math.round(ratePerS * seconds);
  const intervalMs = 1000 / ratePerS;
  const run: PacedRun = { sent: new Map(), answered: new Map() };
  const pending: Promise<void>[] = [];
  const start = performance.now() + 5;
  let i = 0;
  while (i < total) {
    const now = performance.now();
    // Catch up on every submit that is due: a late timer must not lower the rate.
    while (i < total && start + i * intervalMs <= now) {
      const n = first + i;
      const due = start + i * intervalMs;
      const at = performance.now();
      run.sent.set(n, { due, at });
      pending.push(
        gqlData(url, SUBMIT, { i: { modelId: BENCH_MODEL, input: { n } } }).then(() => {
          run.answered.set(n, performance.now());
        }),
      );
      i++;
    }
    await sleep(Math.max(0, start + i * intervalMs - performance.now()));
  }
  await Promise.all(pending);
  return run;
}

async function waitForAll(received: Map<number, number>, keys: Iterable<number>, timeoutMs = 30_000): Promise<void> {
  const wanted = [...keys];
  const deadline = Date.now() + timeoutMs;
  while (wanted.some((n) => !received.has(n))) {
    if (Date.now() > deadline) {
      const missing = wanted.filter((n) => !received.has(n)).length;
      throw new Error(`${missing} of ${wanted.length} jobs never reached an agent`);
    }
    await sleep(20);
  }
}
