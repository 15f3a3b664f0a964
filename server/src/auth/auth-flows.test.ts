import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../main.js";
import { gql, gqlData, waitFor, wsClient } from "../testing/graphql-client.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";

let env: TestEnv;
let server: RunningServer;

beforeAll(async () => {
  env = await createTestEnv();
  server = await startTestServer(env, { LOGIN_ATTEMPTS_PER_WINDOW: "3" });
  await server.services.auth.createUser({
    email: "ops@vyvo.test",
    name: "Ops",
    password: "correct horse battery",
    role: "operator",
  });
});
afterAll(async () => {
  await server?.close();
  await env?.cleanup();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function login(email: string, password: string) {
  const response = await post({
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { csrfToken user { email role { name } } } }`,
    variables: { e: email, p: password },
  });
  const body = (await response.json()) as {
    data?: { login: { csrfToken: string } };
    errors?: { extensions: { code: string } }[];
  };
  const cookie = response.headers.get("set-cookie")?.split(";")[0] ?? "";
  return { body, cookie, setCookie: response.headers.get("set-cookie") ?? "" };
}

describe("admin sessions", () => {
  it("log in, act with the CSRF token, log out: the session is refused afterwards", async () => {
    const { body, cookie, setCookie } = await login("ops@vyvo.test", "correct horse battery");
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const csrf = body.data?.login.csrfToken as string;
    const viewer = await (await post({ query: "{ viewer { kind name permissions } }" }, { cookie })).json();
    expect(viewer.data.viewer).toMatchObject({ kind: "user", name: "ops@vyvo.test" });
    expect(viewer.data.viewer.permissions).toContain("queues:manage");

    const mutation = { query: `mutation { createModel(input: { id: "ops/model" }) { id } }` };
    const noToken = await (await post(mutation, { cookie })).json();
    expect(noToken.errors[0].extensions.code).toBe("FORBIDDEN");
    const withToken = await (await post(mutation, { cookie, "x-csrf-token": csrf })).json();
    expect(withToken.data.createModel.id).toBe("ops/model");

    await post({ query: "mutation { logout }" }, { cookie, "x-csrf-token": csrf });
    const after = await post({ query: "{ viewer { kind } }" }, { cookie });
    expect(after.status).toBe(401);
    expect((await after.json()).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("a wrong password is refused, and repeated tries are rate limited", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { body } = await login("victim@vyvo.test", `guess-${i}`);
      codes.push(body.errors?.[0]?.extensions.code as string);
    }
    expect(codes).toEqual(["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"]);
  });

  it("a session's live subscription is closed when the session ends", async () => {
    const { body, cookie } = await login("ops@vyvo.test", "correct horse battery");
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws", {
      headers: { cookie },
    });
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    await new Promise((resolve) => socket.on("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init" }));
    await new Promise((resolve) => socket.once("message", resolve));
    socket.send(
      JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { queueUpdated { modelId } }" } }),
    );
    await new Promise((resolve) => socket.once("message", resolve));
    await post({ query: "mutation { logout }" }, { cookie, "x-csrf-token": body.data?.login.csrfToken as string });
    expect(await closed).toBe(4403);
  });

  it("a cookie WebSocket from another site's page is refused", async () => {
    const { cookie } = await login("ops@vyvo.test", "correct horse battery");
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws", {
      headers: { cookie, origin: "https://evil.example" },
    });
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    await new Promise((resolve) => socket.on("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init" }));
    expect(await closed).toBe(4403);
  });
});

describe("API keys", () => {
  it("scopes narrow a key below its owner; a key cannot exceed its owner", async () => {
    const narrow = await gqlData<{ createApiKey: { secret: string } }>(
      server.url,
      `mutation { createApiKey(name: "reader", scopes: ["jobs:read"]) { secret } }`,
    );
    const asReader = { authorization: `Key ${narrow.createApiKey.secret}` };
    expect(
      (await gql(server.url, "{ jobs(first: 1) { edges { node { id } } } }", {}, asReader)).errors,
    ).toBeUndefined();
    const denied = await gql(server.url, `mutation { createModel(input: { id: "reader/x" }) { id } }`, {}, asReader);
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const viewer = await server.services.auth.createUser({
      email: "viewer@vyvo.test",
      name: "V",
      password: "viewer password 1",
      role: "viewer",
    });
    await expect(
      server.services.auth.createApiKey(viewer.id, { name: "too much", scopes: ["jobs:submit"] }),
    ).rejects.toThrow(/lacks/);
  });

  it("a revoked key is refused on its next request and its live subscription is closed", async () => {
    const created = await gqlData<{ createApiKey: { secret: string; apiKey: { id: string; prefix: string } } }>(
      server.url,
      `mutation { createApiKey(name: "short-lived") { secret apiKey { id prefix } } }`,
    );
    const { secret, apiKey } = created.createApiKey;
    expect(secret.startsWith(`vyvo_${apiKey.prefix}_`)).toBe(true);
    const headers = { authorization: `Bearer ${secret}` };
    expect((await gql(server.url, "{ viewer { kind } }", {}, headers)).data).toEqual({ viewer: { kind: "apiKey" } });

    const client = wsClient(server.url, { apiKey: secret });
    const closeCodes: number[] = [];
    client.on("closed", (event) => closeCodes.push((event as { code: number }).code));
    const events: unknown[] = [];
    client.subscribe(
      { query: "subscription { queueUpdated { modelId } }" },
      { next: (v) => events.push(v), error: () => {}, complete: () => {} },
    );
    await waitFor(async () => events.length > 0, 5_000, "first queue event");

    await gqlData(server.url, `mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id: apiKey.id });
    const refused = await gql(server.url, "{ viewer { kind } }", {}, headers);
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    await waitFor(async () => closeCodes.includes(4403), 5_000, "socket closed with 4403");
    await client.dispose();
  });
});

