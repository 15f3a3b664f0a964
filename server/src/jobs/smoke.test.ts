import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";
import type { RunningServer } from "../main.js";
import { createTestModel, registerNode } from "../testing/fixtures.js";
import { TestAgent } from "../testing/test-agent.js";
import { gqlData } from "../testing/graphql-client.js";

let env: TestEnv;
let server: RunningServer;
beforeAll(async () => {
  env = await createTestEnv();
  server = await startTestServer(env);
});
afterAll(async () => {
  await server?.close();
  await env?.cleanup();
});

it("smoke", async () => {
  await createTestModel(server);
  const { nodeToken } = await registerNode(server, "n1");
  const agent = new TestAgent(server.url, nodeToken);
  await agent.startHeartbeats();
  const data = await gqlData<{ submitJob: { job: { id: string; status: string } } }>(server.url, `mutation($i: SubmitJobInput!) { submitJob(input: $i) { job { id status } } }`, { i: { modelId: "acme/echo", input: { prompt: "hi" } } });
  const run = await agent.waitForRunJob(data.submitJob.job.id);
  await agent.started(run);
  await agent.logs(run, ["a", "b"]);
  const r = await agent.complete(run, { text: "ok" });
  expect(r.accepted).toBe(1);
  const job = await server.services.jobs.get(run.jobId);
  expect(job.status).toBe("SUCCEEDED");
  await agent.close();
});
