import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ArtifactStore, InvalidKeyError, MAX_PRESIGN_EXPIRY_S, SizeMismatchError } from "./artifact-store.js";

// One suite, run against both drivers (S3 on a real s3rver, the local folder through the real
// HTTP route), so that they keep the same contract.

export interface StoreUnderTest {
  store: ArtifactStore;
  /** The same store with its clock two hours behind: every URL it signs has already expired. */
  pastStore: ArtifactStore;
  /** s3rver does not check SigV4 signatures at all; real S3 and the local driver do. */
  checksSignatures: boolean;
  close(): Promise<void>;
}

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `count` chunks of 1 MiB of random bytes, as a stream of unknown length; `digest` is their sha256 once read. */
export function randomStream(count: number): { stream: Readable; digest: () => string } {
  const hash = createHash("sha256");
  function* chunks() {
    for (let i = 0; i < count; i++) {
      const chunk = randomBytes(1024 * 1024);
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), digest: () => hash.digest("hex") };
}

const INVALID_KEYS = ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a//b", "%2e%2e/x", "a\\b", ".meta/x", ""];

export function artifactStoreContract(name: string, setup: () => Promise<StoreUnderTest>): void {
  describe(`artifact store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: ArtifactStore;
    const key = (label: string) => `contract/${label}-${randomBytes(4).toString("hex")}/file.bin`;

    beforeAll(async () => {
      subject = await setup();
      store = subject.store;
    });
    afterAll(() => subject?.close());

    it("put, head, get and delete a buffer", async () => {
      const k = key("buffer");
      const bytes = randomBytes(1000);
      expect(await store.put(k, bytes, { contentType: "image/png", sizeBytes: 1000 })).toEqual({
        contentType: "image/png",
        sizeBytes: 1000,
      });
      expect(await store.head(k)).toEqual({ contentType: "image/png", sizeBytes: 1000 });
      const object = await store.get(k);
      expect(object).toMatchObject({ contentType: "image/png", sizeBytes: 1000 });
      expect(await readAll(object!.body)).toEqual(bytes);
      await store.delete(k);
      expect(await store.head(k)).toBeNull();
      expect(await store.get(k)).toBeNull();
      await store.delete(k); // deleting a missing object is no error
    });

    it("a missing key reads as null", async () => {
      expect(await store.head(key("missing"))).toBeNull();
      expect(await store.get(key("missing"))).toBeNull();
    });

    it("stores an empty file", async () => {
      const k = key("empty");
      await store.put(k, new Uint8Array(0), { contentType: "text/plain", sizeBytes: 0 });
      expect(await store.head(k)).toEqual({ contentType: "text/plain", sizeBytes: 0 });
      expect(await readAll((await store.get(k))!.body)).toHaveLength(0);
    });

    it("puts a stream of unknown length over 5 MB and reads the same bytes back", async () => {
      const k = key("stream");
      const source = randomStream(7);
      expect(await store.put(k, source.stream, { contentType: "application/octet-stream" })).toEqual({
        contentType: "application/octet-stream",
        sizeBytes: 7 * 1024 * 1024,
      });
      const object = await store.get(k);
      expect(object?.sizeBytes).toBe(7 * 1024 * 1024);
      expect(sha256(await readAll(object!.body))).toBe(source.digest());
    });

    it("refuses a body of another size than declared, and keeps nothing of it", async () => {
      const longer = key("longer");
      await expect(store.put(longer, randomStream(6).stream, { contentType: "x/y", sizeBytes: 1000 })).rejects.toThrow(
        SizeMismatchError,
      );
      expect(await store.head(longer)).toBeNull();
      const shorter = key("shorter");
      await expect(store.put(shorter, Buffer.from("abc"), { contentType: "x/y", sizeBytes: 4 })).rejects.toThrow(
        SizeMismatchError,
      );
      expect(await store.head(shorter)).toBeNull();
    });

    it("a presigned PUT stores the bytes; a presigned GET serves them with their type", async () => {
      const k = key("presigned");
      const bytes = randomBytes(4096);
      const uploadUrl = await store.presignPut(k, {
        contentType: "image/webp",
        sizeBytes: bytes.length,
        expiresInS: 60,
      });
      const put = await fetch(uploadUrl, { method: "PUT", body: bytes, headers: { "content-type": "image/webp" } });
      expect(put.status).toBe(200);
      const get = await fetch(await store.presignGet(k, { expiresInS: 60 }));
      expect(get.status).toBe(200);
      expect(get.headers.get("content-type")).toBe("image/webp");
      expect(Buffer.from(await get.arrayBuffer())).toEqual(bytes);
    });

    it("an expired presigned URL is refused, for PUT and for GET", async () => {
      const k = key("expired");
      const put = await fetch(
        await subject.pastStore.presignPut(k, { contentType: "text/plain", sizeBytes: 2, expiresInS: 60 }),
        {
          method: "PUT",
          body: "hi",
          headers: { "content-type": "text/plain" },
        },
      );
      expect(put.status).toBe(403);
      expect(await store.head(k)).toBeNull();
      await store.put(k, Buffer.from("hi"), { contentType: "text/plain" });
      const get = await fetch(await subject.pastStore.presignGet(k, { expiresInS: 60 }));
      expect(get.status).toBe(403);
    });

    it("presigned URLs last 1 s to 7 days", async () => {
      await expect(store.presignGet(key("ttl"), { expiresInS: 0 })).rejects.toThrow(RangeError);
      await expect(store.presignGet(key("ttl"), { expiresInS: MAX_PRESIGN_EXPIRY_S + 1 })).rejects.toThrow(RangeError);
      await expect(store.presignGet(key("ttl"), { expiresInS: MAX_PRESIGN_EXPIRY_S })).resolves.toMatch(/^http/);
    });

    it("every operation refuses keys that could escape: '..', absolute, empty segments, escapes, backslashes", async () => {
      for (const bad of INVALID_KEYS) {
        await expect(store.put(bad, Buffer.from("x"), { contentType: "text/plain" }), bad).rejects.toThrow(
          InvalidKeyError,
        );
        await expect(store.get(bad), bad).rejects.toThrow(InvalidKeyError);
        await expect(store.head(bad), bad).rejects.toThrow(InvalidKeyError);
        await expect(store.delete(bad), bad).rejects.toThrow(InvalidKeyError);
        await expect(store.presignGet(bad, { expiresInS: 60 }), bad).rejects.toThrow(InvalidKeyError);
        await expect(
          store.presignPut(bad, { contentType: "text/plain", sizeBytes: 1, expiresInS: 60 }),
          bad,
        ).rejects.toThrow(InvalidKeyError);
      }
    });

    it("a presigned PUT binds the signature, the size and the content type", async ({ skip }) => {
      if (!subject.checksSignatures) skip("this server does not check signatures");
      const k = key("bound");
      const url = await store.presignPut(k, { contentType: "image/png", sizeBytes: 5, expiresInS: 60 });
      const tampered = url.replace(
        /(signature=|Signature=)(.)/i,
        (_m, name: string, c: string) => `${name}${c === "A" ? "B" : "A"}`,
      );
      const attempts = [
        { url: tampered, body: "hello", type: "image/png" },
        { url, body: "hello!", type: "image/png" },
        { url, body: "hello", type: "text/html" },
      ];
      for (const attempt of attempts) {
        const res = await fetch(attempt.url, {
          method: "PUT",
          body: attempt.body,
          headers: { "content-type": attempt.type },
        });
        expect(res.status, JSON.stringify(attempt)).toBe(403);
      }
      expect(await store.head(k)).toBeNull();
    });
  });
}
