import { ARTIFACTS_ROUTE } from "./local-artifact-store.js";
import { sign, signatureMatches } from "./signing.js";

/**
 * The lasting download links that go into job results: `<server>/artifacts/<key>?token=…`,
 * where the token is an HMAC of the key. The link has no expiry of its own: the server
 * honours it while the artifact's row exists, which is exactly as long as its job is retained
 * (however long RESULT_RETENTION_MS is, and even past S3's 7-day presign limit). The server
 * then streams the file (local store) or redirects to a short-lived presigned GET (S3).
 */
export class DownloadLinks {
  constructor(
    private readonly secret: Buffer,
    private readonly baseUrl: () => string,
  ) {}

  urlFor(key: string): string {
    return `${this.baseUrl()}${ARTIFACTS_ROUTE}${key}?token=${this.tokenFor(key)}`;
  }

  verify(key: string, token: string | null): boolean {
    return signatureMatches(this.tokenFor(key), token);
  }

  private tokenFor(key: string): string {
    return sign(this.secret, ["download", key]);
  }
}
