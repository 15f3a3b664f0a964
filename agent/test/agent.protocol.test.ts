import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../src/agent.js";
import { resolveConfig } from "../src/config.js";
import { ForbiddenError } from "../src/connection.js";
import { EnrollmentError, tokenPath } from "../src/enrollment.js";
import { parseCudaVersion, parseGpuQuery } from "../src/gpu.js";
import { silentLogger } from "../src/log.js";
import { groupAlive } from "../src/process-group.js";
import { tinyRunner } from "./helpers/runners.js";
import { ScriptedServer } from "./helpers/scripted-server.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/nvidia-smi/${name}`, import.meta.url), "utf8");
const H100 = parseGpuQuery(fixture("h100x8-query.csv"), parseCudaVersion(fixture("h100x8-nvidia-smi.txt")));

let server: ScriptedServer;
let workDir: string;
let agents: Agent[];

beforeEach(async () => {
  server = await new ScriptedServer().start();
  workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-agent-e2e-"));
  agents = [];
});

afterEach(async () => {
  await Promise.all(agents.map((agent) => agent.shutdown(0)));
  await server.stop();
  await rm(workDir, { recursive: true, force: true });
});

function newAgent(flags: Record<string, string> = {}): Agent {
  const config = resolveConfig({
    flags: {
      serverUrl: server.url,
      workDir,
      capacity: "2",
      reconnectBaseMs: "50",
      reconnectMaxMs: "200",
      stopGraceMs: "500",
      runnerStartupTimeoutMs: "5000",
      ...flags,
    },
    env: {},
    hostname: "test-host",
    homedir: workDir,
  });
  const agent = new Agent(config, { log: silentLogger, gpuProbe: { probe: async () => H100 }, hostname: "test-host" });
  agents.push(agent);
  return agent;
}

async function connectedAgent(flags: Record<string, string> = {}): Promise<{ agent: Agent; token: string }> {
  const token = flags.nodeToken ?? server.issueNodeToken();
  const agent = newAgent({ nodeToken: token, ...flags });
  const before = server.subscriptions.length;
  await agent.start();
  await server.waitFor(
    () => server.subscriptions.length > before && agent.snapshot().ready,
    10_000,
    "the agent's subscription",
  );
  return { agent, token };
}

function runJob(input: Record<string, unknown>, runner = tinyRunner()) {
  const id = randomUUID().slice(0, 8);
  return {
    __typename: "RunJobCommand",
    commandId: `cmd-${id}`,
    jobId: `job-${id}`,
    attemptId: `att-${id}`,
    modelId: "acme/tiny",
    modelVersionId: "mv-1",
    route: null,
    input,
    runner,
    timeoutMs: null,
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
  };
}

