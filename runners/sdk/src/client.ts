// The agent side of runners/CONTRACT.md over node:http. node:http rather than fetch on purpose:
// fetch (undici) cuts a response body that is quiet for 300 s, and a model run can be quieter.
import http from "node:http";
import { StringDecoder } from "node:string_decoder";
import { type FinalLine, isFinalLine, parseRunnerLine, type RunnerLine, type RunRequest } from "./protocol.js";

export class RunnerHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`runner answered HTTP ${status}: ${body.slice(0, 500)}`);
    this.name = "RunnerHttpError";
  }
}

/** The stream ended (or broke) before its result or error line: the runner died or hung up. */
export class IncompleteResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IncompleteResponseError";
  }
}

interface JsonResponse {
  status: number;
  body: unknown;
}

function request(
  baseUrl: string,
  method: string,
  pathname: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(new URL(pathname, baseUrl), {
      method,
      signal,
      headers:
        payload === undefined
          ? {}
          : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
    });
    req.on("response", resolve);
    req.on("error", reject);
    req.end(payload);
  });
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function requestJson(baseUrl: string, method: string, pathname: string, body?: unknown): Promise<JsonResponse> {
  const res = await request(baseUrl, method, pathname, body);
  const text = await readAll(res);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode ?? 0, body: parsed };
}

export function getHealth(baseUrl: string): Promise<JsonResponse> {
  return requestJson(baseUrl, "GET", "/health");
}

export function cancelRun(baseUrl: string, requestId: string): Promise<JsonResponse> {
  return requestJson(baseUrl, "POST", "/cancel", { request_id: requestId });
}

/**
 * POSTs /run and yields each line as it arrives, the final result or error line last. Throws
 * RunnerHttpError when the runner refuses the run (400, 429, 503, …) and IncompleteResponseError
 * when the stream ends without a final line. Aborting `signal` closes the request, which the
 * contract defines as cancelling the run.
 */
export async function* streamRun(
  baseUrl: string,
  body: RunRequest,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<RunnerLine, FinalLine> {
  const res = await request(baseUrl, "POST", "/run", body, options.signal);
  if (res.statusCode !== 200) throw new RunnerHttpError(res.statusCode ?? 0, await readAll(res));
  const decoder = new StringDecoder("utf8");
  let pending = "";
  try {
    for await (const chunk of res) {
      pending += decoder.write(chunk as Buffer);
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = parseRunnerLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (line) {
          yield line;
          if (isFinalLine(line)) return line;
        }
        newline = pending.indexOf("\n");
      }
    }
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new IncompleteResponseError(`runner stream broke: ${(error as Error).message}`);
  } finally {
    res.destroy();
  }
  const last = parseRunnerLine(pending + decoder.end());
  if (last && isFinalLine(last)) return last;
  throw new IncompleteResponseError("runner stream ended without a result or error line");
}

/** Runs to the end and returns every line and the final one. */
export async function collectRun(
  baseUrl: string,
  body: RunRequest,
  options: { signal?: AbortSignal; onLine?: (line: RunnerLine) => void } = {},
): Promise<{ lines: RunnerLine[]; final: FinalLine }> {
  const lines: RunnerLine[] = [];
  const stream = streamRun(baseUrl, body, options);
  for (;;) {
    const next = await stream.next();
    if (next.done) return { lines, final: next.value };
    lines.push(next.value);
    options.onLine?.(next.value);
  }
}
