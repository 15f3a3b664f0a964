import { describe, expect, it } from "vitest";
import { redact } from "./redact.js";

describe("redact", () => {
  it("replaces secrets at any depth and keeps the rest", () => {
    expect(
      redact({
        email: "a@b.c",
        password: "hunter22",
        input: { privateKey: "-----BEGIN", apiKey: "k", nested: [{ token: "t", n: 1 }] },
      }),
    ).toEqual({
      email: "a@b.c",
      password: "[redacted]",
      input: { privateKey: "[redacted]", apiKey: "[redacted]", nested: [{ token: "[redacted]", n: 1 }] },
    });
  });

  it("cuts long strings and long lists", () => {
    const out = redact({ s: "x".repeat(600), list: Array.from({ length: 60 }, (_, i) => i) }) as {
      s: string;
      list: unknown[];
    };
    expect(out.s).toMatch(/^x{500}… \(600 chars\)$/);
    expect(out.list).toHaveLength(51);
    expect(out.list.at(-1)).toBe("… 10 more");
  });
});
