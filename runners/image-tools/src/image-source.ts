// Fetches the bytes behind `image_url`: a data: URI or an http(s) URL, with a size cap.
import { InputError, RunnerError } from "../../sdk/src/runner.js";

export const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 60_000;

export interface LoadedBytes {
  bytes: Buffer;
  /** What to say in logs: the host, or "data: URI". */
  origin: string;
}

function loadError(msg: string, type: string): InputError {
  return new InputError([{ loc: ["body", "image_url"], msg, type }]);
}

export function decodeDataUri(uri: string): Buffer {
  const comma = uri.indexOf(",");
  if (!uri.startsWith("data:") || comma < 0) throw loadError("Malformed data: URI", "value_error");
  const meta = uri.slice(5, comma);
  const payload = uri.slice(comma + 1);
  if (meta.split(";").includes("base64")) return Buffer.from(payload, "base64");
  try {
    return Buffer.from(decodeURIComponent(payload), "latin1");
  } catch {
    throw loadError("Malformed percent-encoding in data: URI", "value_error");
  }
}

export async function loadImageBytes(url: string, signal: AbortSignal): Promise<LoadedBytes> {
  if (url.startsWith("data:")) {
    const bytes = decodeDataUri(url);
    if (bytes.length > MAX_DOWNLOAD_BYTES) throw loadError("Image is larger than 64 MiB", "file_too_large");
    return { bytes, origin: "data: URI" };
  }
  const target = new URL(url);
  let response: Response;
  try {
    response = await fetch(target, { signal: AbortSignal.any([signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]) });
  } catch (error) {
    signal.throwIfAborted();
    // A network failure may pass: let the job be tried again.
    throw new RunnerError(`could not download image_url from ${target.host}: ${(error as Error).message}`, {
      errorType: "file_download_error",
      retryable: true,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    const message = `Failed to download image_url: HTTP ${response.status}`;
    if (response.status >= 500 || response.status === 429) {
      throw new RunnerError(message, { errorType: "file_download_error", retryable: true });
    }
    throw loadError(message, "file_download_error");
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_DOWNLOAD_BYTES) {
    await response.body?.cancel();
    throw loadError("Image is larger than 64 MiB", "file_too_large");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (let next = await reader?.read(); next && !next.done; next = await reader?.read()) {
    size += next.value.length;
    if (size > MAX_DOWNLOAD_BYTES) {
      await reader?.cancel();
      throw loadError("Image is larger than 64 MiB", "file_too_large");
    }
    chunks.push(Buffer.from(next.value));
  }
  return { bytes: Buffer.concat(chunks), origin: target.host };
}
