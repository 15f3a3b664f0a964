/**
 * The one contract every QueuePort driver must pass (memory-queue.test.ts, redis-queue.test.ts):
 * submit, ordering, claim, position and stats here; leases, cancel, purge and restore in
 * queue-contract-leases.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { attemptIdFor, type QueuePort } from "./port.js";
import {
  BACKOFF,
  claimIds,
  claimOne,
  claimRequest,
  jobInput,
  LEASE_MS,
  type MakeQueue,
  type QueueHarness,
  T0,
} from "./queue-contract-fixtures.js";
import { leaseContract } from "./queue-contract-leases.js";

export function queueContract(name: string, makeQueue: MakeQueue): void {
  describe(`QueuePort contract: ${name}`, () => {
    let current: Awaited<ReturnType<MakeQueue>> | undefined;
    beforeEach(async () => {
      current = await makeQueue();
    });
    afterEach(async () => {
      await current?.queue.close();
      await current?.cleanup();
      current = undefined;
    });
    const harness: QueueHarness = {
      get queue() {
        if (!current) throw new Error("the queue exists only inside a test");
        return current.queue;
      },
    };

    submitAndClaimContract(harness);
    leaseContract(harness);
  });
}

function submitAndClaimContract(harness: QueueHarness): void {
  let queue: QueuePort;
  beforeEach(() => {
    queue = harness.queue;
  });

  describe("enqueue", () => {
    it("stores a ready job that can be read back", async () => {
      expect(await queue.enqueue(jobInput("a", { priority: 7, maxAttempts: 4 }))).toEqual({
        status: "enqueued",
        jobId: "a",
      });
      expect(await queue.get("a")).toEqual({
        jobId: "a",
        modelId: "m1",
        priority: 7,
        maxAttempts: 4,
        attempts: 0,
        enqueuedAt: T0,
        state: "ready",
      });
      expect(await queue.position("a")).toBe(0);
      expect(await queue.get("unknown")).toBeNull();
    });

    it("treats a known job id as a duplicate and changes nothing", async () => {
      await queue.enqueue(jobInput("a"));
      expect(await queue.enqueue(jobInput("a", { priority: 50 }))).toEqual({ status: "duplicate", jobId: "a" });
      expect((await queue.get("a"))?.priority).toBe(0);
      expect((await queue.stats(["m1"]))[0]?.depth).toBe(1);
    });

    it("answers a reused idempotency key with the first job id until that job leaves", async () => {
      await queue.enqueue(jobInput("a", { idempotencyKey: "key-1" }));
      expect(await queue.enqueue(jobInput("b", { idempotencyKey: "key-1" }))).toEqual({
        status: "duplicate",
        jobId: "a",
      });
      expect(await queue.get("b")).toBeNull();

      const claim = await claimOne(queue);
      expect(await queue.finish(claim, T0)).toBe("ok");
      expect(await queue.enqueue(jobInput("c", { idempotencyKey: "key-1" }))).toEqual({
        status: "enqueued",
        jobId: "c",
      });
    });

    it("enqueueMany keeps the order and catches duplicates inside the batch", async () => {
      const results = await queue.enqueueMany([
        jobInput("a"),
        jobInput("b"),
        jobInput("a"),
        jobInput("c", { idempotencyKey: "k" }),
        jobInput("d", { idempotencyKey: "k" }),
      ]);
      expect(results).toEqual([
        { status: "enqueued", jobId: "a" },
        { status: "enqueued", jobId: "b" },
        { status: "duplicate", jobId: "a" },
        { status: "enqueued", jobId: "c" },
        { status: "duplicate", jobId: "c" },
      ]);
      expect(await queue.enqueueMany([])).toEqual([]);
      expect(await claimIds(queue)).toEqual(["a", "b", "c"]);
    });

    it("rejects malformed numbers before queueing any job of the batch", async () => {
      await expect(queue.enqueueMany([jobInput("ok"), jobInput("bad", { now: Number.NaN })])).rejects.toThrow(
        RangeError,
      );
      await expect(queue.enqueue(jobInput("bad", { maxAttempts: 0 }))).rejects.toThrow(RangeError);
      expect(await queue.get("ok")).toBeNull();
      expect(await queue.get("bad")).toBeNull();
    });

    it("holds a job with a future notBefore in the delayed set", async () => {
      await queue.enqueue(jobInput("later", { notBefore: T0 + 5_000 }));
      expect(await queue.get("later")).toMatchObject({ state: "delayed", notBefore: T0 + 5_000 });
      expect(await queue.position("later")).toBeNull();
      expect(await claimIds(queue)).toEqual([]);
      expect((await queue.reap(T0 + 4_999, 10, BACKOFF)).promoted).toEqual([]);
      expect((await queue.reap(T0 + 5_000, 10, BACKOFF)).promoted).toEqual(["later"]);
      expect(await claimIds(queue)).toEqual(["later"]);
    });
  });

  describe("ordering and claim", () => {
    it("runs higher priority first and equal priorities first in, first out", async () => {
      for (const [jobId, priority] of [
        ["low-1", -5],
        ["high-1", 10],
        ["mid-1", 0],
        ["high-2", 10],
        ["low-2", -5],
        ["mid-2", 0],
      ] as const) {
        await queue.enqueue(jobInput(jobId, { priority }));
      }
      expect(await claimIds(queue)).toEqual(["high-1", "high-2", "mid-1", "mid-2", "low-1", "low-2"]);
    });

    it("clamps priorities, so out-of-range ones share the top band in FIFO order", async () => {
      await queue.enqueue(jobInput("first", { priority: 1_000 }));
      await queue.enqueue(jobInput("second", { priority: 5_000 }));
      await queue.enqueue(jobInput("bottom", { priority: -5_000 }));
      expect((await queue.get("second"))?.priority).toBe(1_000);
      expect((await queue.get("bottom"))?.priority).toBe(-1_000);
      expect(await claimIds(queue)).toEqual(["first", "second", "bottom"]);
    });

    it("hands out at most `slots` jobs", async () => {
      await queue.enqueueMany(["a", "b", "c", "d", "e"].map((id) => jobInput(id)));
      expect(await claimIds(queue, { slots: 2 })).toEqual(["a", "b"]);
      expect(await claimIds(queue, { slots: 0 })).toEqual([]);
      expect(await claimIds(queue, { slots: 10 })).toEqual(["c", "d", "e"]);
      expect(await claimIds(queue, { slots: 10 })).toEqual([]);
    });

    it("claims only the agent's models, taking the best head among them", async () => {
      await queue.enqueue(jobInput("a", { modelId: "m1", priority: 0 }));
      await queue.enqueue(jobInput("b", { modelId: "m2", priority: 5 }));
      await queue.enqueue(jobInput("c", { modelId: "m3", priority: 10 }));
      const claims = await queue.claim(claimRequest({ models: ["m1", "m2"], slots: 3 }));
      expect(claims.map((claim) => [claim.jobId, claim.modelId])).toEqual([
        ["b", "m2"],
        ["a", "m1"],
      ]);
      expect(await claimIds(queue, { models: [] })).toEqual([]);
      expect(await claimIds(queue, { models: ["m3"] })).toEqual(["c"]);
    });

    it("with models '*' claims from every model in global FIFO order", async () => {
      await queue.enqueue(jobInput("a", { modelId: "m1" }));
      await queue.enqueue(jobInput("b", { modelId: "m2" }));
      await queue.enqueue(jobInput("c", { modelId: "m1" }));
      await queue.enqueue(jobInput("d", { modelId: "m3" }));
      expect(await claimIds(queue, { models: "*" })).toEqual(["a", "b", "c", "d"]);
    });

    it("skips paused models, still takes enqueues for them, and serves them again on resume", async () => {
      await queue.pause("m1");
      await queue.enqueue(jobInput("a", { modelId: "m1" }));
      await queue.enqueue(jobInput("b", { modelId: "m2" }));
      expect(await claimIds(queue, { models: "*" })).toEqual(["b"]);
      expect(await claimIds(queue, { models: ["m1"] })).toEqual([]);
      expect(await queue.stats(["m1"])).toEqual([
        { modelId: "m1", depth: 1, running: 0, delayed: 0, oldestEnqueuedAt: T0, paused: true },
      ]);
      await queue.resume("m1");
      expect((await queue.stats(["m1"]))[0]?.paused).toBe(false);
      expect(await claimIds(queue, { models: ["m1"] })).toEqual(["a"]);
    });

    it("returns the attempt, its fencing id, the enqueue time and the lease expiry", async () => {
      await queue.enqueue(jobInput("a", { now: T0 - 500 }));
      expect(await queue.claim(claimRequest({ now: T0 }))).toEqual([
        {
          jobId: "a",
          modelId: "m1",
          attemptId: attemptIdFor("a", 1),
          attempt: 1,
          enqueuedAt: T0 - 500,
          leaseExpiresAt: T0 + LEASE_MS,
        },
      ]);
      expect(await queue.get("a")).toMatchObject({
        state: "leased",
        attempts: 1,
        agentId: "agent-1",
        attemptId: "a.1",
        leaseExpiresAt: T0 + LEASE_MS,
      });
      expect(await queue.leasedBy("agent-1")).toEqual([{ jobId: "a", attemptId: "a.1" }]);
      expect(await queue.leasedBy("agent-2")).toEqual([]);
    });

    it("numbers attempts upward across retries and keeps the enqueue time", async () => {
      await queue.enqueue(jobInput("a", { maxAttempts: 5 }));
      let now = T0;
      for (const attempt of [1, 2, 3]) {
        const claim = await claimOne(queue, "agent-1", now);
        expect(claim).toMatchObject({ attempt, attemptId: attemptIdFor("a", attempt), enqueuedAt: T0 });
        expect(await queue.retry(claim, now, BACKOFF)).toBe("retry");
        now = (await queue.get("a"))?.notBefore ?? Number.NaN;
        expect((await queue.reap(now, 10, BACKOFF)).promoted).toEqual(["a"]);
      }
    });

    it("never gives one job to two concurrent claimers", async () => {
      const jobIds = Array.from({ length: 60 }, (_, i) => `job-${String(i).padStart(2, "0")}`);
      await queue.enqueueMany(jobIds.map((id, i) => jobInput(id, { modelId: i % 2 === 0 ? "m1" : "m2" })));
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          queue.claim(claimRequest({ agentId: i % 2 ? "agent-a" : "agent-b", slots: 2 })),
        ),
      );
      const claimed = claims.flat().map((claim) => claim.jobId);
      expect(claimed).toHaveLength(60);
      expect(new Set(claimed).size).toBe(60);
      expect(claims.flat().every((claim) => claim.attempt === 1)).toBe(true);
      const held = [...(await queue.leasedBy("agent-a")), ...(await queue.leasedBy("agent-b"))];
      expect(held.map((ref) => ref.jobId).sort()).toEqual(jobIds);
    });
  });

  describe("position and stats", () => {
    it("position is the 0-based rank with mixed priorities, per model, and after removals", async () => {
      const priorities = Array.from({ length: 200 }, (_, i) => ((i * 37) % 7) - 3);
      const inputs = priorities.map((priority, i) => jobInput(`j${i}`, { priority }));
      await queue.enqueueMany(inputs);
      await queue.enqueue(jobInput("other-model", { modelId: "m2", priority: 1_000 }));
      const expectedOrder = inputs
        .map((input, i) => ({ jobId: input.jobId, priority: input.priority, i }))
        .sort((a, b) => b.priority - a.priority || a.i - b.i)
        .map((entry) => entry.jobId);
      for (const [rank, jobId] of expectedOrder.entries()) expect(await queue.position(jobId)).toBe(rank);
      expect(await queue.position("other-model")).toBe(0);

      const removed = new Set([expectedOrder[3], expectedOrder[100], expectedOrder[199]]);
      for (const jobId of removed) await queue.cancel(jobId ?? "");
      const claimed = await claimIds(queue, { models: ["m1"], slots: 5 });
      expect(claimed).toEqual(expectedOrder.filter((id) => !removed.has(id)).slice(0, 5));
      const remaining = expectedOrder.filter((id) => !removed.has(id) && !claimed.includes(id));
      for (const [rank, jobId] of remaining.entries()) expect(await queue.position(jobId)).toBe(rank);
      for (const jobId of [...removed, ...claimed]) expect(await queue.position(jobId ?? "")).toBeNull();
      expect(await queue.position("unknown")).toBeNull();
    });

    it("stats count ready, running and delayed jobs per model with the oldest wait", async () => {
      await queue.enqueue(jobInput("old-low", { priority: 0, now: T0 + 1 }));
      await queue.enqueue(jobInput("new-high", { priority: 5, now: T0 + 2 }));
      await queue.enqueue(jobInput("newest", { priority: 0, now: T0 + 3 }));
      await queue.enqueue(jobInput("later", { now: T0 + 4, notBefore: T0 + 10_000 }));
      await queue.pause("m2");

      expect(await queue.stats()).toEqual([
        { modelId: "m1", depth: 3, running: 0, delayed: 1, oldestEnqueuedAt: T0 + 1, paused: false },
        { modelId: "m2", depth: 0, running: 0, delayed: 0, oldestEnqueuedAt: null, paused: true },
      ]);
      expect(await claimIds(queue, { slots: 1 })).toEqual(["new-high"]);
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 2, running: 1, oldestEnqueuedAt: T0 + 1 });
      expect(await claimIds(queue, { slots: 1 })).toEqual(["old-low"]);
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 1, running: 2, oldestEnqueuedAt: T0 + 3 });
      expect(await queue.stats(["never-seen"])).toEqual([
        { modelId: "never-seen", depth: 0, running: 0, delayed: 0, oldestEnqueuedAt: null, paused: false },
      ]);
    });
  });
}
