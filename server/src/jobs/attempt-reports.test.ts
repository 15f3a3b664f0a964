import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../main.js";
import { RedisQueue } from "../queue/redis-queue.js";
import { createTestModel, registerNode } from "../testing/fixtures.js";
import { createTestEnv, startTestServer, type TestEnv, testRedisUrl } from "../testing/test-env.js";

// RunJob goes out as soon as Redis grants a claim and the assignment is written behind it. If
// that write never lands (the replica died, or its batch failed), the attempt's own reports
// still record the whole story: Redis decided, so the missing assignment is written first.

let env: TestEnv;
let server: RunningServer;
let redis: Redis;
let queue: RedisQueue;

beforeAll(async () => {
  env = await createTestEnv();
  server = await startTestServer(env);
  await createTestModel(server, "acme/echo");
  redis = new Redis(testRedisUrl);
  queue = new RedisQueue(redis, { prefix: env.redisPrefix });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.close();
  await env?.cleanup();
});

/** A job claimed in Redis by `nodeId` whose assignment Postgres never saw. */
async function claimedBehindPostgres(nodeId: string) {
  await server.services.queues.pause("acme/echo"); // keep the server's own dispatcher away
  const { job } = await server.services.jobs.submit({ modelId: "acme/echo", input: { prompt: "lost write" } });
  await server.services.queues.resume("acme/echo");
  const [claim] = await queue.claim({
    agentId: nodeId,
    models: ["acme/echo"],
    slots: 1,
    leaseMs: 60_000,
    now: Date.now(),
  });
  if (!claim || claim.jobId !== job.id) throw new Error("the test job was not the one claimed");
  return { jobId: claim.jobId, attemptId: claim.attemptId };
}

describe("attempt reports", () => {
  it("a started and completed report records a missing assignment first, then its own transitions", async () => {
    const { node } = await registerNode(server, "lost-write-node");
    const ref = await claimedBehindPostgres(node.id);
    expect((await server.services.jobs.get(ref.jobId)).status).toBe("QUEUED");

    const verdicts = await server.attempts.report(node.id, {
      started: [ref],
      completed: [{ ...ref, output: { ok: true } }],
      failed: [],
    });
    expect(verdicts).toEqual({ started: [{ ok: true }], completed: [{ ok: true }], failed: [] });

    const job = await server.services.prisma.job.findUniqueOrThrow({
      where: { id: ref.jobId },
      include: { events: { orderBy: { id: "asc" } }, attempts: true },
    });
    expect(job).toMatchObject({
      status: "SUCCEEDED",
      output: { ok: true },
      attemptCount: 1,
      currentAttemptId: ref.attemptId,
    });
    expect(job.events.map((e) => `${e.type}:${e.fromStatus ?? "-"}>${e.toStatus}`)).toEqual([
      "submit:->QUEUED",
      "assign:QUEUED>ASSIGNED",
      "start:ASSIGNED>RUNNING",
      "succeed:RUNNING>SUCCEEDED",
    ]);
    expect(job.attempts).toEqual([
      expect.objectContaining({ id: ref.attemptId, nodeId: node.id, status: "SUCCEEDED" }),
    ]);
  });

  it("a report from a node that does not hold the attempt is rejected, recorded and changes nothing", async () => {
    const { node: owner } = await registerNode(server, "owner-node");
    const { node: other } = await registerNode(server, "other-node");
    const ref = await claimedBehindPostgres(owner.id);

    const verdicts = await server.attempts.report(other.id, {
      started: [],
      completed: [{ ...ref, output: { stolen: true } }],
      failed: [],
    });
    expect(verdicts.completed).toEqual([{ ok: false, reason: "attempt is held by another node" }]);

    const job = await server.services.prisma.job.findUniqueOrThrow({
      where: { id: ref.jobId },
      include: { events: true },
    });
    expect(job.status).toBe("QUEUED");
    expect(job.events.map((e) => e.type)).toEqual(["submit", "report_rejected"]);
    expect((await queue.get(ref.jobId))?.state).toBe("leased"); // Redis still holds it for the owner
  });
});
