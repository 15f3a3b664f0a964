import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { ArtifactService, Download } from "../artifacts/artifact-service.js";
import { InvalidKeyError, isValidKey, type ObjectInfo, SizeMismatchError } from "../artifacts/artifact-store.js";
import { ARTIFACTS_ROUTE, type LocalArtifactStore } from "../artifacts/local-artifact-store.js";

export interface ArtifactRoutesOptions {
  /** The embedded store, which this route serves (signed PUT and GET); null when artifacts live in S3. */
  local: LocalArtifactStore | null;
  /** Follows the lasting download links (`?token=`); null where none are issued. */
  downloads: Pick<ArtifactService, "openDownload"> | null;
  onError: (error: unknown, context: string) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Everything under /artifacts/<key>: lasting download links (`?token=`, any store), and the
 * local store's signed, expiring URLs (`?expires=&signature=`). The path is read raw, never
 * normalised: "..", "%2e%2e" and empty segments make an invalid key, answered 400.
 */
export function createArtifactRoutes(opts: ArtifactRoutesOptions): Handler {
  return (req, res) => {
    handle(req, res, opts).catch((error: unknown) => {
      if (isClientGone(error, res)) return;
      if (error instanceof InvalidKeyError) return reply(res, 400, "invalid artifact key");
      if (error instanceof SizeMismatchError) return reply(res, 400, error.message);
      opts.onError(error, `artifact ${req.method} ${req.url?.split("?")[0]}`);
      if (res.headersSent) res.destroy();
      else reply(res, 500, "internal error");
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ArtifactRoutesOptions): Promise<void> {
  const [rawPath = "", rawQuery = ""] = (req.url ?? "").split("?", 2);
  const key = keyFromPath(rawPath);
  if (key === null) return reply(res, 400, "invalid artifact key");
  const query = new URLSearchParams(rawQuery);
  const method = req.method ?? "GET";

  const token = query.get("token");
  if (token !== null) {
    if (method !== "GET" && method !== "HEAD") return reply(res, 405, "method not allowed", { allow: "GET, HEAD" });
    if (!opts.downloads) return reply(res, 404, "not found");
    return sendDownload(res, await opts.downloads.openDownload(key, token, method));
  }

  const local = opts.local;
  if (!local) return reply(res, 403, "a signed URL is required");
  if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
    return reply(res, 405, "method not allowed", { allow: "GET, HEAD, PUT" });
  }
  const contentLength = req.headers["content-length"];
  if (method === "PUT" && contentLength === undefined) return reply(res, 411, "content-length is required");
  const check = local.verify({
    method,
    key,
    expires: query.get("expires"),
    signature: query.get("signature"),
    contentType: req.headers["content-type"],
    contentLength: contentLength === undefined ? undefined : Number(contentLength),
  });
  if (!check.ok) return reply(res, 403, check.reason);

  if (method === "PUT") {
    const contentType = req.headers["content-type"] ?? "application/octet-stream";
    await local.put(key, req, { contentType, sizeBytes: Number(contentLength) });
    return reply(res, 200, "stored");
  }
  const object = await local.get(key);
  if (!object) return reply(res, 404, "not found");
  res.writeHead(200, fileHeaders(object));
  if (method === "HEAD") {
    object.body.destroy();
    return void res.end();
  }
  await pipeline(object.body, res);
}

async function sendDownload(res: ServerResponse, download: Download): Promise<void> {
  switch (download.kind) {
    case "denied":
      return reply(res, 403, "invalid download token");
    case "gone":
      return reply(res, 404, "not found");
    case "redirect":
      res.writeHead(302, { location: download.url, "cache-control": "no-store" }).end();
      return;
    case "info":
      res.writeHead(200, fileHeaders(download.info, download.artifact.fileName)).end();
      return;
    case "file":
      res.writeHead(200, fileHeaders(download.object, download.artifact.fileName));
      await pipeline(download.object.body, res);
      return;
  }
}

/** The key of a raw request path, or null when it is not a valid key once percent-decoded. */
function keyFromPath(rawPath: string): string | null {
  if (!rawPath.startsWith(ARTIFACTS_ROUTE)) return null;
  let key: string;
  try {
    key = decodeURIComponent(rawPath.slice(ARTIFACTS_ROUTE.length));
  } catch {
    return null;
  }
  return isValidKey(key) ? key : null;
}

/**
 * Files come from runners, and this is the API's own origin: never let a browser sniff or run
 * them (an HTML or SVG result would otherwise execute scripts as the admin UI).
 */
function fileHeaders(info: ObjectInfo, fileName?: string): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": info.contentType,
    "content-length": String(info.sizeBytes),
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cache-control": "private, max-age=300",
  };
  if (fileName) {
    const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
    headers["content-disposition"] = `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
  }
  return headers;
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers }).end(`${message}\n`);
}

/** A client that hung up mid-transfer is no server error. */
function isClientGone(error: unknown, res: ServerResponse): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return res.destroyed || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ECONNRESET" || code === "ABORT_ERR";
}
