import { MemoryQueue } from "./memory-queue.js";
import { queueContract } from "./queue-contract.js";

queueContract("MemoryQueue", async () => ({ queue: new MemoryQueue(), cleanup: async () => {} }));
