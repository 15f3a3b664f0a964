import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadNodeSecretsKey, NODE_SECRETS_KEY_FILE, SecretBox } from "./secret-box.js";

describe("secrets at rest", () => {
  it("seal and open; the sealed text reveals nothing and differs every time", () => {
    const box = new SecretBox(randomBytes(32));
    const secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n";
    const a = box.seal(secret);
    const b = box.seal(secret);
    expect(a).not.toBe(b);
    expect(a).not.toContain("OPENSSH");
    expect(box.open(a)).toBe(secret);
  });

  it("a changed value or another key fails the tag check", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("private");
    const parts = sealed.split(":");
    const body = Buffer.from(parts[3] as string, "base64url");
    body[0] = (body[0] as number) ^ 1;
    expect(() => box.open([parts[0], parts[1], parts[2], body.toString("base64url")].join(":"))).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });

  it("without NODE_SECRETS_KEY a key is generated once into the data folder, mode 0600", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vyvo-secrets-"));
    try {
      const first = await loadNodeSecretsKey(undefined, dir);
      const second = await loadNodeSecretsKey(undefined, dir);
      expect(first.length).toBe(32);
      expect(second.equals(first)).toBe(true);
      expect((await stat(join(dir, NODE_SECRETS_KEY_FILE))).mode & 0o777).toBe(0o600);
      expect((await readFile(join(dir, NODE_SECRETS_KEY_FILE), "utf8")).trim()).toBe(first.toString("base64"));
      const configured = randomBytes(32);
      expect((await loadNodeSecretsKey(configured.toString("base64"), dir)).equals(configured)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
