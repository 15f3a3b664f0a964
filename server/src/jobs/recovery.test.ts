import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../main.js";
import { createTestModel, echoRunner, promptSchema } from "../testing/fixtures.js";
import { gqlData, waitFor } from "../testing/graphql-client.js";
import { startServerProcess } from "../testing/server-process.js";
import { TestAgent } from "../testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";

// Redis is an index that can be rebuilt; Postgres is the record. Losing either the index or the
// server process must not lose a job.

const SUBMIT_MANY = `mutation($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { job { id } } }`;

async function submitMany(url: string, count: number, modelId = "acme/echo"): Promise<string[]> {
  const data = await gqlData<{ submitJobs: { job: { id: string } }[] }>(url, SUBMIT_MANY, {
    inputs: Array.from({ length: count }, (_, i) => ({ modelId, input: { prompt: `job ${i}` } })),
  });
  return data.submitJobs.map((r) => r.job.id);
}

/** Completes every RunJob the agent receives until all `ids` are done. */
async function drain(agent: TestAgent, ids: string[], timeoutMs = 20_000) {
  const done = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (ids.some((id) => !done.has(id))) {
    if (Date.now() > deadline) throw new Error(`only ${done.size}/${ids.length} jobs completed`);
    for (const command of agent.commands) {
      if (command.__typename !== "RunJobCommand" || done.has(command.jobId as string)) continue;
      const ref = { jobId: command.jobId as string, attemptId: command.attemptId as string };
      const result = await agent.complete(ref, { done: true });
      if (result.accepted === 1) done.add(ref.jobId);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a flushed Redis", () => {
  let env: TestEnv;
  let server: RunningServer;
  beforeAll(async () => {
    env = await createTestEnv();
    server = await startTestServer(env);
    await createTestModel(server, "acme/echo");
  });
  afterAll(async () => {
    await server?.close();
    await env?.cleanup();
  });

  it("loses no job: after reconcile every queued and running job still reaches a final state", async () => {
    const { nodeToken } = await server.services.nodes.register("flush-node");
    const agent = new TestAgent(server.url, nodeToken, { capacity: 1 });
    await agent.startHeartbeats();
    const [runningId] = await submitMany(server.url, 1);
    const running = await agent.waitForRunJob(runningId);
    await agent.started(running);
    await server.services.queues.pause("acme/echo");
    const queuedIds = await submitMany(server.url, 5);

    // No heartbeat while the index is gone: a renew then would (rightly) tell the agent its lease is lost.
    agent.stopHeartbeats();
    const deleted = await env.flushRedis(); // what FLUSHALL does to this deployment's keys
    expect(deleted).toBeGreaterThan(0);
    expect((await server.services.queues.list(["acme/echo"]))[0]).toMatchObject({ depth: 0, running: 0 });

    // A replica starting now reconciles the queue from Postgres, as every start does.
    const restarted = await startTestServer(env);
    try {
      const stats = (await restarted.services.queues.list(["acme/echo"]))[0];
      expect(stats).toMatchObject({ depth: 5, running: 1, paused: false });
      await agent.startHeartbeats();
      await drain(agent, [runningId as string, ...queuedIds]);
      for (const id of [runningId as string, ...queuedIds]) {
        expect((await restarted.services.jobs.get(id)).status).toBe("SUCCEEDED");
      }
      // The running job was finished by its first attempt: its lease was restored, not requeued.
      expect((await restarted.services.jobs.get(runningId as string)).attemptCount).toBe(1);
    } finally {
      await agent.close();
      await restarted.close();
    }
  });
});

describe("kill -9 of a server process", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("loses no queued or running job: after a restart all of them complete", async () => {
    // A lease longer than the restart: the agent's running work is kept, not run twice.
    const processEnv = { ...env.env, LEASE_TTL_MS: "20000", HEARTBEAT_INTERVAL_MS: "500" };
    const first = await startServerProcess(processEnv);
    const setup = await gqlData<{ createEnrollmentToken: { token: string } }>(
      first.url,
      `mutation($schema: JSON, $runner: JSON!) {
        createModel(input: { id: "acme/echo" }) { id }
        createModelVersion(input: { modelId: "acme/echo", runner: $runner, inputSchema: $schema }) { version }
        createEnrollmentToken(nodeName: "crash-node") { token }
      }`,
      { schema: promptSchema, runner: echoRunner },
    );
    const enrolled = await gqlData<{ enrollNode: { nodeToken: string } }>(
      first.url,
      `mutation($t: String!) { enrollNode(input: { enrollmentToken: $t, name: "crash-node" }) { nodeToken } }`,
      { t: setup.createEnrollmentToken.token },
    );
    const token = enrolled.enrollNode.nodeToken;
    const agent = new TestAgent(first.url, token, { capacity: 2 });
    await agent.startHeartbeats();
    const ids = await submitMany(first.url, 6);
    const runs = [await agent.waitForRunJob(), await agent.waitForRunJob()];
    await agent.waitForCommand((c) => c.__typename === "RunJobCommand" && c.jobId !== runs[0]?.jobId);
    const running = agent.commands
      .filter((c) => c.__typename === "RunJobCommand")
      .map((c) => ({ jobId: c.jobId as string, attemptId: c.attemptId as string }));
    expect(running).toHaveLength(2);
    for (const ref of running) await agent.started(ref);

    await first.kill9();
    await agent.close();

    const second = await startServerProcess(processEnv);
    try {
      // The agent reconnects and says what it still runs (R7); the server keeps those attempts.
      const back = new TestAgent(second.url, token, { capacity: 2, running });
      for (const ref of running) back.running.set(ref.attemptId, ref);
      await back.startHeartbeats();
      for (const ref of running) expect((await back.complete(ref, { survived: true })).accepted).toBe(1);
      const rest = ids.filter((id) => !running.some((r) => r.jobId === id));
      await drain(back, rest);
      await waitFor(
        async () => {
          const data = await gqlData<{ jobs: { edges: { node: { status: string; attemptCount: number } }[] } }>(
            second.url,
            `{ jobs(first: 50) { edges { node { status attemptCount } } } }`,
          );
          const nodes = data.jobs.edges.map((e) => e.node);
          return nodes.length === 6 && nodes.every((n) => n.status === "SUCCEEDED" && n.attemptCount === 1);
        },
        15_000,
        "all six jobs to succeed once",
      );
      await back.close();
    } finally {
      await second.stop();
    }
  }, 120_000);
});
