import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../events/event-bus.js";
import type { RunningServer } from "../main.js";
import { createTestModel } from "../testing/fixtures.js";
import { collect, gql, gqlData, waitFor, wsClient } from "../testing/graphql-client.js";
import { AGENT_HEARTBEAT, TestAgent } from "../testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";
import { NodeLedger } from "./node-ledger.js";
import { NodeMonitor } from "./node-monitor.js";
import type { NodeWork } from "./node-work.js";

// Node presence and operator actions over GraphQL, with scripted agents (TestAgent), real
// Postgres and Redis. The lease reaper is off here (it runs when a test calls it), so that what
// requeues work is the node path under test.

let env: TestEnv;
let server: RunningServer;
const agents: TestAgent[] = [];
let count = 0;

beforeAll(async () => {
  env = await createTestEnv();
  server = await startTestServer(env, { REAPER_INTERVAL_MS: "3600000", NODE_SWEEP_INTERVAL_MS: "100" });
  await createTestModel(server, "acme/echo");
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
  // Work a test left behind (requeued on purpose) must not reach the next test's agent.
  const open = await server.services.prisma.job.findMany({
    where: { status: { in: ["QUEUED", "RETRY_WAIT", "ASSIGNED", "RUNNING"] } },
  });
  for (const job of open) await server.services.jobs.cancel(job.id, "test cleanup");
});

afterAll(async () => {
  await server?.close();
  await env?.cleanup();
});

async function newAgent(capacity = 1) {
  const name = `lifecycle-${++count}`;
  const { nodeToken, node } = await server.services.nodes.register(name);
  const agent = new TestAgent(server.url, nodeToken, { capacity });
  agents.push(agent);
  await agent.startHeartbeats();
  await untilState(node.id, "ONLINE");
  return { agent, nodeId: node.id, nodeToken, name };
}

const q = <T>(query: string, variables: Record<string, unknown> = {}) => gqlData<T>(server.url, query, variables);

async function nodeView(id: string) {
  const data = await q<{
    node: {
      state: string;
      cordoned: boolean;
      schedulable: boolean;
      freeSlots: number;
      lastHeartbeatAt: string;
      gpus: { name: string }[];
    };
  }>(`query($id: ID!) { node(id: $id) { state cordoned schedulable freeSlots lastHeartbeatAt gpus { name } } }`, {
    id,
  });
  return data.node;
}

function untilState(id: string, state: string, timeoutMs = 15_000) {
  return waitFor(
    async () => ((await nodeView(id)).state === state ? nodeView(id) : null),
    timeoutMs,
    `node ${id} to be ${state}`,
  );
}

async function events(id: string) {
  const data = await q<{
    node: { events: { type: string; message: string | null; actor: string; detail: Record<string, unknown> | null }[] };
  }>(`query($id: ID!) { node(id: $id) { events(last: 500) { type message actor detail } } }`, { id });
  return data.node.events;
}

async function submit(input: unknown = { prompt: "hi" }) {
  return (await server.services.jobs.submit({ modelId: "acme/echo", input })).job.id;
}

async function jobView(id: string) {
  const data = await q<{
    job: {
      status: string;
      attempts: { id: string; status: string; cause: string | null }[];
      events: { type: string; cause: string | null }[];
    };
  }>(`query($id: ID!) { job(id: $id) { status attempts { id status cause } events { type cause } } }`, { id });
  return data.job;
}

const GPU = {
  index: 0,
  uuid: "GPU-1",
  name: "NVIDIA A100-SXM4-80GB",
  memoryTotalMb: 81920,
  memoryUsedMb: 100,
  utilizationPct: 3,
};

