import { describe, expect, it } from "vitest";
import { decide, FAL_RETRY_POLICY, isDelivered, retryDelayMs } from "./retry-policy.js";

describe("webhook retries", () => {
  it("back off exponentially from 15 s, capped at 1 h: 10 attempts span about 2 hours, like fal's", () => {
    const nominal = Array.from({ length: 9 }, (_, i) => retryDelayMs(i + 1, FAL_RETRY_POLICY, 0.5));
    expect(nominal).toEqual([15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000]);
    const totalHours = nominal.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(totalHours).toBeGreaterThan(1.9);
    expect(totalHours).toBeLessThan(2.2);
  });

  it("jitter stays within ±20 % and spreads the waits", () => {
    for (const attempt of [1, 5, 12]) {
      const nominal = retryDelayMs(attempt, FAL_RETRY_POLICY, 0.5);
      expect(retryDelayMs(attempt, FAL_RETRY_POLICY, 0)).toBe(Math.round(nominal * 0.8));
      expect(retryDelayMs(attempt, FAL_RETRY_POLICY, 0.999999)).toBeLessThanOrEqual(Math.round(nominal * 1.2));
    }
    const spread = new Set(Array.from({ length: 50 }, (_, i) => retryDelayMs(3, FAL_RETRY_POLICY, i / 50)));
    expect(spread.size).toBeGreaterThan(40);
  });

  it("2xx is delivered; any other answer, or none, is tried again until attempts run out", () => {
    expect([200, 201, 204, 299].every(isDelivered)).toBe(true);
    expect([null, 199, 301, 400, 404, 410, 500, 503].some(isDelivered)).toBe(false);
    expect(decide(1, 204, FAL_RETRY_POLICY, 0.5)).toEqual({ state: "DELIVERED" });
    expect(decide(1, 500, FAL_RETRY_POLICY, 0.5)).toEqual({ state: "PENDING", retryInMs: 15_000 });
    expect(decide(9, null, FAL_RETRY_POLICY, 0.5)).toEqual({ state: "PENDING", retryInMs: 3_600_000 });
    expect(decide(10, 503, FAL_RETRY_POLICY, 0.5)).toEqual({ state: "FAILED" });
    expect(decide(10, 200, FAL_RETRY_POLICY, 0.5)).toEqual({ state: "DELIVERED" });
  });
});
