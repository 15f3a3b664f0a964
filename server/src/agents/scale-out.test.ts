import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningServer } from "../main.js";
import { createTestModel } from "../testing/fixtures.js";
import { collect, gqlData, wsClient } from "../testing/graphql-client.js";
import { TestAgent } from "../testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";

// Two server replicas on one Postgres and one Redis: commands and subscriptions cross replicas
// through the event bus.

let env: TestEnv;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  env = await createTestEnv();
  a = await startTestServer(env);
  b = await startTestServer(env);
  await createTestModel(a, "acme/echo");
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await env?.cleanup();
});

it("a job submitted on one replica reaches an agent on the other, and subscribers on both see it", async () => {
  const { nodeToken } = await a.services.nodes.register("replica-b-node");
  const agent = new TestAgent(b.url, nodeToken);
  await agent.startHeartbeats();

  const onA = wsClient(a.url);
  const onB = wsClient(b.url);
  const submitted = await gqlData<{ submitJob: { job: { id: string } } }>(
    a.url,
    `mutation { submitJob(input: { modelId: "acme/echo", input: { prompt: "cross" } }) { job { id } } }`,
  );
  const id = submitted.submitJob.job.id;
  const query = `subscription($id: ID!) { jobUpdated(id: $id) { status } }`;
  const seenOnA = collect<{ jobUpdated: { status: string } }>(onA, query, { id });
  const seenOnB = collect<{ jobUpdated: { status: string } }>(onB, query, { id });
  await seenOnA.until((events) => events.length > 0);
  await seenOnB.until((events) => events.length > 0);

  const run = await agent.waitForRunJob(id);
  await agent.started(run);
  // The report goes to replica B; the job was submitted on A.
  await agent.complete(run, { replica: "b" });

  for (const seen of [seenOnA, seenOnB]) {
    await seen.until((events) => events.some((e) => e.jobUpdated.status === "SUCCEEDED"));
    expect(seen.events.map((e) => e.jobUpdated.status).at(-1)).toBe("SUCCEEDED");
    expect(seen.events.map((e) => e.jobUpdated.status)).toContain("RUNNING");
  }
  const job = await a.services.jobs.get(id);
  expect(job.output).toEqual({ replica: "b" });

  // A cancel on replica A reaches the agent connected to replica B.
  const second = await gqlData<{ submitJob: { job: { id: string } } }>(
    a.url,
    `mutation { submitJob(input: { modelId: "acme/echo", input: { prompt: "cancel me" } }) { job { id } } }`,
  );
  const secondId = second.submitJob.job.id;
  await agent.waitForRunJob(secondId);
  await gqlData(a.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: secondId });
  const cancel = await agent.waitForCommand((c) => c.__typename === "CancelJobCommand" && c.jobId === secondId);
  expect(cancel.reason).toMatch(/^cancelled by key:/);

  seenOnA.stop();
  seenOnB.stop();
  await onA.dispose();
  await onB.dispose();
  await agent.close();
});

it("replicas never hand the same job to two agents", async () => {
  const agents: TestAgent[] = [];
  for (const [i, server] of [a, b, a, b].entries()) {
    const { nodeToken } = await a.services.nodes.register(`race-${i}`);
    const agent = new TestAgent(server.url, nodeToken, { capacity: 4 });
    await agent.startHeartbeats();
    agents.push(agent);
  }
  const result = await gqlData<{ submitJobs: { job: { id: string } }[] }>(
    b.url,
    `mutation($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { job { id } } }`,
    { inputs: Array.from({ length: 40 }, (_, i) => ({ modelId: "acme/echo", input: { prompt: `p${i}` } })) },
  );
  const ids = new Set(result.submitJobs.map((r) => r.job.id));
  const received = new Map<string, number>();
  const deadline = Date.now() + 20_000;
  while ([...ids].some((id) => !received.has(id)) && Date.now() < deadline) {
    for (const agent of agents) {
      for (const command of agent.commands) {
        if (command.__typename !== "RunJobCommand" || !command.attemptId || received.has(`${command.attemptId}`))
          continue;
        received.set(command.attemptId, 1);
        received.set(command.jobId as string, (received.get(command.jobId as string) ?? 0) + 1);
        await agent.complete({ jobId: command.jobId as string, attemptId: command.attemptId }, {});
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const id of ids) expect(received.get(id)).toBe(1);
  await Promise.all(agents.map((agent) => agent.close()));
});
