import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** HMAC-SHA256 over the parts, joined by newlines (no part may hold one), as base64url. */
export function sign(secret: Buffer, parts: readonly (string | number)[]): string {
  const text = parts.map(String).join("\n");
  return createHmac("sha256", secret).update(text).digest("base64url");
}

/** Constant-time comparison of a signature the caller sent with the one we compute. */
export function signatureMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const SIGNING_SECRET_FILE = "artifact-signing.key";

/**
 * The secret that signs artifact URLs: ARTIFACT_SIGNING_SECRET when configured (replicas must
 * share it), otherwise one generated on first start and kept in the data folder (mode 0600),
 * so links stay valid across restarts of a single server.
 */
export async function loadSigningSecret(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return Buffer.from(configured, "utf8");
  const file = join(dataDir, SIGNING_SECRET_FILE);
  let secret = await readIfExists(file);
  if (secret === null) {
    await mkdir(dataDir, { recursive: true });
    // Written aside, then linked into place: link fails if the file exists, so two servers
    // starting on one folder agree on one secret, and nobody reads a half-written file.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    await writeFile(draft, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    try {
      await link(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await unlink(draft);
    }
    secret = (await readIfExists(file)) ?? "";
  }
  if (secret.length < 32) throw new Error(`${file} holds no usable secret (delete it to generate a new one)`);
  return Buffer.from(secret, "utf8");
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
