import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createArtifactRoutes } from "../http/artifact-routes.js";
import { createHttpServer } from "../http/http-server.js";
import { artifactStoreContract, readAll } from "./artifact-store-contract.js";
import { LocalArtifactStore } from "./local-artifact-store.js";
import { loadSigningSecret, SIGNING_SECRET_FILE, sign } from "./signing.js";

/** A store in a temp folder, served by the real HTTP server module with the real artifact route. */
async function serveLocalStore(opts: { maxBytes?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "vyvo-local-store-"));
  const root = join(dir, "artifacts");
  const secret = await loadSigningSecret(undefined, dir);
  let baseUrl = "";
  const make = (now: () => number) =>
    new LocalArtifactStore({ root, secret, baseUrl: () => baseUrl, maxBytes: opts.maxBytes ?? 64 * 1024 * 1024, now });
  const store = make(Date.now);
  const errors: unknown[] = [];
  const server: Server = createHttpServer(
    (_req, res) => res.writeHead(404).end(),
    { ready: async () => undefined },
    { artifacts: createArtifactRoutes({ local: store, downloads: null, onError: (error) => errors.push(error) }) },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dir,
    root,
    secret,
    store,
    pastStore: make(() => Date.now() - 2 * 3_600_000),
    baseUrl: () => baseUrl,
    errors,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Served = Awaited<ReturnType<typeof serveLocalStore>>;

/** A request with the path exactly as written: fetch would normalise "..", so this uses node:http. */
function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

artifactStoreContract("local folder", async () => {
  const served = await serveLocalStore();
  return { store: served.store, pastStore: served.pastStore, checksSignatures: true, close: served.close };
});

describe("local artifact store", () => {
  let served: Served;

  beforeAll(async () => {
    served = await serveLocalStore({ maxBytes: 1024 * 1024 });
  });
  afterAll(() => served?.close());

  it("keeps files under the root, named by their key, and removes emptied folders on delete", async () => {
    await served.store.put("jobs/j1/a1/out.txt", Buffer.from("hello"), { contentType: "text/plain" });
    expect((await stat(join(served.root, "jobs", "j1", "a1", "out.txt"))).size).toBe(5);
    await served.store.delete("jobs/j1/a1/out.txt");
    expect(await readdir(served.root)).not.toContain("jobs");
  });

  it("writes atomically: a failed put leaves neither the file nor a draft behind", async () => {
    const key = "atomic/file.bin";
    await expect(served.store.put(key, randomBytes(2 * 1024 * 1024), { contentType: "x/y" })).rejects.toThrow(
      /larger than/,
    );
    expect(await served.store.head(key)).toBeNull();
    expect(await readdir(join(served.root, ".tmp"))).toEqual([]);
  });

  it("a PUT to a signed URL streams the body to disk; the GET has nosniff and a sandbox CSP", async () => {
    const key = "served/page.html";
    const url = await served.store.presignPut(key, { contentType: "text/html", sizeBytes: 11, expiresInS: 60 });
    expect(url.startsWith(`${served.baseUrl()}/artifacts/served/page.html?expires=`)).toBe(true);
    expect(
      (await fetch(url, { method: "PUT", body: "<b>hi</b>\n\n", headers: { "content-type": "text/html" } })).status,
    ).toBe(200);
    const res = await fetch(await served.store.presignGet(key, { expiresInS: 60 }));
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    expect(await res.text()).toBe("<b>hi</b>\n\n");
  });

  it("HEAD works with a GET signature; a GET signature cannot PUT, a PUT signature cannot GET", async () => {
    const key = "methods/file.txt";
    await served.store.put(key, Buffer.from("data"), { contentType: "text/plain" });
    const getUrl = await served.store.presignGet(key, { expiresInS: 60 });
    const head = await fetch(getUrl, { method: "HEAD" });
    expect([head.status, head.headers.get("content-length")]).toEqual([200, "4"]);
    const put = await fetch(getUrl, { method: "PUT", body: "evil", headers: { "content-type": "text/plain" } });
    expect(put.status).toBe(403);
    const putUrl = await served.store.presignPut(key, { contentType: "text/plain", sizeBytes: 4, expiresInS: 60 });
    expect((await fetch(putUrl)).status).toBe(403);
    expect((await fetch(putUrl, { method: "DELETE" })).status).toBe(405);
    expect(await readAll((await served.store.get(key))!.body)).toEqual(Buffer.from("data"));
  });

  it("a tampered key, expiry or signature is refused with 403", async () => {
    const key = "tamper/file.txt";
    await served.store.put(key, Buffer.from("secret"), { contentType: "text/plain" });
    const url = new URL(await served.store.presignGet(key, { expiresInS: 60 }));
    const variants = [
      new URL(url.toString().replace("tamper/file.txt", "tamper/other.txt")),
      new URL(url.toString().replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`)),
      new URL(url.toString().replace(/signature=[^&]+/, "signature=AAAA")),
      new URL(url.toString().replace(/&signature=[^&]+/, "")),
      new URL(url.toString().replace(/expires=\d+&/, "")),
    ];
    for (const variant of variants) expect((await fetch(variant)).status, variant.toString()).toBe(403);
  });

  it("a PUT without Content-Length (chunked) is refused: the size is part of the signature", async () => {
    const url = new URL(
      await served.store.presignPut("chunked/f.txt", { contentType: "text/plain", sizeBytes: 3, expiresInS: 60 }),
    );
    const res = await rawRequest(served.baseUrl(), "PUT", url.pathname + url.search, Buffer.from("abc"), {
      "content-type": "text/plain",
      "transfer-encoding": "chunked",
    });
    expect(res.status).toBe(411);
    expect(await served.store.head("chunked/f.txt")).toBeNull();
  });

  it("R15 path traversal is impossible: '..', %2e%2e, absolute and backslash paths are refused even when signed", async () => {
    const outside = join(served.dir, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "secret.txt"), "top secret");
    const expires = Math.floor(Date.now() / 1000) + 60;
    const attacks = [
      { path: "/artifacts/../outside/secret.txt", key: "../outside/secret.txt" },
      { path: "/artifacts/a/../../outside/secret.txt", key: "a/../../outside/secret.txt" },
      { path: "/artifacts/%2e%2e/outside/secret.txt", key: "../outside/secret.txt" },
      { path: "/artifacts/%2E%2E%2Foutside%2Fsecret.txt", key: "../outside/secret.txt" },
      { path: `/artifacts/${encodeURIComponent(join(outside, "secret.txt"))}`, key: join(outside, "secret.txt") },
      { path: `/artifacts//${join(outside, "secret.txt").slice(1)}`, key: `/${join(outside, "secret.txt").slice(1)}` },
      { path: "/artifacts/..%5coutside%5csecret.txt", key: "..\\outside\\secret.txt" },
      { path: "/artifacts/.meta/x.json", key: ".meta/x.json" },
      { path: "/artifacts/%E0%A4%A", key: "" },
    ];
    for (const attack of attacks) {
      // Signed with the real secret, so only the key check stands in the way.
      const get = `${attack.path}?expires=${expires}&signature=${sign(served.secret, ["GET", attack.key, expires])}`;
      expect((await rawRequest(served.baseUrl(), "GET", get)).status, attack.path).toBe(400);
      const put = `${attack.path}?expires=${expires}&signature=${sign(served.secret, ["PUT", attack.key, expires, "text/plain", 4])}`;
      const res = await rawRequest(served.baseUrl(), "PUT", put, Buffer.from("pwnd"), { "content-type": "text/plain" });
      expect(res.status, attack.path).toBe(400);
    }
    expect(await readdir(outside)).toEqual(["secret.txt"]);
    expect(served.errors).toEqual([]);
  });

  it("a URL without a signature, or a download token where no downloads are served, gets nothing", async () => {
    await served.store.put("plain/f.txt", Buffer.from("x"), { contentType: "text/plain" });
    expect((await fetch(`${served.baseUrl()}/artifacts/plain/f.txt`)).status).toBe(403);
    expect((await fetch(`${served.baseUrl()}/artifacts/plain/f.txt?token=abc`)).status).toBe(404);
  });
});

describe("the signing secret", () => {
  it("is generated once with mode 0600 in the data folder and reused after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vyvo-secret-"));
    try {
      const [first, concurrent] = await Promise.all([
        loadSigningSecret(undefined, dir),
        loadSigningSecret(undefined, dir),
      ]);
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(concurrent).toEqual(first);
      expect((await stat(join(dir, SIGNING_SECRET_FILE))).mode & 0o777).toBe(0o600);
      expect(await loadSigningSecret(undefined, dir)).toEqual(first);
      expect(await readdir(dir)).toEqual([SIGNING_SECRET_FILE]);
      const configured = "c".repeat(40);
      expect((await loadSigningSecret(configured, dir)).toString()).toBe(configured);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
