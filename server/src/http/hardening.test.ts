import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../main.js";
import { gql } from "../testing/graphql-client.js";
import { startServerProcess } from "../testing/server-process.js";
import { createTestEnv, startTestServer, TEST_API_KEY, type TestEnv } from "../testing/test-env.js";

let env: TestEnv;
let production: RunningServer;

beforeAll(async () => {
  env = await createTestEnv();
  production = await startTestServer(env, {
    NODE_ENV: "production",
    RATE_LIMIT_PER_MINUTE: "20",
    CONNECTION_INIT_WAIT_MS: "300",
  });
});
afterAll(async () => {
  await production?.close();
  await env?.cleanup();
});

describe("in production", () => {
  it("introspection is refused", async () => {
    const result = await gql(production.url, "{ __schema { types { name } } }");
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it("query depth, aliases and tokens are bounded", async () => {
    expect(
      (
        await gql(
          production.url,
          `{ a: viewer { kind } ${Array.from({ length: 40 }, (_, i) => `v${i}: viewer { kind }`).join(" ")} }`,
        )
      ).errors?.[0]?.extensions?.code,
    ).toBe("TOO_MANY_ALIASES");
    const nested = `{ jobs(first: 1) { edges { node { model { versions { model { versions { model { versions { model { versions { model { id } } } } } } } } } } } } }`;
    expect((await gql(production.url, nested)).errors?.[0]?.extensions?.code).toBe("QUERY_TOO_DEEP");
    const manyTokens = `{ ${"viewer { kind } ".repeat(2000)} }`;
    const tokens = await gql(production.url, manyTokens);
    expect(tokens.errors?.[0]?.message).toMatch(/more that 5000 tokens/i);
  });

  it("a body over the limit is refused before it is read", async () => {
    const response = await fetch(`${production.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify({ query: "{ viewer { kind } }", variables: { pad: "x".repeat(5 * 1024 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a key over its rate limit gets 429 with Retry-After", async () => {
    const { secret } = await production.services.auth.createApiKey(
      (await production.services.prisma.user.findFirstOrThrow({ where: { role: { name: "admin" } } })).id,
      { name: "burst" },
    );
    let limited: Response | null = null;
    for (let i = 0; i < 30 && !limited; i++) {
      const response = await fetch(`${production.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: "{ viewer { kind } }" }),
      });
      if (response.status === 429) limited = response;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await (limited as Response).json()).errors[0].extensions.code).toBe("RATE_LIMITED");
  });

  it("graphql-ws: no connection_init in time closes with 4408, a bad token with 4403", async () => {
    const url = `${production.url.replace("http", "ws")}/graphql`;
    const silent = new WebSocket(url, "graphql-transport-ws");
    expect(await new Promise((resolve) => silent.on("close", resolve))).toBe(4408);
    const bad = new WebSocket(url, "graphql-transport-ws");
    await new Promise((resolve) => bad.on("open", resolve));
    bad.send(
      JSON.stringify({ type: "connection_init", payload: { apiKey: "vyvo_000000000000_nope-nope-nope-nope-nope" } }),
    );
    expect(await new Promise((resolve) => bad.on("close", resolve))).toBe(4403);
  });
});

describe("secrets", () => {
  it("never appear in logs or API responses (canary)", async () => {
    const canaryEnv = await createTestEnv();
    const server = await startServerProcess({ ...canaryEnv.env, LOG_LEVEL: "trace", NODE_ENV: "development" });
    const seen: string[] = [];
    const call = async (
      query: string,
      variables: Record<string, unknown> = {},
      headers: Record<string, string> = {},
    ) => {
      const result = await gql(server.url, query, variables, headers);
      seen.push(JSON.stringify(result));
      return result;
    };
    try {
      const password = "CANARY-password-7d1f3e";
      await call(
        `mutation($p: String!) { createUser(email: "canary@vyvo.test", name: "C", password: $p, role: "developer") { id } }`,
        { p: password },
      );
      await call(
        `mutation($p: String!) { login(email: "canary@vyvo.test", password: $p) { csrfToken } }`,
        { p: password },
        { authorization: "" },
      );
      await call(
        `mutation($p: String!) { login(email: "canary@vyvo.test", password: $p) { csrfToken } }`,
        { p: `${password}-wrong` },
        { authorization: "" },
      );
      const key = await call(`mutation { createApiKey(name: "canary") { secret apiKey { id } } }`);
      const keySecret = (key.data as { createApiKey: { secret: string } }).createApiKey.secret;
      await call("{ viewer { kind } }", {}, { authorization: `Bearer ${keySecret}` });
      await call("{ viewer { kind } }", {}, { authorization: `Bearer ${keySecret}x` });
      const enrollment = await call(`mutation { createEnrollmentToken(nodeName: "canary-node") { token } }`);
      const enrollToken = (enrollment.data as { createEnrollmentToken: { token: string } }).createEnrollmentToken.token;
      const enrolled = await call(
        `mutation($t: String!) { enrollNode(input: { enrollmentToken: $t, name: "canary-node" }) { nodeToken } }`,
        { t: enrollToken },
        { authorization: "" },
      );
      const nodeToken = (enrolled.data as { enrollNode: { nodeToken: string } }).enrollNode.nodeToken;
      await call(
        `mutation { agentHeartbeat(input: { freeSlots: 1, running: [], gpus: [], runners: [] }) { serverTime } }`,
        {},
        { authorization: `Bearer ${nodeToken}` },
      );
      const audit = await call(`{ auditEvents(first: 50) { edges { node { action args } } } }`);
      expect(JSON.stringify(audit)).toContain("createUser");

      // Shown once where they are created, and nowhere else: not in later responses, not in the audit log, not in logs.
      const later = seen.filter(
        (s) => !s.includes('"createApiKey"') && !s.includes('"createEnrollmentToken"') && !s.includes('"enrollNode"'),
      );
      for (const secret of [password, keySecret, enrollToken, nodeToken]) {
        for (const response of later) expect(response).not.toContain(secret);
        expect(server.output()).not.toContain(secret);
      }
      expect(server.output().length).toBeGreaterThan(100); // the logs were really captured
    } finally {
      await server.stop();
      await canaryEnv.cleanup();
    }
  }, 60_000);
});
