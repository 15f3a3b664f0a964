/**
 * fal endpoint ids and queue paths → what the request asks for. Pure (fal-api.md §1.1, §1.2).
 *
 * An endpoint id is `owner/alias[/subpath…]`; ids in the `workflows` and `comfy` namespaces
 * take three segments for the app. Status, result and cancel live under the short app path,
 * but are accepted under the full path (with subpath) too, and trailing slashes are ignored.
 */

export type AppRef = { appId: string; subpath: string[] };

export type AppPathResult = { ok: true; app: AppRef } | { ok: false; status: 404; message: string };

export type QueueRoute =
  | { kind: "submit"; app: AppRef }
  | { kind: "status" | "statusStream" | "result" | "cancel" | "retry"; app: AppRef; requestId: string }
  | { kind: "list" | "stats"; app: AppRef };

export type RunRoute = { app: AppRef; streaming: boolean };

const NAMESPACES = new Set(["workflows", "comfy"]);

/** Splits a path (without its prefix) into decoded segments; empty ones (trailing or double slashes) go. */
export function pathSegments(path: string): string[] | null {
  try {
    return path
      .split("/")
      .filter((segment) => segment.length > 0)
      .map((segment) => decodeURIComponent(segment));
  } catch {
    return null; // malformed percent-escape
  }
}

/** The app id and the subpath after it. */
export function splitAppPath(segments: readonly string[]): AppPathResult {
  const parts = [...segments];
  // Legacy ids: `12345-myapp` means `12345/myapp`.
  const legacy = parts.length >= 1 ? /^(\d+)-([a-zA-Z0-9_.-]+)$/.exec(parts[0] as string) : null;
  if (legacy && (parts.length === 1 || parts[1] === "requests" || parts[1] === "stream")) {
    parts.splice(0, 1, legacy[1] as string, legacy[2] as string);
  }
  const first = parts[0];
  if (first === "workflows") {
    return {
      ok: false,
      status: 404,
      message: "workflows/… endpoints are reserved and not served by this fal shim yet",
    };
  }
  const appLength = first !== undefined && NAMESPACES.has(first) ? 3 : 2;
  if (parts.length < appLength) {
    return { ok: false, status: 404, message: "an app id looks like owner/alias" };
  }
  return { ok: true, app: { appId: parts.slice(0, appLength).join("/"), subpath: parts.slice(appLength) } };
}

/**
 * What a request under /fal/queue/ asks for. `requests/{id}/…` is matched wherever it follows the
 * app id, so the full path (with subpath) works as well as the short one.
 */
export function parseQueuePath(method: string, path: string): QueueRoute | { error: string; status: 404 | 405 } {
  const segments = pathSegments(path);
  if (!segments) return { status: 404, error: "malformed path" };
  const split = splitAppPath(segments);
  if (!split.ok) return { status: split.status, error: split.message };
  const { app } = split;
  const rest = app.subpath;
  const at = rest.indexOf("requests");
  if (at >= 0) {
    const base: AppRef = { appId: app.appId, subpath: rest.slice(0, at) };
    const tail = rest.slice(at + 1);
    const [requestId, op, sub] = tail;
    const route = matchRequestOp(method, tail.length, requestId, op, sub);
    if (route === "list") return { kind: "list", app: base };
    if (route && requestId) return { kind: route, app: base, requestId };
  }
  if (method === "GET" && rest.length === 1 && rest[0] === "stats")
    return { kind: "stats", app: { ...app, subpath: [] } };
  if (method === "POST") return { kind: "submit", app };
  return method === "GET" || method === "PUT"
    ? { status: 404, error: "no such queue endpoint" }
    : { status: 405, error: `${method} is not allowed here` };
}

function matchRequestOp(
  method: string,
  length: number,
  requestId: string | undefined,
  op: string | undefined,
  sub: string | undefined,
): "list" | "status" | "statusStream" | "result" | "cancel" | "retry" | null {
  if (method === "GET" && length === 0) return "list";
  if (!requestId) return null;
  if (method === "GET" && length === 1) return "result";
  if (method === "GET" && length === 2 && op === "status") return "status";
  if (method === "GET" && length === 3 && op === "status" && sub === "stream") return "statusStream";
  if (method === "PUT" && length === 2 && op === "cancel") return "cancel";
  if (method === "POST" && length === 2 && op === "retry") return "retry";
  return null;
}

/** What a request under /fal/run/ asks for: `{app}[/{subpath}]`, streaming when it ends in /stream. */
export function parseRunPath(path: string): RunRoute | { error: string; status: 404 } {
  const segments = pathSegments(path);
  if (!segments) return { status: 404, error: "malformed path" };
  const split = splitAppPath(segments);
  if (!split.ok) return { status: 404, error: split.message };
  const { app } = split;
  const streaming = app.subpath[app.subpath.length - 1] === "stream";
  return { app: { appId: app.appId, subpath: streaming ? app.subpath.slice(0, -1) : app.subpath }, streaming };
}

/** The runner's route for a subpath: `/image-to-image`, or null for the app's root. */
export function routeOf(subpath: readonly string[]): string | null {
  return subpath.length ? `/${subpath.join("/")}` : null;
}
