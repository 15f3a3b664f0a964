import { createHash, timingSafeEqual } from "node:crypto";
import type { Permission, Principal } from "../auth/permissions.js";
import type { FalAuthenticate } from "./fal-context.js";
import { credentialOf } from "./request-options.js";

/** What a fal key may do: use models through the shim, nothing administrative. */
export const FAL_KEY_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  "jobs:submit",
  "jobs:read",
  "jobs:cancel",
  "jobs:retry",
  "queues:read",
]);

/**
 * Until API keys come from the auth service: the keys of FAL_API_KEYS, compared in constant
 * time. With no keys configured there is no auth, and every caller acts as "anonymous" with
 * the fal permissions.
 */
export function configuredKeysAuthenticator(keys: readonly string[]): FalAuthenticate {
  const digests = keys
    .filter(Boolean)
    .map((key) => ({ digest: sha256(key), id: sha256(key).toString("hex").slice(0, 12) }));
  const open: Principal = { kind: "anonymous", id: "anonymous", name: "anonymous", permissions: FAL_KEY_PERMISSIONS };
  return async (authorization) => {
    if (digests.length === 0) return open;
    const credential = credentialOf(authorization);
    if (!credential) return null;
    const presented = sha256(credential.secret);
    const match = digests.find((entry) => timingSafeEqual(entry.digest, presented));
    if (!match) return null;
    return {
      kind: "apiKey",
      id: match.id,
      name: `fal key ${match.id}`,
      ownerId: "config",
      permissions: FAL_KEY_PERMISSIONS,
    };
  };
}

/** FAL_API_KEYS: comma or whitespace separated. */
export function parseKeyList(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
