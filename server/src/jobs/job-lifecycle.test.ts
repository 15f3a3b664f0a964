import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../main.js";
import { createTestModel, registerNode } from "../testing/fixtures.js";
import { collect, gql, gqlData, waitFor, wsClient } from "../testing/graphql-client.js";
import { TestAgent } from "../testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";

// The job spine end to end, over the public GraphQL API, against real PostgreSQL and Redis.

const SUBMIT = `mutation($i: SubmitJobInput!) { submitJob(input: $i) { created job { id status queuePosition } } }`;
const JOB = `query($id: ID!) { job(id: $id) { id status cause error errorType attemptCount output queueWaitMs runTimeMs totalTimeMs
  attempts { id number status cause nodeId } events { type fromStatus toStatus cause actor attemptId } logs { seq message } } }`;

type JobView = {
  id: string;
  status: string;
  cause: string | null;
  error: string | null;
  errorType: string | null;
  attemptCount: number;
  output: unknown;
  queueWaitMs: number | null;
  runTimeMs: number | null;
  totalTimeMs: number | null;
  attempts: { id: string; number: number; status: string; cause: string | null; nodeId: string | null }[];
  events: {
    type: string;
    fromStatus: string | null;
    toStatus: string | null;
    cause: string | null;
    actor: string | null;
    attemptId: string | null;
  }[];
  logs: { seq: number; message: string }[];
};

let env: TestEnv;
let server: RunningServer;
const agents: TestAgent[] = [];
let nodeCounter = 0;

async function submit(input: unknown, extra: Record<string, unknown> = {}, modelId = "acme/echo") {
  const data = await gqlData<{
    submitJob: { created: boolean; job: { id: string; status: string; queuePosition: number | null } };
  }>(server.url, SUBMIT, { i: { modelId, input, ...extra } });
  return data.submitJob;
}

async function job(id: string): Promise<JobView> {
  return (await gqlData<{ job: JobView }>(server.url, JOB, { id })).job;
}

async function newAgent(opts: { capacity?: number; heartbeats?: boolean } = {}) {
  const { nodeToken, node } = await registerNode(server, `node-${++nodeCounter}`);
  const agent = new TestAgent(server.url, nodeToken, { capacity: opts.capacity ?? 1 });
  agents.push(agent);
  if (opts.heartbeats !== false) await agent.startHeartbeats();
  return { agent, nodeId: node.id };
}

function waitForStatus(id: string, status: string, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const view = await job(id);
      return view.status === status ? view : null;
    },
    timeoutMs,
    `job ${id} to be ${status}`,
  );
}

beforeAll(async () => {
  env = await createTestEnv();
  server = await startTestServer(env);
  await createTestModel(server, "acme/echo");
  await createTestModel(server, "acme/flaky", { maxAttempts: 2 });
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
});

afterAll(async () => {
  await server?.close();
  await env?.cleanup();
});

