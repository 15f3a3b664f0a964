import { describe, expect, it } from "vitest";
import { percentile, perSecond, round, summarize } from "./stats.js";

describe("percentile", () => {
  it("interpolates between the closest ranks", () => {
    const sorted = [1, 2, 3, 4];
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 50)).toBe(2.5);
    expect(percentile(sorted, 100)).toBe(4);
    expect(percentile([10, 20, 30, 40, 50], 25)).toBe(20);
  });

  it("is the value itself for one value and NaN for none", () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("p99 of 1..100 sits between the two largest values", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 99)).toBeCloseTo(99.01, 5);
  });

  it("refuses a percentile outside 0..100", () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("summarize", () => {
  it("sorts a copy and reports the usual figures", () => {
    const values = [5, 1, 3, 2, 4];
    expect(summarize(values)).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p90: 4.6, p99: 4.96, max: 5 });
    expect(values).toEqual([5, 1, 3, 2, 4]);
  });

  it("an empty sample has a count of zero and no figures", () => {
    const summary = summarize([]);
    expect(summary.count).toBe(0);
    expect(summary.p50).toBeNaN();
  });
});

describe("round and perSecond", () => {
  it("keeps more decimals for small numbers", () => {
    expect(round(1.23456)).toBe(1.235);
    expect(round(123.456)).toBe(123.5);
    expect(round(12345.6)).toBe(12346);
  });

  it("turns a count over milliseconds into a rate", () => {
    expect(perSecond(500, 250)).toBe(2000);
    expect(perSecond(1, 0)).toBeNaN();
  });
});
