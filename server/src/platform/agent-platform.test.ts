import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decodePng } from "../../../runners/image-tools/src/png-codec.js";
import type { RunningServer } from "../main.js";
import { type AgentProcess, startAgentProcess } from "../testing/agent-process.js";
import { gqlData, waitFor } from "../testing/graphql-client.js";
import { startS3rver, type TestS3Server } from "../testing/s3rver.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";
import { EXAMPLE_MODEL_ID, ensureExampleModel } from "./example-model.js";

// The real agent process, real runners, real Postgres, Redis and an S3-compatible store.

const tinyRunner = fileURLToPath(new URL("../../../agent/test/fixtures/tiny-runner.mjs", import.meta.url));

let env: TestEnv;
let s3: TestS3Server;
let server: RunningServer;
let work: string;
const agents: AgentProcess[] = [];
let nodeCount = 0;

async function agent(extraArgs: string[] = [], serverUrl = server.url) {
  const { nodeToken } = await server.services.nodes.register(`real-agent-${++nodeCount}`);
  const process = startAgentProcess({ serverUrl, workDir: join(work, `agent-${nodeCount}`), nodeToken, extraArgs });
  agents.push(process);
  await process.waitFor(/hello from the server/);
  return process;
}

async function job(id: string) {
  const data = await gqlData<{
    job: {
      status: string;
      output: { images?: { url: string; width: number; height: number }[]; steps?: number; pid?: number } | null;
      attemptCount: number;
      cause: string | null;
      logs: { seq: number; message: string; attemptId: string }[];
      events: { type: string; cause: string | null }[];
      attempts: { status: string; nodeId: string }[];
    };
  }>(
    server.url,
    `query($id: ID!) { job(id: $id) { status output attemptCount cause logs { seq message attemptId } events { type cause } attempts { status nodeId } } }`,
    { id },
  );
  return data.job;
}

const until = (id: string, status: string, timeoutMs = 30_000) =>
  waitFor(async () => ((await job(id)).status === status ? job(id) : null), timeoutMs, `job ${id} ${status}`);

async function submit(modelId: string, input: unknown): Promise<string> {
  const { job: created } = await server.services.jobs.submit({ modelId, input });
  return created.id;
}

