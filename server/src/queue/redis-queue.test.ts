import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_PRIORITY, MIN_PRIORITY, type QueuedJob, readyScore, SEQUENCE_SPAN } from "./port.js";
import { queueContract } from "./queue-contract.js";
import { BACKOFF, claimRequest, jobInput, LEASE_MS, T0 } from "./queue-contract-fixtures.js";
import { RedisQueue } from "./redis-queue.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

function connect(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

function newPrefix(): string {
  return `vyvo-test-${randomUUID()}`;
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys.sort();
}

async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}

let redis: Redis;
beforeAll(() => {
  redis = connect();
});
afterAll(async () => {
  await redis.quit();
});

queueContract("RedisQueue", async () => {
  const prefix = newPrefix();
  return { queue: new RedisQueue(redis, { prefix }), cleanup: () => deleteKeysUnder(redis, prefix) };
});

describe("RedisQueue on real Redis", () => {
  let prefix: string;
  let queue: RedisQueue;

  beforeEach(() => {
    prefix = newPrefix();
    queue = new RedisQueue(redis, { prefix });
  });
  afterEach(async () => {
    await deleteKeysUnder(redis, prefix);
  });

  it("restore brings every job back after the prefix's keys are flushed", async () => {
    await queue.enqueueMany([jobInput("a"), jobInput("b", { priority: 5 }), jobInput("c")]);
    await queue.enqueue(jobInput("d", { notBefore: T0 + 2_000 }));
    const [running] = await queue.claim(claimRequest());
    expect(running?.jobId).toBe("b");
    // What Postgres would hold: the same facts, read before the loss.
    const known = (await Promise.all(["a", "b", "c", "d"].map((id) => queue.get(id)))).filter(
      (job): job is QueuedJob => job !== null,
    );
    expect(known).toHaveLength(4);

    await deleteKeysUnder(redis, prefix);
    expect(await keysUnder(redis, prefix)).toEqual([]);
    expect(await queue.get("a")).toBeNull();
    expect(await queue.claim(claimRequest({ slots: 10 }))).toEqual([]);

    for (const job of known) expect(await queue.restore(job)).toBe("restored");
    for (const job of known) expect(await queue.restore(job)).toBe("exists");
    expect((await queue.claim(claimRequest({ agentId: "agent-2", slots: 10 }))).map((c) => c.jobId)).toEqual([
      "a",
      "c",
    ]);
    expect(await queue.leasedBy("agent-1")).toEqual([{ jobId: "b", attemptId: "b.1" }]);
    expect(await queue.finish({ jobId: "b", attemptId: "b.1" }, T0)).toBe("ok");
    expect((await queue.reap(T0 + 2_000, 10, BACKOFF)).promoted).toEqual(["d"]);
    expect((await queue.claim(claimRequest({ now: T0 + 2_000 }))).map((c) => c.jobId)).toEqual(["d"]);
  });

  it("two replicas on separate connections never claim the same job", async () => {
    const other = connect();
    try {
      const replicaB = new RedisQueue(other, { prefix });
      const jobIds = Array.from({ length: 80 }, (_, i) => `job-${i}`);
      await queue.enqueueMany(jobIds.map((id) => jobInput(id)));
      const rounds = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? queue : replicaB).claim(claimRequest({ agentId: `agent-${i % 2}`, slots: 3 })),
        ),
      );
      const claimed = rounds.flat().map((claim) => claim.jobId);
      expect(claimed).toHaveLength(80);
      expect(new Set(claimed).size).toBe(80);
    } finally {
      await other.quit();
    }
  });

  it("keeps ready scores exact integers at the edges of the priority and sequence range", async () => {
    await redis.set(`${prefix}:seq`, SEQUENCE_SPAN - 2);
    await queue.enqueue(jobInput("last-low", { priority: MIN_PRIORITY }));
    await queue.enqueue(jobInput("first-high", { priority: MAX_PRIORITY }));
    const lowScore = await redis.zscore(`${prefix}:q:m1`, "last-low");
    expect(lowScore).toBe(String(readyScore(MIN_PRIORITY, SEQUENCE_SPAN - 1)));
    expect(Number(lowScore)).toBeLessThan(2 ** 53);
    expect(await redis.zscore(`${prefix}:q:m1`, "first-high")).toBe(String(readyScore(MAX_PRIORITY, SEQUENCE_SPAN)));
    expect(await queue.position("first-high")).toBe(0);
    expect(await queue.position("last-low")).toBe(1);
  });

  it("leaves no key of a job behind once it is finished, exhausted or cancelled", async () => {
    await queue.enqueueMany([
      jobInput("done", { idempotencyKey: "k1" }),
      jobInput("failed", { idempotencyKey: "k2", maxAttempts: 1 }),
      jobInput("cancelled", { idempotencyKey: "k3" }),
    ]);
    await queue.cancel("cancelled");
    const [done, failed] = await queue.claim(claimRequest({ slots: 2 }));
    if (!done || !failed) throw new Error("expected two claims");
    expect(await queue.finish(done, T0)).toBe("ok");
    expect(await queue.retry(failed, T0, BACKOFF)).toBe("exhausted");
    // Only the sequence counter and the set of known models remain.
    expect(await keysUnder(redis, prefix)).toEqual([`${prefix}:models`, `${prefix}:seq`]);
  });

  it("close leaves the caller's client open", async () => {
    await queue.close();
    expect(await redis.ping()).toBe("PONG");
  });

  it("refuses a client with a keyPrefix, whose prefix Lua-built keys would miss", async () => {
    const prefixed = new Redis(REDIS_URL, { keyPrefix: "x:", lazyConnect: true });
    try {
      expect(() => new RedisQueue(prefixed, { prefix })).toThrow(/keyPrefix/);
    } finally {
      prefixed.disconnect();
    }
  });

  it("a lease's expiry in Redis matches what claim reports", async () => {
    await queue.enqueue(jobInput("a"));
    const [claim] = await queue.claim(claimRequest());
    expect(await redis.zscore(`${prefix}:leases`, "a")).toBe(String(T0 + LEASE_MS));
    expect(claim?.leaseExpiresAt).toBe(T0 + LEASE_MS);
    expect(await redis.smembers(`${prefix}:agent:agent-1`)).toEqual(["a"]);
  });
});
