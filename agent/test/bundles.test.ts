import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BundleCache, safeName } from "../src/bundles.js";
import { silentLogger } from "../src/log.js";
import type { RunnerSpec } from "../src/protocol.js";
import { RunnerManager } from "../src/runner-manager.js";
import { TINY_RUNNER } from "./helpers/runners.js";

let root: string;
let server: http.Server;
let baseUrl: string;
let archive: Buffer;
const requests: { url: string | undefined; authorization: string | undefined }[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vyvo-bundles-"));
  const src = path.join(root, "src");
  await mkdir(path.join(src, "bin"), { recursive: true });
  await copyFile(TINY_RUNNER, path.join(src, "bin", "runner.mjs"));
  await promisify(execFile)("tar", ["-czf", path.join(root, "bundle.tgz"), "-C", src, "."]);
  archive = await readFile(path.join(root, "bundle.tgz"));
  requests.length = 0;
  server = http.createServer((req, res) => {
    requests.push({ url: req.url, authorization: req.headers.authorization });
    if (req.url?.startsWith("/bundles/good.tgz")) res.writeHead(200).end(archive);
    else res.writeHead(404).end("no such bundle");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

function cache(workDir: string, serverUrl = baseUrl) {
  return new BundleCache({
    dir: path.join(workDir, "bundles"),
    serverUrl,
    authToken: () => "node-token",
    log: silentLogger,
  });
}

describe("runner bundles", () => {
  it("fetches a .tgz once per model version, unpacks it with tar, and reuses it after a restart", async () => {
    const workDir = path.join(root, "work");
    const first = cache(workDir);
    const [a, b] = await Promise.all([
      first.ensure("mv-1", "/bundles/good.tgz?sig=1"),
      first.ensure("mv-1", "/bundles/good.tgz?sig=2"),
    ]);
    expect(a).toBe(path.join(workDir, "bundles", "mv-1"));
    expect(b).toBe(a);
    expect(await readFile(path.join(a, "bin", "runner.mjs"), "utf8")).toContain("tiny runner");
    expect(requests).toHaveLength(1);
    // relative URLs are the server's: the node token goes with them
    expect(requests[0]?.authorization).toBe("Bearer node-token");
    expect(await cache(workDir).ensure("mv-1", "/bundles/good.tgz?sig=3")).toBe(a);
    expect(requests).toHaveLength(1);
  });

  it("never sends the node token to another origin", async () => {
    await cache(path.join(root, "work"), "https://vyvo.example.com").ensure("mv-2", `${baseUrl}/bundles/good.tgz`);
    expect(requests[0]?.authorization).toBeUndefined();
  });

  it("runs a process runner from its bundle folder", async () => {
    const workDir = path.join(root, "work");
    const manager = new RunnerManager({
      workDir,
      log: silentLogger,
      bundles: cache(workDir),
      startupTimeoutMs: 5_000,
      idleTimeoutMs: 0,
      maxRunners: 2,
      stopGraceMs: 500,
      containerEngine: "docker",
      crashLoop: { baseMs: 1_000, maxMs: 2_000, stableAfterMs: 60_000 },
    });
    const spec: RunnerSpec = {
      kind: "process",
      command: process.execPath,
      args: ["bin/runner.mjs"],
      env: {},
      cwd: null,
      artifactUrl: `${baseUrl}/bundles/good.tgz`,
    };
    try {
      const runner = await manager.acquire({ modelId: "acme/tiny", modelVersionId: "mv-3", spec });
      expect(runner.alive).toBe(true);
      const missing = { ...spec, artifactUrl: `${baseUrl}/bundles/missing.tgz` };
      await expect(
        manager.acquire({ modelId: "acme/tiny", modelVersionId: "mv-4", spec: missing }),
      ).rejects.toMatchObject({
        failureCause: "artifact fetch failed",
        retryable: true,
      });
    } finally {
      await manager.stopAll(200);
    }
  });

  it("names cache folders safely", () => {
    expect(safeName("mv_1.2-a")).toBe("mv_1.2-a");
    expect(safeName("../../etc")).toMatch(/^\.\._\.\._etc-[0-9a-f]+$/);
    expect(safeName("..")).toMatch(/^\.\.-[0-9a-f]+$/);
    expect(safeName("a/b")).not.toBe(safeName("a_b"));
  });
});
