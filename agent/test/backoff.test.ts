import { describe, expect, it } from "vitest";
import { CrashLoopTracker, crashLoopDelay, exponentialDelay, jitteredBackoff } from "../src/backoff.js";

describe("backoff", () => {
  it("doubles from the base and stops at the cap", () => {
    const policy = { baseMs: 500, maxMs: 30_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => exponentialDelay(n, policy))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000,
    ]);
  });

  it("R14: reconnect delays are jittered between half and all of the nominal delay", () => {
    const policy = { baseMs: 1000, maxMs: 60_000 };
    expect(jitteredBackoff(3, policy, () => 0)).toBe(4000);
    expect(jitteredBackoff(3, policy, () => 0.999999)).toBe(8000);
    expect(jitteredBackoff(3, policy, () => 0.5)).toBe(6000);
    expect(jitteredBackoff(100, policy, () => 0)).toBe(30_000);
  });

  it("crash-loop schedule: 1s, 2s, 4s, … capped at 60s", () => {
    const policy = { baseMs: 1000, maxMs: 60_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => crashLoopDelay(n, policy))).toEqual([
      0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
  });

  it("blocks a model version after each crash and resets after it stayed healthy", () => {
    let now = 0;
    const tracker = new CrashLoopTracker({ baseMs: 1000, maxMs: 60_000, stableAfterMs: 30_000 }, () => now);
    expect(tracker.blockedFor("mv")).toBe(0);
    expect(tracker.recordCrash("mv")).toEqual({ consecutive: 1, delayMs: 1000 });
    expect(tracker.blockedFor("mv")).toBe(1000);
    now = 400;
    expect(tracker.blockedFor("mv")).toBe(600);
    expect(tracker.blockedFor("other")).toBe(0);
    now = 1000;
    expect(tracker.blockedFor("mv")).toBe(0);
    expect(tracker.recordCrash("mv", 1000)).toEqual({ consecutive: 2, delayMs: 2000 });
    now = 3000;
    expect(tracker.recordCrash("mv")).toEqual({ consecutive: 3, delayMs: 4000 });
    // healthy from t=10s, crashes at t=50s: it was stable, so the count starts over
    now = 50_000;
    expect(tracker.recordCrash("mv", 10_000)).toEqual({ consecutive: 1, delayMs: 1000 });
  });
});
