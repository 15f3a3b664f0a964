// Measurement 3: the yardstick. The same number of trivial jobs through a bare BullMQ Queue and
// Worker (concurrency 50) on the same Redis: no database, no GraphQL, no network hop to an agent.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Queue, Worker } from "bullmq";
import { deleteKeys, redisUrl } from "./bench-env.js";
import { perSecond } from "./stats.js";

export interface BullmqOptions {
  jobs: number;
  warmupJobs: number;
  concurrency: number;
  batchSize: number;
}

export interface BullmqResult {
  jobs: number;
  concurrency: number;
  elapsedMs: number;
  jobsPerS: number;
}

export async function measureBullmq(options: BullmqOptions, log: (line: string) => void): Promise<BullmqResult> {
  const prefix = `vyvo-bench-bull-${randomBytes(5).toString("hex")}`;
  const url = new URL(redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue("bench", { connection, prefix });
  let completed = 0;
  let onCompleted: () => void = () => {};
  const worker = new Worker("bench", async () => null, { connection, prefix, concurrency: options.concurrency });
  worker.on("completed", () => {
    completed++;
    onCompleted();
  });
  try {
    await worker.waitUntilReady();
    log(`  warm-up: ${options.warmupJobs} jobs`);
    await addAndDrain(options.warmupJobs);
    log(`  measuring: ${options.jobs} jobs`);
    const start = performance.now();
    await addAndDrain(options.jobs);
    const elapsedMs = performance.now() - start;
    return {
      jobs: options.jobs,
      concurrency: options.concurrency,
      elapsedMs,
      jobsPerS: perSecond(options.jobs, elapsedMs),
    };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await deleteKeys(`${prefix}:*`);
  }

  async function addAndDrain(jobs: number): Promise<void> {
    const target = completed + jobs;
    const drained = new Promise<void>((resolve) => {
      onCompleted = () => {
        if (completed >= target) resolve();
      };
    });
    for (let first = 0; first < jobs; first += options.batchSize) {
      const count = Math.min(options.batchSize, jobs - first);
      await queue.addBulk(
        Array.from({ length: count }, (_, i) => ({
          name: "echo",
          data: { n: first + i },
          opts: { removeOnComplete: true },
        })),
      );
    }
    await drained;
  }
}
