import { describe, expect, it } from "vitest";
import { BadRequestError, credentialOf, LOW_PRIORITY, parseLogsFlag, parseSubmitOptions } from "./request-options.js";

const none = new URLSearchParams();

describe("logs flag", () => {
  it.each([
    ["1", true],
    ["0", false],
    ["true", true],
    ["false", false],
    ["True", true],
    ["False", false],
    ["yes", true],
    ["", false],
  ])("logs=%s → %s (JS, Python and fal's server SDK spellings)", (value, expected) => {
    expect(parseLogsFlag(value)).toBe(expected);
  });

  it("absent means no logs", () => {
    expect(parseLogsFlag(null)).toBe(false);
  });
});

describe("submit headers", () => {
  it("nothing set: nothing changes", () => {
    expect(parseSubmitOptions({}, none)).toEqual({});
  });

  it("x-fal-queue-priority: normal is the default, low runs after it", () => {
    expect(parseSubmitOptions({ "x-fal-queue-priority": "normal" }, none)).toEqual({});
    expect(parseSubmitOptions({ "x-fal-queue-priority": "low" }, none)).toEqual({ priority: LOW_PRIORITY });
    expect(() => parseSubmitOptions({ "x-fal-queue-priority": "urgent" }, none)).toThrow(BadRequestError);
  });

  it("x-fal-request-timeout is a start deadline in seconds", () => {
    expect(parseSubmitOptions({ "x-fal-request-timeout": "30" }, none)).toEqual({ startTimeoutMs: 30_000 });
    expect(parseSubmitOptions({ "x-fal-request-timeout": "2.5" }, none)).toEqual({ startTimeoutMs: 2_500 });
    for (const bad of ["0", "0.1", "-3", "soon"]) {
      expect(() => parseSubmitOptions({ "x-fal-request-timeout": bad }, none)).toThrow(/x-fal-request-timeout/);
    }
  });

  it("x-fal-no-retry takes 1, true or yes", () => {
    for (const yes of ["1", "true", "YES"])
      expect(parseSubmitOptions({ "x-fal-no-retry": yes }, none)).toEqual({ retry: false });
    for (const no of ["0", "false", "no"]) expect(parseSubmitOptions({ "x-fal-no-retry": no }, none)).toEqual({});
    expect(() => parseSubmitOptions({ "x-fal-no-retry": "maybe" }, none)).toThrow(/x-fal-no-retry/);
  });

  it("runner hint and idempotency key are read; header arrays take their first value", () => {
    expect(parseSubmitOptions({ "x-fal-runner-hint": "gpu-a", "idempotency-key": ["k1", "k2"] }, none)).toEqual({
      runnerHint: "gpu-a",
      idempotencyKey: "k1",
    });
  });

  it("fal_webhook must be an http(s) URL; fal_max_queue_length a whole number", () => {
    const query = new URLSearchParams({ fal_webhook: "https://example.com/hook?x=1", fal_max_queue_length: "5" });
    expect(parseSubmitOptions({}, query)).toEqual({ webhookUrl: "https://example.com/hook?x=1", maxQueueLength: 5 });
    expect(() => parseSubmitOptions({}, new URLSearchParams({ fal_webhook: "ftp://x" }))).toThrow(/http/);
    expect(() => parseSubmitOptions({}, new URLSearchParams({ fal_webhook: "not a url" }))).toThrow(/not a URL/);
    expect(() => parseSubmitOptions({}, new URLSearchParams({ fal_max_queue_length: "-1" }))).toThrow(
      /fal_max_queue_length/,
    );
  });
});

describe("credentials", () => {
  it("reads fal's Key scheme and Bearer", () => {
    expect(credentialOf("Key abc:def")).toEqual({ scheme: "key", secret: "abc:def" });
    expect(credentialOf("bearer tok")).toEqual({ scheme: "bearer", secret: "tok" });
    expect(credentialOf("Basic x")).toBeNull();
    expect(credentialOf(undefined)).toBeNull();
  });
});
