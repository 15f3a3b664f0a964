import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { readOrCreateSecretFile } from "../persisted-secret.js";

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
  const pem = await readOrCreateSecretFile(dataDir, SIGNING_KEY_FILE, () =>
    String(generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" })),
  );
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
