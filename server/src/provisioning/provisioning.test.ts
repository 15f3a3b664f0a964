import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, gql, gqlData, waitFor, wsClient } from "../testing/graphql-client.js";
import { type ServerProcess, startServerProcess } from "../testing/server-process.js";
import { startSshd, type TestSshd } from "../testing/sshd.js";
import { createTestEnv, type TestEnv } from "../testing/test-env.js";

// SSH bootstrap end to end: a real OpenSSH server on loopback, "hosts" that are folders on this
// machine, the real agent bundle running as a supervised process, and the server as its own
// process (so every line it logs can be searched for secrets).

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const tinyRunner = join(repo, "agent/test/fixtures/tiny-runner.mjs");
const smiFixtures = join(repo, "agent/test/fixtures/nvidia-smi");
const CANARY = "canary-secret-5d1c0b7e-never-print-me";
const HEARTBEAT_MS = 250;
const LEASE_MS = 1_500;
const LOST_AFTER_MS = Math.max(3 * HEARTBEAT_MS, LEASE_MS);

let env: TestEnv;
let sshd: TestSshd;
let server: ServerProcess;
let work: string;
let modelVersionId: string;
let bundlePath: string;
let hosts: string;
const starts = () => join(work, "runner-starts");

const NODE_FIELDS = `id name state address capacity freeSlots agentVersion cordoned schedulable connected lastHeartbeatAt
  gpus { name memoryTotalMb utilizationPct } runners { modelVersionId state }
  sshHost { address port user hostKeyFingerprint offeredHostKeyFingerprint installDir }`;
const RUN_FIELDS = "id status error tries actor steps { position name status output error durationMs }";

type Step = {
  position: number;
  name: string;
  status: string;
  output: string;
  error: string | null;
  durationMs: number | null;
};
type Run = { id: string; status: string; error: string | null; tries: number; actor: string; steps: Step[] };
type NodeView = {
  id: string;
  name: string;
  state: string;
  capacity: number;
  agentVersion: string | null;
  cordoned: boolean;
  schedulable: boolean;
  connected: boolean;
  gpus: { name: string; memoryTotalMb: number }[];
  sshHost: { hostKeyFingerprint: string | null; offeredHostKeyFingerprint: string | null; installDir: string };
};

const q = <T>(query: string, variables: Record<string, unknown> = {}) => gqlData<T>(server.url, query, variables);

async function register(name: string, extra: Record<string, unknown> = {}): Promise<NodeView> {
  const installDir = join(hosts, name);
  const { registerSshHost } = await q<{ registerSshHost: NodeView }>(
    `mutation($i: RegisterSshHostInput!) { registerSshHost(input: $i) { ${NODE_FIELDS} } }`,
    {
      i: {
        name,
        address: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.clientPrivateKey,
        installDir,
        capacity: 1,
        agentEnv: {
          VYVO_NVIDIA_SMI: join(work, "nvidia-smi"),
          VYVO_LOG_LEVEL: "debug",
          VYVO_RECONNECT_BASE_MS: "100",
          VYVO_RECONNECT_MAX_MS: "500",
          VYVO_SHUTDOWN_DEADLINE_MS: "5000",
        },
        ...extra,
      },
    },
  );
  return registerSshHost;
}

const node = async (id: string) =>
  (await q<{ node: NodeView }>(`query($id: ID!) { node(id: $id) { ${NODE_FIELDS} } }`, { id })).node;
const provisioningRun = async (id: string) =>
  (await q<{ provisioningRun: Run }>(`query($id: ID!) { provisioningRun(id: $id) { ${RUN_FIELDS} } }`, { id }))
    .provisioningRun;

async function provision(nodeId: string, mutation = "provisionNode"): Promise<Run> {
  const data = await q<Record<string, Run>>(`mutation($id: ID!) { ${mutation}(id: $id) { ${RUN_FIELDS} } }`, {
    id: nodeId,
  });
  return data[mutation] as Run;
}

function untilRun(id: string, statuses: string[], timeoutMs = 60_000): Promise<Run> {
  return waitFor(
    async () => {
      const current = await provisioningRun(id);
      return statuses.includes(current.status) ? current : null;
    },
    timeoutMs,
    `run ${id} to be ${statuses.join("/")}`,
  );
}

