// Runs vyvo/image-tools as the agent would: a child process started with PORT=0, whose port is
// read from its "vyvo-runner listening on HOST:PORT" line, driven over HTTP.
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelRun, collectRun, getHealth, RunnerHttpError, streamRun } from "../../sdk/src/client.js";
import type { FinalLine, RunnerLine, RunRequest } from "../../sdk/src/protocol.js";
import { type RunnerProcess, spawnRunner } from "../../sdk/src/runner-process.js";
import { createImage, pixelAt, type RgbaImage } from "./image-ops.js";
import { decodePng, encodePng } from "./png-codec.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

function startImageTools(): Promise<RunnerProcess> {
  return spawnRunner({ command: process.execPath, args: ["--import", "tsx", MAIN], cwd: REPO_ROOT });
}

function flat(width: number, height: number, rgba: [number, number, number, number]): RgbaImage {
  const image = createImage(width, height);
  for (let i = 0; i < image.data.length; i += 4) image.data.set(rgba, i);
  return image;
}

function dataUri(image: RgbaImage): string {
  return `data:image/png;base64,${encodePng(image).toString("base64")}`;
}

/** A blur that takes far longer than any test waits: sigma 50 over 2400×2400 is ~1.4e10 multiply-adds, ~12 s on an idle core. */
let slowBlurInput: Record<string, unknown> = {};

/** The slow-blur tests decode a large image first, which takes a while on a loaded CI machine. */
const HEAVY_TEST_TIMEOUT_MS = 60_000;

let runner: RunnerProcess;
let outputRoot = "";
let requestCount = 0;

function request(input: Record<string, unknown>): RunRequest {
  requestCount++;
  const requestId = `req-${requestCount}`;
  return { request_id: requestId, input, route: null, output_dir: path.join(outputRoot, requestId) };
}

interface ProducedImage {
  url: string;
  width: number;
  height: number;
  content_type: string;
  file_name: string;
  file_size: number;
}

async function runAndDecode(input: Record<string, unknown>) {
  const body = request(input);
  const { lines, final } = await collectRun(runner.baseUrl, body);
  if (final.type !== "result") throw new Error(`run failed: ${JSON.stringify(final)}`);
  const [produced] = (final.output as { images: ProducedImage[] }).images;
  if (!produced) throw new Error("no image in the result");
  const filePath = fileURLToPath(produced.url);
  const bytes = await readFile(filePath);
  return { body, lines, produced, filePath, bytes, image: decodePng(bytes) };
}

function messages(lines: RunnerLine[]): string[] {
  return lines.flatMap((line) => (line.type === "log" ? [line.message] : []));
}

async function runnerIsIdle(): Promise<boolean> {
  const health = await getHealth(runner.baseUrl);
  return health.status === 200 && (health.body as { running: number }).running === 0;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - startedAt;
}

/** Starts the slow blur and returns once the blur itself is under way. */
async function startSlowBlur(signal?: AbortSignal) {
  const body = request(slowBlurInput);
  const stream = streamRun(runner.baseUrl, body, { signal });
  for (;;) {
    const next = await stream.next();
    if (next.done) throw new Error(`slow blur ended early: ${JSON.stringify(next.value)}`);
    if (next.value.type === "progress" && next.value.message?.startsWith("blur ")) return { body, stream };
  }
}

async function finalOf(stream: AsyncGenerator<RunnerLine, FinalLine>): Promise<FinalLine> {
  for (;;) {
    const next = await stream.next();
    if (next.done) return next.value;
  }
}

beforeAll(async () => {
  outputRoot = await mkdtemp(path.join(tmpdir(), "vyvo-image-tools-"));
  slowBlurInput = { operation: "blur", sigma: 50, image_url: dataUri(flat(2400, 2400, [90, 120, 150, 255])) };
  runner = await startImageTools();
});

afterAll(async () => {
  const ended = await runner?.stop();
  await rm(outputRoot, { recursive: true, force: true });
  expect(ended).toEqual({ code: 0, signal: null }); // SIGTERM is a clean shutdown
});

