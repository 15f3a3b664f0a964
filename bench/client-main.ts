// Entry of the client process (client-process.ts): runs the measurement it is sent, posts its
// result back and exits.
import type { ClientMessage, ClientTask } from "./client-process.js";
import { measureDispatchLatency } from "./dispatch-latency.js";
import { measureThroughput } from "./throughput.js";

const post = (message: ClientMessage) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
const log = (line: string) => void post({ log: line });

process.once("message", async (task: ClientTask) => {
  try {
    const result =
      task.kind === "dispatch"
        ? await measureDispatchLatency(task.target, task.options, log)
        : await measureThroughput(task.target, task.options, log);
    await post({ result });
  } catch (error) {
    await post({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  process.exit(0);
});
