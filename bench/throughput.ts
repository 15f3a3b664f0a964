// Measurement 2: end-to-end throughput. Jobs go in through the public batch mutation
// (submitJobs), out to simulated agents over WebSocket, and count as done when Postgres says
// SUCCEEDED. A short probe run first warms the server up and sizes the main run to a time budget.
import { performance } from "node:perf_hooks";
import pg from "pg";
import { gqlData } from "../server/src/testing/graphql-client.js";
import { BENCH_MODEL, statusCounts } from "./bench-env.js";
import type { Target } from "./client-process.js";
import { agentProblems, connectAgents, type SimAgent } from "./sim-agent.js";
import { perSecond } from "./stats.js";
import { succeededCount, waitForSucceeded } from "./wait-for-jobs.js";

const SUBMIT_MANY = `mutation($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { job { id } error { code message } } }`;

/** The transitions every job goes through here: submit, assign, start, succeed. */
const EVENTS_PER_JOB = 4;

export interface ThroughputOptions {
  agents: number;
  capacity: number;
  /** Fixed job count; when left out, the probe's rate sizes the run to `targetSeconds`. */
  jobs?: number;
  targetSeconds: number;
  probeJobs: number;
  minJobs: number;
  maxJobs: number;
  batchSize: number;
  /** submitJobs calls in flight at once. */
  concurrentBatches: number;
}

export interface RunFigures {
  jobs: number;
  elapsedMs: number;
  jobsPerS: number;
  /** First submit sent → last submitJobs answered. */
  submitMs: number;
}

export interface ThroughputResult extends RunFigures {
  agents: number;
  capacity: number;
  probe: RunFigures;
}

export async function measureThroughput(
  target: Target,
  options: ThroughputOptions,
  log: (line: string) => void,
): Promise<ThroughputResult> {
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  const agents = await connectAgents(target.url, target.nodeTokens.slice(0, options.agents), {
    capacity: options.capacity,
  });
  const env = { url: target.url, pg: db };
  try {
    log(`  probe: ${options.probeJobs} jobs`);
    const probe = await runJobs(env, agents, options.probeJobs, options, log);
    log(`  probe: ${probe.jobsPerS.toFixed(0)} jobs/s`);
    const sized = Math.round((probe.jobsPerS * options.targetSeconds) / 1000) * 1000;
    const jobs = options.jobs ?? Math.max(options.minJobs, Math.min(options.maxJobs, sized));
    log(`  main run: ${jobs} jobs`);
    const main = await runJobs(env, agents, jobs, options, log);
    return { ...main, agents: options.agents, capacity: options.capacity, probe };
  } finally {
    await Promise.all(agents.map((agent) => agent.close()));
    await db.end();
  }
}

async function runJobs(
  env: { url: string; pg: pg.Client },
  agents: SimAgent[],
  jobs: number,
  options: ThroughputOptions,
  log: (line: string) => void,
): Promise<RunFigures> {
  const before = await recordCounts(env.pg);
  const receivedBefore = agents.reduce((sum, agent) => sum + agent.received, 0);
  let succeeded = 0;
  const start = performance.now();
  const progress = setInterval(() => {
    const received = agents.reduce((sum, agent) => sum + agent.received, 0) - receivedBefore;
    const elapsed = (performance.now() - start) / 1000;
    log(`    ${elapsed.toFixed(1)} s: dispatched ${received}/${jobs}, succeeded ${succeeded}/${jobs}`);
  }, 2_000);
  try {
    let submitError: unknown = null;
    const submitted = submitAll(env.url, jobs, options);
    submitted.catch((error) => {
      submitError = error;
    });
    const doneAt = await waitForSucceeded(env.pg, before.succeeded + jobs, 150_000, (n) => {
      if (submitError) throw submitError;
      succeeded = n - before.succeeded;
    });
    const submitMs = (await submitted) - start;
    await checkRun(env.pg, agents, before, jobs);
    const elapsedMs = doneAt - start;
    return { jobs, elapsedMs, jobsPerS: perSecond(jobs, elapsedMs), submitMs };
  } finally {
    clearInterval(progress);
  }
}

/** Sends `jobs` submits in batches, `concurrentBatches` at a time; resolves when the last is answered. */
async function submitAll(url: string, jobs: number, options: ThroughputOptions): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < jobs) {
      const first = next;
      const count = Math.min(options.batchSize, jobs - first);
      next += count;
      const inputs = Array.from({ length: count }, (_, i) => ({
        modelId: BENCH_MODEL,
        input: { n: first + i, tag: "throughput" },
      }));
      const data = await gqlData<{
        submitJobs: { job: { id: string } | null; error: { code: string; message: string } | null }[];
      }>(url, SUBMIT_MANY, { inputs });
      const refused = data.submitJobs.find((item) => item.error || !item.job);
      if (refused) throw new Error(`submitJobs refused an item: ${JSON.stringify(refused.error)}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrentBatches }, worker));
  return performance.now();
}

interface Counts {
  succeeded: number;
  events: number;
  succeededAttempts: number;
}

async function recordCounts(client: pg.Client): Promise<Counts> {
  const { rows } = await client.query<{ events: string; attempts: string }>(
    `SELECT (SELECT count(*) FROM "JobEvent") AS events, (SELECT count(*) FROM "JobAttempt" WHERE "status" = 'SUCCEEDED') AS attempts`,
  );
  return {
    succeeded: await succeededCount(client),
    events: Number(rows[0]?.events),
    succeededAttempts: Number(rows[0]?.attempts),
  };
}

/** The run is only worth its figures if every job took the whole path, once, with its events. */
async function checkRun(client: pg.Client, agents: SimAgent[], before: Counts, jobs: number): Promise<void> {
  const after = await recordCounts(client);
  const problems = agentProblems(agents);
  const open = Object.entries(await statusCounts(client)).filter(([status]) => status !== "SUCCEEDED");
  if (open.length) problems.push(`jobs not SUCCEEDED: ${JSON.stringify(Object.fromEntries(open))}`);
  if (after.events - before.events !== jobs * EVENTS_PER_JOB) {
    problems.push(`expected ${jobs * EVENTS_PER_JOB} job events, found ${after.events - before.events}`);
  }
  if (after.succeededAttempts - before.succeededAttempts !== jobs) {
    problems.push(`expected ${jobs} succeeded attempts, found ${after.succeededAttempts - before.succeededAttempts}`);
  }
  if (problems.length) throw new Error(`throughput run was not clean:\n${problems.slice(0, 10).join("\n")}`);
}
