import type { Principal } from "../auth/permissions.js";
import type { FalAuthenticate } from "./fal-context.js";
import { credentialOf } from "./request-options.js";

/**
 * `Authorization: Key <api key>` (fal's scheme; `Bearer` works too): the platform's own API
 * keys, so a fal caller has exactly the permissions of its key (jobs:submit, jobs:read, …).
 * No key or an unknown, revoked or expired one: null, and the shim answers 401.
 */
export function apiKeyAuthenticator(
  authenticateApiKey: (secret: string) => Promise<{ principal: Principal } | null>,
): FalAuthenticate {
  return async (authorization) => {
    const credential = credentialOf(authorization);
    if (!credential) return null;
    return (await authenticateApiKey(credential.secret))?.principal ?? null;
  };
}
