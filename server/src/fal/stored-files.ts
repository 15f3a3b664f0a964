import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { FalFileStore } from "./fal-context.js";

/**
 * Files the shim keeps for fal clients: uploads (Blob inputs of the JS client, Python's CDN
 * uploads) and large data URIs lifted out of request bodies. Keys are unguessable; the URL
 * /fal/files/<key> is the capability, as on fal's CDN.
 */

export const FILES_PATH = "/fal/files/";
const UPLOAD_PREFIX = "fal-uploads";

/** A new key for a file called `fileName`: fal-uploads/<random>/<safe name>. */
export function newFileKey(fileName: string | undefined, contentType: string): string {
  return `${UPLOAD_PREFIX}/${randomBytes(16).toString("hex")}/${safeFileName(fileName, contentType)}`;
}

/** Where the parts of a multipart upload wait until it completes. */
export function partKey(fileKey: string, partNumber: number): string {
  const id = fileKey.split("/")[1] ?? "unknown";
  return `${UPLOAD_PREFIX}-parts/${id}/${partNumber}`;
}

export function isFileKey(key: string): boolean {
  return /^fal-uploads\/[0-9a-f]{32}\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(key);
}

export function fileUrl(origin: string, key: string): string {
  return `${origin}${FILES_PATH}${key}`;
}

/** Letters, digits, dot, dash and underscore, not starting with a dot: the same string in a URL, an S3 key and a path. */
export function safeFileName(fileName: string | undefined, contentType: string): string {
  const cleaned = (fileName ?? "")
    .split(/[\\/]/)
    .pop()
    ?.replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "")
    .slice(-100);
  return cleaned || `file.${extensionOf(contentType)}`;
}

function extensionOf(contentType: string): string {
  const sub = contentType.split("/")[1]?.split(/[;+-]/)[0]?.trim();
  return sub && /^[a-z0-9]{1,10}$/i.test(sub) ? sub : "bin";
}

const DATA_URI = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,/i;

/**
 * Walks a JSON input and replaces every data URI longer than `threshold` characters by the URL
 * of a stored file with its bytes, so big inline images do not bloat the job row. The runner
 * receives a URL, exactly as for a Blob the JS client uploaded.
 */
export async function offloadDataUris(
  input: unknown,
  opts: { threshold: number; store: FalFileStore; origin: string },
): Promise<unknown> {
  if (opts.threshold <= 0) return input;
  if (typeof input === "string") {
    if (input.length <= opts.threshold) return input;
    const match = DATA_URI.exec(input.slice(0, 512));
    if (!match) return input;
    const contentType = match[1] || "text/plain";
    const payload = input.slice(match[0].length);
    let bytes: Buffer;
    try {
      bytes = match[3] ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload), "utf8");
    } catch {
      return input; // not decodable: the runner gets it as sent
    }
    const key = newFileKey(undefined, contentType);
    await opts.store.put(key, Readable.from([bytes]), { contentType });
    return fileUrl(opts.origin, key);
  }
  if (Array.isArray(input)) {
    const out: unknown[] = [];
    for (const item of input) out.push(await offloadDataUris(item, opts));
    return out;
  }
  if (input !== null && typeof input === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) out[key] = await offloadDataUris(value, opts);
    return out;
  }
  return input;
}
