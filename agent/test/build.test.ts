import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedServer } from "./helpers/scripted-server.js";

const run = promisify(execFile);
const agentDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs a command; resolves with its exit code and output whatever the code. */
async function exec(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeout = 30_000) {
  try {
    const { stdout, stderr } = await run(command, args, { env: { ...process.env, ...env }, timeout });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("the bundle", () => {
  let outdir: string;
  let bundle: string;

  beforeAll(async () => {
    outdir = await mkdtemp(path.join(os.tmpdir(), "vyvo-agent-build-"));
    bundle = path.join(outdir, "vyvo-agent.mjs");
    const built = await exec(process.execPath, [path.join(agentDir, "build.mjs"), "--outdir", outdir], {}, 60_000);
    expect(built.code, built.stderr).toBe(0);
  }, 90_000);

  afterAll(() => rm(outdir, { recursive: true, force: true }));

  it("is one executable file that runs --help with plain node", async () => {
    expect((await stat(bundle)).mode & 0o111).not.toBe(0);
    const help = await exec(process.execPath, [bundle, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: vyvo-agent [options]");
    expect(help.stdout).toContain("VYVO_ENROLLMENT_TOKEN");
  });

  it("stops with exit code 2 and a clear message on a wrong value", async () => {
    const result = await exec(process.execPath, [bundle, "--server-url", "localhost:4000"], { VYVO_CAPACITY: "-1" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("invalid configuration");
    expect(result.stderr).toContain("serverUrl (from --server-url)");
    expect(result.stderr).toContain("capacity (from VYVO_CAPACITY)");
  });

  it("enrolls, serves, and on SIGTERM drains and exits 0", async () => {
    const server = await new ScriptedServer().start();
    const workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-agent-bundle-"));
    try {
      const child = spawn(process.execPath, [bundle, "--work-dir", workDir, "--node-name", "bundle-test"], {
        env: {
          ...process.env,
          VYVO_SERVER_URL: server.url,
          VYVO_ENROLLMENT_TOKEN: server.issueEnrollmentToken(),
          VYVO_NVIDIA_SMI: "/nonexistent/nvidia-smi",
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      await server.waitFor(() => server.heartbeats.length > 0, 10_000, "a heartbeat from the bundle");
      expect(server.enrollments).toEqual([expect.objectContaining({ name: "bundle-test" })]);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toContain("SIGTERM: draining and shutting down");
      expect(stderr).not.toContain(server.enrollments[0]?.enrollmentToken ?? "?");
    } finally {
      await server.stop();
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it("R3: speaks graphql-ws from the bundle: a refused node token exits 1 with the reason", async () => {
    const server = await new ScriptedServer().start();
    const workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-agent-bundle-"));
    try {
      const result = await exec(process.execPath, [bundle], {
        VYVO_SERVER_URL: server.url,
        VYVO_NODE_TOKEN: "node-unknown",
        VYVO_WORK_DIR: workDir,
        VYVO_NVIDIA_SMI: "/nonexistent/nvidia-smi",
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("4403");
      expect(result.stderr).toContain("refused the node token");
      expect(server.connections).toHaveLength(1);
    } finally {
      await server.stop();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});

describe("bin/vyvo-agent.mjs", () => {
  it("runs the sources through tsx in a checkout", async () => {
    const result = await exec(process.execPath, [path.join(agentDir, "bin/vyvo-agent.mjs"), "--version"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("0.1.0");
  });
});
