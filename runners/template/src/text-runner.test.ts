// How to test a runner: the model logic directly, and the whole runner in-process with
// startRunner on port 0 (see runners/image-tools for driving it as a child process).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelRun, collectRun } from "../../sdk/src/client.js";
import type { RunRequest } from "../../sdk/src/protocol.js";
import { type RunningRunner, startRunner } from "../../sdk/src/runner.js";
import { textRunner, transformText } from "./text-runner.js";

describe("transformText", () => {
  it("applies each transform", () => {
    expect(transformText("Héllo wörld", "upper")).toBe("HÉLLO WÖRLD");
    expect(transformText("Héllo WÖRLD", "lower")).toBe("héllo wörld");
    expect(transformText("ab😀c", "reverse")).toBe("c😀ba"); // the emoji's surrogate pair stays whole
    expect(transformText("the éLAN of  vyvo", "title")).toBe("The Élan Of  Vyvo");
  });
});

describe("the template runner", () => {
  let runner: RunningRunner;
  let baseUrl = "";
  let outputRoot = "";

  beforeAll(async () => {
    outputRoot = await mkdtemp(path.join(tmpdir(), "vyvo-template-"));
    runner = await startRunner(textRunner, { port: 0, host: "127.0.0.1", diagnostics: () => {} });
    await runner.ready;
    baseUrl = `http://127.0.0.1:${runner.port}`;
  });

  afterAll(async () => {
    await runner.shutdown();
    await rm(outputRoot, { recursive: true, force: true });
  });

  const request = (id: string, input: Record<string, unknown>): RunRequest => ({
    request_id: id,
    input,
    route: null,
    output_dir: path.join(outputRoot, id),
  });

  it("returns the text, writes it to a file, and reports ten steps of progress", async () => {
    const { lines, final } = await collectRun(baseUrl, request("ok", { text: "stressed", transform: "reverse" }));
    if (final.type !== "result") throw new Error(`run failed: ${JSON.stringify(final)}`);
    const output = final.output as { text: string; length: number; file: { url: string; file_size: number } };
    expect(output.text).toBe("desserts");
    expect(output.length).toBe(8);
    expect(await readFile(fileURLToPath(output.file.url), "utf8")).toBe("desserts");
    expect(output.file.file_size).toBe(8);
    expect(lines.filter((line) => line.type === "progress")).toHaveLength(10);
    expect(lines[0]).toEqual({ type: "log", level: "info", message: "received 8 characters to reverse" });
  });

  it("rejects bad input with a detail array", async () => {
    const { final } = await collectRun(baseUrl, request("bad", { transform: "shout", extra: 1 }));
    expect(final).toMatchObject({ type: "error", error_type: "validation_error", retryable: false });
    expect((final as { detail: { loc: string[] }[] }).detail.map((issue) => issue.loc[1])).toEqual([
      "extra",
      "text",
      "transform",
    ]);
  });

  it("stops waiting at once when cancelled", async () => {
    const startedAt = Date.now();
    const run = collectRun(baseUrl, request("slow", { text: "x", delay_ms: 30_000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await cancelRun(baseUrl, "slow")).status).toBe(200);
    expect((await run).final).toMatchObject({ type: "error", error_type: "cancelled" });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});
