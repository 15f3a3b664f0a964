// `npm run bench`: dispatch latency, end-to-end throughput and a BullMQ baseline, on this machine,
// against the real Postgres and Redis. Prints progress and a summary, writes bench/results/latest.json.
//
// Knobs (environment): BENCH_JOBS fixes the throughput job count (default: sized by a probe to
// ~40 s, at most 20,000); BENCH_RESULTS changes the output file; BENCH_ONLY=dispatch,throughput,bullmq
// runs some of the measurements (for profiling; the results file then lacks the others).
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createBenchEnv } from "./bench-env.js";
import { type BullmqResult, measureBullmq } from "./bullmq-baseline.js";
import { runInClientProcess } from "./client-process.js";
import type { DispatchLatencyResult } from "./dispatch-latency.js";
import { formatTable, gitInfo, machineInfo, type Row, writeResults } from "./report.js";
import { round } from "./stats.js";
import type { ThroughputResult } from "./throughput.js";

const TARGETS = { dispatchP50Ms: 2, dispatchP99Ms: 10, throughputJobsPerS: 2_000 };

const started = performance.now();
const log = (line: string) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
const resultsPath = process.env.BENCH_RESULTS ?? fileURLToPath(new URL("./results/latest.json", import.meta.url));
const fixedJobs = process.env.BENCH_JOBS ? Number(process.env.BENCH_JOBS) : undefined;
const only = new Set((process.env.BENCH_ONLY ?? "dispatch,throughput,bullmq").split(","));

