import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, type AgentDeps } from "../src/agent.js";
import { resolveConfig } from "../src/config.js";
import { containerRunArgv } from "../src/container-command.js";
import { createLogger } from "../src/log.js";
import { parseCommand } from "../src/protocol.js";
import { RUNNER_ENV_FILE, RunnerEnvStore } from "../src/runner-env.js";
import { replaceBundle, runningBundlePath } from "../src/upgrade.js";
import { tinyRunner } from "./helpers/runners.js";
import { ScriptedServer } from "./helpers/scripted-server.js";

// Node commands (PROTOCOL.md, "Node commands"): the real agent against the scripted control plane.

let server: ScriptedServer;
let workDir: string;
let agents: Agent[];
let logLines: string[];

beforeEach(async () => {
  server = await new ScriptedServer().start();
  workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-agent-node-"));
  agents = [];
  logLines = [];
});

afterEach(async () => {
  await Promise.all(agents.map((agent) => agent.shutdown(0)));
  await server.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function connectedAgent(deps: Partial<AgentDeps> = {}): Promise<Agent> {
  const config = resolveConfig({
    flags: {
      serverUrl: server.url,
      workDir,
      capacity: "2",
      nodeToken: server.issueNodeToken(),
      reconnectBaseMs: "50",
      reconnectMaxMs: "200",
      stopGraceMs: "500",
      logLevel: "debug",
    },
    env: {},
    hostname: "test-host",
    homedir: workDir,
  });
  const log = createLogger({ level: "debug", write: (line) => logLines.push(line) });
  const agent = new Agent(config, { log, gpuProbe: { probe: async () => [] }, hostname: "test-host", ...deps });
  agents.push(agent);
  const before = server.subscriptions.length;
  await agent.start();
  await server.waitFor(
    () => server.subscriptions.length > before && agent.snapshot().ready,
    10_000,
    "the subscription",
  );
  return agent;
}

/** The environment tiny-runner echoed in the n-th completed result. */
const outputEnv = (n: number) =>
  (server.field("completed")[n]?.output as { env?: Record<string, string> } | undefined)?.env ?? {};
const acksOf = (commandId: string) => server.field("acks").filter((ack) => ack.commandId === commandId);
const stepsOf = (commandId: string) => acksOf(commandId).map((ack) => ack.step);

function runJob(id: string, input: Record<string, unknown> = {}) {
  return {
    __typename: "RunJobCommand",
    commandId: `cmd-${id}`,
    jobId: `job-${id}`,
    attemptId: `att-${id}`,
    modelId: "acme/tiny",
    modelVersionId: "mv-1",
    route: null,
    input,
    runner: tinyRunner(),
    timeoutMs: null,
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
  };
}

describe("ConfigureEnvCommand", () => {
  it("R16: stores env and secrets 0600, passes them to runners, and never logs or echoes a secret", async () => {
    const canary = "canary-7f3a9c51-do-not-print";
    const agent = await connectedAgent();
    server.push([
      { __typename: "ConfigureEnvCommand", commandId: "env-1", env: {}, secrets: { EXTRA: canary }, unset: [] },
    ]);
    await server.waitFor(() => stepsOf("env-1").includes("applied"), 10_000, "applied");
    expect(stepsOf("env-1")).toEqual(["received", "applied"]);

    const file = path.join(workDir, RUNNER_ENV_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ env: {}, secrets: { EXTRA: canary } });

    // The runner sees it (tiny-runner echoes EXTRA in its result: that is the runner's output, not the agent's).
    server.push([runJob("a")]);
    await server.waitFor(() => server.field("completed").length === 1, 15_000, "the job");
    expect(outputEnv(0).EXTRA).toBe(canary);

    expect(JSON.stringify(server.field("acks"))).not.toContain(canary);
    expect(JSON.stringify(server.heartbeats)).not.toContain(canary);
    expect(logLines.join("")).not.toContain(canary);
    expect(logLines.join("")).toContain("runner environment updated");
    await agent.shutdown(0);
  });

  it("survives a restart, and unset removes a name", async () => {
    const first = await connectedAgent();
    server.push([
      { __typename: "ConfigureEnvCommand", commandId: "env-2", env: { EXTRA: "from-env" }, secrets: {}, unset: [] },
    ]);
    await server.waitFor(() => stepsOf("env-2").includes("applied"), 10_000, "applied");
    await first.shutdown(0);

    await connectedAgent();
    server.push([runJob("b")]);
    await server.waitFor(() => server.field("completed").length === 1, 15_000, "the job");
    expect(outputEnv(0).EXTRA).toBe("from-env");

    server.push([{ __typename: "ConfigureEnvCommand", commandId: "env-3", env: {}, secrets: {}, unset: ["EXTRA"] }]);
    await server.waitFor(() => stepsOf("env-3").includes("applied"), 10_000, "applied");
    // The idle runner holding the old environment was stopped: the next one starts without EXTRA.
    expect(acksOf("env-3").at(-1)?.detail).toContain("1 idle runner(s) stopped");
    server.push([runJob("c")]);
    await server.waitFor(() => server.field("completed").length === 2, 15_000, "the second job");
    expect(outputEnv(1).EXTRA).toBeUndefined();
  });
});

describe("PrefetchRunnerCommand and RemoveRunnerCommand", () => {
  it("prefetch starts a resident runner that heartbeats report; remove stops it", async () => {
    await connectedAgent();
    const spec = tinyRunner();
    server.push([
      {
        __typename: "PrefetchRunnerCommand",
        commandId: "pre-1",
        modelId: "acme/tiny",
        modelVersionId: "mv-9",
        runner: spec,
      },
    ]);
    await server.waitFor(() => stepsOf("pre-1").includes("ready"), 15_000, "ready");
    // Resident and idle, as the next heartbeats report it.
    await server.waitFor(
      () => JSON.stringify(server.heartbeats.at(-1)?.input.runners ?? []).includes('"state":"idle"'),
      5_000,
      "a heartbeat listing the idle runner",
    );
    expect(server.heartbeats.at(-1)?.input.runners).toEqual([
      expect.objectContaining({ modelVersionId: "mv-9", state: "idle", runs: 0 }),
    ]);

    server.push([
      {
        __typename: "RemoveRunnerCommand",
        commandId: "rm-1",
        modelId: "acme/tiny",
        modelVersionId: "mv-9",
        runner: spec,
      },
    ]);
    await server.waitFor(() => stepsOf("rm-1").includes("removed"), 10_000, "removed");
    expect(acksOf("rm-1").at(-1)?.detail).toContain("1 idle runner(s) stopped");
    const after = server.heartbeats.length;
    await server.waitFor(() => server.heartbeats.length > after, 5_000, "the next heartbeat");
    expect(server.heartbeats.at(-1)?.input.runners).toEqual([]);
  });

  it("a runner spec the agent cannot read is acked failed", async () => {
    await connectedAgent();
    server.push([
      {
        __typename: "PrefetchRunnerCommand",
        commandId: "pre-2",
        modelId: "a/b",
        modelVersionId: "mv-x",
        runner: { kind: "vm" },
      },
    ]);
    await server.waitFor(() => stepsOf("pre-2").includes("failed"), 10_000, "failed");
    expect(acksOf("pre-2").at(-1)?.detail).toContain("runner.kind");
  });
});

describe("DrainCommand and ResumeWorkCommand", () => {
  it("R18: drain advertises capacity 0 and acks drained once idle; resume asks for work again", async () => {
    await connectedAgent();
    server.push([runJob("slow", { mode: "slow", steps: 3, delayMs: 150 })]);
    await server.waitFor(() => server.field("started").length === 1, 15_000, "started");
    server.push([{ __typename: "DrainCommand", commandId: "drain-1", deadlineMs: 60_000 }]);
    await server.waitFor(
      () => server.subscriptions.at(-1)?.variables.capacity === 0,
      5_000,
      "a capacity-0 subscription",
    );
    expect(stepsOf("drain-1")).toEqual(["received"]);
    await server.waitFor(() => stepsOf("drain-1").includes("drained"), 15_000, "drained");
    expect(server.field("completed")).toHaveLength(1);

    server.push([{ __typename: "ResumeWorkCommand", commandId: "resume-1" }]);
    await server.waitFor(() => stepsOf("resume-1").includes("resumed"), 5_000, "resumed");
    await server.waitFor(() => server.subscriptions.at(-1)?.variables.capacity === 2, 5_000, "full capacity again");
  });
});

describe("RestartAgentCommand and UpgradeAgentCommand", () => {
  it("R17: restart drains, acks and stops with the restart flag (the CLI exits 75)", async () => {
    const agent = await connectedAgent();
    server.push([{ __typename: "RestartAgentCommand", commandId: "re-1", reason: "test" }]);
    expect(await agent.finished).toBeUndefined();
    expect(agent.restartRequested).toBe(true);
    expect(stepsOf("re-1")).toEqual(["received", "restarting"]);
  });

  it("R17: upgrade downloads, checks the sha256, replaces the bundle and restarts; a wrong sha256 replaces nothing", async () => {
    const bundlePath = path.join(workDir, "vyvo-agent.mjs");
    await writeFile(bundlePath, "// old bundle\n", { mode: 0o755 });
    const fresh = Buffer.from("// new bundle\nconsole.log('v2');\n");
    const sha = createHash("sha256").update(fresh).digest("hex");
    const files = http.createServer((_req, res) => res.end(fresh));
    await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/vyvo-agent.mjs`;
    try {
      const agent = await connectedAgent({ bundlePath });
      server.push([{ __typename: "UpgradeAgentCommand", commandId: "up-bad", bundleUrl: url, sha256: "0".repeat(64) }]);
      await server.waitFor(() => stepsOf("up-bad").includes("failed"), 10_000, "failed");
      expect(acksOf("up-bad").at(-1)?.detail).toContain("sha256 mismatch");
      expect(await readFile(bundlePath, "utf8")).toBe("// old bundle\n");
      expect(agent.snapshot().ready).toBe(true);

      server.push([{ __typename: "UpgradeAgentCommand", commandId: "up-1", bundleUrl: url, sha256: sha }]);
      expect(await agent.finished).toBeUndefined();
      expect(agent.restartRequested).toBe(true);
      expect(stepsOf("up-1")).toEqual(["received", "replaced", "restarting"]);
      expect(await readFile(bundlePath)).toEqual(fresh);
      expect((await stat(bundlePath)).mode & 0o777).toBe(0o755);
    } finally {
      files.close();
    }
  });
});

describe("pieces", () => {
  it("RunnerEnvStore: a name is a variable or a secret, never both; unset removes either", async () => {
    const store = new RunnerEnvStore(workDir);
    await store.load();
    await store.apply({ env: { A: "1", B: "2" }, secrets: { S: "x" }, unset: [] });
    await store.apply({ env: { S: "plain now" }, secrets: { A: "secret now" }, unset: ["B"] });
    expect(store.names()).toEqual({ env: ["S"], secrets: ["A"] });
    expect(store.variables()).toEqual({ S: "plain now", A: "secret now" });
    const reloaded = new RunnerEnvStore(workDir);
    await reloaded.load();
    expect(reloaded.variables()).toEqual(store.variables());
  });

  it("R16: containers get pushed values by name only (-e NAME), never on the command line", () => {
    const argv = containerRunArgv({
      engine: "docker",
      name: "r",
      port: 9000,
      spec: { kind: "container", image: "img", args: [], env: {}, gpus: "none" },
      env: { PORT: "9000" },
      mounts: [],
      inherit: ["MY_SECRET"],
    });
    expect(argv).toContain("MY_SECRET");
    expect(argv.join(" ")).not.toMatch(/MY_SECRET=/);
  });

  it("parses every node command and refuses a malformed one", () => {
    expect(parseCommand({ __typename: "DrainCommand", commandId: "c", deadlineMs: null })).toMatchObject({ ok: true });
    expect(parseCommand({ __typename: "ConfigureEnvCommand", commandId: "c", env: { "BAD NAME": "x" } })).toMatchObject(
      { ok: false },
    );
    expect(
      parseCommand({ __typename: "UpgradeAgentCommand", commandId: "c", bundleUrl: "/a", sha256: "abc" }),
    ).toMatchObject({ ok: false });
    expect(parseCommand({ __typename: "ResumeWorkCommand", commandId: "c" })).toMatchObject({ ok: true });
  });

  it("only a bundle can be upgraded: the sources are not replaced", async () => {
    expect(runningBundlePath("file:///opt/vyvo/vyvo-agent.mjs")).toBe("/opt/vyvo/vyvo-agent.mjs");
    expect(runningBundlePath("file:///repo/agent/src/upgrade.ts")).toBeNull();
    const target = path.join(workDir, "x.mjs");
    await writeFile(target, "old");
    const fetchFn = (async () => new Response("nope", { status: 404 })) as unknown as typeof fetch;
    await expect(
      replaceBundle({ bundleUrl: "/b", sha256: "a".repeat(64), target, serverUrl: "http://s", fetchFn }),
    ).rejects.toThrow("HTTP 404");
    expect(readFileSync(target, "utf8")).toBe("old");
  });
});
