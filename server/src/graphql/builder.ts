import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import { can, type Permission } from "../auth/permissions.js";
import { DomainError } from "../errors.js";
import type PrismaTypes from "../generated/pothos-types.js";
import { getDatamodel } from "../generated/pothos-types.js";
import type { GraphQLContext } from "./context.js";

/** The one Pothos builder. Types live in graphql/types/<area>.ts; this file defines none but scalars. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  /**
   * agent: the caller is a node (its token); permission: the principal holds it;
   * public: anyone, on purpose (login, setup, enrollment). Every root field names one.
   */
  AuthScopes: { agent: boolean; permission: Permission; public: boolean };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string | number };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (context) => ({
      agent: context.node !== null,
      permission: (permission: Permission) => can(context.principal, permission),
      public: true,
    }),
    // Errors say which permission was missing; the transport gives them the FORBIDDEN code.
    treatErrorsAsUnauthorized: true,
    unauthorizedError: (_parent, context, _info, result) =>
      new DomainError(context.principal.kind === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN", result.message),
  },
  prisma: {
    // Read models resolve through the request's client, which main.ts wires; writes go through services.
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {},
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

builder.scalarType("DateTime", {
  description: "An instant, as an ISO-8601 string in UTC.",
  serialize: (value) => new Date(value).toISOString(),
  parseValue: (value) => {
    const date = typeof value === "string" || typeof value === "number" ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw new TypeError("DateTime must be an ISO-8601 string");
    return date;
  },
});

builder.scalarType("JSON", {
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
});
