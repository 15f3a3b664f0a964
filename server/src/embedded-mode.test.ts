import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestModel, registerNode } from "./testing/fixtures.js";
import { gqlData } from "./testing/graphql-client.js";
import { TestAgent } from "./testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "./testing/test-env.js";

// `npm start` on a bare machine: PGlite in the data folder, in-process queue and pubsub.
// A restart rebuilds the in-process queue from the database.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ redis: false, postgres: false });
});
afterAll(async () => {
  await env?.cleanup();
});

it("runs jobs with the embedded drivers and keeps them across a restart", async () => {
  const first = await startTestServer(env);
  await createTestModel(first, "acme/echo");
  const { nodeToken } = await registerNode(first, "embedded-node");
  let agent = new TestAgent(first.url, nodeToken);
  await agent.startHeartbeats();
  const done = await gqlData<{ submitJob: { job: { id: string } } }>(
    first.url,
    `mutation { submitJob(input: { modelId: "acme/echo", input: { prompt: "one" } }) { job { id } } }`,
  );
  const run = await agent.waitForRunJob(done.submitJob.job.id);
  await agent.complete(run, { n: 1 });
  await agent.close();

  const waiting = await first.services.jobs.submit({ modelId: "acme/echo", input: { prompt: "after restart" } });
  await first.close();

  const second = await startTestServer(env);
  try {
    expect((await second.services.jobs.get(done.submitJob.job.id)).status).toBe("SUCCEEDED");
    agent = new TestAgent(second.url, nodeToken);
    await agent.startHeartbeats();
    const again = await agent.waitForRunJob(waiting.job.id);
    await agent.complete(again, { n: 2 });
    expect((await second.services.jobs.get(waiting.job.id)).output).toEqual({ n: 2 });
    await agent.close();
  } finally {
    await second.close();
  }
}, 90_000);