function untilNode(id: string, state: string, timeoutMs = 30_000): Promise<NodeView> {
  return waitFor(
    async () => {
      const current = await node(id);
      return current.state === state ? current : null;
    },
    timeoutMs,
    `node ${id} to be ${state}`,
  );
}

const statuses = (r: Run) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));

async function submit(input: Record<string, unknown>): Promise<string> {
  const data = await q<{ submitJob: { job: { id: string } } }>(
    `mutation($i: SubmitJobInput!) { submitJob(input: $i) { job { id } } }`,
    { i: { modelId: "acme/tiny", input } },
  );
  return data.submitJob.job.id;
}

type JobView = {
  status: string;
  output: { env?: Record<string, string> } | null;
  cause: string | null;
  attempts: { id: string; number: number; status: string; cause: string | null; nodeId: string | null }[];
  events: { type: string; cause: string | null; attemptId: string | null }[];
};
const job = async (id: string) =>
  (
    await q<{ job: JobView }>(
      `query($id: ID!) { job(id: $id) { status output cause attempts { id number status cause nodeId } events { type cause attemptId } } }`,
      { id },
    )
  ).job;
const untilJob = (id: string, status: string, timeoutMs = 30_000) =>
  waitFor(async () => ((await job(id)).status === status ? job(id) : null), timeoutMs, `job ${id} to be ${status}`);

async function nodeEvents(id: string) {
  const data = await q<{
    node: { events: { type: string; message: string | null; actor: string; detail: unknown }[] };
  }>(`query($id: ID!) { node(id: $id) { events(last: 1000) { type message actor detail } } }`, { id });
  return data.node.events;
}