describe("submit → dispatch → complete", () => {
  it("a subscriber sees every state and every log line, in order", async () => {
    const subscriber = wsClient(server.url);
    const { job: submitted } = await submit({ prompt: "hello" });
    const states = collect<{ jobUpdated: { status: string } }>(
      subscriber,
      `subscription($id: ID!) { jobUpdated(id: $id) { status } }`,
      { id: submitted.id },
    );
    const logs = collect<{ jobLogs: { seq: number; message: string }[] }>(
      subscriber,
      `subscription($id: ID!) { jobLogs(id: $id) { seq message } }`,
      { id: submitted.id },
    );
    await states.until((events) => events.length >= 1);

    const { agent, nodeId } = await newAgent();
    const run = await agent.waitForRunJob(submitted.id);
    expect(run.command.input).toEqual({ prompt: "hello" });
    expect(run.command.modelId).toBe("acme/echo");
    expect(run.attemptId).toBe(`${submitted.id}.1`);

    expect((await agent.started(run)).rejected).toEqual([]);
    await agent.logs(run, ["loading", "step 1/2"]);
    await agent.logs(run, ["step 2/2"]);
    const done = await agent.complete(run, { text: "HELLO" });
    expect(done).toEqual({ accepted: 1, rejected: [] });

    await states.until((events) => events.some((e) => e.jobUpdated.status === "SUCCEEDED"));
    expect(states.events.map((e) => e.jobUpdated.status)).toEqual(["QUEUED", "ASSIGNED", "RUNNING", "SUCCEEDED"]);
    await logs.until((events) => events.flatMap((e) => e.jobLogs).length >= 3);
    expect(logs.events.flatMap((e) => e.jobLogs).map((l) => l.message)).toEqual(["loading", "step 1/2", "step 2/2"]);
    states.stop();
    logs.stop();
    await subscriber.dispose();

    const view = await job(submitted.id);
    expect(view.output).toEqual({ text: "HELLO" });
    expect(view.attempts).toEqual([expect.objectContaining({ number: 1, status: "SUCCEEDED", nodeId })]);
    expect(view.events.map((e) => `${e.type}:${e.toStatus}`)).toEqual([
      "submit:QUEUED",
      "assign:ASSIGNED",
      "start:RUNNING",
      "succeed:SUCCEEDED",
    ]);
    expect(view.queueWaitMs).toBeGreaterThanOrEqual(0);
    expect(view.runTimeMs).toBeGreaterThanOrEqual(0);
    expect(view.totalTimeMs).toBeGreaterThanOrEqual(view.runTimeMs as number);
  });

  it("resent log lines (same seq) are stored once", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "dup" });
    const run = await agent.waitForRunJob(submitted.id);
    const line = {
      ...{ jobId: run.jobId, attemptId: run.attemptId },
      seq: 0,
      level: "info",
      message: "once",
      at: new Date().toISOString(),
    };
    await agent.report({ logs: [line] });
    await agent.report({ logs: [line] });
    await agent.complete(run, {});
    expect((await job(submitted.id)).logs).toEqual([{ seq: 0, message: "once" }]);
  });

  it("an idempotency key returns the first job", async () => {
    const first = await submit({ prompt: "once" }, { idempotencyKey: "order-42" });
    const second = await submit({ prompt: "once" }, { idempotencyKey: "order-42" });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.job.id).toBe(first.job.id);
    await gqlData(server.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: first.job.id });
  });

  it("higher priority runs first and queue positions are reported", async () => {
    await gqlData(server.url, `mutation { pauseQueue(modelId: "acme/echo") { paused } }`);
    const low = await submit({ prompt: "low" }, { priority: -5 });
    const normal = await submit({ prompt: "normal" });
    const high = await submit({ prompt: "high" }, { priority: 10 });
    const positions = await Promise.all(
      [low, normal, high].map(async (s) => {
        const r = await gqlData<{ job: { queuePosition: number } }>(
          server.url,
          `query($id: ID!) { job(id: $id) { queuePosition } }`,
          { id: s.job.id },
        );
        return r.job.queuePosition;
      }),
    );
    expect(positions).toEqual([2, 1, 0]);
    const queues = await gqlData<{
      queues: { modelId: string; depth: number; paused: boolean; oldestWaitMs: number | null }[];
    }>(server.url, `{ queues { modelId depth paused oldestWaitMs } }`);
    expect(queues.queues.find((q) => q.modelId === "acme/echo")).toMatchObject({ depth: 3, paused: true });

    const { agent } = await newAgent();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(agent.commands.filter((c) => c.__typename === "RunJobCommand")).toHaveLength(0); // paused
    await gqlData(server.url, `mutation { resumeQueue(modelId: "acme/echo") { paused } }`);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await agent.waitForCommand(
        (c) => c.__typename === "RunJobCommand" && !order.includes(c.jobId as string),
      );
      order.push(run.jobId as string);
      await agent.complete({ jobId: run.jobId as string, attemptId: run.attemptId as string }, {});
    }
    expect(order).toEqual([high.job.id, normal.job.id, low.job.id]);
  });
});

