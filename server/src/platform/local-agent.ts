import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const agentEntry = fileURLToPath(new URL("../../../agent/src/main.ts", import.meta.url));

export interface LocalAgent {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the real agent as a child process (its own process group, so Ctrl-C reaches it once). */
export function startLocalAgent(opts: {
  serverUrl: string;
  workDir: string;
  enrollmentToken: string;
  capacity: number;
  onLine: (line: string) => void;
}): LocalAgent {
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
      "--capacity",
      String(opts.capacity),
      "--node-name",
      "local",
    ],
    {
      // The token goes by environment, not argv, so `ps` does not show it.
      env: { ...process.env, VYVO_ENROLLMENT_TOKEN: opts.enrollmentToken },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) opts.onLine(line);
  };
  child.stdout?.on("data", forward);
  child.stderr?.on("data", forward);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM"); // the agent drains, stops its runners and exits
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
