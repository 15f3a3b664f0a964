import { Readable, Transform, type TransformCallback } from "node:stream";

/**
 * The artifact-store port: where result files and build outputs live. Two drivers implement
 * it (S3, and a local folder served by the server itself); one contract suite tests both.
 * Callers hand out presigned URLs so that bytes never pass through a GraphQL request.
 */
export interface ArtifactStore {
  readonly kind: "s3" | "local";
  /** A URL that accepts one PUT of exactly `sizeBytes` bytes with this Content-Type, until it expires. */
  presignPut(key: string, opts: PresignPutOptions): Promise<string>;
  /** A URL that serves the object to a GET, until it expires. */
  presignGet(key: string, opts: { expiresInS: number }): Promise<string>;
  /** Stores a buffer or a stream (streams of unknown length too: the S3 driver uploads them in parts). */
  put(key: string, body: Uint8Array | Readable, opts: PutOptions): Promise<ObjectInfo>;
  get(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface PresignPutOptions {
  contentType: string;
  sizeBytes: number;
  expiresInS: number;
}

export interface PutOptions {
  contentType: string;
  /** When given, the body must be exactly this long. */
  sizeBytes?: number;
}

export interface ObjectInfo {
  contentType: string;
  sizeBytes: number;
}

export interface StoredObject extends ObjectInfo {
  body: Readable;
}

/** SigV4 allows presigned URLs of at most 7 days; the local driver keeps the same bound. */
export const MAX_PRESIGN_EXPIRY_S = 7 * 24 * 3600;

export class InvalidKeyError extends Error {
  override name = "InvalidKeyError";
}

export class SizeMismatchError extends Error {
  override name = "SizeMismatchError";
}

// Plain ASCII segments, none empty, none starting with a dot: no "..", no absolute paths, no
// backslashes or percent-escapes, so a key is the same string in a URL path, an S3 key and a
// relative file path. Dot-first names stay free for the local driver's own folders.
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_KEY_LENGTH = 1024;

export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split("/").every((segment) => SEGMENT.test(segment));
}

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new InvalidKeyError(`invalid artifact key ${JSON.stringify(key.slice(0, 200))}`);
}

export function checkExpiry(expiresInS: number): void {
  if (!Number.isInteger(expiresInS) || expiresInS < 1 || expiresInS > MAX_PRESIGN_EXPIRY_S) {
    throw new RangeError(`presigned URL expiry must be 1..${MAX_PRESIGN_EXPIRY_S} s, got ${expiresInS}`);
  }
}

export function toReadable(body: Uint8Array | Readable): Readable {
  return body instanceof Readable ? body : Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
}

/**
 * Passes bytes through while counting them; fails the stream as soon as it passes `maxBytes`,
 * and at the end when an exact `expectedBytes` was promised and not met.
 */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor(private readonly limits: { maxBytes?: number; expectedBytes?: number }) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const limit = Math.min(
      this.limits.maxBytes ?? Number.POSITIVE_INFINITY,
      this.limits.expectedBytes ?? Number.POSITIVE_INFINITY,
    );
    if (this.bytes > limit) callback(new SizeMismatchError(`body is larger than ${limit} bytes`));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const expected = this.limits.expectedBytes;
    if (expected !== undefined && this.bytes !== expected) {
      callback(new SizeMismatchError(`body has ${this.bytes} bytes, ${expected} were declared`));
    } else callback();
  }
}