describe("failures, retries and leases", () => {
  it("a retryable failure waits, runs again, and succeeds on the next attempt", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "x" }, {}, "acme/flaky");
    const first = await agent.waitForRunJob(submitted.id);
    await agent.fail(first, { error: "CUDA out of memory", errorType: "runner_error", cause: "oom", retryable: true });
    const second = await agent
      .waitForRunJob(submitted.id.concat(""), 10_000)
      .then(async () =>
        agent.waitForCommand((c) => c.__typename === "RunJobCommand" && c.attemptId === `${submitted.id}.2`),
      );
    await agent.complete({ jobId: submitted.id, attemptId: second.attemptId as string }, { ok: true });
    const view = await waitForStatus(submitted.id, "SUCCEEDED");
    expect(view.attemptCount).toBe(2);
    expect(view.attempts.map((a) => [a.number, a.status, a.cause])).toEqual([
      [1, "FAILED", "oom"],
      [2, "SUCCEEDED", null],
    ]);
    expect(view.events.map((e) => e.toStatus)).toEqual([
      "QUEUED",
      "ASSIGNED",
      "RETRY_WAIT",
      "QUEUED",
      "ASSIGNED",
      "SUCCEEDED",
    ]);
    expect(view.events.find((e) => e.toStatus === "RETRY_WAIT")?.cause).toBe("oom");
  });

  it("attempts run out: the job fails with the last cause", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "x" }, {}, "acme/flaky");
    for (const n of [1, 2]) {
      const run = await agent.waitForCommand(
        (c) => c.__typename === "RunJobCommand" && c.attemptId === `${submitted.id}.${n}`,
      );
      await agent.fail(
        { jobId: submitted.id, attemptId: run.attemptId as string },
        { error: "segfault", errorType: "runner_error", cause: "runner crashed", retryable: true },
      );
    }
    const view = await waitForStatus(submitted.id, "FAILED");
    expect(view).toMatchObject({
      attemptCount: 2,
      cause: "runner crashed",
      error: "segfault",
      errorType: "runner_error",
    });
  });

  it("a non-retryable failure fails at once", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "x" });
    const run = await agent.waitForRunJob(submitted.id);
    await agent.fail(run, {
      error: "bad image",
      errorType: "validation_error",
      cause: "invalid input",
      retryable: false,
    });
    expect(await waitForStatus(submitted.id, "FAILED")).toMatchObject({ attemptCount: 1, cause: "invalid input" });
  });

  it("an agent that disappears mid-job: the lease expires, another agent completes it, the late report is rejected", async () => {
    const { agent: lost, nodeId: lostNode } = await newAgent();
    const { job: submitted } = await submit({ prompt: "survive" });
    const first = await lost.waitForRunJob(submitted.id);
    await lost.started(first);
    lost.stopHeartbeats(); // the host goes silent but the socket lingers

    const { agent: rescuer, nodeId: rescuerNode } = await newAgent();
    const second = await rescuer.waitForRunJob(submitted.id, 15_000);
    expect(second.attemptId).toBe(`${submitted.id}.2`);
    await rescuer.started(second);
    await rescuer.complete(second, { by: "rescuer" });

    const late = await lost.complete(first, { by: "lost" });
    expect(late.accepted).toBe(0);
    expect(late.rejected).toEqual([
      { attemptId: first.attemptId, reason: expect.stringMatching(/no longer held|superseded/) },
    ]);

    const view = await waitForStatus(submitted.id, "SUCCEEDED");
    expect(view.output).toEqual({ by: "rescuer" });
    expect(view.attempts.map((a) => [a.number, a.status, a.nodeId])).toEqual([
      [1, "LOST", lostNode],
      [2, "SUCCEEDED", rescuerNode],
    ]);
    expect(view.events.find((e) => e.toStatus === "RETRY_WAIT")?.cause).toBe("agent lost: lease expired");
    expect(view.events.filter((e) => e.type === "report_rejected")).toEqual([
      expect.objectContaining({ attemptId: first.attemptId, actor: `node:${lostNode}` }),
    ]);
  });

  it("a heartbeat renews leases: a slow job on a live agent is not requeued", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "slow" });
    const run = await agent.waitForRunJob(submitted.id);
    await agent.started(run);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // two lease lengths
    expect((await agent.complete(run, { slow: true })).accepted).toBe(1);
    expect((await job(submitted.id)).attemptCount).toBe(1);
  });

  it("a node cannot report for an attempt another node holds", async () => {
    const { agent: owner } = await newAgent();
    const { job: submitted } = await submit({ prompt: "mine" });
    const run = await owner.waitForRunJob(submitted.id);
    const { agent: intruder } = await newAgent({ capacity: 0 });
    const result = await intruder.complete(run, { stolen: true });
    expect(result.rejected).toEqual([{ attemptId: run.attemptId, reason: "attempt is held by another node" }]);
    await owner.complete(run, { ok: 1 });
    expect((await waitForStatus(submitted.id, "SUCCEEDED")).output).toEqual({ ok: 1 });
  });
});

