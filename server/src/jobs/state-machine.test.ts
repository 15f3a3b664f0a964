import { describe, expect, it } from "vitest";
import { isTerminal, JOB_STATUSES, JOB_TRIGGERS, nextStatus, sourcesOf, targetOf } from "./state-machine.js";

// The whole table, written out independently of the implementation: [from, trigger, to|null].
const EXPECTED: Record<string, string | null> = {};
const allow = (from: string, trigger: string, to: string) => {
  EXPECTED[`${from}/${trigger}`] = to;
};
allow("QUEUED", "assign", "ASSIGNED");
allow("QUEUED", "cancel", "CANCELLED");
allow("QUEUED", "timeout", "TIMED_OUT");
for (const from of ["ASSIGNED", "RUNNING"]) {
  allow(from, "succeed", "SUCCEEDED");
  allow(from, "fail", "FAILED");
  allow(from, "retry", "RETRY_WAIT");
  allow(from, "cancel", "CANCELLED");
  allow(from, "timeout", "TIMED_OUT");
}
allow("ASSIGNED", "start", "RUNNING");
allow("RETRY_WAIT", "requeue", "QUEUED");
allow("RETRY_WAIT", "assign", "ASSIGNED");
allow("RETRY_WAIT", "cancel", "CANCELLED");
allow("RETRY_WAIT", "timeout", "TIMED_OUT");
for (const from of ["FAILED", "CANCELLED", "TIMED_OUT"]) allow(from, "resubmit", "QUEUED");

describe("job state machine", () => {
  for (const from of JOB_STATUSES) {
    for (const trigger of JOB_TRIGGERS) {
      const expected = EXPECTED[`${from}/${trigger}`] ?? null;
      it(`${from} --${trigger}--> ${expected ?? "refused"}`, () => {
        expect(nextStatus(from, trigger)).toBe(expected);
      });
    }
  }

  it("SUCCEEDED is final: no trigger leaves it", () => {
    for (const trigger of JOB_TRIGGERS) expect(nextStatus("SUCCEEDED", trigger)).toBeNull();
  });

  it("terminal statuses are exactly the four outcomes", () => {
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]);
  });

  it("sourcesOf lists the guard of each trigger", () => {
    expect(sourcesOf("start")).toEqual(["ASSIGNED"]);
    expect(sourcesOf("cancel")).toEqual(["QUEUED", "ASSIGNED", "RUNNING", "RETRY_WAIT"]);
    expect(sourcesOf("assign")).toEqual(["QUEUED", "RETRY_WAIT"]);
  });

  it("every trigger leads to exactly one status", () => {
    expect(Object.fromEntries(JOB_TRIGGERS.map((t) => [t, targetOf(t)]))).toEqual({
      assign: "ASSIGNED",
      start: "RUNNING",
      succeed: "SUCCEEDED",
      fail: "FAILED",
      retry: "RETRY_WAIT",
      requeue: "QUEUED",
      cancel: "CANCELLED",
      timeout: "TIMED_OUT",
      resubmit: "QUEUED",
    });
  });
});
