import { randomBytes } from "node:crypto";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3RVER_KEYS, startS3rver, type TestS3Server } from "../testing/s3rver.js";
import { artifactStoreContract, randomStream, readAll, sha256 } from "./artifact-store-contract.js";
import { S3ArtifactStore, type S3ArtifactStoreOptions } from "./s3-artifact-store.js";

// Against a real S3-compatible server (s3rver) started for this file, never a mock.

function storeOn(s3: TestS3Server, extra: Partial<S3ArtifactStoreOptions> = {}): S3ArtifactStore {
  return new S3ArtifactStore({
    bucket: "vyvo-artifacts",
    region: "us-east-1",
    endpoint: s3.endpoint,
    ...S3RVER_KEYS,
    forcePathStyle: true,
    maxBytes: 64 * 1024 * 1024,
    ...extra,
  });
}

artifactStoreContract("S3 (s3rver)", async () => {
  const s3 = await startS3rver();
  const store = storeOn(s3, { keyPrefix: "contract/" });
  await store.ensureBucket();
  const pastStore = storeOn(s3, { keyPrefix: "contract/", now: () => Date.now() - 2 * 3_600_000 });
  return {
    store,
    pastStore,
    checksSignatures: false,
    async close() {
      await store.close();
      await pastStore.close();
      await s3.stop();
    },
  };
});

describe("S3 artifact store", () => {
  let s3: TestS3Server;
  let store: S3ArtifactStore;

  beforeAll(async () => {
    s3 = await startS3rver();
    store = storeOn(s3, { keyPrefix: "vyvo/", partSizeBytes: 5 * 1024 * 1024 });
  });
  afterAll(async () => {
    await store?.close();
    await s3?.stop();
  });

  it("creates a missing bucket once, and leaves an existing one alone", async () => {
    expect(await store.ensureBucket()).toBe("created");
    expect(await store.ensureBucket()).toBe("exists");
  });

  it("keeps objects under the key prefix", async () => {
    await store.put("jobs/j1/a1/out.txt", Buffer.from("hello"), { contentType: "text/plain" });
    const head = await store.client.send(
      new HeadObjectCommand({ Bucket: "vyvo-artifacts", Key: "vyvo/jobs/j1/a1/out.txt" }),
    );
    expect([head.ContentLength, head.ContentType]).toEqual([5, "text/plain"]);
  });

  it("uploads a stream over 5 MB in parts with lib-storage, and the object reads back whole", async () => {
    const commands: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "recordCommands" },
    );
    try {
      const source = randomStream(12);
      await store.put("big/weights.bin", source.stream, { contentType: "application/octet-stream" });
      expect(commands.filter((c) => c === "UploadPartCommand")).toHaveLength(3);
      expect(commands).toContain("CreateMultipartUploadCommand");
      expect(commands).toContain("CompleteMultipartUploadCommand");
      const object = await store.get("big/weights.bin");
      expect(object?.sizeBytes).toBe(12 * 1024 * 1024);
      expect(sha256(await readAll(object!.body))).toBe(source.digest());
    } finally {
      store.client.middlewareStack.remove("recordCommands");
    }
  });

  it("a failed multipart upload leaves no object behind", async () => {
    const source = randomStream(12);
    await expect(
      store.put("big/too-big.bin", source.stream, { contentType: "x/y", sizeBytes: 6 * 1024 * 1024 }),
    ).rejects.toThrow(/larger than/);
    expect(await store.head("big/too-big.bin")).toBeNull();
  });

  it("presigned PUT URLs sign Content-Type and Content-Length, so S3 refuses another size or type", async () => {
    const url = new URL(
      await store.presignPut("signed/x.png", { contentType: "image/png", sizeBytes: 42, expiresInS: 900 }),
    );
    expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toEqual(["content-length", "content-type", "host"]);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    // No CRC32 of an empty body baked into the URL (the SDK's default would break every upload).
    expect([...url.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
  });

  it("a presigned PUT and GET round-trip through fetch with the stored content type", async () => {
    const bytes = randomBytes(300_000);
    const put = await fetch(
      await store.presignPut("trip/a.webp", { contentType: "image/webp", sizeBytes: bytes.length, expiresInS: 60 }),
      {
        method: "PUT",
        body: bytes,
        headers: { "content-type": "image/webp" },
      },
    );
    expect(put.status).toBe(200);
    const get = await fetch(await store.presignGet("trip/a.webp", { expiresInS: 60 }));
    expect(get.headers.get("content-type")).toBe("image/webp");
    expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(sha256(bytes));
  });

  it("refuses to presign an upload over the size limit", async () => {
    await expect(
      store.presignPut("limits/huge.bin", { contentType: "x/y", sizeBytes: 64 * 1024 * 1024 + 1, expiresInS: 60 }),
    ).rejects.toThrow(RangeError);
  });
});