describe("cancel", () => {
  it("a queued job leaves the queue at once", async () => {
    await gqlData(server.url, `mutation { pauseQueue(modelId: "acme/echo") { paused } }`);
    const { job: submitted } = await submit({ prompt: "never" });
    const cancelled = await gqlData<{ cancelJob: { status: string } }>(
      server.url,
      `mutation($id: ID!) { cancelJob(id: $id) { status } }`,
      { id: submitted.id },
    );
    expect(cancelled.cancelJob.status).toBe("CANCELLED");
    const queues = await gqlData<{ queues: { modelId: string; depth: number }[] }>(
      server.url,
      `{ queues(modelIds: ["acme/echo"]) { modelId depth } }`,
    );
    expect(queues.queues[0]?.depth).toBe(0);
    await gqlData(server.url, `mutation { resumeQueue(modelId: "acme/echo") { paused } }`);
    const again = await gql(server.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: submitted.id });
    expect(again.errors?.[0]?.extensions?.code).toBe("ALREADY_COMPLETED");
  });

  it("a running job: the agent receives CancelJob and its late result is rejected", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "stop me" });
    const run = await agent.waitForRunJob(submitted.id);
    await agent.started(run);
    await gqlData(server.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: submitted.id });
    const cancel = await agent.waitForCommand((c) => c.__typename === "CancelJobCommand" && c.jobId === submitted.id);
    expect(cancel).toMatchObject({ attemptId: run.attemptId, reason: expect.stringMatching(/^cancelled by key:/) });
    for (const step of ["received", "sigterm", "stopped"]) {
      await agent.report({ acks: [{ commandId: cancel.commandId, step, jobId: run.jobId, attemptId: run.attemptId }] });
    }
    const late = await agent.complete(run, { too: "late" }); // a result that raced the cancel
    await agent.report({ cancelled: [{ jobId: run.jobId, attemptId: run.attemptId }] });
    const view = await job(submitted.id);
    expect(late.rejected).toEqual([]);
    expect(view.status).toBe("CANCELLED"); // the cancel won: the late result changes nothing
    expect(view.output).toBeNull();
    expect(view.attempts[0]?.status).toBe("CANCELLED");
    expect(view.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["cancel", "ack:received", "ack:sigterm", "ack:stopped", "runner_stopped"]),
    );
  });

  it("retryJob runs a cancelled job again", async () => {
    await gqlData(server.url, `mutation { pauseQueue(modelId: "acme/echo") { paused } }`);
    const { job: submitted } = await submit({ prompt: "again" });
    await gqlData(server.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: submitted.id });
    await gqlData(server.url, `mutation { resumeQueue(modelId: "acme/echo") { paused } }`);
    const retried = await gqlData<{ retryJob: { status: string } }>(
      server.url,
      `mutation($id: ID!) { retryJob(id: $id) { status } }`,
      { id: submitted.id },
    );
    expect(retried.retryJob.status).toBe("QUEUED");
    const { agent } = await newAgent();
    const run = await agent.waitForRunJob(submitted.id);
    await agent.complete(run, { second: "life" });
    expect((await waitForStatus(submitted.id, "SUCCEEDED")).output).toEqual({ second: "life" });
  });
});

