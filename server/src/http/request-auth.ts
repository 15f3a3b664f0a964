import { ANONYMOUS, type Authenticated } from "../auth/auth-service.js";
import { DomainError } from "../errors.js";
import type { Node } from "../generated/prisma/client.js";
import type { Services } from "../graphql/context.js";

export const SESSION_COOKIE = "vyvo_session";

export interface PresentedCredentials {
  authorization?: string | null;
  cookie?: string | null;
  /** graphql-ws connectionParams */
  params?: Record<string, unknown> | null;
}

const SCHEME = /^(Bearer|Key)\s+(\S+)$/i;

/**
 * Turns what a caller presented into who they are. A credential that is presented but wrong is
 * an error (never a silent fall back to anonymous); presenting nothing makes you anonymous.
 */
export async function authenticate(
  services: Services,
  presented: PresentedCredentials,
): Promise<Authenticated & { node: Node | null }> {
  const params = presented.params ?? {};
  const header = presented.authorization?.match(SCHEME)?.[2];
  const nodeToken =
    typeof params.nodeToken === "string" ? params.nodeToken : header?.startsWith("vyvo_node_") ? header : null;
  if (nodeToken || params.nodeToken !== undefined) {
    const node = nodeToken ? await services.nodes.authenticate(nodeToken) : null;
    if (!node) throw new DomainError("UNAUTHENTICATED", "node token is not valid");
    return {
      principal: { kind: "node", id: node.id, name: node.name, permissions: new Set() },
      credential: { kind: "node", id: node.id },
      node,
    };
  }
  const apiKey = typeof params.apiKey === "string" ? params.apiKey : (header ?? null);
  if (apiKey || params.apiKey !== undefined || presented.authorization) {
    const authenticated = apiKey ? await services.auth.authenticateApiKey(apiKey) : null;
    if (!authenticated) throw new DomainError("UNAUTHENTICATED", "API key is not valid, expired or revoked");
    return { ...authenticated, node: null };
  }
  const session = cookieValue(presented.cookie, SESSION_COOKIE);
  if (session) {
    const authenticated = await services.auth.authenticateSession(session);
    if (!authenticated) throw new DomainError("UNAUTHENTICATED", "session expired or ended; log in again");
    return { ...authenticated, node: null };
  }
  return { principal: ANONYMOUS, credential: { kind: "none", id: "anonymous" }, node: null };
}

export function cookieValue(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=") || null;
  }
  return null;
}
