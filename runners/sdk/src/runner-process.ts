// Starts a runner as a child process with PORT=0, learns its port from the listening line, waits
// for /health, and stops it the way the contract says (SIGTERM, grace, SIGKILL).
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { getHealth } from "./client.js";
import { parseListeningLine } from "./protocol.js";

export interface RunnerProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly port: number;
  /** Everything the runner wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how the process ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnRunnerOptions {
  command: string;
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the listening line and then for /health 200. Default 30 s. */
  startupTimeoutMs?: number;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

export async function spawnRunner(options: SpawnRunnerOptions): Promise<RunnerProcess> {
  const startupTimeoutMs = options.startupTimeoutMs ?? 30_000;
  const child = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });

  const deadline = Date.now() + startupTimeoutMs;
  const stopNow = async (): Promise<void> => {
    child.kill("SIGKILL");
    await exited(child);
  };

  const listening = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new Error(`no listening line within ${startupTimeoutMs} ms:\n${output}`)),
      startupTimeoutMs,
    );
    lines.on("line", (line) => {
      output += `${line}\n`;
      const parsed = parseListeningLine(line);
      if (parsed) {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`runner exited (code ${code}, signal ${signal}) before listening:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stopNow();
    throw error;
  });

  const host = listening.host === "0.0.0.0" ? "127.0.0.1" : listening.host;
  const baseUrl = `http://${host}:${listening.port}`;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`runner exited during setup (code ${child.exitCode}):\n${output}`);
    }
    const health = await getHealth(baseUrl).catch(() => ({ status: 0, body: null }));
    if (health.status === 200) break;
    if (health.status === 500 || Date.now() > deadline) {
      await stopNow();
      throw new Error(`runner not healthy (last /health ${health.status} ${JSON.stringify(health.body)}):\n${output}`);
    }
    await sleep(50);
  }

  return {
    child,
    baseUrl,
    port: listening.port,
    output: () => output,
    async stop(graceMs = 5_000) {
      const ended = exited(child);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const result = await ended;
      clearTimeout(timer);
      return result;
    },
  };
}