async function main() {
  const machine = machineInfo();
  const git = gitInfo();
  log(
    `vyvo bench on ${machine.cpuCount}× ${machine.cpuModel}, node ${machine.node}, commit ${git.commit?.slice(0, 10)}${git.dirty ? " (dirty)" : ""}`,
  );
  log("starting the server (real Postgres and Redis)");
  const env = await createBenchEnv();
  let dispatch: DispatchLatencyResult | null = null;
  let throughput: ThroughputResult | null = null;
  let bullmq: BullmqResult | null = null;
  let dispatchServer: ServerUsage | null = null;
  let throughputServer: ServerUsage | null = null;
  try {
    if (only.has("dispatch")) {
      log("1/3 dispatch latency: submitJob over HTTP → RunJob at the agent");
      const target = { url: env.server.url, databaseUrl: env.databaseUrl, nodeTokens: await env.registerNodes(4) };
      const options = { ratePerS: 100, durationS: 10, warmupS: 2, agents: 4, capacity: 16 };
      const usage = serverUsage();
      dispatch = await runInClientProcess({ kind: "dispatch", target, options }, log);
      dispatchServer = usage.done(dispatch.jobs);
      log(`  p50 ${dispatch.dispatch.p50.toFixed(2)} ms, p99 ${dispatch.dispatch.p99.toFixed(2)} ms`);
    }
    if (only.has("throughput")) {
      log("2/3 throughput: submitJobs → 20 agents → SUCCEEDED in Postgres");
      const target = { url: env.server.url, databaseUrl: env.databaseUrl, nodeTokens: await env.registerNodes(20) };
      const usage = serverUsage();
      throughput = await runInClientProcess(
        {
          kind: "throughput",
          target,
          options: {
            agents: 20,
            capacity: 16,
            ...(fixedJobs ? { jobs: fixedJobs } : {}),
            targetSeconds: 40,
            probeJobs: 2_000,
            minJobs: 2_000,
            maxJobs: 20_000,
            batchSize: 1_000,
            concurrentBatches: 2,
          },
        },
        log,
      );
      throughputServer = usage.done(throughput.jobs + throughput.probe.jobs);
      log(
        `  ${throughput.jobs} jobs in ${(throughput.elapsedMs / 1000).toFixed(2)} s: ${throughput.jobsPerS.toFixed(0)} jobs/s`,
      );
    }
  } finally {
    await env.close(); // the server must not compete with the baseline for the CPU
  }
  if (only.has("bullmq")) {
    log("3/3 baseline: bare BullMQ Queue + Worker on the same Redis");
    const jobs = throughput?.jobs ?? fixedJobs ?? 20_000;
    bullmq = await measureBullmq({ jobs, warmupJobs: 2_000, concurrency: 50, batchSize: 1_000 }, log);
    log(`  ${bullmq.jobs} jobs in ${(bullmq.elapsedMs / 1000).toFixed(2)} s: ${bullmq.jobsPerS.toFixed(0)} jobs/s`);
  }

  const results = {
    dispatch_p50_ms: dispatch ? round(dispatch.dispatch.p50) : null,
    dispatch_p99_ms: dispatch ? round(dispatch.dispatch.p99) : null,
    throughput_jobs_per_s: throughput ? round(throughput.jobsPerS) : null,
    bullmq_jobs_per_s: bullmq ? round(bullmq.jobsPerS) : null,
    ratio_vs_bullmq: throughput && bullmq ? round(throughput.jobsPerS / bullmq.jobsPerS) : null,
    targets: TARGETS,
    dispatch: roundAll(dispatch && { ...dispatch, server: dispatchServer }),
    throughput: roundAll(throughput && { ...throughput, server: throughputServer }),
    bullmq: roundAll(bullmq),
    machine: { ...machine, loadAverageAtEnd: machineInfo().loadAverage },
    git,
    finishedAt: new Date().toISOString(),
    benchSeconds: round((performance.now() - started) / 1000),
  };
  await writeResults(resultsPath, results);

  const rows: Row[] = [];
  const verdict = (good: boolean) => (good ? "met" : "MISSED");
  if (dispatch) {
    const { p50, p99 } = dispatch.dispatch;
    rows.push(
      {
        measure: "dispatch p50",
        value: `${round(p50)} ms`,
        target: `≤ ${TARGETS.dispatchP50Ms} ms`,
        note: verdict(p50 <= TARGETS.dispatchP50Ms),
      },
      {
        measure: "dispatch p99",
        value: `${round(p99)} ms`,
        target: `≤ ${TARGETS.dispatchP99Ms} ms`,
        note: verdict(p99 <= TARGETS.dispatchP99Ms),
      },
      {
        measure: "submit round trip p50",
        value: `${round(dispatch.submitRoundTrip.p50)} ms`,
        note: `${dispatch.jobs} jobs at ${dispatch.ratePerS}/s`,
      },
      { measure: "server CPU at 100 jobs/s", value: `${Math.round((dispatchServer?.cpuShare ?? 0) * 100)}% of a core` },
      { measure: "pacer lag p99", value: `${round(dispatch.sendLag.p99)} ms`, note: "the load generator's own delay" },
    );
  }
  if (throughput) {
    const good = throughput.jobsPerS >= TARGETS.throughputJobsPerS;
    rows.push({
      measure: "throughput",
      value: `${round(throughput.jobsPerS)} jobs/s`,
      target: `≥ ${TARGETS.throughputJobsPerS}`,
      note: `${verdict(good)}; ${throughput.jobs} jobs, ${throughput.agents} agents × ${throughput.capacity}`,
    });
    rows.push({ measure: "server CPU per job", value: `${round(throughputServer?.cpuMsPerJob ?? Number.NaN)} ms` });
  }
  if (bullmq)
    rows.push({
      measure: "bullmq baseline",
      value: `${round(bullmq.jobsPerS)} jobs/s`,
      note: `${bullmq.jobs} jobs, concurrency ${bullmq.concurrency}`,
    });
  if (results.ratio_vs_bullmq !== null) rows.push({ measure: "ratio vs bullmq", value: `${results.ratio_vs_bullmq}` });
  console.log(`\n${formatTable(rows)}\n`);
  log(`results written to ${resultsPath}`);
}

interface ServerUsage {
  /** CPU time of this process (the server) per job, ms: what a job costs, whatever else runs here. */
  cpuMsPerJob: number;
  /** Share of one core the server used while the measurement ran. */
  cpuShare: number;
}

/** The server's CPU use from now until `done` (the clients run in another process). */
function serverUsage() {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return {
    done(jobs: number): ServerUsage {
      const used = process.cpuUsage(cpu);
      const ms = (used.user + used.system) / 1000;
      return { cpuMsPerJob: ms / jobs, cpuShare: ms / (performance.now() - start) };
    },
  };
}

/** Rounds every number in a plain object tree, for a readable results file. */
function roundAll<T>(value: T): T {
  if (typeof value === "number") return round(value) as T;
  if (Array.isArray(value)) return value.map(roundAll) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundAll(v)])) as T;
  return value;
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
