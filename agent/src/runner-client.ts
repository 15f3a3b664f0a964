import http from "node:http";
import net from "node:net";

/**
 * The agent's side of the runner HTTP contract (runners/CONTRACT.md) on node:http: no client-side idle timeouts,
 * since a model may think for minutes between two lines of its NDJSON stream.
 */

export const RUNNER_HOST = "127.0.0.1";

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, RUNNER_HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))));
    });
  });
}

/** `GET /health`: the status code, or 0 when nothing answered within `timeoutMs`. */
export function healthStatus(port: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: RUNNER_HOST, port, path: "/health", method: "GET", timeout: timeoutMs, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(0));
    req.end();
  });
}

export interface RunRequestBody {
  request_id: string;
  input: unknown;
  route: string | null;
  output_dir: string;
}

/** `POST /run`; resolves with the response once its headers arrived (the body is the NDJSON stream). */
export function postRun(port: number, body: RunRequestBody, signal: AbortSignal): Promise<http.IncomingMessage> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: RUNNER_HOST,
        port,
        path: "/run",
        method: "POST",
        signal,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": payload.length,
          accept: "application/x-ndjson",
        },
      },
      resolve,
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Reads a small non-stream body (an HTTP error from the runner), at most `limit` bytes. */
export async function readSmallBody(res: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buffer = chunk as Buffer;
    if (size < limit) chunks.push(buffer.subarray(0, limit - size));
    size += buffer.length;
  }
  return Buffer.concat(chunks).toString("utf8");
}
