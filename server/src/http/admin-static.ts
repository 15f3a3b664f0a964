import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Where `npm run build -w web` puts the admin. */
export const DEFAULT_ADMIN_DIR = fileURLToPath(new URL("../../../web/dist", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page may load its own scripts and styles, talk to this origin (HTTP and WebSocket), and
 * show images from anywhere (artifact links may redirect to S3); nothing may frame it.
 */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https: http:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
};

/**
 * Serves the built admin (web/dist) at `/`: its files as they are, hashed assets cached for
 * good, and index.html for every other path so that client-side routes survive a reload. The
 * HTTP server calls it only for GET and HEAD of paths no API owns (/graphql, /healthz, /readyz,
 * /artifacts/, /fal/, /.well-known/ come first).
 */
export function createAdminStatic(opts: { root: string }) {
  const root = resolve(opts.root);
  const indexFile = resolve(root, "index.html");

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://admin").pathname);
    } catch {
      return text(res, 400, "bad path");
    }
    if (path.includes("\0")) return text(res, 400, "bad path");
    const file = resolve(root, `.${path}`);
    if (file !== root && !file.startsWith(root + sep)) return text(res, 404, "not found");
    const found = await stat(file).then(
      (s) => (s.isFile() ? s : null),
      () => null,
    );
    if (found && file !== indexFile) {
      return send(req, res, file, found.size, {
        "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      });
    }
    // A missing asset is a 404, not the page: a stale tab must not parse HTML as JavaScript.
    if (path.startsWith("/assets/") || (extname(path) !== "" && path !== "/index.html"))
      return text(res, 404, "not found");
    const index = await stat(indexFile).catch(() => null);
    if (!index)
      return text(
        res,
        503,
        "The admin console is not built. Run `npm run build` (or `npm run build -w web`) and reload.",
      );
    return send(req, res, indexFile, index.size, {
      "content-type": CONTENT_TYPES[".html"] as string,
      "cache-control": "no-cache",
      ...PAGE_HEADERS,
    });
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) text(res, 500, `admin: ${String((error as Error)?.message ?? error)}`);
      else res.destroy();
    });
  };
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  size: number,
  headers: Record<string, string>,
): void {
  res.writeHead(200, { ...headers, "content-length": String(size), "x-content-type-options": "nosniff" });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

function text(res: ServerResponse, status: number, body: string) {
  return res
    .writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" })
    .end(body);
}
