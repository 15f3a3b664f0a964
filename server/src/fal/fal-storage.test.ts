import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FalHarness, FILES, startFalHarness } from "./fal-test-harness.js";

// Files into jobs the ways fal clients send them: Blobs the JS client uploads through storage
// (single PUT, and multipart above 90 MB), big data URIs inline in JSON, and Python's CDN upload.

let h: FalHarness;

beforeAll(async () => {
  // Hashing ~90 MB in the test process stalls the scripted agent's heartbeats: longer leases.
  h = await startFalHarness({
    LEASE_TTL_MS: "30000",
    HEARTBEAT_INTERVAL_MS: "1000",
    FAL_MAX_BODY_BYTES: String(12 * 1024 * 1024),
  });
});

afterAll(async () => {
  await h?.close();
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

type FilesOutput = { files: { field: string; size: number; sha256: string; contentType: string | null }[] };

describe("uploads from the JS client", () => {
  it("a Blob in the input is uploaded, and the runner receives a URL that serves its bytes", async () => {
    const bytes = randomBytes(300_000);
    const result = await h.client().subscribe(FILES, {
      input: { image: new Blob([bytes], { type: "image/png" }), note: "kept as is" },
      pollInterval: 50,
    });
    expect((result.data as FilesOutput).files).toEqual([
      { field: "image", size: bytes.length, sha256: sha256(bytes), contentType: "image/png" },
    ]);
    const input = (await h.runner.waitForRun(result.requestId)).command.input as { image: string; note: string };
    expect(input.note).toBe("kept as is");
    expect(input.image).toMatch(new RegExp(`^${h.server.url}/fal/files/fal-uploads/[0-9a-f]{32}/`));
  });

  it("fal.storage.upload returns a lasting URL; the upload URL is a signed capability", async () => {
    const fal = h.client();
    const url = await fal.storage.upload(new File([Buffer.from("hello, fal")], "greeting.txt", { type: "text/plain" }));
    expect(url).toMatch(/\/greeting\.txt$/);
    const served = await fetch(url);
    expect(served.headers.get("content-type")).toBe("text/plain");
    expect(await served.text()).toBe("hello, fal");

    const initiated = await h.fetch("/fal/rest/storage/upload/initiate?storage_type=fal-cdn-v3", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content_type: "text/plain", file_name: "x.txt" }),
    });
    const { upload_url: uploadUrl } = (await initiated.json()) as { upload_url: string };
    const forged = uploadUrl.replace(/signature=[^&]+/, "signature=AAAA");
    expect((await fetch(forged, { method: "PUT", body: "x" })).status).toBe(403);
    expect((await fetch(uploadUrl.replace("x.txt", "y.txt"), { method: "PUT", body: "x" })).status).toBe(403);
    expect((await fetch(`${h.server.url}/fal/files/fal-uploads/${"0".repeat(32)}/nothing.bin`)).status).toBe(404);
  });

  it("above 90 MB the client uploads in 10 MB parts, which the shim joins in order", { timeout: 120_000 }, async () => {
    const bytes = Buffer.alloc(91 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i); // every part differs
    const result = await h.client().subscribe(FILES, {
      input: { weights: new Blob([bytes], { type: "application/octet-stream" }) },
      pollInterval: 100,
    });
    expect((result.data as FilesOutput).files).toEqual([
      { field: "weights", size: bytes.length, sha256: sha256(bytes), contentType: "application/octet-stream" },
    ]);
  });
});

describe("data URIs in JSON bodies", () => {
  it("a large one is stored and handed to the runner as a URL; a small one stays inline", async () => {
    const big = randomBytes(600_000); // 800 KB as base64: over the offload threshold
    const small = "data:text/plain;base64,aGk=";
    const result = await h.client().run(FILES, {
      input: { image: `data:image/jpeg;base64,${big.toString("base64")}`, tiny: small },
    });
    expect((result.data as FilesOutput).files).toEqual([
      { field: "image", size: big.length, sha256: sha256(big), contentType: "image/jpeg" },
    ]);
    const input = (await h.runner.waitForRun(result.requestId)).command.input as { image: string; tiny: string };
    expect(input.image).toMatch(/\/fal\/files\/fal-uploads\/[0-9a-f]{32}\/file\.jpeg$/);
    expect(input.tiny).toBe(small);
  });

  it("a body over FAL_MAX_BODY_BYTES is a 413", async () => {
    const reply = await h.fetch(`/fal/queue/${FILES}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ blob: "x".repeat(13 * 1024 * 1024) }),
    });
    expect(reply.status).toBe(413);
  });
});

describe("Python's CDN upload (fal_client.upload_file)", () => {
  it("token from /storage/auth/token, then POST /files/upload with it", async () => {
    const tokenReply = await h.fetch("/fal/rest/storage/auth/token?storage_type=fal-cdn-v3", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const token = (await tokenReply.json()) as {
      token: string;
      token_type: string;
      base_url: string;
      expires_at: string;
    };
    expect(token).toMatchObject({ token_type: "Bearer", base_url: `${h.server.url}/fal/cdn` });
    expect(Date.parse(token.expires_at)).toBeGreaterThan(Date.now());

    const bytes = randomBytes(4096);
    const upload = await fetch(`${token.base_url}/files/upload`, {
      method: "POST",
      headers: {
        authorization: `${token.token_type} ${token.token}`,
        "content-type": "image/webp",
        "x-fal-file-name": "cat.webp",
      },
      body: bytes,
    });
    expect(upload.status).toBe(200);
    const { access_url: accessUrl } = (await upload.json()) as { access_url: string };
    expect(accessUrl).toMatch(/\/cat\.webp$/);
    const served = await fetch(accessUrl);
    expect(served.headers.get("content-type")).toBe("image/webp");
    expect(sha256(Buffer.from(await served.arrayBuffer()))).toBe(sha256(bytes));

    const refused = await fetch(`${token.base_url}/files/upload`, {
      method: "POST",
      headers: { authorization: "Bearer nope" },
      body: "x",
    });
    expect(refused.status).toBe(401);
  });
});
