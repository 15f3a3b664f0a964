import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline as pipe, Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { actor, type FalCall, type FalDeps, requirePermission } from "./fal-context.js";
import { FalHttpError } from "./fal-errors.js";
import { readJsonBody, sendJson } from "./http-io.js";
import { credentialOf, header } from "./request-options.js";
import type { FalReply } from "./status-mapping.js";
import { FILES_PATH, fileUrl, isFileKey, newFileKey, partKey } from "./stored-files.js";

/**
 * fal's storage (fal-api.md §5), on our own origin and backed by the file store:
 * - JS: POST /fal/rest/storage/upload/initiate → { upload_url, file_url }, then PUT upload_url;
 *   above 90 MB initiate-multipart, PUT {upload_url}/{n} per 10 MB part, POST {upload_url}/complete.
 * - Python: POST /fal/rest/storage/auth/token → a CDN token, then POST /fal/cdn/files/upload.
 * - POST /fal/rest/tokens/ → a short-lived client token (accepted as ?fal_jwt_token=).
 * Upload URLs carry a signature instead of credentials (the JS client PUTs without its key).
 */

const UPLOAD_URL_TTL_MS = 3_600_000;
const CDN_TOKEN_TTL_MS = 3_600_000;
const MAX_PARTS = 10_000;
export const CLIENT_TOKEN_KIND = "client";
const CDN_TOKEN_KIND = "cdn";

/** /fal/rest/… that needs credentials. */
export async function handleRestRoute(deps: FalDeps, call: FalCall, path: string): Promise<void> {
  const route = path.replace(/\/+$/, "");
  if (call.req.method !== "POST") throw FalHttpError.detail(405, "storage endpoints take POST");
  if (route === "/storage/upload/initiate" || route === "/storage/upload/initiate-multipart") {
    requirePermission(call, "jobs:submit");
    const multipart = route.endsWith("-multipart");
    const body = (await readJsonBody(call.req, 64 * 1024)) as { content_type?: unknown; file_name?: unknown };
    const contentType =
      typeof body.content_type === "string" && body.content_type ? body.content_type : "application/octet-stream";
    const key = newFileKey(typeof body.file_name === "string" ? body.file_name : undefined, contentType);
    const purpose = multipart ? "multipart" : "put";
    const query = deps.signer.uploadQuery(purpose, key, contentType, UPLOAD_URL_TTL_MS);
    const uploadUrl = `${call.origin}/fal/cdn/${multipart ? "multipart" : "upload"}/${key}?${query}`;
    return sendJson(call.res, 200, { upload_url: uploadUrl, file_url: fileUrl(call.origin, key) });
  }
  if (route === "/storage/auth/token") {
    requirePermission(call, "jobs:submit");
    await readJsonBody(call.req, 64 * 1024);
    const { token, expiresAt } = deps.signer.token(CDN_TOKEN_KIND, { sub: actor(call) }, CDN_TOKEN_TTL_MS);
    return sendJson(call.res, 200, {
      token,
      token_type: "Bearer",
      base_url: `${call.origin}/fal/cdn`,
      expires_at: expiresAt.toISOString(),
    });
  }
  if (route === "/tokens") {
    requirePermission(call, "jobs:submit");
    const body = (await readJsonBody(call.req, 64 * 1024)) as { allowed_apps?: unknown; token_expiration?: unknown };
    const apps = Array.isArray(body.allowed_apps)
      ? body.allowed_apps.filter((app): app is string => typeof app === "string")
      : [];
    const seconds =
      typeof body.token_expiration === "number" && body.token_expiration > 0
        ? Math.min(body.token_expiration, 3600)
        : 120;
    const { token } = deps.signer.token(CLIENT_TOKEN_KIND, { sub: actor(call), apps }, seconds * 1000);
    return sendJson(call.res, 201, token);
  }
  throw FalHttpError.detail(404, `no storage endpoint ${route}`);
}

