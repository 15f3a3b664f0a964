// Agent figures for the agent issue: memory at rest, and the time from RunJob to the runner's first
// log line with a cold runner (the agent starts it) and a warm one (resident from a previous job).
// Runs the bundled agent (agent/dist/vyvo-agent.mjs, as hosts run it) and the real example runner.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXAMPLE_MODEL_ID, ensureExampleModel } from "../server/src/platform/example-model.js";
import type { BenchEnv } from "./bench-env.js";
import { percentile } from "./stats.js";

const bundle = fileURLToPath(new URL("../agent/dist/vyvo-agent.mjs", import.meta.url));

export interface AgentLatencyResult {
  agent_rss_at_rest_mb: number;
  first_log_cold_ms: number[];
  first_log_warm_ms: number[];
  first_log_cold_p50_ms: number;
  first_log_warm_p50_ms: number;
}

function startBundledAgent(
  serverUrl: string,
  workDir: string,
  nodeToken: string,
): { child: ChildProcess; ready: Promise<void>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [bundle, "--server-url", serverUrl, "--work-dir", workDir, "--capacity", "1"], {
    env: { ...process.env, VYVO_NODE_TOKEN: nodeToken },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("hello from the server")) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`agent exited ${code}: ${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    ready,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return kb / 1024;
}

/** Milliseconds from the attempt's assignment (RunJob sent) to its first stored log line. */
async function firstLogDelay(env: BenchEnv, jobId: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await env.pg.query<{ assigned: Date; first: Date | null; status: string }>(
      `SELECT a."assignedAt" AS assigned, (SELECT min(l."at") FROM "JobLog" l WHERE l."jobId" = j."id") AS first, j."status"::text AS status
         FROM "Job" j JOIN "JobAttempt" a ON a."jobId" = j."id" WHERE j."id" = $1`,
      [jobId],
    );
    const row = rows[0];
    if (row?.first && row.status === "SUCCEEDED") return row.first.getTime() - row.assigned.getTime();
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish: ${JSON.stringify(row)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function measureAgentLatency(
  env: BenchEnv,
  opts: { cold: number; warm: number },
  log: (line: string) => void,
): Promise<AgentLatencyResult> {
  if (!existsSync(bundle)) {
    log("  building the agent bundle");
    spawnSync(process.execPath, [fileURLToPath(new URL("../agent/build.mjs", import.meta.url))], { stdio: "inherit" });
  }
  await ensureExampleModel(env.server.services.prisma, env.server.services.models);
  const work = await mkdtemp(join(tmpdir(), "vyvo-bench-agent-"));
  const cold: number[] = [];
  const warm: number[] = [];
  let rss = 0;
  try {
    for (let round = 0; round < opts.cold; round++) {
      const [token] = await env.registerNodes(1);
      const agent = startBundledAgent(env.server.url, join(work, `agent-${round}`), token as string);
      await agent.ready;
      if (round === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        rss = await rssMb(agent.child.pid as number);
        log(`  agent at rest: ${rss.toFixed(1)} MB RSS`);
      }
      const submit = () =>
        env.server.services.jobs.submit({ modelId: EXAMPLE_MODEL_ID, input: { operation: "grayscale" } });
      cold.push(await firstLogDelay(env, (await submit()).job.id));
      for (let i = 0; i < (round === 0 ? opts.warm : 0); i++)
        warm.push(await firstLogDelay(env, (await submit()).job.id));
      await agent.stop();
      log(
        `  round ${round + 1}/${opts.cold}: cold ${cold.at(-1)} ms${round === 0 ? `, warm ${warm.join(", ")} ms` : ""}`,
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return {
    agent_rss_at_rest_mb: Math.round(rss * 10) / 10,
    first_log_cold_ms: cold,
    first_log_warm_ms: warm,
    first_log_cold_p50_ms: percentile(
      [...cold].sort((a, b) => a - b),
      50,
    ),
    first_log_warm_p50_ms: percentile(
      [...warm].sort((a, b) => a - b),
      50,
    ),
  };
}
