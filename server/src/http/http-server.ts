import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface HealthChecks {
  /** Resolves when the database and the queue answer; rejects with the reason otherwise. */
  ready(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Paths the APIs own: the admin console never answers them, even when their route is not configured. */
const API_PATHS = /^\/(graphql|healthz|readyz)$|^\/(artifacts|fal|\.well-known)\//;

export interface ExtraRoutes {
  /** Paths under /artifacts/ (see artifact-routes.ts). */
  artifacts?: Handler;
  /** The fal-compatible REST shim under /fal/ (see fal/fal-router.ts). */
  fal?: Handler;
  /** The JWKS that verifies our webhook signatures, at /.well-known/jwks.json. */
  jwks?: Handler;
  /** The built admin console (see admin-static.ts): GET and HEAD of every path no API owns. */
  admin?: Handler;
}

/** The one HTTP server: health probes, artifacts, the fal shim, GraphQL, and the admin console for every other GET. */
export function createHttpServer(
  graphql: Handler,
  health: HealthChecks,
  routes: ExtraRoutes = {},
  limits: { maxGraphQLBodyBytes: number } = { maxGraphQLBodyBytes: 4 * 1024 * 1024 },
): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/graphql" && req.method === "POST") {
      // The body limit is checked before anything reads it; a body of unknown length is refused.
      const length = Number(req.headers["content-length"]);
      if (req.headers["content-length"] === undefined)
        return graphqlError(res, 411, "LENGTH_REQUIRED", "send a Content-Length");
      if (!Number.isFinite(length) || length > limits.maxGraphQLBodyBytes) {
        return graphqlError(res, 413, "PAYLOAD_TOO_LARGE", `request body is over ${limits.maxGraphQLBodyBytes} bytes`);
      }
    }
    if (path === "/healthz") return json(res, 200, { status: "ok" });
    if (routes.artifacts && path.startsWith("/artifacts/")) return routes.artifacts(req, res);
    if (routes.fal && path.startsWith("/fal/")) return routes.fal(req, res);
    if (routes.jwks && path === "/.well-known/jwks.json") return routes.jwks(req, res);
    if (path === "/readyz") {
      health.ready().then(
        () => json(res, 200, { status: "ready" }),
        (error: unknown) => json(res, 503, { status: "not ready", reason: String((error as Error)?.message ?? error) }),
      );
      return;
    }
    if (routes.admin && (req.method === "GET" || req.method === "HEAD") && !API_PATHS.test(path))
      return routes.admin(req, res);
    graphql(req, res);
  });
}

function graphqlError(res: ServerResponse, status: number, code: string, message: string): void {
  // Drain what the client still sends, so it reads our answer instead of a reset connection.
  res.once("finish", () => res.req.resume());
  res.setHeader("connection", "close");
  json(res, status, { errors: [{ message, extensions: { code } }] });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
