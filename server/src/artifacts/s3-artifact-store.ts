import { pipeline, type Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
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

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Prepended to every key ("vyvo/" puts everything under that folder of a shared bucket). */
  keyPrefix?: string | undefined;
  region: string;
  /** For S3-compatible servers (MinIO, R2, s3rver); AWS itself needs none. */
  endpoint?: string | undefined;
  /** Both or neither: without them the SDK's default chain applies (env, instance role…). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  forcePathStyle: boolean;
  /** No object may be larger than this. */
  maxBytes: number;
  /** Size of the parts of multipart uploads (S3's minimum is 5 MiB). */
  partSizeBytes?: number;
  now?: () => number;
}

/**
 * The production driver: objects in an S3 bucket, handed out as SigV4 presigned URLs.
 * Presigned PUTs sign Content-Type and Content-Length, so S3 itself refuses a body of another
 * size or type than the one the service accepted.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = "s3";
  readonly client: S3Client;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(private readonly opts: S3ArtifactStoreOptions) {
    this.prefix = opts.keyPrefix ?? "";
    this.now = opts.now ?? Date.now;
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      // Checksums only where S3 demands them: a default CRC32 would be baked into presigned PUT
      // URLs (which the uploader cannot match), and S3-compatible servers mishandle the
      // aws-chunked framing it brings to streamed uploads.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.accessKeyId && opts.secretAccessKey) {
      config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
    }
    this.client = new S3Client(config);
  }

  /** Creates the bucket when it does not exist (a fresh MinIO, a test server); an existing one is left alone. */
  async ensureBucket(): Promise<"exists" | "created"> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
      return "exists";
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    await this.client.send(new CreateBucketCommand({ Bucket: this.opts.bucket }));
    return "created";
  }

  async presignPut(key: string, { contentType, sizeBytes, expiresInS }: PresignPutOptions): Promise<string> {
    checkExpiry(expiresInS);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > this.opts.maxBytes) {
      throw new RangeError(`size must be 0..${this.opts.maxBytes} bytes`);
    }
    const command = new PutObjectCommand({
      Bucket: this.opts.bucket,
      Key: this.objectKey(key),
      ContentType: contentType,
      ContentLength: sizeBytes,
    });
    return getSignedUrl(this.client, command, {
      expiresIn: expiresInS,
      signingDate: new Date(this.now()),
      signableHeaders: new Set(["content-type", "content-length"]),
    });
  }

  async presignGet(key: string, { expiresInS }: { expiresInS: number }): Promise<string> {
    checkExpiry(expiresInS);
    const command = new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) });
    return getSignedUrl(this.client, command, { expiresIn: expiresInS, signingDate: new Date(this.now()) });
  }

  /** Streams of any length go up in parts (lib-storage); small bodies in one PutObject. */
  async put(key: string, body: Uint8Array | Readable, { contentType, sizeBytes }: PutOptions): Promise<ObjectInfo> {
    const objectKey = this.objectKey(key);
    const counter = new ByteCounter({
      maxBytes: this.opts.maxBytes,
      ...(sizeBytes !== undefined ? { expectedBytes: sizeBytes } : {}),
    });
    // pipeline: an error on either side (a failing source, a body over the limit) ends both.
    const counted = pipeline(toReadable(body), counter, () => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: objectKey, Body: counted, ContentType: contentType },
      partSize: this.opts.partSizeBytes ?? 8 * 1024 * 1024,
      queueSize: 4,
      // A failed multipart upload must not leave its parts behind (they are billed).
      leavePartsOnError: false,
    });
    // The body's own failure is the cause; lib-storage may report the abort that followed it instead.
    let bodyError: unknown = null;
    counted.once("error", (error) => {
      bodyError = error;
    });
    try {
      await upload.done();
    } catch (error) {
      throw bodyError ?? error;
    }
    return { contentType, sizeBytes: counter.bytes };
  }

  async get(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
      return {
        contentType: out.ContentType ?? "application/octet-stream",
        sizeBytes: out.ContentLength ?? 0,
        body: out.Body as Readable,
      };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
      return { contentType: out.ContentType ?? "application/octet-stream", sizeBytes: out.ContentLength ?? 0 };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
