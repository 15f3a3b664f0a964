// The load (clients submitting jobs, simulated agents) runs in a process of its own, as it would
// on other machines: its event loop never delays the server's, and the server's never delays
// the measurements. Both share this machine's cores with Postgres and Redis.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { DispatchLatencyOptions, DispatchLatencyResult } from "./dispatch-latency.js";
import type { ThroughputOptions, ThroughputResult } from "./throughput.js";

/** What the client process talks to: the server's URL, the database to watch, node tokens to connect with. */
export interface Target {
  url: string;
  databaseUrl: string;
  nodeTokens: string[];
}

export type ClientTask =
  | { kind: "dispatch"; target: Target; options: DispatchLatencyOptions }
  | { kind: "throughput"; target: Target; options: ThroughputOptions };

type ResultOf<T extends ClientTask> = T extends { kind: "dispatch" } ? DispatchLatencyResult : ThroughputResult;

export type ClientMessage = { log: string } | { result: unknown } | { error: string };

/** Runs one measurement in a client process, printing its progress lines. */
export function runInClientProcess<T extends ClientTask>(task: T, log: (line: string) => void): Promise<ResultOf<T>> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL("./client-main.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let settled = false;
    child.on("message", (message: ClientMessage) => {
      if ("log" in message) log(message.log);
      else if ("result" in message) {
        settled = true;
        resolve(message.result as ResultOf<T>);
      } else {
        settled = true;
        reject(new Error(`client process failed: ${message.error}`));
      }
    });
    child.on("error", (error) => {
      settled = true;
      reject(error);
    });
    child.on("exit", (code) => {
      if (!settled) reject(new Error(`client process exited with code ${code} before it answered`));
    });
    child.send(task);
  });
}
