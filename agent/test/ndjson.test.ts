import { describe, expect, it } from "vitest";
import { NdjsonParser, parseRunnerEvent } from "../src/ndjson.js";

const values = (items: ReturnType<NdjsonParser["push"]>) => items.map((i) => (i.kind === "value" ? i.value : i));

describe("NDJSON parser", () => {
  it("parses lines split across chunks anywhere", () => {
    const parser = new NdjsonParser();
    const text =
      '{"type":"log","level":"info","message":"a"}\n{"type":"progress","progress":0.5}\n{"type":"result","output":{}}\n';
    const out: unknown[] = [];
    for (let i = 0; i < text.length; i += 7) out.push(...values(parser.push(text.slice(i, i + 7))));
    out.push(...values(parser.end()));
    expect(out).toEqual([
      { type: "log", level: "info", message: "a" },
      { type: "progress", progress: 0.5 },
      { type: "result", output: {} },
    ]);
  });

  it("keeps a partial line until its newline, and takes a last line without one at the end", () => {
    const parser = new NdjsonParser();
    expect(parser.push('{"a":')).toEqual([]);
    expect(values(parser.push('1}\r\n{"b"'))).toEqual([{ a: 1 }]);
    expect(values(parser.push(":2}"))).toEqual([]);
    expect(values(parser.end())).toEqual([{ b: 2 }]);
  });

  it("decodes UTF-8 characters split between chunks", () => {
    const parser = new NdjsonParser();
    const bytes = Buffer.from('{"m":"héllo 🚀"}\n');
    const cut = bytes.indexOf(0xf0) + 2;
    expect(parser.push(bytes.subarray(0, cut))).toEqual([]);
    expect(values(parser.push(bytes.subarray(cut)))).toEqual([{ m: "héllo 🚀" }]);
  });

  it("skips blank lines and reports lines that are not JSON", () => {
    const parser = new NdjsonParser();
    const items = parser.push('\n  \nnot json\n{"ok":true}\n');
    expect(items[0]).toMatchObject({ kind: "invalid", line: "not json" });
    expect(items[1]).toEqual({ kind: "value", value: { ok: true } });
  });

  it("reports an over-long line once and recovers after it", () => {
    const parser = new NdjsonParser(16);
    expect(parser.push("x".repeat(40))).toEqual([]);
    const items = parser.push('yyy\n{"a":1}\n');
    expect(items[0]).toMatchObject({ kind: "invalid", error: "line too long" });
    expect(items[1]).toEqual({ kind: "value", value: { a: 1 } });
  });
});

describe("runner events", () => {
  it("accepts the four event kinds and heartbeat", () => {
    expect(parseRunnerEvent({ type: "log", level: "warn", message: "m" })).toEqual({
      ok: true,
      event: { type: "log", level: "warn", message: "m" },
    });
    expect(parseRunnerEvent({ type: "progress", progress: 0.25 }).ok).toBe(true);
    expect(parseRunnerEvent({ type: "result", output: { a: 1 } })).toEqual({
      ok: true,
      event: { type: "result", output: { a: 1 } },
    });
    expect(
      parseRunnerEvent({ type: "error", error: "e", error_type: "validation_error", retryable: false }),
    ).toMatchObject({
      ok: true,
      event: { error_type: "validation_error", retryable: false },
    });
    expect(parseRunnerEvent({ type: "heartbeat" })).toEqual({ ok: true, event: { type: "heartbeat" } });
  });

  it("refuses unknown types and malformed events", () => {
    expect(parseRunnerEvent({ type: "telemetry" }).ok).toBe(false);
    expect(parseRunnerEvent({ type: "progress", progress: "half" }).ok).toBe(false);
    expect(parseRunnerEvent({ type: "result" }).ok).toBe(false);
    expect(parseRunnerEvent(null).ok).toBe(false);
  });

  it("defaults a missing retryable to false, as the runner SDK does", () => {
    expect(parseRunnerEvent({ type: "error", error: "e", error_type: "runner_error" })).toMatchObject({
      event: { retryable: false },
    });
  });
});
