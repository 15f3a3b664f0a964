import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

/**
 * fal's webhook signature scheme, with our own Ed25519 key (fal-api.md §2.5). Pure crypto.
 *
 * Message = request id, user id, timestamp (unix seconds) and sha256 hex of the raw body, joined
 * by "\n"; signature = Ed25519 over it, hex, in X-Fal-Webhook-Signature. Receivers fetch our
 * public keys as a JWKS and reject timestamps more than 300 s away from their clock.
 */

export const WEBHOOK_HEADERS = {
  requestId: "x-fal-webhook-request-id",
  userId: "x-fal-webhook-user-id",
  timestamp: "x-fal-webhook-timestamp",
  signature: "x-fal-webhook-signature",
} as const;

export const MAX_CLOCK_SKEW_S = 300;

export interface SignedParts {
  requestId: string;
  userId: string;
  /** Unix seconds. */
  timestamp: number;
  body: Buffer | string;
}

export interface Jwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  use: "sig";
  alg: "EdDSA";
}

export function signingMessage(parts: SignedParts): Buffer {
  const bodyHash = createHash("sha256").update(parts.body).digest("hex");
  return Buffer.from([parts.requestId, parts.userId, String(parts.timestamp), bodyHash].join("\n"), "utf8");
}

/** The headers of one delivery: the four fal headers, signed with `privateKey`. */
export function signWebhook(parts: SignedParts, privateKey: KeyObject): Record<string, string> {
  const signature = sign(null, signingMessage(parts), privateKey).toString("hex");
  return {
    [WEBHOOK_HEADERS.requestId]: parts.requestId,
    [WEBHOOK_HEADERS.userId]: parts.userId,
    [WEBHOOK_HEADERS.timestamp]: String(parts.timestamp),
    [WEBHOOK_HEADERS.signature]: signature,
  };
}

export type VerifyOutcome = { ok: true; kid: string } | { ok: false; reason: string };

/** What a receiver does: check the timestamp window, then try every key of the JWKS. */
export function verifyWebhook(
  headers: Record<string, string | undefined>,
  body: Buffer | string,
  jwks: { keys: Jwk[] },
  nowS: number,
): VerifyOutcome {
  const requestId = headers[WEBHOOK_HEADERS.requestId];
  const userId = headers[WEBHOOK_HEADERS.userId];
  const timestamp = headers[WEBHOOK_HEADERS.timestamp];
  const signature = headers[WEBHOOK_HEADERS.signature];
  if (!requestId || userId === undefined || !timestamp || !signature)
    return { ok: false, reason: "missing signature headers" };
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowS - ts) > MAX_CLOCK_SKEW_S)
    return { ok: false, reason: "timestamp outside the allowed window" };
  if (!/^[0-9a-f]{128}$/i.test(signature)) return { ok: false, reason: "signature is not 64 bytes of hex" };
  const message = signingMessage({ requestId, userId, timestamp: ts, body });
  for (const jwk of jwks.keys) {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") continue;
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
    if (verify(null, message, key, Buffer.from(signature, "hex"))) return { ok: true, kid: jwk.kid };
  }
  return { ok: false, reason: "no key of the JWKS verifies the signature" };
}

/** The public JWK of an Ed25519 key, its kid being the RFC 7638 thumbprint. */
export function publicJwk(key: KeyObject): Jwk {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const exported = publicKey.export({ format: "jwk" }) as { kty?: string; crv?: string; x?: string };
  if (exported.kty !== "OKP" || exported.crv !== "Ed25519" || !exported.x)
    throw new Error("webhook signing key must be Ed25519");
  const thumbprint = createHash("sha256")
    .update(JSON.stringify({ crv: "Ed25519", kty: "OKP", x: exported.x }))
    .digest("base64url");
  return { kty: "OKP", crv: "Ed25519", x: exported.x, kid: thumbprint, use: "sig", alg: "EdDSA" };
}

export function jwksOf(keys: KeyObject[]): { keys: Jwk[] } {
  return { keys: keys.map(publicJwk) };
}
