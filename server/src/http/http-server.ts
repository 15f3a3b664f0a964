import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface HealthChecks {
  /** Resolves when the database and the queue answer; rejects with the reason otherwise. */
  ready(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ExtraRoutes {
  /** Paths under /artifacts/ (see artifact-routes.ts). */
  artifacts?: Handler;
}

/** The one HTTP server: health probes, artifacts, then GraphQL (and later the fal shim and the admin). */
export function createHttpServer(graphql: Handler, health: HealthChecks, routes: ExtraRoutes = {}): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/healthz") return json(res, 200, { status: "ok" });
    if (routes.artifacts && path.startsWith("/artifacts/")) return routes.artifacts(req, res);
    if (path === "/readyz") {
      health.ready().then(
        () => json(res, 200, { status: "ready" }),
        (error: unknown) => json(res, 503, { status: "not ready", reason: String((error as Error)?.message ?? error) }),
      );
      return;
    }
    graphql(req, res);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