describe("deadlines", () => {
  it("a job nobody starts before its start deadline times out", async () => {
    await gqlData(server.url, `mutation { pauseQueue(modelId: "acme/flaky") { paused } }`);
    const { job: submitted } = await submit({ prompt: "hurry" }, { startTimeoutMs: 300 }, "acme/flaky");
    const view = await waitForStatus(submitted.id, "TIMED_OUT");
    expect(view).toMatchObject({ errorType: "request_timeout", cause: "start deadline passed", attemptCount: 0 });
    await gqlData(server.url, `mutation { resumeQueue(modelId: "acme/flaky") { paused } }`);
  });

  it("an attempt past its execution timeout times out and the agent is told to stop", async () => {
    const { agent } = await newAgent();
    const { job: submitted } = await submit({ prompt: "slow" }, { timeoutMs: 300 });
    const run = await agent.waitForRunJob(submitted.id);
    await agent.started(run);
    const cancel = await agent.waitForCommand((c) => c.__typename === "CancelJobCommand" && c.jobId === submitted.id);
    expect(cancel.reason).toBe("execution timeout");
    const view = await waitForStatus(submitted.id, "TIMED_OUT");
    expect(view.attempts[0]?.status).toBe("TIMED_OUT");
    expect((await agent.complete(run, {})).accepted).toBe(0);
  });
});

describe("bad input gets a typed error and writes nothing", () => {
  async function jobCount() {
    return server.services.prisma.job.count();
  }

  it.each([
    ["unknown model", { modelId: "nobody/nothing", input: { prompt: "x" } }, "NOT_FOUND"],
    [
      "input that fails the schema",
      { modelId: "acme/echo", input: { prompt: "", steps: 1000, extra: true } },
      "INVALID_INPUT",
    ],
    ["input that is not an object", { modelId: "acme/echo", input: [1, 2] }, "INVALID_INPUT"],
    ["an oversized payload", { modelId: "acme/echo", input: { prompt: "x".repeat(1_100_000) } }, "PAYLOAD_TOO_LARGE"],
    ["a negative timeout", { modelId: "acme/echo", input: { prompt: "x" }, timeoutMs: -1 }, "INVALID_INPUT"],
  ])("%s", async (_name, input, code) => {
    const before = await jobCount();
    const result = await gql(server.url, SUBMIT, { i: input });
    expect(result.data).toBeFalsy();
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    expect(await jobCount()).toBe(before);
  });

  it("schema failures name each field", async () => {
    const result = await gql(server.url, SUBMIT, { i: { modelId: "acme/echo", input: { steps: 0, extra: 1 } } });
    const issues = result.errors?.[0]?.extensions?.issues as { loc: string[] }[];
    expect(issues.map((i) => i.loc.join("."))).toEqual(
      expect.arrayContaining(["body.prompt", "body.steps", "body.extra"]),
    );
  });

  it("a malformed variable is a BAD_USER_INPUT, not a server error", async () => {
    const result = await gql(server.url, SUBMIT, { i: { modelId: 42 } });
    expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("a batch submit refuses the bad items and keeps the good ones", async () => {
    const before = await jobCount();
    const result = await gqlData<{
      submitJobs: { created: boolean; job: { id: string } | null; error: { code: string } | null }[];
    }>(
      server.url,
      `mutation($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { created job { id } error { code } } }`,
      {
        inputs: [
          { modelId: "acme/echo", input: { prompt: "ok" } },
          { modelId: "acme/echo", input: {} },
          { modelId: "no/such", input: {} },
        ],
      },
    );
    expect(result.submitJobs.map((r) => r.error?.code ?? "ok")).toEqual(["ok", "INVALID_INPUT", "NOT_FOUND"]);
    expect(await jobCount()).toBe(before + 1);
    const id = result.submitJobs[0]?.job?.id as string;
    await gqlData(server.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id });
  });
});
