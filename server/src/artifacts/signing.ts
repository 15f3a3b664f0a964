import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { readOrCreateSecretFile } from "../persisted-secret.js";

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
  const secret = await readOrCreateSecretFile(
    dataDir,
    SIGNING_SECRET_FILE,
    () => `${randomBytes(32).toString("hex")}\n`,
  );
  if (secret.length < 32) throw new Error(`${file} holds no usable secret (delete it to generate a new one)`);
  return Buffer.from(secret, "utf8");
}