describe("heartbeats", () => {
  it("store GPU inventory, runners and free slots, and publish every heartbeat live", async () => {
    const { agent, nodeId } = await newAgent();
    agent.stopHeartbeats();
    const subscriber = wsClient(server.url);
    const live = collect<{
      nodeUpdated: { lastHeartbeatAt: string; gpus: { name: string; utilizationPct: number }[] };
    }>(subscriber, `subscription($id: ID) { nodeUpdated(id: $id) { lastHeartbeatAt gpus { name utilizationPct } } }`, {
      id: nodeId,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 5; i++) {
      await agent.mutate(AGENT_HEARTBEAT, {
        input: {
          freeSlots: 1,
          running: [],
          gpus: [{ ...GPU, utilizationPct: i * 10 }],
          runners: [{ modelVersionId: "mv-1", state: "idle", pid: 42, port: 9000, runs: 3 }],
        },
      });
    }
    await live.until((all) => all.length >= 5);
    expect(live.events.map((e) => e.nodeUpdated.gpus[0]?.utilizationPct)).toEqual([0, 10, 20, 30, 40]);
    const stored = await nodeView(nodeId);
    expect(stored.gpus).toEqual([{ name: "NVIDIA A100-SXM4-80GB" }]);
    live.stop();
    await subscriber.dispose();

    const runners = await q<{ node: { runners: unknown[] } }>(
      `query($id: ID!) { node(id: $id) { runners { modelVersionId state runs } } }`,
      { id: nodeId },
    );
    expect(runners.node.runners).toEqual([{ modelVersionId: "mv-1", state: "idle", runs: 3 }]);
    const byGpu = await q<{ nodes: { edges: { node: { id: string } }[] } }>(
      `query { nodes(gpuModel: "NVIDIA A100-SXM4-80GB") { edges { node { id } } } }`,
    );
    expect(byGpu.nodes.edges.map((e) => e.node.id)).toEqual([nodeId]);
  });

  it("are stored at most once per write interval per node; each one is published", async () => {
    const { node } = await server.services.nodes.register(`throttle-${++count}`);
    let now = Date.now();
    const clock = { now: () => now };
    const ledger = new NodeLedger(server.services.prisma, server.services.events, clock);
    const monitor = new NodeMonitor(
      server.services.prisma,
      ledger,
      {} as NodeWork, // heartbeats never give work back
      server.services.events,
      clock,
      { lostAfterMs: 15_000, statsWriteIntervalMs: 5_000 },
      () => {},
    );
    const published = server.services.events.subscribe<{ id: string; lastHeartbeatAt: string }>(topics.nodeUpdated);
    const seen: string[] = [];
    void (async () => {
      for await (const update of published) if (update.id === node.id) seen.push(String(update.lastHeartbeatAt));
    })();
    try {
      await monitor.connected(node.id, { connectionId: "socket-1", capacity: 1 });
      const connectedAt = now;
      const stored = async () =>
        (await server.services.prisma.node.findUniqueOrThrow({ where: { id: node.id } })).lastHeartbeatAt?.getTime();
      for (let i = 1; i <= 4; i++) {
        now = connectedAt + i * 1_000;
        await monitor.heartbeat(node.id, { freeSlots: 1, gpus: [GPU], runners: [] });
      }
      expect(await stored()).toBe(connectedAt); // four heartbeats within the interval: no row write
      now = connectedAt + 5_000;
      await monitor.heartbeat(node.id, { freeSlots: 0, gpus: [GPU], runners: [] });
      expect(await stored()).toBe(connectedAt + 5_000);
      await waitFor(async () => seen.length >= 6, 5_000, "every heartbeat published");
      expect(seen.slice(-5).map((at) => Date.parse(at) - connectedAt)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
    } finally {
      await published.return?.();
      monitor.close();
    }
  });
});

describe("cordon, drain, uncordon", () => {
  it("R18: a cordoned node gets no new work; uncordoned, it does", async () => {
    const { agent, nodeId } = await newAgent();
    const cordoned = await q<{ cordonNode: { state: string; schedulable: boolean } }>(
      `mutation($id: ID!) { cordonNode(id: $id) { state schedulable } }`,
      {
        id: nodeId,
      },
    );
    expect(cordoned.cordonNode).toEqual({ state: "CORDONED", schedulable: false });
    const jobId = await submit();
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(agent.commands.filter((c) => c.__typename === "RunJobCommand")).toEqual([]);
    expect((await jobView(jobId)).status).toBe("QUEUED");

    const again = await gql(server.url, `mutation($id: ID!) { uncordonNode(id: $id) { state } }`, { id: nodeId });
    expect(again.errors).toBeUndefined();
    const run = await agent.waitForRunJob(jobId);
    await agent.complete(run, { ok: true });
    const refused = await gql(server.url, `mutation($id: ID!) { uncordonNode(id: $id) { state } }`, { id: nodeId });
    expect(refused.errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
  });

  it("R18: past the drain deadline, what still runs is cancelled with the reason and requeued; the node ends CORDONED", async () => {
    const { agent, nodeId } = await newAgent();
    const jobId = await submit();
    const run = await agent.waitForRunJob(jobId);
    await agent.started(run);
    const draining = await q<{ drainNode: { state: string } }>(
      `mutation($id: ID!) { drainNode(id: $id, deadlineMs: 400) { state } }`,
      { id: nodeId },
    );
    expect(draining.drainNode.state).toBe("DRAINING");
    await agent.waitForCommand((c) => c.__typename === ("DrainCommand" as never));
    const cancel = await agent.waitForCommand(
      (c) => c.__typename === "CancelJobCommand" && c.attemptId === run.attemptId,
    );
    expect(cancel.reason).toBe("drain deadline");
    await untilState(nodeId, "CORDONED");
    const view = await jobView(jobId);
    expect(view.attempts[0]).toMatchObject({ id: run.attemptId, cause: "drain deadline" });
    expect(view.events.filter((e) => e.type === "retry")).toEqual([{ type: "retry", cause: "drain deadline" }]);
    expect((await events(nodeId)).find((e) => e.type === "drain_deadline")?.message).toBe(
      "drain deadline passed: 1 attempt(s) cancelled and requeued",
    );
    // The agent's late result is fenced off.
    expect((await agent.complete(run, { late: true })).rejected).toEqual([
      { attemptId: run.attemptId, reason: expect.any(String) },
    ]);
  });
});

describe("loss", () => {
  it("a node whose heartbeats stop is LOST after the bound; its work is requeued once (attempt LOST, cause 'agent lost'); back, it is ONLINE and old reports are rejected", async () => {
    const { agent, nodeId, nodeToken } = await newAgent();
    const jobId = await submit();
    const run = await agent.waitForRunJob(jobId);
    await agent.started(run);
    await agent.vanish();
    const gone = Date.now();
    await untilState(nodeId, "LOST", server.nodeMonitor.lostAfterMs + 5_000);
    expect(Date.now() - gone).toBeLessThan(server.nodeMonitor.lostAfterMs + 1_500);

    const requeued = await waitFor(
      async () => {
        const view = await jobView(jobId);
        return view.status === "RETRY_WAIT" ? view : null;
      },
      5_000,
      "the job to wait for its retry",
    );
    expect(requeued.attempts[0]).toMatchObject({
      id: run.attemptId,
      status: "LOST",
      cause: expect.stringMatching(/^agent lost/),
    });
    // The lease reaper comes after: the lease is gone, nothing is requeued twice.
    await server.attempts.reapExpiredLeases();
    await server.attempts.reapExpiredLeases();
    expect((await jobView(jobId)).events.filter((e) => e.type === "retry")).toEqual([
      { type: "retry", cause: expect.stringMatching(/^agent lost/) },
    ]);
    expect((await events(nodeId)).filter((e) => e.type === "lost")).toHaveLength(1);

    const back = new TestAgent(server.url, nodeToken, { capacity: 1 });
    agents.push(back);
    await back.startHeartbeats();
    await untilState(nodeId, "ONLINE");
    const late = await back.complete(run, { stale: true });
    expect(late.rejected).toEqual([
      { attemptId: run.attemptId, reason: expect.stringMatching(/no longer held|superseded/) },
    ]);
    await server.attempts.reapExpiredLeases(); // promotes the retry (the reaper is off in this file)
    const second = await back.waitForRunJob(jobId);
    expect(second.attemptId).not.toBe(run.attemptId);
    await back.complete(second, { ok: true });
  }, 40_000);

  it("loss detection is one conditional update: sweeps racing on every replica mark a node lost once", async () => {
    const { node } = await server.services.nodes.register(`race-${++count}`);
    await server.services.prisma.node.update({
      where: { id: node.id },
      data: { state: "ONLINE", lastHeartbeatAt: new Date(Date.now() - 60_000) },
    });
    const found = await Promise.all(Array.from({ length: 6 }, () => server.nodeMonitor.detectLost()));
    expect(found.reduce((sum, n) => sum + n, 0)).toBeLessThanOrEqual(1);
    await untilState(node.id, "LOST");
    expect((await events(node.id)).filter((e) => e.type === "lost")).toHaveLength(1);
  });
});

describe("removal", () => {
  it("revokes the token: the live socket closes with 4403, the token is refused, the work is requeued", async () => {
    const { agent, nodeId, nodeToken } = await newAgent();
    const closeCodes: number[] = [];
    agent.client.on("closed", (event) => closeCodes.push((event as { code: number }).code));
    const jobId = await submit();
    await agent.waitForRunJob(jobId);
    const removed = await q<{ removeNode: { state: string; removedAt: string | null } }>(
      `mutation($id: ID!) { removeNode(id: $id) { state removedAt } }`,
      {
        id: nodeId,
      },
    );
    expect(removed.removeNode.state).toBe("OFFLINE");
    expect(removed.removeNode.removedAt).not.toBeNull();
    await waitFor(async () => closeCodes.includes(4403), 5_000, "the socket to close with 4403");
    expect(await server.services.nodes.authenticate(nodeToken)).toBeNull();
    expect((await jobView(jobId)).attempts[0]?.cause).toBe("node removed");
    const listed = await q<{ nodes: { edges: { node: { id: string } }[] } }>(
      `query { nodes { edges { node { id } } } }`,
    );
    expect(listed.nodes.edges.map((e) => e.node.id)).not.toContain(nodeId);
    // graphql-ws rethrows the refusal (4403) from dispose(): this agent is gone for good anyway.
    agents.splice(agents.indexOf(agent), 1);
    await agent.close().catch(() => undefined);
  });
});

describe("labels, filters and node commands", () => {
  it("labels and pools select nodes", async () => {
    const { nodeId } = await newAgent();
    await q(`mutation($id: ID!, $l: JSON!) { setNodeLabels(id: $id, labels: $l, pool: "eu-gpu") { id } }`, {
      id: nodeId,
      l: { zone: "eu-west", gpu: "a100" },
    });
    const select = async (args: string) =>
      (
        await q<{ nodes: { edges: { node: { id: string } }[] } }>(`query { nodes(${args}) { edges { node { id } } } }`)
      ).nodes.edges.map((e) => e.node.id);
    expect(await select(`labels: ["zone=eu-west", "gpu=a100"]`)).toEqual([nodeId]);
    expect(await select(`labels: ["zone=us"]`)).toEqual([]);
    expect(await select(`pool: "eu-gpu", state: [ONLINE]`)).toEqual([nodeId]);
    const bad = await gql(server.url, `mutation($id: ID!, $l: JSON!) { setNodeLabels(id: $id, labels: $l) { id } }`, {
      id: nodeId,
      l: { "no spaces": "x" },
    });
    expect(bad.errors?.[0]?.extensions?.code).toBe("INVALID_INPUT");
  });

  it("commands go to connected nodes only; acks are recorded; secrets stay out of events and the audit log", async () => {
    const { agent, nodeId } = await newAgent();
    const canary = "canary-c0ffee-lifecycle";
    const sent = await q<{ configureNodeEnv: { commandId: string; command: string } }>(
      `mutation($id: ID!, $i: ConfigureNodeEnvInput!) { configureNodeEnv(id: $id, input: $i) { commandId command } }`,
      { id: nodeId, i: { env: { MODE: "fast" }, secrets: { HF_TOKEN: canary } } },
    );
    expect(sent.configureNodeEnv.command).toBe("ConfigureEnvCommand");
    // TestAgent's document selects no fields of node commands: only their type arrives.
    await agent.waitForCommand((c) => c.__typename === ("ConfigureEnvCommand" as never));
    await agent.report({
      acks: [
        { commandId: sent.configureNodeEnv.commandId, step: "applied", detail: "1 variable(s) and 1 secret(s) set" },
      ],
    });
    await waitFor(async () => (await events(nodeId)).some((e) => e.type === "ack"), 5_000, "the ack event");
    const all = JSON.stringify(await events(nodeId));
    expect(all).toContain('"secrets":["HF_TOKEN"]');
    expect(all).not.toContain(canary);
    const audit = await q<{ auditEvents: { edges: { node: { args: unknown } }[] } }>(
      `query { auditEvents(first: 5, filter: { action: "configureNodeEnv" }) { edges { node { args } } } }`,
    );
    expect(JSON.stringify(audit)).not.toContain(canary);

    await agent.vanish();
    await untilState(nodeId, "OFFLINE");
    const refused = await gql(server.url, `mutation($id: ID!) { restartAgent(id: $id) { commandId } }`, { id: nodeId });
    expect(refused.errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
    expect(refused.errors?.[0]?.message).toContain("not connected");
  });
});
