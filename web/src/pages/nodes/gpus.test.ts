import { describe, expect, it } from "vitest";
import { labelPairs, labelsText, meanUtilization, parseLabels } from "./gpus";

describe("node helpers", () => {
  it("averages the GPUs that report utilisation", () => {
    expect(meanUtilization([{ utilizationPct: 81 }, { utilizationPct: 3 }, { utilizationPct: null }])).toBe(42);
    expect(meanUtilization([{}])).toBeNull();
  });

  it("reads and writes labels as key=value", () => {
    expect(parseLabels("zone=eu\n gpu = h100 ,tier=gold")).toEqual({
      labels: { zone: "eu", gpu: "h100", tier: "gold" },
    });
    expect(parseLabels("zone")).toEqual({ error: '"zone" is not key=value' });
    expect(labelPairs({ zone: "eu", n: 2 })).toEqual([
      ["zone", "eu"],
      ["n", "2"],
    ]);
    expect(labelsText({ zone: "eu", tier: "gold" })).toBe("zone=eu\ntier=gold");
    expect(labelPairs(null)).toEqual([]);
  });
});
