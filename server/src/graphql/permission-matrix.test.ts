import {
  type GraphQLArgument,
  GraphQLEnumType,
  type GraphQLField,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLScalarType,
  getNamedType,
  isLeafType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_PERMISSIONS, type Permission } from "../auth/permissions.js";
import { BUILT_IN_ROLE_NAMES, BUILT_IN_ROLES, type BuiltInRole } from "../auth/roles.js";
import type { RunningServer } from "../main.js";
import { gql, wsClient } from "../testing/graphql-client.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";
import { buildSchema } from "./schema.js";

// Generated from the schema and the permission catalog: every root field × every built-in role
// (plus anonymous and a node token) is allowed or denied exactly as its declared scope says.

type Scope = { permission?: Permission; public?: boolean; agent?: boolean };

function scopeOf(field: GraphQLField<unknown, unknown>): Scope | undefined {
  const options = (field.extensions as { pothosOptions?: { authScopes?: Scope } }).pothosOptions;
  return options?.authScopes;
}

const schema = buildSchema();
const roots = (["query", "mutation", "subscription"] as const).flatMap((kind) => {
  const type =
    kind === "query"
      ? schema.getQueryType()
      : kind === "mutation"
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  return Object.values(type?.getFields() ?? {}).map((field) => ({ kind, field }));
});

describe("every root field declares who may call it", () => {
  it.each(roots.map((r) => [`${r.kind} ${r.field.name}`, r.field] as const))("%s", (_name, field) => {
    const scope = scopeOf(field);
    expect(
      scope,
      `${field.name} has no authScopes: add { permission: "…" }, { agent: true } or { public: true }`,
    ).toBeDefined();
    const kinds = Object.keys(scope ?? {});
    expect(kinds).toHaveLength(1);
    if (scope?.permission) expect(ALL_PERMISSIONS).toContain(scope.permission);
  });
});

/** A value of the right shape for a required argument: enough to get past validation, never meaningful. */
function dummy(type: GraphQLInputType): unknown {
  if (type instanceof GraphQLNonNull) return dummy(type.ofType);
  if (type instanceof GraphQLList) return [];
  if (type instanceof GraphQLEnumType) return type.getValues()[0]?.value;
  if (type instanceof GraphQLInputObjectType) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => f.type instanceof GraphQLNonNull)
        .map((f) => [f.name, dummy(f.type)]),
    );
  }
  const name = (type as GraphQLScalarType).name;
  return (
    { Int: 1, Float: 1, Boolean: false, JSON: {}, DateTime: new Date(Date.now() + 3_600_000).toISOString() }[name] ??
    "matrix-x"
  );
}

function operationFor(kind: string, field: GraphQLField<unknown, unknown>) {
  const required = field.args.filter((a: GraphQLArgument) => a.type instanceof GraphQLNonNull);
  const defs = required.map((a) => `$${a.name}: ${a.type.toString()}`).join(", ");
  const args = required.map((a) => `${a.name}: $${a.name}`).join(", ");
  const named = getNamedType(field.type);
  const selection = isLeafType(named)
    ? ""
    : named instanceof GraphQLObjectType && "edges" in named.getFields()
      ? "{ __typename }"
      : "{ __typename }";
  const query = `${kind} M${defs ? `(${defs})` : ""} { ${field.name}${args ? `(${args})` : ""} ${selection} }`;
  const variables = Object.fromEntries(required.map((a) => [a.name, dummy(a.type)]));
  return { query, variables };
}

let env: TestEnv;
let server: RunningServer;
const credentials = new Map<string, Record<string, string>>();

beforeAll(async () => {
  env = await createTestEnv();
  server = await startTestServer(env);
  for (const role of BUILT_IN_ROLE_NAMES) {
    const user = await server.services.auth.createUser({
      email: `${role}@matrix.test`,
      name: role,
      password: "matrix-password-1",
      role,
    });
    const { secret } = await server.services.auth.createApiKey(user.id, { name: `${role} key` });
    credentials.set(role, { authorization: `Bearer ${secret}` });
  }
  credentials.set("anonymous", { authorization: "" });
  const { nodeToken } = await server.services.nodes.register("matrix-node");
  credentials.set("node", { authorization: `Bearer ${nodeToken}` });
});

afterAll(async () => {
  await server?.close();
  await env?.cleanup();
});

function expectedAllowed(scope: Scope, who: string): boolean {
  if (scope.public) return true;
  if (scope.agent) return who === "node";
  if (!scope.permission || who === "anonymous" || who === "node") return false;
  return BUILT_IN_ROLES[who as BuiltInRole].permissions.includes(scope.permission);
}

const WHO = [...BUILT_IN_ROLE_NAMES, "anonymous", "node"];
const cases = roots.flatMap(({ kind, field }) => WHO.map((who) => ({ kind, field, who })));

describe("permission matrix", () => {
  it.each(cases.map((c) => [`${c.kind} ${c.field.name} as ${c.who}`, c] as const))(
    "%s",
    async (_name, { kind, field, who }) => {
      const scope = scopeOf(field) as Scope;
      const allowed = expectedAllowed(scope, who);
      const { query, variables } = operationFor(kind, field);
      let codes: string[];
      if (kind === "subscription") {
        const headers = credentials.get(who) as Record<string, string>;
        const token = headers.authorization?.replace(/^Bearer /, "") ?? "";
        const params = token.startsWith("vyvo_node_") ? { nodeToken: token } : token ? { apiKey: token } : {};
        const client = wsClient(server.url, params);
        codes = await new Promise<string[]>((resolve) => {
          const stop = client.subscribe(
            { query, variables },
            {
              next: (value) => {
                stop();
                resolve((value.errors ?? []).map((e) => String(e.extensions?.code)));
              },
              error: (error) =>
                resolve(Array.isArray(error) ? error.map((e) => String(e.extensions?.code)) : ["SOCKET_ERROR"]),
              complete: () => resolve([]),
            },
          );
          // Refusals arrive at once (subscriptionAuthPlugin); no error within the wait means accepted.
          setTimeout(() => {
            stop();
            resolve([]);
          }, 500);
        });
        await client.dispose();
      } else {
        const result = await gql(server.url, query, variables, credentials.get(who));
        codes = (result.errors ?? []).map((e) => String(e.extensions?.code));
      }
      const denied = codes.some((code) => code === "FORBIDDEN" || code === "UNAUTHENTICATED");
      expect(denied, `${who} on ${field.name}: codes ${codes.join(",")}`).toBe(!allowed);
    },
  );
});