const cancelJob = (job: ReturnType<typeof runJob>, reason: string, graceMs = 300) => ({
  __typename: "CancelJobCommand",
  commandId: `cancel-${job.attemptId}`,
  jobId: job.jobId,
  attemptId: job.attemptId,
  reason,
  graceMs,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("agent protocol (against a scripted graphql-ws server)", () => {
  it("R1, R2: enrolls once, saves the node token with mode 0600, and reuses it on restart", async () => {
    const enrollmentToken = server.issueEnrollmentToken();
    const first = newAgent({ enrollmentToken, nodeName: "gpu-7" });
    await first.start();
    await server.waitFor(() => server.subscriptions.length === 1, 10_000, "first subscription");
    expect(server.enrollments).toEqual([{ enrollmentToken, name: "gpu-7" }]);
    const file = tokenPath(workDir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, "utf8")) as { nodeToken: string; nodeId: string; serverUrl: string };
    expect(server.nodeTokens.has(saved.nodeToken)).toBe(true);
    expect(saved.serverUrl).toBe(server.url);
    expect(server.connections[0]?.params).toMatchObject({
      nodeToken: saved.nodeToken,
      agentVersion: "0.1.0",
      hostname: "test-host",
    });
    await first.shutdown(0);

    // the same config again: the enrollment token is spent, the saved node token is used instead
    const second = newAgent({ enrollmentToken, nodeName: "gpu-7" });
    await second.start();
    await server.waitFor(() => server.subscriptions.length === 2, 10_000, "second subscription");
    expect(server.enrollments).toHaveLength(1);
    expect(server.subscriptions[1]?.nodeToken).toBe(saved.nodeToken);
  });

  it("R1: a refused enrollment token stops the start with a clear error", async () => {
    const agent = newAgent({ enrollmentToken: "enroll-never-issued" });
    const error = await agent.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnrollmentError);
    expect(error).toMatchObject({ code: "ENROLLMENT_TOKEN_INVALID" });
    expect((error as Error).message).toContain("enrollment token was refused");
  });

  it("R3: a 4403 close stops the agent with a clear error", async () => {
    const agent = newAgent({ nodeToken: "node-revoked" });
    await agent.start();
    const error = await agent.finished;
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error?.message).toContain("4403");
    expect(error?.message).toContain("refused the node token");
    expect(server.connections).toHaveLength(1); // no retry loop against a refusing server
  });

  it("R14: keeps retrying while the server is unreachable and connects when it is back", async () => {
    server.blocked = true;
    const token = server.issueNodeToken();
    const agent = newAgent({ nodeToken: token });
    await agent.start();
    await sleep(400);
    expect(server.subscriptions).toHaveLength(0);
    expect(agent.snapshot().connected).toBe(false);
    server.blocked = false;
    await server.waitFor(() => server.subscriptions.length === 1, 5_000, "the subscription once the server is back");
    expect(server.subscriptions[0]?.nodeToken).toBe(token);
  });

  it("R5, R6: subscribes with capacity and models, and heartbeats on the Hello interval with GPU stats", async () => {
    server.hello = { heartbeatIntervalMs: 100, leaseTtlMs: 1_000, logFlushIntervalMs: 50 };
    const { agent } = await connectedAgent({ models: "acme/tiny,acme/other" });
    expect(server.subscriptions[0]?.variables).toEqual({
      capacity: 2,
      models: ["acme/tiny", "acme/other"],
      running: [],
    });
    expect(agent.snapshot().intervals).toEqual({ heartbeatIntervalMs: 100, leaseTtlMs: 1_000, logFlushIntervalMs: 50 });
    const start = Date.now();
    await server.waitFor(() => server.heartbeats.length >= 6, 5_000, "six heartbeats");
    // the agent's own default is 10 s: six beats this fast means the server's interval is in use
    expect(Date.now() - start).toBeLessThan(2_000);
    const beat = server.heartbeats[0]!.input;
    expect(beat).toMatchObject({ freeSlots: 2, running: [], runners: [], agentVersion: "0.1.0" });
    expect((beat.gpus as unknown[]).length).toBe(8);
    expect((beat.gpus as Record<string, unknown>[])[0]).toMatchObject({
      name: "NVIDIA H100 80GB HBM3",
      cudaVersion: "12.4",
    });
  });

  it("R10, R11: RunJob → started → logs → completed", async () => {
    server.hello = { heartbeatIntervalMs: 200, leaseTtlMs: 5_000, logFlushIntervalMs: 50 };
    await connectedAgent();
    const job = runJob({ mode: "slow", steps: 4, delayMs: 30 });
    server.push([job]);
    await server.waitFor(() => server.field("completed").length === 1, 10_000, "completed");
    const started = server.reports.findIndex((r) => r.input.started?.some((s) => s.attemptId === job.attemptId));
    const completed = server.reports.findIndex((r) => r.input.completed?.length);
    expect(started).toBeGreaterThanOrEqual(0);
    expect(started).toBeLessThanOrEqual(completed);
    expect(server.logsOf(job.attemptId).map((l) => l.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(server.field("completed")[0]).toEqual({
      jobId: job.jobId,
      attemptId: job.attemptId,
      output: { steps: 4, pid: expect.any(Number) },
    });
    expect(server.field("progress").at(-1)).toMatchObject({ attemptId: job.attemptId, progress: 1 });
    // while it ran, heartbeats listed it
    expect(server.heartbeats.some((h) => h.input.running.some((r) => r.attemptId === job.attemptId))).toBe(true);
  });

  it("R6: a finished attempt frees its slot at once, even before the server answered its report", async () => {
    await connectedAgent({ capacity: "1" });
    const first = runJob({ mode: "echo" });
    server.reportDelayMs = 400;
    server.push([first]);
    await server.waitFor(() => server.field("completed").length === 1, 10_000, "first completed");
    const second = runJob({ mode: "echo" });
    server.push([second]); // the server dispatches as soon as it has the result; its answer is still on the way
    await server.waitFor(() => server.field("completed").length === 2, 10_000, "second completed");
    expect(server.field("failed")).toEqual([]);
  });

  it("R7, R10, R14: after a reconnect the job goes on, buffered logs are flushed, nothing runs twice", async () => {
    server.hello = { heartbeatIntervalMs: 100, leaseTtlMs: 10_000, logFlushIntervalMs: 50 };
    const { agent } = await connectedAgent();
    const job = runJob({ mode: "slow", steps: 12, delayMs: 80 });
    server.push([job]);
    await server.waitFor(() => server.logsOf(job.attemptId).length >= 2, 10_000, "first logs");

    server.blocked = true;
    server.dropConnections();
    await sleep(1_300); // the job finishes while the agent is cut off
    expect(agent.snapshot().connected).toBe(false);
    expect(server.field("completed")).toHaveLength(0);
    server.blocked = false;

    await server.waitFor(() => server.field("completed").length >= 1, 10_000, "completion after reconnect");
    // R7: the new subscription listed the attempt still in flight (its result not yet delivered)
    expect(server.subscriptions).toHaveLength(2);
    expect(server.subscriptions[1]?.variables.running).toEqual([{ jobId: job.jobId, attemptId: job.attemptId }]);
    // R10: every line arrived; a resent batch would repeat seqs, which the server stores once
    const seqs = new Set(server.logsOf(job.attemptId).map((l) => l.seq));
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i));

    // the server repeats the RunJob: it is ignored, the runner started once, the job ran once
    server.push([job]);
    await sleep(300);
    expect(server.field("started").filter((s) => s.attemptId === job.attemptId)).toHaveLength(1);
    expect(server.field("completed")).toHaveLength(1);
    expect(agent.snapshot().runnerStarts).toBe(1);
    expect(agent.snapshot().running).toEqual([]);
  });

  it("R13: CancelJob acknowledges each step, stops the runner and reports cancelled", async () => {
    await connectedAgent();
    const job = runJob({ mode: "hang" }, tinyRunner("--ignore-sigterm"));
    server.push([job]);
    await server.waitFor(() => server.logsOf(job.attemptId).length >= 1, 10_000, "the job to run");
    server.push([cancelJob(job, "cancelled by alice", 300)]);
    await server.waitFor(() => server.field("cancelled").length === 1, 10_000, "cancelled report");
    const acks = server.field("acks").filter((a) => a.commandId === `cancel-${job.attemptId}`);
    expect(acks.map((a) => a.step)).toEqual(["received", "request_aborted", "sigterm", "sigkill", "stopped"]);
    expect(acks[0]).toMatchObject({ jobId: job.jobId, attemptId: job.attemptId });
    expect(server.field("cancelled")).toEqual([{ jobId: job.jobId, attemptId: job.attemptId }]);
    expect(server.field("completed")).toHaveLength(0);
    expect(server.field("failed")).toHaveLength(0);
  });

  it("R7: CancelJob with reason 'lease lost' stops the attempt without reporting a result", async () => {
    await connectedAgent();
    const job = runJob({ mode: "hang" });
    server.push([job]);
    await server.waitFor(() => server.logsOf(job.attemptId).length >= 1, 10_000, "the job to run");
    server.push([cancelJob(job, "lease lost")]);
    await server.waitFor(() => server.field("acks").some((a) => a.step === "stopped"), 10_000, "stopped ack");
    await sleep(200);
    expect(server.field("cancelled")).toHaveLength(0);
    expect(server.field("failed")).toHaveLength(0);
    expect(server.field("completed")).toHaveLength(0);
  });

  it("R8: an attempt listed in lostAttemptIds is stopped and nothing more is said about it", async () => {
    server.hello = { heartbeatIntervalMs: 100, leaseTtlMs: 1_000, logFlushIntervalMs: 50 };
    const { agent } = await connectedAgent();
    const job = runJob({ mode: "hang" });
    server.push([job]);
    await server.waitFor(() => server.logsOf(job.attemptId).length >= 1, 10_000, "the job to run");
    server.lostAttemptIds = [job.attemptId];
    const deadline = Date.now() + 5_000;
    while (agent.snapshot().running.length > 0 && Date.now() < deadline) await sleep(20);
    expect(agent.snapshot().running).toEqual([]);
    const reportsAfter = server.reports.length;
    await sleep(300);
    const later = server.reports
      .slice(reportsAfter)
      .flatMap((r) => [...(r.input.completed ?? []), ...(r.input.failed ?? []), ...(r.input.cancelled ?? [])]);
    expect(later).toEqual([]);
  });

  it("R9: a rejected report stops the attempt", async () => {
    const { agent } = await connectedAgent();
    const job = runJob({ mode: "hang" });
    server.rejectAttempts.set(job.attemptId, "not the current attempt");
    server.push([job]);
    await server.waitFor(() => server.field("started").length === 1, 10_000, "started");
    const deadline = Date.now() + 5_000;
    while (agent.snapshot().running.length > 0 && Date.now() < deadline) await sleep(20);
    expect(agent.snapshot().running).toEqual([]);
    expect(server.field("completed")).toHaveLength(0);
  });

  it("R6: drain advertises capacity 0, refuses new work, and finishes what runs", async () => {
    const { agent } = await connectedAgent();
    const job = runJob({ mode: "slow", steps: 5, delayMs: 60 });
    server.push([job]);
    await server.waitFor(() => server.field("started").length === 1, 10_000, "started");
    const drained = agent.drain();
    await server.waitFor(() => server.subscriptions.length === 2, 5_000, "resubscription");
    expect(server.subscriptions[1]?.variables).toMatchObject({ capacity: 0, running: [{ attemptId: job.attemptId }] });
    const late = runJob({ mode: "echo" });
    server.push([late]);
    await drained;
    expect(server.field("completed").map((c) => c.attemptId)).toEqual([job.attemptId]);
    expect(server.field("failed")).toEqual([
      expect.objectContaining({ attemptId: late.attemptId, cause: "node draining", retryable: true }),
    ]);
    expect(server.openStreams).toBe(1);
  });

  it("R15: result files are uploaded with agentArtifactUpload + PUT and replaced by their URL", async () => {
    await connectedAgent();
    const job = runJob({ mode: "file" });
    server.push([job]);
    await server.waitFor(() => server.field("completed").length === 1, 10_000, "completed");
    expect(server.uploads.size).toBe(1);
    const [id, upload] = [...server.uploads.entries()][0]!;
    expect(upload.contentType).toBe("image/png");
    expect(upload.body.toString("hex")).toBe("89504e470d0a1a0a");
    expect(server.field("completed")[0]?.output).toMatchObject({
      image: { url: `${server.url}/files/${id}/out.png` },
      again: `${server.url}/files/${id}/out.png`,
      outside: "file:///etc/hostname",
    });
  });

  it("shutdown stops what still runs after the deadline, reports it retryable, and leaves no runner behind", async () => {
    const { agent } = await connectedAgent();
    const job = runJob({ mode: "hang" });
    server.push([job]);
    await server.waitFor(() => server.logsOf(job.attemptId).length >= 1, 10_000, "the job to run");
    await server.waitFor(
      () => server.heartbeats.some((h) => (h.input.runners as unknown[]).length > 0),
      5_000,
      "a runner in a heartbeat",
    );
    const pids = server.heartbeats.flatMap((h) => (h.input.runners as { pid: number }[]).map((r) => r.pid));
    await agent.shutdown(200);
    expect(server.field("failed")).toEqual([
      expect.objectContaining({ attemptId: job.attemptId, cause: "agent shutdown", retryable: true }),
    ]);
    for (const pid of pids) expect(groupAlive(pid)).toBe(false);
    expect(await agent.finished).toBeUndefined();
  });
});
