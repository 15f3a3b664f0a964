import { describe, expect, it } from "vitest";
import { parseQueuePath, parseRunPath, routeOf, splitAppPath } from "./app-path.js";

describe("endpoint ids", () => {
  it("owner/alias is the app; the rest is the subpath", () => {
    expect(splitAppPath(["fal-ai", "flux", "dev"])).toEqual({
      ok: true,
      app: { appId: "fal-ai/flux", subpath: ["dev"] },
    });
    expect(splitAppPath(["acme", "echo"])).toEqual({ ok: true, app: { appId: "acme/echo", subpath: [] } });
  });

  it("comfy ids take three segments; workflows are reserved", () => {
    expect(splitAppPath(["comfy", "acme", "graph", "x"])).toEqual({
      ok: true,
      app: { appId: "comfy/acme/graph", subpath: ["x"] },
    });
    expect(splitAppPath(["workflows", "acme", "pipeline"])).toMatchObject({
      ok: false,
      status: 404,
      message: expect.stringMatching(/reserved/),
    });
  });

  it("legacy 12345-myapp means 12345/myapp", () => {
    expect(splitAppPath(["12345-myapp"])).toEqual({ ok: true, app: { appId: "12345/myapp", subpath: [] } });
  });

  it("a single segment is not an app id", () => {
    expect(splitAppPath(["acme"])).toMatchObject({ ok: false, status: 404 });
  });

  it("the subpath becomes the runner's route", () => {
    expect(routeOf(["image-to-image"])).toBe("/image-to-image");
    expect(routeOf(["a", "b"])).toBe("/a/b");
    expect(routeOf([])).toBeNull();
  });
});

describe("queue paths", () => {
  const id = "7f0c7a3e-0000-4000-8000-000000000001";

  it.each([
    ["POST", "acme/echo", { kind: "submit", app: { appId: "acme/echo", subpath: [] } }],
    ["POST", "acme/echo/fast/x", { kind: "submit", app: { appId: "acme/echo", subpath: ["fast", "x"] } }],
    ["GET", `acme/echo/requests/${id}/status`, { kind: "status", requestId: id }],
    ["GET", `acme/echo/requests/${id}/status/`, { kind: "status", requestId: id }],
    ["GET", `acme/echo/requests/${id}/status/stream`, { kind: "statusStream", requestId: id }],
    ["GET", `acme/echo/requests/${id}`, { kind: "result", requestId: id }],
    ["GET", `acme/echo/requests/${id}/`, { kind: "result", requestId: id }],
    ["PUT", `acme/echo/requests/${id}/cancel`, { kind: "cancel", requestId: id }],
    ["POST", `acme/echo/requests/${id}/retry`, { kind: "retry", requestId: id }],
    ["GET", "acme/echo/requests", { kind: "list" }],
    ["GET", "acme/echo/stats", { kind: "stats" }],
  ])("%s %s", (method, path, expected) => {
    expect(parseQueuePath(method, path)).toMatchObject(expected);
  });

  it("status, result and cancel are accepted under the full path (with subpath) too", () => {
    expect(parseQueuePath("GET", `fal-ai/fast-sdxl/image-to-image/requests/${id}/status`)).toEqual({
      kind: "status",
      app: { appId: "fal-ai/fast-sdxl", subpath: ["image-to-image"] },
      requestId: id,
    });
    expect(parseQueuePath("PUT", `fal-ai/fast-sdxl/image-to-image/requests/${id}/cancel`)).toMatchObject({
      kind: "cancel",
      requestId: id,
    });
  });

  it("double slashes and percent-escapes are read the way a URL means them", () => {
    expect(parseQueuePath("GET", `acme//echo/requests/${encodeURIComponent(id)}/status`)).toMatchObject({
      kind: "status",
      requestId: id,
    });
    expect(parseQueuePath("GET", "acme/echo/requests/%E0%A4%A/status")).toEqual({
      status: 404,
      error: "malformed path",
    });
  });

  it("unknown operations are 404, wrong methods 405", () => {
    expect(parseQueuePath("GET", `acme/echo/requests/${id}/nope`)).toMatchObject({ status: 404 });
    expect(parseQueuePath("DELETE", "acme/echo")).toMatchObject({ status: 405 });
    expect(parseQueuePath("POST", "workflows/acme/flow")).toMatchObject({
      status: 404,
      error: expect.stringMatching(/reserved/),
    });
  });
});

describe("run paths", () => {
  it("a trailing /stream asks for streaming", () => {
    expect(parseRunPath("acme/echo")).toEqual({ app: { appId: "acme/echo", subpath: [] }, streaming: false });
    expect(parseRunPath("acme/echo/stream")).toEqual({ app: { appId: "acme/echo", subpath: [] }, streaming: true });
    expect(parseRunPath("acme/echo/fast/stream")).toEqual({
      app: { appId: "acme/echo", subpath: ["fast"] },
      streaming: true,
    });
  });
});
