import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const agentEntry = fileURLToPath(new URL("../../../agent/src/main.ts", import.meta.url));

export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line matching `pattern` has been printed (or rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** The real agent (agent/src/main.ts) as its own OS process, as it runs on a GPU host. */
export function startAgentProcess(opts: {
  serverUrl: string;
  workDir: string;
  nodeToken: string;
  extraArgs?: string[];
}): AgentProcess {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      agentEntry,
      "--server-url",
      opts.serverUrl,
      "--work-dir",
      opts.workDir,
      "--reconnect-base-ms",
      "100",
      "--reconnect-max-ms",
      "500",
      "--log-level",
      "debug",
      ...(opts.extraArgs ?? []),
    ],
    { env: { ...process.env, VYVO_NODE_TOKEN: opts.nodeToken }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(match[0]);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`agent never printed ${pattern}:\n${output.slice(-3000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
