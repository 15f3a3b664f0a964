import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { errorMessage, type Logger } from "./log.js";

/**
 * Runner bundles: a `process` runner with an `artifactUrl` is a .tgz, fetched once per model version id and unpacked
 * with `tar` into `<workDir>/bundles/<id>/`. Versions are immutable, so the id alone is the cache key (presigned
 * URLs change with every command). A folder is only used once it holds the marker file written after a complete
 * unpack; concurrent jobs for the same version share one download.
 */

export class BundleError extends Error {
  override name = "BundleError";
}

const MARKER = ".vyvo-bundle.json";

/** A folder name for an id: safe characters kept, anything else replaced, plus a short hash if it changed. */
export function safeName(id: string): string {
  const safe = id.replace(/[^a-zA-Z0-9_.-]/g, "_").slice(0, 80);
  if (safe === id && safe !== "." && safe !== "..") return safe;
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (Math.imul(hash, 31) + id.charCodeAt(i)) >>> 0;
  return `${safe}-${hash.toString(16)}`;
}

export interface BundleCacheOptions {
  dir: string;
  /** Base for relative artifact URLs, and the only origin that gets `Authorization` (the node token). */
  serverUrl: string;
  authToken: () => string | undefined;
  fetchFn?: typeof fetch;
  tar?: string;
  log: Logger;
}

export class BundleCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly options: BundleCacheOptions) {}

  /** The unpacked folder of `modelVersionId`, fetching and unpacking `artifactUrl` the first time. */
  ensure(modelVersionId: string, artifactUrl: string, signal?: AbortSignal): Promise<string> {
    const existing = this.inflight.get(modelVersionId);
    if (existing) return existing;
    const promise = this.load(modelVersionId, artifactUrl, signal).finally(() => this.inflight.delete(modelVersionId));
    this.inflight.set(modelVersionId, promise);
    return promise;
  }

  /** Deletes the unpacked bundle of a model version (RemoveRunnerCommand); false when there was none. */
  async remove(modelVersionId: string): Promise<boolean> {
    const target = path.join(this.options.dir, safeName(modelVersionId));
    const had = await exists(path.join(target, MARKER));
    await rm(target, { recursive: true, force: true });
    return had;
  }

  private async load(modelVersionId: string, artifactUrl: string, signal?: AbortSignal): Promise<string> {
    const target = path.join(this.options.dir, safeName(modelVersionId));
    if (await exists(path.join(target, MARKER))) return target;
    await mkdir(this.options.dir, { recursive: true });
    const tmp = path.join(this.options.dir, `.tmp-${randomBytes(6).toString("hex")}`);
    const archive = `${tmp}.tgz`;
    const log = this.options.log.child({ modelVersionId });
    try {
      const url = new URL(artifactUrl, this.options.serverUrl);
      const headers: Record<string, string> = {};
      const token = this.options.authToken();
      if (token && url.origin === new URL(this.options.serverUrl).origin) headers.authorization = `Bearer ${token}`;
      log.info("fetching runner bundle", { url: `${url.origin}${url.pathname}` });
      const res = await (this.options.fetchFn ?? fetch)(url, { headers, signal });
      if (!res.ok || !res.body) throw new BundleError(`bundle download failed: HTTP ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(archive));
      await mkdir(tmp);
      await untar(this.options.tar ?? "tar", archive, tmp, signal);
      await writeFile(path.join(tmp, MARKER), JSON.stringify({ modelVersionId, unpackedAt: new Date().toISOString() }));
      await rm(target, { recursive: true, force: true });
      await rename(tmp, target);
      log.info("runner bundle ready", { dir: target });
      return target;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      if (error instanceof BundleError) throw error;
      throw new BundleError(`bundle for ${modelVersionId} could not be prepared: ${errorMessage(error)}`);
    } finally {
      await rm(archive, { force: true });
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** `tar -xzf archive -C dir --no-same-owner`; GNU and BSD tar both refuse absolute paths and `..` by default. */
function untar(tar: string, archive: string, dir: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(tar, ["-xzf", archive, "-C", dir, "--no-same-owner"], { signal }, (error, _stdout, stderr) => {
      if (error) reject(new BundleError(`tar failed: ${String(stderr).trim() || error.message}`));
      else resolve();
    });
  });
}
