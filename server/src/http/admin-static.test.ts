import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdminStatic } from "./admin-static.js";
import { createHttpServer } from "./http-server.js";

const INDEX = "<!doctype html><title>admin</title>";

describe("the admin console at /", () => {
  let dir: string;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vyvo-admin-"));
    await mkdir(join(dir, "dist", "assets"), { recursive: true });
    await writeFile(join(dir, "dist", "index.html"), INDEX);
    await writeFile(join(dir, "dist", "assets", "app-1234.js"), "console.log(1)");
    await writeFile(join(dir, "secret.txt"), "outside the root");
    // The GraphQL stand-in answers whatever the admin does not.
    const graphql = (_req: unknown, res: import("node:http").ServerResponse) => void res.writeHead(299).end("graphql");
    server = createHttpServer(
      graphql,
      { ready: async () => undefined },
      { admin: createAdminStatic({ root: join(dir, "dist") }) },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("serves index.html at / and for client-side routes, with a content security policy and no caching", async () => {
    for (const path of ["/", "/jobs/abc", "/settings/keys?x=1", "/index.html"]) {
      const response = await fetch(base + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(await response.text()).toBe(INDEX);
    }
  });

  it("serves hashed assets for good, and a missing asset is a 404, not the page", async () => {
    const asset = await fetch(`${base}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(await asset.text()).toBe("console.log(1)");
    expect((await fetch(`${base}/assets/gone-0000.js`)).status).toBe(404);
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(404);
  });

  it("answers HEAD without a body", async () => {
    const response = await fetch(`${base}/jobs`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(String(INDEX.length));
  });

  it("never leaves its folder", async () => {
    for (const path of ["/%2e%2e/secret.txt", "/..%2fsecret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"]) {
      const response = await fetch(base + path);
      expect(await response.text(), path).not.toContain("outside the root");
    }
    expect((await fetch(`${base}/%E0%A4%A`)).status).toBe(400);
  });

  it("never shadows the API paths, whether or not their routes are configured", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
    for (const path of ["/graphql", "/fal/queue/x", "/artifacts/x", "/.well-known/jwks.json"]) {
      const response = await fetch(base + path);
      expect(response.status, path).toBe(299);
    }
    // Other methods are API calls too.
    expect(
      (await fetch(`${base}/`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status,
    ).toBe(299);
  });

  it("says how to build the admin when it is missing", async () => {
    const bare = createHttpServer(
      () => undefined,
      { ready: async () => undefined },
      { admin: createAdminStatic({ root: join(dir, "nothing") }) },
    );
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/jobs`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain("npm run build");
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });
});