describe("vyvo/image-tools as a process", () => {
  it("announces its port and reports healthy with one run at a time", async () => {
    expect(runner.output()).toMatch(/^vyvo-runner listening on 127\.0\.0\.1:\d+$/m);
    expect(await getHealth(runner.baseUrl)).toEqual({
      status: 200,
      body: { status: "ok", max_concurrency: 1, running: 0 },
    });
  });

  it("resizes the test pattern to the requested size and says what it did", async () => {
    const { body, lines, produced, filePath, bytes, image } = await runAndDecode({
      operation: "resize",
      width: 300,
      height: 200,
    });
    expect([image.width, image.height]).toEqual([300, 200]);
    expect(produced).toMatchObject({ width: 300, height: 200, content_type: "image/png", file_name: "resize.png" });
    expect(produced.file_size).toBe(bytes.length);
    expect(path.dirname(filePath)).toBe(body.output_dir);
    expect(pixelAt(image, 0, 0)).toEqual([255, 255, 255, 255]); // white bar
    expect(pixelAt(image, 299, 0)).toEqual([0, 0, 0, 255]); // black bar
    expect(pixelAt(image, 299, 199)).toEqual([255, 255, 255, 255]); // white end of the ramp
    const log = messages(lines);
    expect(log).toContain("no image_url: drew a 512×512 test pattern");
    expect(log).toContain("resized 512×512 to 300×200");
    expect(log).toContain(`encoded ${bytes.length} bytes of PNG as resize.png`);
    const progress = lines.flatMap((line) => (line.type === "progress" ? [line.progress] : []));
    expect(progress.every((value, i) => i === 0 || value >= (progress[i - 1] ?? 0))).toBe(true);
    expect(progress.at(-1)).toBe(1);
  });

  it("turns the red bar into luma 76 with grayscale", async () => {
    const { image, produced } = await runAndDecode({ operation: "grayscale" });
    expect([produced.width, produced.height]).toEqual([512, 512]);
    expect(pixelAt(image, 5 * 64 + 32, 100)).toEqual([76, 76, 76, 255]);
  });

  it("blurs: sharp bar edges become a gradient, flat areas keep their colour", async () => {
    const { image } = await runAndDecode({ operation: "blur", sigma: 4 });
    expect([image.width, image.height]).toEqual([512, 512]);
    expect(pixelAt(image, 5 * 64 + 32, 100)).toEqual([255, 0, 0, 255]); // middle of the red bar
    const [red, , blue] = pixelAt(image, 6 * 64, 100); // first column of the blue bar, next to red
    expect(red).toBeGreaterThan(60);
    expect(red).toBeLessThan(200);
    expect(blue).toBeGreaterThan(60);
  });

  it("makes a 128×128 thumbnail by default, and fits a given box keeping the aspect ratio", async () => {
    expect((await runAndDecode({ operation: "thumbnail" })).image.width).toBe(128);
    const { image } = await runAndDecode({
      operation: "thumbnail",
      image_url: dataUri(flat(400, 100, [1, 2, 3, 255])),
      width: 50,
      height: 50,
    });
    expect([image.width, image.height]).toEqual([50, 13]);
    expect(pixelAt(image, 25, 6)).toEqual([1, 2, 3, 255]);
  });

  it("reads a PNG from a data: URI and keeps its transparency", async () => {
    const source = flat(4, 2, [200, 100, 50, 128]);
    const { image, lines } = await runAndDecode({ operation: "grayscale", image_url: dataUri(source) });
    expect(pixelAt(image, 3, 1)).toEqual([124, 124, 124, 128]); // 59.8 + 58.7 + 5.7
    expect(messages(lines)).toContain("decoded 4×2 PNG");
  });

  it("downloads a PNG over http, and fails with a validation_error when the URL answers 404", async () => {
    const png = encodePng(flat(6, 3, [0, 0, 255, 255]));
    const server = http.createServer((req, res) => {
      if (req.url === "/blue.png") res.writeHead(200, { "content-type": "image/png" }).end(png);
      else res.writeHead(404).end("missing");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const { image, lines } = await runAndDecode({
        operation: "resize",
        width: 12,
        height: 6,
        image_url: `${base}/blue.png`,
      });
      expect([image.width, image.height]).toEqual([12, 6]);
      expect(pixelAt(image, 11, 5)).toEqual([0, 0, 255, 255]);
      expect(messages(lines)).toContain(`fetched ${png.length} bytes from ${new URL(base).host}`);
      const { final } = await collectRun(
        runner.baseUrl,
        request({ operation: "grayscale", image_url: `${base}/nope.png` }),
      );
      expect(final).toMatchObject({
        type: "error",
        error_type: "validation_error",
        retryable: false,
        detail: [
          { loc: ["body", "image_url"], msg: "Failed to download image_url: HTTP 404", type: "file_download_error" },
        ],
      });
    } finally {
      server.close();
    }
  });

  it("fails with a validation_error when image_url is not a PNG", async () => {
    const { final } = await collectRun(
      runner.baseUrl,
      request({ operation: "grayscale", image_url: "data:text/plain,hello" }),
    );
    expect(final).toMatchObject({
      error_type: "validation_error",
      detail: [{ loc: ["body", "image_url"], msg: "The file is not a PNG image", type: "image_load_error" }],
    });
  });

  it("rejects invalid input with a fal-style detail array and writes nothing", async () => {
    const body = request({ operation: "resize", width: 5000, sigma: -1 });
    const { lines, final } = await collectRun(runner.baseUrl, body);
    expect(lines).toEqual([final]);
    expect(final).toEqual({
      type: "error",
      error: expect.stringContaining("body.width"),
      error_type: "validation_error",
      retryable: false,
      detail: [
        {
          loc: ["body", "width"],
          msg: "Input should be less than or equal to 4096",
          type: "less_than_equal",
          ctx: { le: 4096 },
        },
        { loc: ["body", "height"], msg: "Field required for resize", type: "missing" },
        { loc: ["body", "sigma"], msg: "Input should be greater than 0", type: "greater_than", ctx: { gt: 0 } },
      ],
    });
    await expect(stat(body.output_dir)).rejects.toThrow(/ENOENT/);
  });

  it(
    "stops a long blur when the request is closed, and is free again within seconds",
    async () => {
      const controller = new AbortController();
      const { body } = await startSlowBlur(controller.signal);
      expect(await runnerIsIdle()).toBe(false);
      controller.abort();
      // stderr arrives through a pipe, so wait for the line rather than expect it the moment the slot is free.
      const aborted = `run ${body.request_id} aborted (cancelled: client closed the request)`;
      await waitUntil(async () => runner.output().includes(aborted), 5_000);
      expect(await runnerIsIdle()).toBe(true);
      expect(await readdir(body.output_dir)).toEqual([]); // no PNG was written
    },
    HEAVY_TEST_TIMEOUT_MS,
  );

  it(
    "answers 429 to a second run while busy, and stops the first on POST /cancel",
    async () => {
      const { body, stream } = await startSlowBlur();
      const refused = await collectRun(runner.baseUrl, request({ operation: "grayscale" })).catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(RunnerHttpError);
      expect((refused as RunnerHttpError).status).toBe(429);
      expect(await cancelRun(runner.baseUrl, body.request_id)).toEqual({ status: 200, body: { cancelled: true } });
      const final = await Promise.race([finalOf(stream), sleep(5_000).then(() => "still running")]);
      expect(final).toEqual({
        type: "error",
        error: "cancelled: cancel requested",
        error_type: "cancelled",
        retryable: false,
      });
      await waitUntil(runnerIsIdle, 2_000);
    },
    HEAVY_TEST_TIMEOUT_MS,
  );
});

describe("vyvo/image-tools on SIGTERM", () => {
  it(
    "ends the run in flight with a retryable runner_shutdown and exits 0",
    async () => {
      const other = await startImageTools();
      try {
        const body = request(slowBlurInput);
        const stream = streamRun(other.baseUrl, body);
        for (let next = await stream.next(); !next.done; next = await stream.next()) {
          if (next.value.type === "progress" && next.value.message?.startsWith("blur ")) break;
        }
        const ended = other.stop(10_000);
        expect(await finalOf(stream)).toEqual({
          type: "error",
          error: "runner is shutting down",
          error_type: "runner_shutdown",
          retryable: true,
        });
        expect(await ended).toEqual({ code: 0, signal: null });
      } finally {
        other.child.kill("SIGKILL");
      }
    },
    HEAVY_TEST_TIMEOUT_MS,
  );
});
