import type { IncomingMessage, ServerResponse } from "node:http";
import { FalHttpError } from "./fal-errors.js";

/** Small node:http helpers for the shim: bounded bodies, JSON replies, our own public origin. */

/** Reads the whole body; more than `limit` bytes is a 413 (the rest is not read). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(limit: number): FalHttpError {
  return FalHttpError.detail(
    413,
    `request body is larger than ${limit} bytes; upload files through storage and pass their URL`,
  );
}

/** A JSON request body; an empty body is `{}` (the JS client sends none when input is undefined). */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readBody(req, limit);
  if (raw.length === 0 || raw.toString("utf8").trim() === "") return {};
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new FalHttpError(422, {
      detail: [{ loc: ["body"], msg: `JSON decode error: ${(error as Error).message}`, type: "json_invalid" }],
      message: "request body is not valid JSON",
    });
  }
}

export function sendJson(
  res: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * The origin clients reach us at: PUBLIC_URL when configured, else the request's Host (with
 * X-Forwarded-Proto behind a TLS proxy). Python follows the URLs we return, so they must work.
 */
export function originOf(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, "");
  const forwarded = req.headers["x-forwarded-proto"];
  const proto =
    (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim() === "https" ? "https" : "http";
  const host = req.headers.host ?? `127.0.0.1:${req.socket.localPort ?? 80}`;
  return `${proto}://${host}`;
}

/** Calls back when the client goes away before we finished answering (closed tab, client timeout, abort). */
export function onClientGone(res: ServerResponse, callback: () => void): void {
  res.once("close", () => {
    if (!res.writableEnded) callback();
  });
}
