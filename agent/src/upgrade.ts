import { createHash, randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * Self-upgrade (UpgradeAgentCommand): download a new bundle, check its SHA-256, and replace the bundle this agent
 * runs from, atomically (a file beside it, then renamed over). The restart that loads it is the caller's.
 */

export class UpgradeError extends Error {
  override name = "UpgradeError";
}

export interface UpgradeOptions {
  bundleUrl: string;
  sha256: string;
  /** The file to replace. */
  target: string;
  /** Base for a relative bundleUrl, and the only origin that gets `Authorization` (the node token). */
  serverUrl: string;
  authToken?: string;
  fetchFn?: typeof fetch;
  maxBytes?: number;
}

/** The bundle this process runs from, or null when it runs from the sources (nothing to replace). */
export function runningBundlePath(moduleUrl: string = import.meta.url): string | null {
  const file = fileURLToPath(moduleUrl);
  return file.endsWith(".mjs") ? file : null;
}

export async function replaceBundle(options: UpgradeOptions): Promise<{ bytes: number }> {
  const url = new URL(options.bundleUrl, options.serverUrl);
  const headers: Record<string, string> = {};
  if (options.authToken && url.origin === new URL(options.serverUrl).origin)
    headers.authorization = `Bearer ${options.authToken}`;
  let response: Response;
  try {
    response = await (options.fetchFn ?? fetch)(url, { headers, signal: AbortSignal.timeout(300_000) });
  } catch (error) {
    throw new UpgradeError(`download failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) throw new UpgradeError(`download failed: HTTP ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > (options.maxBytes ?? 200 * 1024 * 1024)) throw new UpgradeError("the bundle is too large");
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== options.sha256.toLowerCase()) {
    throw new UpgradeError(
      `sha256 mismatch: expected ${options.sha256.toLowerCase()}, got ${actual}; nothing replaced`,
    );
  }
  const draft = `${options.target}.${randomBytes(4).toString("hex")}.new`;
  try {
    await writeFile(draft, bytes, { mode: 0o755, flag: "wx" });
    await rename(draft, options.target);
  } catch (error) {
    await rm(draft, { force: true });
    throw new UpgradeError(
      `could not replace ${options.target}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { bytes: bytes.length };
}