beforeAll(async () => {
  env = await createTestEnv();
  s3 = await startS3rver();
  work = await mkdtemp(join(tmpdir(), "vyvo-agents-"));
  server = await startTestServer(env, {
    ...s3.env("vyvo-platform-test"),
    LEASE_TTL_MS: "6000",
    HEARTBEAT_INTERVAL_MS: "500",
  });
  await ensureExampleModel(server.services.prisma, server.services.models);
  await server.services.models.createModel({ id: "acme/slow" });
  await server.services.models.createVersion({
    modelId: "acme/slow",
    runner: { kind: "process", command: process.execPath, args: [tinyRunner, `--starts-file=${join(work, "starts")}`] },
  });
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

afterAll(async () => {
  // Runners outlive an agent killed with -9 (their own process group): end them too.
  const pids = (await readFile(join(work, "starts"), "utf8").catch(() => "")).split("\n").filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  await server?.close();
  await s3?.stop();
  await env?.cleanup();
  await rm(work, { recursive: true, force: true });
});

async function starts(): Promise<number> {
  return (await readFile(join(work, "starts"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;
}

describe("the real agent", () => {
  it("runs vyvo/image-tools: the result's image URLs download as PNGs of the requested size", async () => {
    await agent();
    const resized = await submit(EXAMPLE_MODEL_ID, { operation: "resize", width: 96, height: 40 });
    const thumb = await submit(EXAMPLE_MODEL_ID, { operation: "thumbnail", width: 50, height: 50 });
    for (const [id, w, h] of [
      [resized, 96, 40],
      [thumb, 50, 50],
    ] as const) {
      const done = await until(id, "SUCCEEDED", 60_000);
      const image = done.output?.images?.[0];
      expect(image).toMatchObject({ width: w, height: h, content_type: "image/png" });
      const response = await fetch(image?.url as string);
      expect(response.status).toBe(200);
      const png = decodePng(new Uint8Array(await response.arrayBuffer()));
      expect([png.width, png.height]).toEqual([w, h]);
      expect(done.logs.map((l) => l.message).join("\n")).toMatch(/encoded \d+ bytes/);
    }
  }, 90_000);

  it("two jobs for the same model on one agent reuse the resident runner (one start, two runs)", async () => {
    await agent();
    const before = await starts();
    const first = await submit("acme/slow", { mode: "slow", steps: 2, delayMs: 20 });
    const a = await until(first, "SUCCEEDED");
    const second = await submit("acme/slow", { mode: "slow", steps: 2, delayMs: 20 });
    const b = await until(second, "SUCCEEDED");
    expect(await starts()).toBe(before + 1);
    expect(a.output?.pid).toBe(b.output?.pid);
  });

  it("kill -9 of the agent mid-job: the job is requeued and completed by a second agent", async () => {
    const doomed = await agent();
    const id = await submit("acme/slow", { mode: "slow", steps: 40, delayMs: 100 });
    await waitFor(async () => (await job(id)).logs.length >= 2, 20_000, "the job to be running");
    await doomed.kill9();
    const rescuer = await agent();
    const done = await until(id, "SUCCEEDED", 40_000);
    expect(done.attemptCount).toBe(2);
    expect(done.attempts.map((a) => a.status)).toEqual(["LOST", "SUCCEEDED"]);
    expect(done.events.some((e) => e.cause === "agent lost: lease expired")).toBe(true);
    expect(rescuer.output()).toContain(id);
  }, 60_000);

  it("the socket cut for less than the lease: no requeue, no second run, no lost log lines", async () => {
    const target = new URL(server.url);
    const sockets = new Set<net.Socket>();
    let open = true;
    const proxy = net.createServer((client) => {
      if (!open) return client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    try {
      const flaky = await agent([], proxyUrl);
      const startsBefore = await starts();
      const id = await submit("acme/slow", { mode: "slow", steps: 20, delayMs: 150 });
      await waitFor(async () => (await job(id)).logs.length >= 3, 20_000, "the job to log");
      open = false;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // well under the 6 s lease
      open = true;
      const done = await until(id, "SUCCEEDED", 30_000);
      expect(done.attemptCount).toBe(1);
      expect(await starts()).toBeLessThanOrEqual(startsBefore + 1);
      const steps = done.logs.map((l) => l.message).filter((m) => m.startsWith("step "));
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => `step ${i + 1}/20`));
      expect(done.logs.map((l) => l.seq)).toEqual([...done.logs.keys()]);
      await flaky.waitFor(/connected/);
    } finally {
      proxy.close();
    }
  }, 60_000);

  it("cancel of a running job: the runner process is gone, the job is CANCELLED with the steps recorded", async () => {
    await agent();
    const id = await submit("acme/slow", { mode: "slow", steps: 200, delayMs: 100 });
    await waitFor(async () => (await job(id)).logs.length >= 2, 20_000, "the job to run");
    const pid = Number((await job(id)).logs[0]?.message.match(/in pid (\d+)/)?.[1]);
    expect(pid).toBeGreaterThan(0);
    await gqlData(server.url, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id });
    await waitFor(
      async () => (await job(id)).events.some((e) => e.type === "runner_stopped"),
      20_000,
      "the agent to stop the runner",
    ).catch(async (e) => {
      console.log(JSON.stringify((await job(id)).events), agents.at(-1)?.output().slice(-3000));
      throw e;
    });
    const done = await job(id);
    expect(done.status).toBe("CANCELLED");
    expect(done.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["cancel", "ack:received", "ack:sigterm", "ack:stopped", "runner_stopped"]),
    );
    expect(() => process.kill(pid, 0)).toThrow(); // the process is gone
  }, 40_000);
});