/** /fal/cdn/…: uploads that prove themselves by a signed URL or a CDN token, not by an API key. */
export async function handleCdnRoute(deps: FalDeps, req: IncomingMessage, url: URL, origin: string): Promise<FalReply> {
  const path = url.pathname.slice("/fal/cdn".length);
  const method = req.method ?? "GET";
  let match = /^\/upload\/(.+)$/.exec(path);
  if (match && method === "PUT") {
    const key = match[1] as string;
    const contentType = checkSigned(deps, "put", key, url);
    const stored = await storeBody(deps, req, key, contentType);
    return { statusCode: 200, body: { file_url: fileUrl(origin, key), size: stored.sizeBytes }, headers: {} };
  }
  match = /^\/multipart\/(.+)\/(\d+|complete)$/.exec(path);
  if (match) {
    const key = match[1] as string;
    checkSigned(deps, "multipart", key, url);
    if (match[2] === "complete" && method === "POST") return completeMultipart(deps, req, key, url, origin);
    const partNumber = Number(match[2]);
    if (method !== "PUT" || partNumber < 1 || partNumber > MAX_PARTS)
      throw FalHttpError.detail(400, "PUT parts 1 to 10000");
    const { sizeBytes, etag } = await storePart(deps, req, partKey(key, partNumber));
    return { statusCode: 200, body: { partNumber, etag, size: sizeBytes }, headers: { etag } };
  }
  if (path.replace(/\/+$/, "") === "/files/upload" && method === "POST") {
    const credential = credentialOf(header(req.headers, "authorization"));
    if (!credential || !deps.signer.readToken(CDN_TOKEN_KIND, credential.secret)) {
      throw FalHttpError.detail(401, "a CDN token from /storage/auth/token is required");
    }
    const contentType = header(req.headers, "content-type") ?? "application/octet-stream";
    const key = newFileKey(header(req.headers, "x-fal-file-name"), contentType);
    await storeBody(deps, req, key, contentType);
    return { statusCode: 200, body: { access_url: fileUrl(origin, key) }, headers: {} };
  }
  if (path.startsWith("/files/upload/multipart")) {
    throw FalHttpError.detail(501, "multipart CDN uploads are not supported by this shim; upload files below 100 MB");
  }
  throw FalHttpError.detail(404, "no such storage endpoint");
}

/** GET /fal/files/<key>: the bytes, to anyone holding the (unguessable) URL, like fal's CDN. */
export async function serveFile(deps: FalDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const key = decodeURIComponent(url.pathname.slice(FILES_PATH.length));
  if ((req.method !== "GET" && req.method !== "HEAD") || !isFileKey(key))
    throw FalHttpError.detail(404, "no such file");
  const stored = await deps.files.get(key);
  if (!stored) throw FalHttpError.detail(404, "no such file");
  res.writeHead(200, {
    "content-type": stored.contentType,
    "content-length": stored.sizeBytes,
    "cache-control": "public, max-age=31536000, immutable",
    // Uploads are anyone's bytes on our origin: never let a browser run them (no stored XSS).
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
  });
  if (req.method === "HEAD") {
    stored.body.destroy();
    res.end();
    return;
  }
  await pipeline(stored.body, res);
}

function checkSigned(deps: FalDeps, purpose: "put" | "multipart", key: string, url: URL): string {
  const contentType = isFileKey(key) ? deps.signer.checkUpload(purpose, key, url.searchParams) : null;
  if (contentType === null)
    throw FalHttpError.detail(403, "upload URL is invalid or expired; initiate the upload again");
  return contentType;
}

async function storeBody(deps: FalDeps, req: IncomingMessage, key: string, contentType: string) {
  return deps.files.put(key, limited(req, deps.maxBodyBytes), { contentType });
}

async function storePart(deps: FalDeps, req: IncomingMessage, key: string) {
  const hash = createHash("md5");
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const body = pipe(limited(req, deps.maxBodyBytes), hashing, () => undefined);
  const { sizeBytes } = await deps.files.put(key, body, { contentType: "application/octet-stream" });
  return { sizeBytes, etag: `"${hash.digest("hex")}"` };
}

/** The request body, failing past `limit` bytes; an aborted upload fails the stream too (pipe would hang). */
function limited(req: IncomingMessage, limit: number): Readable {
  return pipe(req, new SizeLimit(limit), () => undefined);
}

/** Joins the parts in order into the file, then deletes them. */
async function completeMultipart(
  deps: FalDeps,
  req: IncomingMessage,
  key: string,
  url: URL,
  origin: string,
): Promise<FalReply> {
  const body = (await readJsonBody(req, 1024 * 1024)) as { parts?: { partNumber?: unknown }[] };
  const numbers = (body.parts ?? []).map((part) => Number(part.partNumber)).sort((a, b) => a - b);
  if (!numbers.length || numbers.some((n, i) => n !== i + 1)) {
    throw FalHttpError.detail(400, "parts must be numbered 1, 2, 3… without gaps");
  }
  const contentType = url.searchParams.get("ct") ?? "application/octet-stream";
  const first = await deps.files.get(partKey(key, 1));
  first?.body.destroy();
  if (!first) throw FalHttpError.detail(400, "no part of this upload arrived");
  const stored = await deps.files.put(key, Readable.from(concatParts(deps, key, numbers)), { contentType });
  await Promise.all(numbers.map((n) => deps.files.delete(partKey(key, n)).catch(() => undefined)));
  return { statusCode: 200, body: { file_url: fileUrl(origin, key), size: stored.sizeBytes }, headers: {} };
}

async function* concatParts(deps: FalDeps, key: string, numbers: number[]): AsyncGenerator<Buffer> {
  for (const n of numbers) {
    const part = await deps.files.get(partKey(key, n));
    if (!part) throw new Error(`part ${n} disappeared`);
    for await (const chunk of part.body) yield chunk as Buffer;
  }
}

/** Fails the stream as soon as more than `limit` bytes pass. */
class SizeLimit extends Transform {
  private bytes = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) callback(FalHttpError.detail(413, `upload is larger than ${this.limit} bytes`));
    else callback(null, chunk);
  }
}
