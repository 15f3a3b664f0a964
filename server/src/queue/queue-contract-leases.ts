/**
 * The QueuePort contract, part two: leases and fencing, retries and the reaper, cancel and the
 * start deadline, purge and restore. Run through queueContract (queue-contract.ts).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { type BackoffPolicy, backoffDelay, jitterFor, type QueuePort } from "./port.js";
import {
  BACKOFF,
  claimIds,
  claimOne,
  claimRequest,
  jobInput,
  LEASE_MS,
  type QueueHarness,
  T0,
} from "./queue-contract-fixtures.js";

export function leaseContract(harness: QueueHarness): void {
  let queue: QueuePort;
  beforeEach(() => {
    queue = harness.queue;
  });

  describe("leases", () => {
    it("renew extends a held lease so the reaper leaves it alone", async () => {
      await queue.enqueue(jobInput("a"));
      const claim = await claimOne(queue);
      const renewal = await queue.renew("agent-1", [claim], LEASE_MS, T0 + 20_000);
      expect(renewal).toEqual({ renewed: [{ jobId: "a", attemptId: "a.1" }], lost: [] });
      expect((await queue.get("a"))?.leaseExpiresAt).toBe(T0 + 50_000);
      expect((await queue.reap(T0 + 49_999, 10, BACKOFF)).expired).toEqual([]);
      expect((await queue.reap(T0 + 50_000, 10, BACKOFF)).expired.map((lease) => lease.jobId)).toEqual(["a"]);
    });

    it("renew reports attempts the agent no longer holds as lost", async () => {
      await queue.enqueueMany([jobInput("reaped"), jobInput("finished"), jobInput("taken-over")]);
      const [reaped, finished, takenOver] = await queue.claim(claimRequest({ slots: 3, leaseMs: 1_000 }));
      if (!reaped || !finished || !takenOver) throw new Error("expected three claims");

      expect(await queue.finish(finished, T0)).toBe("ok"); // e.g. cancelled by an operator
      const reap = await queue.reap(T0 + 1_000, 10, { ...BACKOFF, baseMs: 0, maxMs: 0 });
      expect(reap.expired.map((lease) => lease.jobId).sort()).toEqual(["reaped", "taken-over"]);
      await queue.cancel("reaped"); // the retried job is dropped while it waits
      const [secondAttempt] = await queue.claim(claimRequest({ agentId: "agent-2", now: T0 + 1_000 }));
      expect(secondAttempt?.attemptId).toBe("taken-over.2");

      const renewal = await queue.renew(
        "agent-1",
        [
          reaped,
          finished,
          takenOver,
          { jobId: "taken-over", attemptId: "taken-over.2" },
          { jobId: "nope", attemptId: "nope.1" },
        ],
        LEASE_MS,
        T0 + 1_000,
      );
      expect(renewal.renewed).toEqual([]);
      expect(renewal.lost).toEqual([
        { jobId: "reaped", attemptId: "reaped.1" },
        { jobId: "finished", attemptId: "finished.1" },
        { jobId: "taken-over", attemptId: "taken-over.1" },
        { jobId: "taken-over", attemptId: "taken-over.2" },
        { jobId: "nope", attemptId: "nope.1" },
      ]);
      const holder = await queue.renew(
        "agent-2",
        [{ jobId: "taken-over", attemptId: "taken-over.2" }],
        LEASE_MS,
        T0 + 1_000,
      );
      expect(holder.lost).toEqual([]);
      expect(holder.renewed).toHaveLength(1);
    });

    it("finish by the holding attempt forgets the job; a second finish is stale", async () => {
      await queue.enqueue(jobInput("a"));
      const claim = await claimOne(queue);
      expect(await queue.finish(claim, T0 + 1)).toBe("ok");
      expect(await queue.get("a")).toBeNull();
      expect(await queue.leasedBy("agent-1")).toEqual([]);
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 0, running: 0, delayed: 0 });
      expect(await queue.finish(claim, T0 + 2)).toBe("stale");
    });

    it("finish with any other attempt id is stale and changes nothing", async () => {
      await queue.enqueue(jobInput("a"));
      await claimOne(queue);
      const before = await queue.get("a");
      expect(await queue.finish({ jobId: "a", attemptId: "a.2" }, T0)).toBe("stale");
      expect(await queue.finish({ jobId: "a", attemptId: "a.0" }, T0)).toBe("stale");
      expect(await queue.finish({ jobId: "ghost", attemptId: "ghost.1" }, T0)).toBe("stale");
      expect(await queue.get("a")).toEqual(before);
    });

    it("retry waits a jittered backoff in [ceiling/2, ceiling], then reap makes the job ready", async () => {
      const policy: BackoffPolicy = { baseMs: 1_000, maxMs: 3_000, random: 0.999 };
      const expectedCeilings = [1_000, 2_000, 3_000, 3_000]; // base·2^(n-1), capped at maxMs
      await queue.enqueue(jobInput("a", { maxAttempts: 10 }));
      let now = T0;
      for (const [index, ceiling] of expectedCeilings.entries()) {
        const draw = { ...policy, random: [0, 0.999, 0.5, 0.25][index] ?? 0 };
        const claim = await claimOne(queue, "agent-1", now);
        expect(await queue.retry(claim, now, draw)).toBe("retry");
        const waiting = await queue.get("a");
        const delay = (waiting?.notBefore ?? Number.NaN) - now;
        expect(delay).toBe(backoffDelay(claim.attempt, draw));
        expect(delay).toBeGreaterThanOrEqual(Math.ceil(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(waiting).toMatchObject({ state: "delayed", attempts: index + 1 });
        expect(await queue.position("a")).toBeNull();
        expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 0, running: 0, delayed: 1 });

        expect((await queue.reap(now + delay - 1, 10, policy)).promoted).toEqual([]);
        now += delay;
        expect(await queue.reap(now, 10, policy)).toEqual({ expired: [], promoted: ["a"] });
        expect(await queue.position("a")).toBe(0);
      }
    });

    it("retry is exhausted once maxAttempts are used, and the job is gone", async () => {
      await queue.enqueue(jobInput("a", { maxAttempts: 2 }));
      const first = await claimOne(queue);
      expect(await queue.retry(first, T0, BACKOFF)).toBe("retry");
      await queue.reap(T0 + BACKOFF.maxMs, 10, BACKOFF);
      const second = await claimOne(queue, "agent-1", T0 + BACKOFF.maxMs);
      expect(second.attempt).toBe(2);
      expect(await queue.retry(second, T0 + BACKOFF.maxMs, BACKOFF)).toBe("exhausted");
      expect(await queue.get("a")).toBeNull();
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 0, running: 0, delayed: 0 });
      expect(await queue.retry(second, T0 + BACKOFF.maxMs, BACKOFF)).toBe("stale");
    });

    it("retry by a stale attempt is rejected and changes nothing", async () => {
      await queue.enqueue(jobInput("a"));
      await claimOne(queue);
      expect(await queue.retry({ jobId: "a", attemptId: "a.7" }, T0, BACKOFF)).toBe("stale");
      expect(await queue.get("a")).toMatchObject({ state: "leased", attemptId: "a.1", attempts: 1 });
    });

    it("reap requeues expired leases with per-job jitter and names their agent and attempt", async () => {
      await queue.enqueueMany(["a", "b", "c"].map((id) => jobInput(id)));
      await queue.claim(claimRequest({ agentId: "agent-1", slots: 2, leaseMs: 10_000 }));
      await queue.claim(claimRequest({ agentId: "agent-2", slots: 1, leaseMs: 60_000 }));

      expect((await queue.reap(T0 + 9_999, 10, BACKOFF)).expired).toEqual([]);
      const now = T0 + 10_000;
      const { expired } = await queue.reap(now, 10, BACKOFF);
      expect(expired.map(({ jobId, attemptId, agentId, outcome }) => ({ jobId, attemptId, agentId, outcome }))).toEqual(
        [
          { jobId: "a", attemptId: "a.1", agentId: "agent-1", outcome: "retry" },
          { jobId: "b", attemptId: "b.1", agentId: "agent-1", outcome: "retry" },
        ],
      );
      expired.forEach((lease, index) => {
        const draw = { ...BACKOFF, random: jitterFor(BACKOFF.random, index) };
        expect(lease.retryAt).toBe(now + backoffDelay(1, draw));
      });
      expect(expired[0]?.retryAt).not.toBe(expired[1]?.retryAt);

      expect(await queue.finish({ jobId: "a", attemptId: "a.1" }, now)).toBe("stale");
      expect(await queue.leasedBy("agent-1")).toEqual([]);
      expect(await queue.leasedBy("agent-2")).toEqual([{ jobId: "c", attemptId: "c.1" }]);
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ running: 1, delayed: 2 });
    });

    it("reap exhausts an expired lease that used its last attempt", async () => {
      await queue.enqueue(jobInput("a", { maxAttempts: 1 }));
      await claimOne(queue);
      expect(await queue.reap(T0 + LEASE_MS, 10, BACKOFF)).toEqual({
        expired: [{ jobId: "a", attemptId: "a.1", agentId: "agent-1", outcome: "exhausted" }],
        promoted: [],
      });
      expect(await queue.get("a")).toBeNull();
      expect(await queue.finish({ jobId: "a", attemptId: "a.1" }, T0 + LEASE_MS)).toBe("stale");
    });

    it("reap takes at most `limit` expired leases and due jobs per call", async () => {
      await queue.enqueueMany(["a", "b", "c"].map((id) => jobInput(id, { maxAttempts: 1 })));
      await queue.claim(claimRequest({ slots: 3 }));
      expect((await queue.reap(T0 + LEASE_MS, 2, BACKOFF)).expired).toHaveLength(2);
      expect((await queue.reap(T0 + LEASE_MS, 2, BACKOFF)).expired).toHaveLength(1);

      await queue.enqueueMany(["d", "e", "f"].map((id) => jobInput(id, { notBefore: T0 + 1 })));
      expect((await queue.reap(T0 + 1, 2, BACKOFF)).promoted).toEqual(["d", "e"]);
      expect((await queue.reap(T0 + 1, 2, BACKOFF)).promoted).toEqual(["f"]);
    });
  });

  describe("cancel and deadlines", () => {
    it("cancel removes a ready job at once", async () => {
      await queue.enqueueMany([jobInput("a"), jobInput("b")]);
      expect(await queue.cancel("a")).toEqual({ state: "removed" });
      expect(await queue.get("a")).toBeNull();
      expect(await queue.position("b")).toBe(0);
      expect(await claimIds(queue)).toEqual(["b"]);
    });

    it("cancel removes a delayed job, which the reaper then never promotes", async () => {
      await queue.enqueue(jobInput("a", { notBefore: T0 + 100 }));
      expect(await queue.cancel("a")).toEqual({ state: "removed" });
      expect((await queue.stats(["m1"]))[0]?.delayed).toBe(0);
      expect((await queue.reap(T0 + 100, 10, BACKOFF)).promoted).toEqual([]);
    });

    it("cancel of a leased job names its holder and leaves it leased", async () => {
      await queue.enqueue(jobInput("a"));
      await claimOne(queue, "agent-7");
      expect(await queue.cancel("a")).toEqual({ state: "leased", agentId: "agent-7", attemptId: "a.1" });
      expect(await queue.get("a")).toMatchObject({ state: "leased", agentId: "agent-7" });
      expect(await queue.cancel("unknown")).toEqual({ state: "absent" });
    });

    it("expireUnstarted removes waiting jobs (ready or between retries) but never a running one", async () => {
      await queue.enqueueMany([jobInput("retrying"), jobInput("running")]);
      const [retrying] = await queue.claim(claimRequest({ slots: 2 }));
      if (!retrying) throw new Error("expected a claim");
      await queue.enqueue(jobInput("ready"));
      expect(await queue.retry(retrying, T0, BACKOFF)).toBe("retry");

      expect(await queue.expireUnstarted("ready")).toBe(true);
      expect(await queue.expireUnstarted("retrying")).toBe(true);
      expect(await queue.expireUnstarted("running")).toBe(false);
      expect(await queue.expireUnstarted("unknown")).toBe(false);
      expect(await queue.get("ready")).toBeNull();
      expect(await queue.get("retrying")).toBeNull();
      expect(await queue.get("running")).toMatchObject({ state: "leased" });
    });
  });

  describe("purge and restore", () => {
    it("purge removes a model's ready and delayed jobs and leaves leased ones running", async () => {
      await queue.enqueueMany([jobInput("running"), jobInput("ready-1"), jobInput("ready-2", { idempotencyKey: "k" })]);
      await queue.enqueue(jobInput("delayed", { notBefore: T0 + 1_000 }));
      await queue.enqueue(jobInput("elsewhere", { modelId: "m2" }));
      const running = await claimOne(queue);

      expect((await queue.purge("m1")).sort()).toEqual(["delayed", "ready-1", "ready-2"]);
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 0, running: 1, delayed: 0 });
      expect((await queue.reap(T0 + 1_000, 10, BACKOFF)).promoted).toEqual([]);
      expect(await queue.position("elsewhere")).toBe(0);
      expect(await queue.finish(running, T0)).toBe("ok");
      expect((await queue.enqueue(jobInput("again", { idempotencyKey: "k" }))).status).toBe("enqueued");
      expect(await queue.purge("never-seen")).toEqual([]);
    });

    it("restore puts back a lost ready job and continues its attempt series", async () => {
      const job = { jobId: "a", modelId: "m1", priority: 3, maxAttempts: 5, attempts: 2, enqueuedAt: T0 - 9 };
      expect(await queue.restore({ ...job, state: "ready" })).toBe("restored");
      expect(await queue.get("a")).toEqual({ ...job, state: "ready" });
      expect(await queue.position("a")).toBe(0);
      expect(await queue.claim(claimRequest())).toEqual([
        {
          jobId: "a",
          modelId: "m1",
          attemptId: "a.3",
          attempt: 3,
          enqueuedAt: T0 - 9,
          leaseExpiresAt: T0 + LEASE_MS,
        },
      ]);
    });

    it("restore puts back a lost delayed job that the reaper promotes when due", async () => {
      const job = { jobId: "a", modelId: "m1", priority: 0, maxAttempts: 5, attempts: 1, enqueuedAt: T0 };
      expect(await queue.restore({ ...job, state: "delayed", notBefore: T0 + 5_000 })).toBe("restored");
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ depth: 0, delayed: 1 });
      expect((await queue.reap(T0 + 4_999, 10, BACKOFF)).promoted).toEqual([]);
      expect((await queue.reap(T0 + 5_000, 10, BACKOFF)).promoted).toEqual(["a"]);
      expect((await claimOne(queue, "agent-1", T0 + 5_000)).attemptId).toBe("a.2");
    });

    it("restore puts back a lost lease that its agent can finish or the reaper can requeue", async () => {
      const base = {
        modelId: "m1",
        priority: 0,
        maxAttempts: 5,
        attempts: 2,
        enqueuedAt: T0,
        state: "leased" as const,
      };
      const lease = { agentId: "agent-9", leaseExpiresAt: T0 + 1_000 };
      expect(await queue.restore({ ...base, ...lease, jobId: "a", attemptId: "a.2" })).toBe("restored");
      expect(await queue.restore({ ...base, ...lease, jobId: "b" })).toBe("restored"); // attempt id derived
      expect(await queue.leasedBy("agent-9")).toEqual([
        { jobId: "a", attemptId: "a.2" },
        { jobId: "b", attemptId: "b.2" },
      ]);
      expect((await queue.stats(["m1"]))[0]).toMatchObject({ running: 2 });
      expect(await queue.finish({ jobId: "a", attemptId: "a.2" }, T0)).toBe("ok");

      const { expired } = await queue.reap(T0 + 1_000, 10, { ...BACKOFF, baseMs: 0, maxMs: 0 });
      expect(expired).toEqual([
        { jobId: "b", attemptId: "b.2", agentId: "agent-9", outcome: "retry", retryAt: T0 + 1_000 },
      ]);
      await queue.reap(T0 + 1_000, 10, BACKOFF);
      expect((await claimOne(queue, "agent-1", T0 + 1_000)).attemptId).toBe("b.3");
    });

    it("restore refuses a leased job without its agent", async () => {
      const job = { jobId: "a", modelId: "m1", priority: 0, maxAttempts: 3, attempts: 1, enqueuedAt: T0 };
      await expect(queue.restore({ ...job, state: "leased" })).rejects.toThrow(/agentId/);
      expect(await queue.get("a")).toBeNull();
    });

    it("restore leaves a job the queue still knows untouched", async () => {
      await queue.enqueue(jobInput("a", { priority: 1 }));
      const before = await queue.get("a");
      const restored = await queue.restore({
        jobId: "a",
        modelId: "m2",
        priority: 9,
        maxAttempts: 9,
        attempts: 4,
        enqueuedAt: T0 - 1,
        state: "delayed",
        notBefore: T0 + 1,
      });
      expect(restored).toBe("exists");
      expect(await queue.get("a")).toEqual(before);
      expect(await queue.position("a")).toBe(0);
    });
  });
}
