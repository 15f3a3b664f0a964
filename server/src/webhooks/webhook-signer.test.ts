import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadWebhookSigningKey, parseSigningKey, SIGNING_KEY_FILE } from "./signing-key.js";
import { jwksOf, publicJwk, signingMessage, signWebhook, verifyWebhook, WEBHOOK_HEADERS } from "./webhook-signer.js";

const { privateKey } = generateKeyPairSync("ed25519");
const body = JSON.stringify({ request_id: "r1", status: "OK", payload: { a: 1 } });
const now = 1_800_000_000;

describe("fal's webhook signature", () => {
  it("signs request id, user id, timestamp and the body's sha256, joined by newlines", () => {
    const message = signingMessage({ requestId: "r1", userId: "key:abc", timestamp: now, body });
    const hash = createHash("sha256").update(body).digest("hex");
    expect(message.toString()).toBe(`r1\nkey:abc\n${now}\n${hash}`);
    const headers = signWebhook({ requestId: "r1", userId: "key:abc", timestamp: now, body }, privateKey);
    expect(headers[WEBHOOK_HEADERS.signature]).toBe(sign(null, message, privateKey).toString("hex"));
    expect(headers).toMatchObject({
      [WEBHOOK_HEADERS.requestId]: "r1",
      [WEBHOOK_HEADERS.userId]: "key:abc",
      [WEBHOOK_HEADERS.timestamp]: String(now),
    });
  });

  it("a receiver verifies it with the JWKS, and rejects tampering, other keys and old timestamps", () => {
    const headers = signWebhook({ requestId: "r1", userId: "u", timestamp: now, body }, privateKey);
    const jwks = jwksOf([privateKey]);
    expect(verifyWebhook(headers, body, jwks, now + 10)).toEqual({ ok: true, kid: jwks.keys[0]?.kid });
    expect(verifyWebhook(headers, `${body} `, jwks, now)).toMatchObject({ ok: false });
    expect(verifyWebhook({ ...headers, [WEBHOOK_HEADERS.userId]: "v" }, body, jwks, now)).toMatchObject({ ok: false });
    expect(verifyWebhook(headers, body, jwks, now + 301)).toEqual({
      ok: false,
      reason: "timestamp outside the allowed window",
    });
    const other = jwksOf([generateKeyPairSync("ed25519").privateKey]);
    expect(verifyWebhook(headers, body, other, now)).toMatchObject({ ok: false });
    // A key set may hold several keys (rotation): any one that verifies is enough.
    expect(verifyWebhook(headers, body, { keys: [...other.keys, ...jwks.keys] }, now)).toMatchObject({ ok: true });
  });

  it("the JWK is OKP/Ed25519 with base64url x and its RFC 7638 thumbprint as kid", () => {
    const jwk = publicJwk(privateKey);
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", use: "sig", alg: "EdDSA" });
    expect(Buffer.from(jwk.x, "base64url")).toHaveLength(32);
    const thumbprint = createHash("sha256").update(`{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`).digest("base64url");
    expect(jwk.kid).toBe(thumbprint);
    expect(JSON.stringify(jwk)).not.toContain('"d"'); // never the private part
  });
});

describe("the signing key", () => {
  it("is generated once into the data folder with mode 0600, and read back on the next start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vyvo-webhook-key-"));
    try {
      const [first, second] = await Promise.all([
        loadWebhookSigningKey(undefined, dir),
        loadWebhookSigningKey(undefined, dir),
      ]);
      expect(publicJwk(first).x).toBe(publicJwk(second).x); // two servers starting at once agree
      expect((await stat(join(dir, SIGNING_KEY_FILE))).mode & 0o777).toBe(0o600);
      expect(publicJwk(await loadWebhookSigningKey(undefined, dir)).x).toBe(publicJwk(first).x);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("can be configured as a PEM or as a 32-byte seed", () => {
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(publicJwk(parseSigningKey(pem)).x).toBe(publicJwk(privateKey).x);
    const seed = "11".repeat(32);
    expect(publicJwk(parseSigningKey(seed)).x).toBe(
      publicJwk(parseSigningKey(Buffer.from(seed, "hex").toString("base64"))).x,
    );
    expect(() => parseSigningKey("too short")).toThrow(/32-byte seed/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    expect(() => parseSigningKey(rsa)).toThrow(/Ed25519/);
  });
});