describe("audit log", () => {
  it("records every mutation with its actor, outcome and redacted arguments", async () => {
    await gql(
      server.url,
      `mutation { createUser(email: "new@vyvo.test", name: "New", password: "a-very-secret-pw", role: "viewer") { id } }`,
    );
    await gql(server.url, `mutation { pauseQueue(modelId: "nobody/none") { paused } }`, {}, { authorization: "" });
    const data = await gqlData<{
      auditEvents: {
        edges: {
          node: {
            action: string;
            outcome: string;
            actor: string;
            args: Record<string, unknown>;
            errorCode: string | null;
          };
        }[];
      };
    }>(server.url, `{ auditEvents(first: 20) { edges { node { action outcome actor args errorCode } } } }`);
    const events = data.auditEvents.edges.map((e) => e.node);
    const created = events.find((e) => e.action === "createUser");
    expect(created).toMatchObject({ outcome: "ok", actor: expect.stringMatching(/^key:/) });
    expect(created?.args).toMatchObject({ email: "new@vyvo.test", password: "[redacted]" });
    expect(JSON.stringify(events)).not.toContain("a-very-secret-pw");
    expect(events.find((e) => e.action === "pauseQueue")).toMatchObject({
      outcome: "denied",
      actor: "anonymous",
      errorCode: "UNAUTHENTICATED",
    });

    const filtered = await gqlData<{ auditEvents: { edges: unknown[] } }>(
      server.url,
      `{ auditEvents(first: 20, filter: { action: "pauseQueue" }) { edges { node { action } } } }`,
    );
    expect(filtered.auditEvents.edges).toHaveLength(1);
  });
});

describe("first start", () => {
  it("without an admin, prints a one-time setup token that creates the first admin once", async () => {
    const fresh = await createTestEnv({ redis: false });
    const { VYVO_BOOTSTRAP_API_KEY: _omit, ...withoutKey } = fresh.env;
    const bare = await (await import("../main.js")).startServer((await import("../config.js")).parseConfig(withoutKey));
    try {
      expect(bare.setupToken).toMatch(/^vyvo_setup_/);
      const setup = `mutation($t: String!) { completeSetup(token: $t, email: "root@vyvo.test", name: "Root", password: "root password 1") { role { name } } }`;
      const first = await gql(bare.url, setup, { t: bare.setupToken }, { authorization: "" });
      expect(first.data).toEqual({ completeSetup: { role: { name: "admin" } } });
      const second = await gql(bare.url, setup, { t: bare.setupToken }, { authorization: "" });
      expect(second.errors?.[0]?.extensions?.code).toBe("SETUP_TOKEN_INVALID");
    } finally {
      await bare.close();
      await fresh.cleanup();
    }
  });
});
