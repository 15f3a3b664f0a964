import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const SIGNING_KEY_FILE = "webhook-signing-key.pem";

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The Ed25519 key that signs webhooks: WEBHOOK_SIGNING_KEY when configured (a PKCS#8 PEM, or
 * the 32-byte seed in base64 or hex), else one generated on first start into the data folder
 * with mode 0600. Replicas must share it (configure it, or share the folder): receivers
 * trust only the keys our JWKS lists, and each replica publishes its own.
 */
export async function loadWebhookSigningKey(configured: string | undefined, dataDir: string): Promise<KeyObject> {
  if (configured) return parseSigningKey(configured);
  const file = join(dataDir, SIGNING_KEY_FILE);
  let pem = await readIfExists(file);
  if (pem === null) {
    await mkdir(dataDir, { recursive: true });
    const { privateKey } = generateKeyPairSync("ed25519");
    // Written aside, then linked into place: link fails if the file exists, so two servers
    // starting on one folder end up with one key, and nobody reads a half-written file.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    await writeFile(draft, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
    try {
      await link(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await unlink(draft);
    }
    pem = (await readIfExists(file)) ?? "";
  }
  try {
    return parseSigningKey(pem);
  } catch (error) {
    throw new Error(
      `${file} holds no usable Ed25519 key (delete it to generate a new one): ${(error as Error).message}`,
    );
  }
}

export function parseSigningKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.includes("-----BEGIN")
    ? createPrivateKey(trimmed)
    : createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seedOf(trimmed)]), format: "der", type: "pkcs8" });
  if (key.asymmetricKeyType !== "ed25519")
    throw new Error(`the webhook signing key must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

function seedOf(text: string): Buffer {
  const seed = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
  if (seed.length !== 32)
    throw new Error("WEBHOOK_SIGNING_KEY must be a PKCS#8 PEM or a 32-byte seed in hex or base64");
  return seed;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
