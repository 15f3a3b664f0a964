import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { join } from "node:path";
import { readOrCreateSecretFile } from "../persisted-secret.js";

/**
 * Secrets at rest (SSH private keys): AES-256-GCM, a fresh 12-byte IV per value, the auth tag
 * checked on open. Stored as "v1:<iv>:<tag>:<ciphertext>" (base64url parts).
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("the secrets key must be 32 bytes");
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), body]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(":");
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(":");
    if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("not a sealed secret");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    // A wrong key or a changed value fails the tag check here.
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  }
}

export const NODE_SECRETS_KEY_FILE = "node-secrets.key";

/**
 * NODE_SECRETS_KEY when configured (replicas must share it), otherwise a key generated on first
 * start into the data folder (mode 0600), like the artifact signing secret.
 */
export async function loadNodeSecretsKey(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return Buffer.from(configured, "base64");
  const file = join(dataDir, NODE_SECRETS_KEY_FILE);
  const text = await readOrCreateSecretFile(
    dataDir,
    NODE_SECRETS_KEY_FILE,
    () => `${randomBytes(32).toString("base64")}\n`,
  );
  const key = Buffer.from(text, "base64");
  if (key.length !== 32) throw new Error(`${file} holds no usable key (32 bytes, base64)`);
  return key;
}