/** Stops a host's agent like a power cut: the supervisor and the agent, SIGKILL. */
async function killAgent(installDir: string): Promise<void> {
  for (const file of ["supervisor.pid", "agent.pid"]) {
    const pid = Number((await readFile(join(installDir, file), "utf8").catch(() => "")).trim());
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
}

beforeAll(async () => {
  env = await createTestEnv();
  sshd = await startSshd();
  work = await mkdtemp(join(tmpdir(), "vyvo-provision-"));
  hosts = join(work, "hosts");
  await mkdir(hosts);
  // A fake nvidia-smi on the "host", answering from the recorded H100 output.
  await writeFile(
    join(work, "nvidia-smi"),
    `#!/bin/sh\ncase "$*" in *--query-gpu*) cat '${smiFixtures}/h100x8-query.csv';; *) cat '${smiFixtures}/h100x8-nvidia-smi.txt';; esac\n`,
  );
  await chmod(join(work, "nvidia-smi"), 0o755);
  const bundle = join(work, "bundle", "vyvo-agent.mjs");
  await run(process.execPath, [join(repo, "agent/build.mjs"), "--outfile", bundle]);
  server = await startServerProcess({
    ...env.env,
    LOG_LEVEL: "trace",
    HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    LEASE_TTL_MS: String(LEASE_MS),
    NODE_SWEEP_INTERVAL_MS: "100",
    AGENT_BUNDLE_PATH: bundle,
    PROVISION_ONLINE_TIMEOUT_MS: "30000",
  });
  await q(`mutation { createModel(input: { id: "acme/tiny" }) { id } }`);
  const version = await q<{ createModelVersion: { id: string } }>(
    `mutation($r: JSON!) { createModelVersion(input: { modelId: "acme/tiny", runner: $r, maxAttempts: 3 }) { id } }`,
    {
      r: { kind: "process", command: process.execPath, args: [tinyRunner, `--starts-file=${starts()}`] },
    },
  );
  modelVersionId = version.createModelVersion.id;
  bundlePath = bundle;
}, 120_000);

afterAll(async () => {
  for (const dir of ["gpu-host", "blocker/agent"]) await killAgent(join(hosts, dir));
  // Runners are their own process groups: an agent killed with -9 leaves them behind.
  for (const pid of (await readFile(starts(), "utf8").catch(() => "")).split("\n").filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  await server?.stop();
  await sshd?.stop();
  await env?.cleanup();
  if (process.env.KEEP_PROVISION_TEST) console.log(`kept ${work}\n${server?.output().slice(-20_000)}`);
  else await rm(work, { recursive: true, force: true });
}, 60_000);

describe("SSH bootstrap", () => {
  it("a wrong host-key fingerprint is refused before anything is sent; the run says why", async () => {
    const registered = await register("wrong-key", { hostKeyFingerprint: sshd.otherFingerprint });
    const failed = await untilRun((await provision(registered.id)).id, ["FAILED"]);
    expect(failed.error).toContain(
      `host key mismatch: expected ${sshd.otherFingerprint}, the host offered ${sshd.hostKeyFingerprint}`,
    );
    expect(statuses(failed)).toMatchObject({
      connect: "FAILED",
      "check-node": "SKIPPED",
      "upload-agent": "SKIPPED",
      "start-agent": "SKIPPED",
    });
    expect(existsSync(join(hosts, "wrong-key"))).toBe(false);
    // sshd saw no authentication at all: the client hung up during key exchange.
    expect(await readFile(join(sshd.dir, "sshd.log"), "utf8")).not.toContain("Accepted publickey");
    const after = await node(registered.id);
    expect(after.state).toBe("PENDING");
    expect(after.sshHost.offeredHostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
  }, 120_000);

  let gpuHost: NodeView;

  it("register and provision a host: its key is confirmed, the agent installs, enrolls, comes ONLINE and runs a job", async () => {
    gpuHost = await register("gpu-host");
    expect(gpuHost).toMatchObject({ state: "PENDING", sshHost: { hostKeyFingerprint: null } });
    const first = await provision(gpuHost.id);
    const awaiting = await untilRun(first.id, ["AWAITING_HOST_KEY"]);
    expect(awaiting.error).toContain(`the host offered ${sshd.hostKeyFingerprint}`);
    expect((await node(gpuHost.id)).sshHost.offeredHostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(existsSync(join(hosts, "gpu-host"))).toBe(false);

    const wrong = await gql(
      server.url,
      `mutation($id: ID!, $f: String!) { confirmHostKey(id: $id, fingerprint: $f) { nodeId } }`,
      {
        id: gpuHost.id,
        f: sshd.otherFingerprint,
      },
    );
    expect(wrong.errors?.[0]?.extensions?.code).toBe("INVALID_INPUT");

    const subscriber = wsClient(server.url);
    const logs = collect<{ provisioningLogs: { step: string | null; status: string; line: string | null }[] }>(
      subscriber,
      `subscription($id: ID!) { provisioningLogs(runId: $id) { step status line } }`,
      { id: first.id },
    );
    await logs.until((events) => events.length >= 1);
    const confirmed = await q<{ confirmHostKey: { fingerprint: string; resumedRun: { id: string } } }>(
      `mutation($id: ID!, $f: String!) { confirmHostKey(id: $id, fingerprint: $f) { fingerprint resumedRun { id } } }`,
      { id: gpuHost.id, f: sshd.hostKeyFingerprint },
    );
    expect(confirmed.confirmHostKey).toEqual({ fingerprint: sshd.hostKeyFingerprint, resumedRun: { id: first.id } });

    const done = await untilRun(first.id, ["SUCCEEDED", "FAILED"]);
    expect(done.error).toBeNull();
    expect(done.tries).toBe(2);
    expect(statuses(done)).toEqual({
      connect: "UNCHANGED",
      "check-node": "UNCHANGED",
      "create-folders": "CHANGED",
      "upload-agent": "CHANGED",
      "write-env": "CHANGED",
      "install-service": "CHANGED",
      "start-agent": "CHANGED",
      "wait-online": "CHANGED",
      "forget-enrollment-token": "CHANGED",
    });
    expect(done.steps.every((s) => s.durationMs !== null)).toBe(true);
    expect(done.steps.find((s) => s.name === "check-node")?.output).toMatch(/^node v\d+\.\d+\.\d+ at \//);

    // The output was streamed while it happened.
    await logs.until((events) =>
      events.flat().some((e) => e.provisioningLogs.some((l) => l.step === null && l.status === "SUCCEEDED")),
    );
    const lines = logs.events.flatMap((e) => e.provisioningLogs).map((l) => l.line ?? "");
    expect(lines.some((l) => l.startsWith("uploaded ") && l.includes("verified"))).toBe(true);
    logs.stop();
    await subscriber.dispose();

    // The first stored heartbeat brings the agent's version and GPU inventory.
    const online = await waitFor(
      async () => {
        const view = await node(gpuHost.id);
        return view.gpus.length > 0 ? view : null;
      },
      5_000,
      "the first heartbeat",
    );
    expect(online).toMatchObject({
      state: "ONLINE",
      connected: true,
      schedulable: true,
      capacity: 1,
      agentVersion: "0.1.0",
    });
    expect(online.gpus).toHaveLength(8);
    expect(online.gpus[0]).toMatchObject({ name: "NVIDIA H100 80GB HBM3", memoryTotalMb: 81559 });
    const installDir = join(hosts, "gpu-host");
    expect((await stat(join(installDir, "agent.env"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(installDir, "agent.env"), "utf8")).not.toContain("VYVO_ENROLLMENT_TOKEN");
    expect(existsSync(join(installDir, "work", "node-token.json"))).toBe(true);

    const found = await q<{ nodes: { edges: { node: { name: string } }[] } }>(
      `query { nodes(gpuModel: "NVIDIA H100 80GB HBM3", state: [ONLINE]) { edges { node { name } } } }`,
    );
    expect(found.nodes.edges.map((e) => e.node.name)).toEqual(["gpu-host"]);

    const jobId = await submit({ mode: "echo", prompt: "hello" });
    const finished = await untilJob(jobId, "SUCCEEDED");
    expect(finished.attempts).toEqual([
      expect.objectContaining({ number: 1, status: "SUCCEEDED", nodeId: gpuHost.id }),
    ]);
  }, 120_000);

  it("provisioning the same host again changes nothing: every step reports unchanged", async () => {
    const agentPid = await readFile(join(hosts, "gpu-host", "agent.pid"), "utf8");
    const again = await untilRun((await provision(gpuHost.id)).id, ["SUCCEEDED", "FAILED"]);
    expect(again.error).toBeNull();
    expect(new Set(Object.values(statuses(again)))).toEqual(new Set(["UNCHANGED"]));
    expect(await readFile(join(hosts, "gpu-host", "agent.pid"), "utf8")).toBe(agentPid);
    expect((await node(gpuHost.id)).state).toBe("ONLINE");
  }, 120_000);

  it("a pushed secret reaches the host but never a log or an API response", async () => {
    const subscriber = wsClient(server.url);
    const live = collect<{ nodeEvents: { type: string; message: string | null; detail: unknown } }>(
      subscriber,
      `subscription($id: ID!) { nodeEvents(nodeId: $id) { type message detail } }`,
      { id: gpuHost.id },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = await q<{ configureNodeEnv: { commandId: string } }>(
      `mutation($id: ID!, $i: ConfigureNodeEnvInput!) { configureNodeEnv(id: $id, input: $i) { commandId } }`,
      { id: gpuHost.id, i: { env: { EXTRA: "plain-value" }, secrets: { CANARY_SECRET: CANARY } } },
    );
    const { commandId } = sent.configureNodeEnv;
    await live.until((events) => events.some((e) => (e.nodeEvents.detail as { step?: string })?.step === "applied"));
    const ours = (await nodeEvents(gpuHost.id)).filter(
      (e) => (e.detail as { commandId?: string } | null)?.commandId === commandId,
    );
    expect(ours.map((e) => e.type).sort()).toEqual(["ack", "ack", "command"]);
    expect(ours.find((e) => e.type === "command")?.detail).toMatchObject({
      env: ["EXTRA"],
      secrets: ["CANARY_SECRET"],
    });

    // The next runner gets the new environment.
    const output = (await untilJob(await submit({ mode: "echo" }), "SUCCEEDED")).output;
    expect(output?.env?.EXTRA).toBe("plain-value");
    const stored = join(hosts, "gpu-host", "work", "runner-env.json");
    expect((await stat(stored)).mode & 0o777).toBe(0o600);
    expect(await readFile(stored, "utf8")).toContain(CANARY);

    // Everything anyone can read: API responses, the server's own output, the agent's log on the host.
    const api = [
      JSON.stringify(
        await gql(
          server.url,
          `query($id: ID!) { node(id: $id) { ${NODE_FIELDS} events(last: 1000) { type message detail actor }
        provisioningRuns(last: 100) { ${RUN_FIELDS} } } }`,
          { id: gpuHost.id },
        ),
      ),
      JSON.stringify(live.events),
      JSON.stringify(await auditLog()),
    ].join("\n");
    live.stop();
    await subscriber.dispose();
    const serverLog = server.output();
    const agentLog = await readFile(join(hosts, "gpu-host", "agent.log"), "utf8");
    expect(serverLog.length).toBeGreaterThan(0);
    expect(agentLog).toContain("runner environment updated");
    for (const [where, text] of [
      ["API", api],
      ["server log", serverLog],
      ["agent log", agentLog],
    ] as const) {
      expect(text.includes(CANARY), `${where} holds the canary`).toBe(false);
      // Nor the SSH private key, which the API took once and keeps sealed.
      const keyLine = sshd.clientPrivateKey.split("\n")[2] as string;
      expect(text.includes(keyLine), `${where} holds a line of the private key`).toBe(false);
    }
    expect(api).toContain("[redacted]"); // the audit log kept that a secret was given, not what it was
  }, 120_000);

  it("drain with running work: the work finishes, nothing new is assigned, the node ends CORDONED", async () => {
    const running = await submit({ mode: "slow", steps: 8, delayMs: 150 });
    await untilJob(running, "RUNNING");
    const drained = await q<{ drainNode: { state: string } }>(
      `mutation($id: ID!) { drainNode(id: $id, deadlineMs: 60000) { state } }`,
      {
        id: gpuHost.id,
      },
    );
    expect(drained.drainNode.state).toBe("DRAINING");
    const waiting = await submit({ mode: "echo", prompt: "after the drain" });

    expect((await untilJob(running, "SUCCEEDED")).attempts).toHaveLength(1);
    const cordoned = await untilNode(gpuHost.id, "CORDONED");
    expect(cordoned).toMatchObject({ cordoned: true, schedulable: false, connected: true });
    await new Promise((resolve) => setTimeout(resolve, 4 * HEARTBEAT_MS));
    expect((await job(waiting)).status).toBe("QUEUED");
    const types = (await nodeEvents(gpuHost.id)).map((e) => e.type);
    expect(types.indexOf("drained")).toBeLessThan(types.indexOf("drain_started")); // newest first

    await q(`mutation($id: ID!) { uncordonNode(id: $id) { state } }`, { id: gpuHost.id });
    expect((await untilJob(waiting, "SUCCEEDED")).attempts[0]?.nodeId).toBe(gpuHost.id);
  }, 120_000);

  it("kill the agent: LOST within the bound, its job requeued once; started again it is ONLINE and late reports are rejected", async () => {
    const installDir = join(hosts, "gpu-host");
    const nodeToken = JSON.parse(await readFile(join(installDir, "work", "node-token.json"), "utf8"))
      .nodeToken as string;
    const jobId = await submit({ mode: "slow", steps: 40, delayMs: 100 });
    const started = await untilJob(jobId, "RUNNING");
    const oldAttempt = started.attempts[0]?.id as string;

    await killAgent(installDir);
    const killedAt = Date.now();
    await untilNode(gpuHost.id, "LOST", LOST_AFTER_MS + 10_000);
    const tookMs = Date.now() - killedAt;
    // The bound, plus one sweep, one stored heartbeat and polling.
    expect(tookMs).toBeLessThan(LOST_AFTER_MS + 2_500);
    const lostEvent = (await nodeEvents(gpuHost.id)).find((e) => e.type === "lost");
    expect(lostEvent?.message).toBe(`no heartbeat for more than ${LOST_AFTER_MS} ms`);

    const requeued = await waitFor(
      async () => {
        const view = await job(jobId);
        return view.attempts[0]?.status !== "RUNNING" && view.attempts[0]?.status !== "ASSIGNED" ? view : null;
      },
      10_000,
      "the attempt to end",
    );
    expect(requeued.attempts[0]?.cause).toMatch(/^agent lost/);
    expect(requeued.events.filter((e) => e.type === "retry" && e.attemptId === oldAttempt)).toHaveLength(1);
    expect(["QUEUED", "RETRY_WAIT"]).toContain(requeued.status);

    // Started again (a repair run): only the service start changes.
    const repaired = await untilRun((await provision(gpuHost.id)).id, ["SUCCEEDED", "FAILED"]);
    expect(repaired.error).toBeNull();
    expect(statuses(repaired)).toMatchObject({
      "upload-agent": "UNCHANGED",
      "write-env": "UNCHANGED",
      "start-agent": "CHANGED",
      "wait-online": "CHANGED",
    });
    expect((await node(gpuHost.id)).state).toBe("ONLINE");

    // The old attempt's result arrives late, with the node's own token: fenced off.
    const late = await gqlData<{ agentReport: { rejected: { attemptId: string; reason: string }[] } }>(
      server.url,
      `mutation($i: AgentReportInput!) { agentReport(input: $i) { accepted rejected { attemptId reason } } }`,
      { i: { completed: [{ jobId, attemptId: oldAttempt, output: { late: true } }] } },
      { authorization: `Bearer ${nodeToken}` },
    );
    expect(late.agentReport.rejected).toEqual([
      { attemptId: oldAttempt, reason: expect.stringMatching(/no longer held|superseded/) },
    ]);
    const finished = await untilJob(jobId, "SUCCEEDED", 30_000);
    expect(finished.attempts.map((a) => a.number)).toEqual([1, 2]);
    expect(finished.output).not.toEqual({ late: true });
  }, 120_000);

  it("a failed run is retried from its failed step", async () => {
    // The install folder's parent is a file: creating the folders fails.
    await writeFile(join(hosts, "blocker"), "not a folder");
    const registered = await register("retry-host", {
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      installDir: join(hosts, "blocker", "agent"),
    });
    const failed = await untilRun((await provision(registered.id)).id, ["FAILED"]);
    expect(statuses(failed)).toMatchObject({
      connect: "UNCHANGED",
      "check-node": "UNCHANGED",
      "create-folders": "FAILED",
      "upload-agent": "SKIPPED",
    });
    expect(failed.error).toMatch(/^create-folders: cannot create /);

    await rm(join(hosts, "blocker"));
    const retried = await q<{ retryProvisioningRun: { id: string } }>(
      `mutation($id: ID!) { retryProvisioningRun(id: $id) { id } }`,
      {
        id: failed.id,
      },
    );
    expect(retried.retryProvisioningRun.id).toBe(failed.id);
    const done = await untilRun(failed.id, ["SUCCEEDED", "FAILED"]);
    expect(done.error).toBeNull();
    expect(done.tries).toBe(2);
    // check-node kept what the first try found; the rest ran now.
    expect(statuses(done)).toMatchObject({
      "check-node": "UNCHANGED",
      "create-folders": "CHANGED",
      "upload-agent": "CHANGED",
      "wait-online": "CHANGED",
    });
    expect(done.steps.find((s) => s.name === "check-node")?.output).toContain("node v");
  }, 120_000);

  it("a removed node registered again is provisioned with a fresh token: the revoked one on the host is replaced", async () => {
    const installDir = join(hosts, "blocker", "agent");
    const listed = await q<{ nodes: { edges: { node: { id: string; name: string } }[] } }>(
      `query { nodes { edges { node { id name } } } }`,
    );
    const id = listed.nodes.edges.find((e) => e.node.name === "retry-host")?.node.id as string;
    const revoked = await readFile(join(installDir, "work", "node-token.json"), "utf8");
    await q(`mutation($id: ID!) { removeNode(id: $id) { state } }`, { id });
    // Its agent is refused (4403) and exits; the supervisor keeps trying, in vain.
    await waitFor(
      async () => (await readFile(join(installDir, "agent.log"), "utf8")).includes("refused the node token"),
      10_000,
      "the refusal",
    );

    const back = await register("retry-host", { hostKeyFingerprint: sshd.hostKeyFingerprint, installDir });
    expect(back).toMatchObject({ id, state: "PENDING" });
    const run = await untilRun((await provision(id)).id, ["SUCCEEDED", "FAILED"]);
    expect(run.error).toBeNull();
    expect(statuses(run)).toMatchObject({
      "upload-agent": "UNCHANGED",
      "write-env": "CHANGED",
      "start-agent": "CHANGED",
    });
    expect(run.steps.find((s) => s.name === "write-env")?.output).toContain("no longer valid here");
    expect((await node(id)).state).toBe("ONLINE");
    expect(await readFile(join(installDir, "work", "node-token.json"), "utf8")).not.toBe(revoked);
    await q(`mutation($id: ID!) { removeNode(id: $id) { state } }`, { id });
    await killAgent(installDir);
  }, 120_000);

  it("over the socket: a runner is prefetched, then the agent upgrades itself and its supervisor starts the new bundle", async () => {
    const acked = async (commandId: string, step: string) =>
      waitFor(
        async () =>
          (await nodeEvents(gpuHost.id)).some(
            (e) =>
              e.type === "ack" &&
              (e.detail as { commandId?: string; step?: string } | null)?.commandId === commandId &&
              (e.detail as { step?: string }).step === step,
          ),
        20_000,
        `ack ${step} of ${commandId}`,
      );
    const prefetch = await q<{ prefetchRunner: { commandId: string } }>(
      `mutation($id: ID!, $v: String!) { prefetchRunner(id: $id, modelVersionId: $v) { commandId } }`,
      { id: gpuHost.id, v: modelVersionId },
    );
    await acked(prefetch.prefetchRunner.commandId, "ready");
    await waitFor(
      async () => {
        const data = await q<{ node: { runners: { modelVersionId: string; state: string }[] } }>(
          `query($id: ID!) { node(id: $id) { runners { modelVersionId state } } }`,
          { id: gpuHost.id },
        );
        return data.node.runners.some((r) => r.modelVersionId === modelVersionId && r.state === "idle");
      },
      10_000,
      "the resident runner in the node's heartbeat",
    );

    // The new bundle: the same agent with one more line, served over HTTP.
    const upgraded = Buffer.concat([await readFile(bundlePath), Buffer.from("\n// upgraded\n")]);
    const files = http.createServer((_req, res) => res.end(upgraded));
    await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
    try {
      const installDir = join(hosts, "gpu-host");
      const before = await readFile(join(installDir, "agent.pid"), "utf8");
      const sent = await q<{ upgradeAgent: { commandId: string } }>(
        `mutation($id: ID!, $u: String!, $s: String!) { upgradeAgent(id: $id, bundleUrl: $u, sha256: $s) { commandId } }`,
        {
          id: gpuHost.id,
          u: `http://127.0.0.1:${(files.address() as AddressInfo).port}/vyvo-agent.mjs`,
          s: createHash("sha256").update(upgraded).digest("hex"),
        },
      );
      await acked(sent.upgradeAgent.commandId, "restarting");
      // Exit 75: the supervisor starts the agent again at once, from the replaced bundle.
      await waitFor(
        async () => (await readFile(join(installDir, "agent.pid"), "utf8")) !== before,
        15_000,
        "a new agent process",
      );
      await untilNode(gpuHost.id, "ONLINE");
      expect((await readFile(join(installDir, "vyvo-agent.mjs"))).equals(upgraded)).toBe(true);
      expect(await readFile(join(installDir, "agent.log"), "utf8")).toContain("stopped to restart (exit 75)");
    } finally {
      files.close();
    }
  }, 120_000);
});

/** Every audit event, all pages. */
async function auditLog(): Promise<unknown[]> {
  const all: unknown[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { auditEvents: { edges: { cursor: string; node: unknown }[]; pageInfo: { hasNextPage: boolean } } } =
      await q(
        `query($after: String) { auditEvents(first: 100, after: $after) { edges { cursor node { action args targetId } } pageInfo { hasNextPage } } }`,
        { after },
      );
    all.push(...page.auditEvents.edges.map((e) => e.node));
    if (!page.auditEvents.pageInfo.hasNextPage) return all;
    after = page.auditEvents.edges.at(-1)?.cursor ?? null;
  }
}
