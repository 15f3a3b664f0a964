import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signed, expiring capabilities for the storage endpoints: upload URLs (the JS client PUTs to
 * them without credentials), CDN tokens (Python) and client tokens (`/tokens/`). Any replica
 * checks them with the shared secret; nothing is kept between initiate and upload.
 */
export class UploadSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly now: () => number,
  ) {}

  /** `?expires=…&signature=…` for an upload URL of `key` (the content type travels signed too). */
  uploadQuery(purpose: "put" | "multipart", key: string, contentType: string, ttlMs: number): string {
    const expires = Math.floor((this.now() + ttlMs) / 1000);
    const signature = this.sign([purpose, key, contentType, expires]);
    return new URLSearchParams({ ct: contentType, expires: String(expires), signature }).toString();
  }

  /** The content type the URL was signed for, or null when the URL is forged or expired. */
  checkUpload(purpose: "put" | "multipart", key: string, query: URLSearchParams): string | null {
    const contentType = query.get("ct");
    const expires = Number(query.get("expires"));
    const signature = query.get("signature");
    if (contentType === null || !signature || !Number.isInteger(expires) || expires * 1000 < this.now()) return null;
    return matches(this.sign([purpose, key, contentType, expires]), signature) ? contentType : null;
  }

  /** A bearer token carrying `claims` until `ttlMs` from now: base64url(JSON).signature. */
  token(kind: string, claims: Record<string, unknown>, ttlMs: number): { token: string; expiresAt: Date } {
    const exp = Math.floor((this.now() + ttlMs) / 1000);
    const payload = Buffer.from(JSON.stringify({ ...claims, kind, exp })).toString("base64url");
    return { token: `${payload}.${this.sign(["token", payload])}`, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a valid, unexpired token of `kind`; null otherwise. */
  readToken(kind: string, token: string | null | undefined): Record<string, unknown> | null {
    const [payload, signature, extra] = token?.split(".") ?? [];
    if (!payload || !signature || extra !== undefined || !matches(this.sign(["token", payload]), signature))
      return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
      if (claims.kind !== kind || typeof claims.exp !== "number" || claims.exp * 1000 < this.now()) return null;
      return claims;
    } catch {
      return null;
    }
  }

  private sign(parts: readonly (string | number)[]): string {
    return createHmac("sha256", this.secret)
      .update(`fal-shim\n${parts.join("\n")}`)
      .digest("base64url");
  }
}

function matches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
