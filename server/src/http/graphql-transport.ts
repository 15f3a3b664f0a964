import type { IncomingMessage, Server } from "node:http";
import { ForbiddenError } from "@pothos/plugin-scope-auth";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { type YogaServerInstance, createYoga } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Node } from "../generated/prisma/client.js";
import { DomainError } from "../errors.js";
import type { GraphQLContext, Services } from "../graphql/context.js";

export interface GraphQLTransportOptions {
  schema: GraphQLSchema;
  services: Services;
  production: boolean;
  connectionInitWaitMs: number;
  onError: (error: unknown, context: string) => void;
}

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * GraphQL over HTTP and SSE (graphql-yoga) and over WebSocket (graphql-ws) on one path.
 * Agents authenticate with a node token: in connection_init over WebSocket, or as a Bearer
 * token over HTTP.
 */
export function createGraphQLTransport(opts: GraphQLTransportOptions) {
  const { services } = opts;
  const yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext> = createYoga({
    schema: opts.schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: !opts.production,
    batching: false,
    logging: false,
    maskedErrors: {
      maskError: (error, message) => toClientError(error, message, opts.production, opts.onError),
    },
    context: async ({ request, ...rest }): Promise<GraphQLContext> => {
      // Over WebSocket the node was authenticated once, at connection_init.
      const wsNode = (rest as { node?: Node | null }).node;
      if (wsNode !== undefined) return { ...services, node: wsNode, actor: wsNode ? `node:${wsNode.id}` : "anonymous" };
      const token = request?.headers.get("authorization")?.match(BEARER)?.[1];
      const node = token ? await services.nodes.authenticate(token) : null;
      return { ...services, node, actor: node ? `node:${node.id}` : "anonymous" };
    },
  });

  function attach(httpServer: Server) {
    const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });
    const disposable = useServer<Record<string, unknown>, { request: IncomingMessage; node?: Node | null }>(
      {
        connectionInitWaitTimeout: opts.connectionInitWaitMs,
        onConnect: async (ctx) => {
          const token = ctx.connectionParams?.nodeToken;
          if (token === undefined) {
            ctx.extra.node = null;
            return true;
          }
          const node = typeof token === "string" ? await services.nodes.authenticate(token) : null;
          if (!node) return false; // graphql-ws closes with 4403 Forbidden
          ctx.extra.node = node;
          return true;
        },
        onSubscribe: async (ctx, _id, payload) => {
          const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, node: ctx.extra.node ?? null, params: payload });
          const document = enveloped.parse(payload.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors;
          return {
            schema: enveloped.schema,
            document,
            operationName: payload.operationName ?? null,
            variableValues: payload.variables ?? null,
            contextValue: await enveloped.contextFactory(),
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          };
        },
        execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
        subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args) as never,
      },
      wss,
    );
    return {
      wss,
      async close() {
        for (const client of wss.clients) client.close(1001, "server shutting down");
        await disposable.dispose();
      },
    };
  }

  return { yoga, attach };
}

/**
 * Expected errors keep their message and code; anything else is a bug, logged and masked in
 * production. Errors are recognised by shape, not `instanceof GraphQLError`: the executor and
 * this module may hold different copies of graphql (its CommonJS and ESM builds).
 */
function toClientError(error: unknown, message: string, production: boolean, onError: (e: unknown, c: string) => void) {
  let original: unknown = error;
  while (isGraphQLErrorLike(original) && original.originalError) original = original.originalError;
  // graphql-js copies a DomainError's `extensions` (code, issues) onto the error it wraps it in.
  if (original instanceof DomainError) return error as GraphQLError;
  if (original instanceof ForbiddenError && isGraphQLErrorLike(error)) {
    error.extensions = { ...error.extensions, code: "FORBIDDEN" };
    return error as GraphQLError;
  }
  if (isGraphQLErrorLike(original) && isGraphQLErrorLike(error)) {
    // Syntax, validation and variable coercion errors: the caller's mistake, said as it is.
    error.extensions = { ...error.extensions, code: (error.extensions?.code as string | undefined) ?? "BAD_USER_INPUT" };
    return error as GraphQLError;
  }
  onError(original, "graphql resolver");
  return new GraphQLError(production ? message : String((original as Error)?.message ?? message), {
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  });
}

interface GraphQLErrorLike {
  name: string;
  originalError?: unknown;
  extensions: Record<string, unknown>;
}

function isGraphQLErrorLike(value: unknown): value is GraphQLErrorLike {
  return value instanceof Error && value.name === "GraphQLError";
}
