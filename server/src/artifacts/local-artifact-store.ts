import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, rmdir, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type ArtifactStore,
  assertValidKey,
  ByteCounter,
  checkExpiry,
  type ObjectInfo,
  type PresignPutOptions,
  type PutOptions,
  type StoredObject,
  toReadable,
} from "./artifact-store.js";
import { sign, signatureMatches } from "./signing.js";

export interface LocalArtifactStoreOptions {
  /** The folder that holds the files: `${DATA_DIR}/artifacts`. */
  root: string;
  /** Signs the URLs this server serves at /artifacts/<key>. */
  secret: Buffer;
  /** The server's public base URL; a function because the port is known only once it listens. */
  baseUrl: () => string;
  /** No object may be larger than this. */
  maxBytes: number;
  now?: () => number;
}

/** What a signed request to /artifacts/<key> carries; the signature covers method, key and expiry (and type and size for PUT). */
export interface SignedRequest {
  method: string;
  key: string;
  expires: string | null;
  signature: string | null;
  contentType?: string | undefined;
  contentLength?: number | undefined;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Path of the route that serves the local store; artifact-routes.ts handles it. */
export const ARTIFACTS_ROUTE = "/artifacts/";

const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * The embedded driver: files in a folder, served by the server itself with signed, expiring
 * URLs (the same shape of contract as S3 presigned URLs). Content types live in a side file
 * under `.meta/`; writes go to `.tmp/` first and are renamed into place, so a reader never
 * sees half a file. Keys cannot start a segment with a dot, so neither folder can be reached.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly kind = "local";
  private readonly root: string;
  private readonly now: () => number;

  constructor(private readonly opts: LocalArtifactStoreOptions) {
    this.root = resolve(opts.root);
    this.now = opts.now ?? Date.now;
  }

  async presignPut(key: string, { contentType, sizeBytes, expiresInS }: PresignPutOptions): Promise<string> {
    assertValidKey(key);
    checkExpiry(expiresInS);
    if (!PRINTABLE.test(contentType)) throw new RangeError("content type must be printable ASCII");
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > this.opts.maxBytes) {
      throw new RangeError(`size must be 0..${this.opts.maxBytes} bytes`);
    }
    const expires = this.expiryFor(expiresInS);
    return this.urlFor(key, expires, sign(this.opts.secret, ["PUT", key, expires, contentType, sizeBytes]));
  }

  async presignGet(key: string, { expiresInS }: { expiresInS: number }): Promise<string> {
    assertValidKey(key);
    checkExpiry(expiresInS);
    const expires = this.expiryFor(expiresInS);
    return this.urlFor(key, expires, sign(this.opts.secret, ["GET", key, expires]));
  }

  /** Checks a request against its signature; HEAD is allowed wherever GET is. */
  verify(request: SignedRequest): SignatureCheck {
    const method = request.method === "HEAD" ? "GET" : request.method;
    if (method !== "GET" && method !== "PUT") return { ok: false, reason: "method not allowed" };
    const expires = Number(request.expires);
    if (!request.expires || !Number.isSafeInteger(expires)) return { ok: false, reason: "missing or invalid expiry" };
    const parts: (string | number)[] = [method, request.key, expires];
    if (method === "PUT") {
      if (request.contentLength === undefined) return { ok: false, reason: "content-length is required" };
      parts.push(request.contentType ?? "", request.contentLength);
    }
    // The signature is checked before the expiry, so that a tampered expiry says "signature".
    if (!signatureMatches(sign(this.opts.secret, parts), request.signature)) {
      return { ok: false, reason: "signature does not match" };
    }
    if (Math.floor(this.now() / 1000) > expires) return { ok: false, reason: "URL has expired" };
    return { ok: true };
  }

  async put(key: string, body: Uint8Array | Readable, { contentType, sizeBytes }: PutOptions): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    const metaTarget = this.metaPathOf(key);
    const tmpDir = join(this.root, ".tmp");
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const draft = join(tmpDir, randomBytes(12).toString("hex"));
    const counter = new ByteCounter({
      maxBytes: this.opts.maxBytes,
      ...(sizeBytes !== undefined ? { expectedBytes: sizeBytes } : {}),
    });
    try {
      await pipeline(toReadable(body), counter, createWriteStream(draft, { mode: 0o600, flags: "wx" }));
      const info: ObjectInfo = { contentType, sizeBytes: counter.bytes };
      await writeFile(`${draft}.json`, JSON.stringify(info), { mode: 0o600 });
      await renameInto(`${draft}.json`, metaTarget);
      await renameInto(draft, target);
      return info;
    } finally {
      await Promise.all([unlinkIfExists(draft), unlinkIfExists(`${draft}.json`)]);
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    const handle = await open(this.pathOf(key), "r").catch(nullIfMissing);
    if (!handle) return null;
    try {
      // Size from the open file, not from the side file: it is what this stream will send.
      const [stat, contentType] = await Promise.all([handle.stat(), this.contentTypeOf(key)]);
      if (!stat.isFile()) {
        await handle.close();
        return null;
      }
      return { contentType, sizeBytes: stat.size, body: handle.createReadStream() };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const object = await this.get(key);
    if (!object) return null;
    object.body.destroy();
    return { contentType: object.contentType, sizeBytes: object.sizeBytes };
  }

  async delete(key: string): Promise<void> {
    await unlinkIfExists(this.pathOf(key));
    await unlinkIfExists(this.metaPathOf(key));
    await this.removeEmptyParents(dirname(this.pathOf(key)), this.root);
    await this.removeEmptyParents(dirname(this.metaPathOf(key)), join(this.root, ".meta"));
  }

  async close(): Promise<void> {}

  private urlFor(key: string, expires: number, signature: string): string {
    // Keys are URL-safe by construction (see isValidKey): no escaping needed in the path.
    return `${this.opts.baseUrl()}${ARTIFACTS_ROUTE}${key}?expires=${expires}&signature=${signature}`;
  }

  private expiryFor(expiresInS: number): number {
    return Math.floor(this.now() / 1000) + expiresInS;
  }

  /** The file of a key, checked twice: the key's syntax, then that the path stays inside the root. */
  private pathOf(key: string): string {
    assertValidKey(key);
    const path = resolve(this.root, ...key.split("/"));
    if (!path.startsWith(this.root + sep)) throw new Error(`key ${key} resolves outside the store`);
    return path;
  }

  private metaPathOf(key: string): string {
    return `${join(
      this.root,
      ".meta",
      ...this.pathOf(key)
        .slice(this.root.length + 1)
        .split(sep),
    )}.json`;
  }

  private async contentTypeOf(key: string): Promise<string> {
    const text = await readFile(this.metaPathOf(key), "utf8").catch(nullIfMissing);
    if (!text) return "application/octet-stream";
    return (JSON.parse(text) as ObjectInfo).contentType;
  }

  /** Empty folders left by deletes go too, so the tree does not grow with every job ever run. */
  private async removeEmptyParents(dir: string, stopAt: string): Promise<void> {
    for (let current = dir; current.startsWith(stopAt + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or gone): the parents are not empty either
      }
    }
  }
}

/** Renames into a folder that a concurrent delete may have just removed as empty: create it and try again. */
async function renameInto(from: string, to: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    try {
      return await rename(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || tries >= 3) throw error;
    }
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  await unlink(path).catch(nullIfMissing);
}

function nullIfMissing(error: unknown): null {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return null;
  throw error;
}
