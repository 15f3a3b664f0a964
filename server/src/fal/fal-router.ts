import type { IncomingMessage, ServerResponse } from "node:http";
import type { Permission, Principal } from "../auth/permissions.js";
import { type AppRef, parseQueuePath, parseRunPath } from "./app-path.js";
import type { FalCall, FalDeps, FalWebhooks } from "./fal-context.js";
import { FalHttpError, replyForError } from "./fal-errors.js";
import { originOf, sendJson } from "./http-io.js";
import { handleQueueRoute } from "./queue-routes.js";
import { header } from "./request-options.js";
import { handleRunRoute } from "./run-routes.js";
import { CLIENT_TOKEN_KIND, handleCdnRoute, handleRestRoute, serveFile } from "./storage-routes.js";

/** A client token (minted by a key with jobs:submit) only calls apps: submit, follow, cancel its requests. */
const CLIENT_TOKEN_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  "jobs:submit",
  "jobs:read",
  "jobs:cancel",
]);

/**
 * The fal-compatible REST shim, mounted at /fal/ on the server's port:
 *   /fal/queue/…  queue.fal.run      /fal/run/…  fal.run (sync and streaming)
 *   /fal/rest/…   rest.fal.ai        /fal/cdn/…  uploads     /fal/files/…  stored files
 * Clients point their hosts here (fal-api.md §4); every route answers in fal's wire format.
 */

/** Where clients fetch the keys that verify our webhooks (fal: rest.fal.ai/.well-known/jwks.json). */
export const JWKS_PATH = "/.well-known/jwks.json";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function createFalRouter(deps: FalDeps): Handler {
  return (req, res) => {
    void dispatch(deps, req, res);
  };
}

/** Serves the webhook JWKS (at /.well-known/jwks.json, and under /fal/rest/ by the router). */
export function createJwksHandler(webhooks: FalWebhooks): Handler {
  return (_req, res) => sendJson(res, 200, webhooks.jwks(), { "cache-control": "public, max-age=300" });
}

async function dispatch(deps: FalDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://shim.invalid");
  const path = url.pathname;
  const method = req.method ?? "GET";
  let requestId: string | undefined;
  try {
    const origin = originOf(req, deps.publicUrl);
    if (path === `/fal/rest${JWKS_PATH}`) return createJwksHandler(deps.webhooks)(req, res);
    if (path.startsWith("/fal/files/")) return await serveFile(deps, req, res, url);
    if (path.startsWith("/fal/cdn/")) {
      const reply = await handleCdnRoute(deps, req, url, origin);
      return sendJson(res, reply.statusCode, reply.body, reply.headers);
    }

    const queueRoute = path.startsWith("/fal/queue/") ? parseQueuePath(method, path.slice("/fal/queue/".length)) : null;
    const runRoute = path.startsWith("/fal/run/") ? parseRunPath(path.slice("/fal/run/".length)) : null;
    if (queueRoute && "requestId" in queueRoute) requestId = queueRoute.requestId;
    const app: AppRef | undefined =
      queueRoute && "app" in queueRoute ? queueRoute.app : runRoute && "app" in runRoute ? runRoute.app : undefined;

    const principal = await authenticate(deps, req, url, app);
    if (!principal)
      throw FalHttpError.detail(401, "missing or invalid credentials: send Authorization: Key <your key>");
    const call: FalCall = { req, res, url, origin, principal };

    if (queueRoute) {
      if ("error" in queueRoute) throw FalHttpError.detail(queueRoute.status, queueRoute.error);
      return await handleQueueRoute(deps, call, queueRoute);
    }
    if (runRoute) {
      if ("error" in runRoute) throw FalHttpError.detail(runRoute.status, runRoute.error);
      return await handleRunRoute(deps, call, runRoute);
    }
    if (path.startsWith("/fal/rest/")) return await handleRestRoute(deps, call, path.slice("/fal/rest".length));
    throw FalHttpError.detail(404, `no fal endpoint at ${path}`);
  } catch (error) {
    const reply = replyForError(error, (unexpected) => deps.onError(unexpected, `fal ${method} ${path}`));
    if (res.headersSent) {
      res.end();
      return;
    }
    sendJson(res, reply.statusCode, reply.body, {
      ...(requestId ? { "x-fal-request-id": requestId } : {}),
      ...reply.headers,
    });
  }
}

/**
 * `Authorization: Key …` through the configured authenticator, or a client token from
 * /fal/rest/tokens/ in `?fal_jwt_token=` (what the JS client sends in connectionMode "client"),
 * valid only for the apps it names.
 */
async function authenticate(
  deps: FalDeps,
  req: IncomingMessage,
  url: URL,
  app: AppRef | undefined,
): Promise<Principal | null> {
  const token = url.searchParams.get("fal_jwt_token");
  if (token !== null && header(req.headers, "authorization") === undefined) {
    const claims = deps.signer.readToken(CLIENT_TOKEN_KIND, token);
    const apps = Array.isArray(claims?.apps) ? (claims.apps as string[]) : [];
    const alias = app?.appId.split("/").pop();
    if (!claims || !app || (apps.length > 0 && !apps.includes(app.appId) && !apps.includes(alias ?? ""))) return null;
    const sub = String(claims.sub).replace(/^key:/, "");
    return { kind: "apiKey", id: sub, name: "client token", ownerId: sub, permissions: CLIENT_TOKEN_PERMISSIONS };
  }
  return deps.authenticate(header(req.headers, "authorization"));
}
