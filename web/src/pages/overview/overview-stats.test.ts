import { describe, expect, it } from "vitest";
import { failuresByCause, finishedPerMinute, windowStart } from "./overview-stats";

const at = (iso: string) => Date.parse(iso);

describe("overview aggregations", () => {
  it("counts finished jobs per minute, current minute last, ignoring unfinished and older ones", () => {
    const now = at("2030-01-01T12:09:30Z");
    const buckets = finishedPerMinute(
      [
        { status: "SUCCEEDED", createdAt: "", finishedAt: "2030-01-01T12:09:01Z" },
        { status: "FAILED", createdAt: "", finishedAt: "2030-01-01T12:09:59Z" },
        { status: "SUCCEEDED", createdAt: "", finishedAt: "2030-01-01T12:00:00Z" },
        { status: "SUCCEEDED", createdAt: "", finishedAt: "2030-01-01T11:59:59Z" },
        { status: "RUNNING", createdAt: "" },
      ],
      now,
    );
    expect(buckets).toHaveLength(10);
    expect(buckets[0]).toEqual({ minute: at("2030-01-01T12:00:00Z"), count: 1 });
    expect(buckets[9]).toEqual({ minute: at("2030-01-01T12:09:00Z"), count: 2 });
    expect(buckets.reduce((sum, b) => sum + b.count, 0)).toBe(3);
  });

  it("groups failures by cause, most frequent first", () => {
    expect(
      failuresByCause([
        { status: "FAILED", createdAt: "", cause: "runner crashed" },
        { status: "FAILED", createdAt: "", cause: "agent lost" },
        { status: "FAILED", createdAt: "", cause: "runner crashed" },
        { status: "TIMED_OUT", createdAt: "", cause: null },
        { status: "SUCCEEDED", createdAt: "", cause: "whatever" },
      ]),
    ).toEqual([
      { cause: "runner crashed", count: 2 },
      { cause: "agent lost", count: 1 },
      { cause: "timed out", count: 1 },
    ]);
  });

  it("rounds the window start down to the minute", () => {
    expect(windowStart(at("2030-01-01T12:09:30Z"), 10)).toBe("2030-01-01T12:00:00.000Z");
  });
});
