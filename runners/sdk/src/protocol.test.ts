import { describe, expect, it } from "vitest";
import {
  findFileUrls,
  formatListeningLine,
  outputFilePath,
  parseListeningLine,
  parseRunnerLine,
  parseRunRequest,
} from "./protocol.js";

describe("parseRunnerLine", () => {
  it("reads each line type and ignores blank lines and unknown types", () => {
    expect(parseRunnerLine('{"type":"log","level":"warn","message":"hot"}')).toEqual({
      type: "log",
      level: "warn",
      message: "hot",
    });
    expect(parseRunnerLine('{"type":"progress","progress":1.5}')).toEqual({ type: "progress", progress: 1 });
    expect(parseRunnerLine('{"type":"result","output":{"a":1}}')).toEqual({ type: "result", output: { a: 1 } });
    expect(parseRunnerLine("   ")).toBeNull();
    expect(parseRunnerLine('{"type":"metrics","gpu_ms":12}')).toBeNull();
  });

  it("keeps an error's detail and defaults what is missing", () => {
    expect(
      parseRunnerLine(
        '{"type":"error","error":"bad","error_type":"validation_error","detail":[{"loc":["body","x"],"msg":"m","type":"t"},{"nope":1}]}',
      ),
    ).toEqual({
      type: "error",
      error: "bad",
      error_type: "validation_error",
      retryable: false,
      detail: [{ loc: ["body", "x"], msg: "m", type: "t" }],
    });
    expect(parseRunnerLine('{"type":"error"}')).toEqual({
      type: "error",
      error: "runner error",
      error_type: "runner_error",
      retryable: false,
    });
  });

  it("throws on lines that break the contract", () => {
    expect(() => parseRunnerLine("{not json")).toThrow();
    expect(() => parseRunnerLine("[1,2]")).toThrow(/type/);
    expect(() => parseRunnerLine('{"type":"result","output":"text"}')).toThrow(/output/);
    expect(() => parseRunnerLine('{"type":"progress"}')).toThrow(/progress/);
  });
});

describe("parseRunRequest", () => {
  it("fills a missing route with null", () => {
    expect(parseRunRequest({ request_id: "r", input: {}, output_dir: "/out" })).toEqual({
      ok: true,
      value: { request_id: "r", input: {}, route: null, output_dir: "/out" },
    });
  });
});

describe("listening line", () => {
  it("round-trips host and port, and rejects other lines", () => {
    expect(parseListeningLine(formatListeningLine("0.0.0.0", 8080))).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(parseListeningLine("vyvo-runner listening on 127.0.0.1:")).toBeNull();
    expect(parseListeningLine("Loading weights... listening on 127.0.0.1:80")).toBeNull();
  });
});

describe("output files", () => {
  it("accepts only file:// URLs inside the output folder", () => {
    expect(outputFilePath("file:///work/out/r1/a.png", "/work/out/r1")).toBe("/work/out/r1/a.png");
    expect(outputFilePath("file:///work/out/r1/sub/a.png", "/work/out/r1/")).toBe("/work/out/r1/sub/a.png");
    expect(outputFilePath("file:///work/out/r1/../r2/a.png", "/work/out/r1")).toBeNull();
    expect(outputFilePath("file:///work/out/r10/a.png", "/work/out/r1")).toBeNull();
    expect(outputFilePath("file:///etc/passwd", "/work/out/r1")).toBeNull();
    expect(outputFilePath("file:///work/out/r1", "/work/out/r1")).toBeNull();
    expect(outputFilePath("https://cdn.example/a.png", "/work/out/r1")).toBeNull();
  });

  it("finds every file:// string in an output with its JSON path", () => {
    const output = { images: [{ url: "file:///o/a.png" }, { url: "https://x/b.png" }], mask: "file:///o/m.png", n: 3 };
    expect(findFileUrls(output)).toEqual([
      { pointer: ["images", 0, "url"], url: "file:///o/a.png" },
      { pointer: ["mask"], url: "file:///o/m.png" },
    ]);
  });
});
