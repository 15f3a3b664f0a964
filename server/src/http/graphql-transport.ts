import type { IncomingMessage, Server } from "node:http";
import { ForbiddenError } from "@pothos/plugin-scope-auth";
import { GraphQLError, type GraphQLSchema, NoSchemaIntrospectionCustomRule, parse } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { createGraphQLError, createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { type WebSocket, WebSocketServer } from "ws";
import type { Authenticated, Credential } from "../auth/auth-service.js";
import { actorOf } from "../auth/permissions.js";
import type { RateLimiter } from "../auth/rate-limiter.js";
import { DomainError } from "../errors.js";
import { topics } from "../events/event-bus.js";
import type { Node } from "../generated/prisma/client.js";
import type { GraphQLContext, Services } from "../graphql/context.js";
import { limitRules, type QueryLimits } from "../graphql/limits.js";
import { auditPlugin } from "./audit-plugin.js";
import { authenticate, cookieValue, SESSION_COOKIE } from "./request-auth.js";
import { subscriptionAuthPlugin } from "./subscription-auth-plugin.js";

export interface GraphQLTransportOptions {
  schema: GraphQLSchema;
  services: Services;
  production: boolean;
  connectionInitWaitMs: number;
  limits: QueryLimits;
  maxTokens: number;
  rateLimiter: RateLimiter;
  /** Requests (HTTP operations and WebSocket subscribes) per minute per API key or session. */
  requestsPerMinute: number;
  /** Origins whose pages may open a cookie-authenticated WebSocket (besides the server's own). */
  allowedOrigins: string[];
  onError: (error: unknown, context: string) => void;
}

type Authenticated_ = Authenticated & { node: Node | null };

interface SocketExtra extends Record<PropertyKey, unknown> {
  request: IncomingMessage;
  socket: WebSocket;
  auth?: Authenticated_;
}

/** 4429 is not in graphql-ws's table; it follows its 44xx convention for "too many requests". */
const TOO_MANY_REQUESTS = 4429;

/**
 * GraphQL over HTTP and SSE (graphql-yoga) and over WebSocket (graphql-ws) on one path.
 * Callers authenticate with an API key (Authorization: Bearer/Key, or connectionParams.apiKey),
 * a session cookie (admin), or a node token (agents). Limits, rate limits, CSRF and the audit
 * log apply to every operation, whatever the transport.
 */
export function createGraphQLTransport(opts: GraphQLTransportOptions) {
  const { services } = opts;
  const cookieJar = new WeakMap<Request, string[]>();

  const contextFor = (auth: Authenticated_, sourceIp: string | null, csrfOk: boolean, request?: Request) =>
    ({
      ...services,
      node: auth.node,
      principal: auth.principal,
      credential: auth.credential,
      actor: actorOf(auth.principal),
      sourceIp,
      csrfOk,
      ...(auth.csrfToken ? { csrfToken: auth.csrfToken } : {}),
      setCookie: (cookie: string) => {
        if (!request) return;
        const jar = cookieJar.get(request) ?? [];
        jar.push(cookie);
        cookieJar.set(request, jar);
      },
    }) satisfies GraphQLContext & { csrfOk: boolean };

  const rateLimit = async (credential: Credential) => {
    if (credential.kind !== "apiKey" && credential.kind !== "session") return null;
    const verdict = await opts.rateLimiter.hit(`${credential.kind}:${credential.id}`, opts.requestsPerMinute, 60_000);
    return verdict.allowed ? null : verdict;
  };

  const plugins: Plugin[] = [
    {
      onParse({ setParseFn }) {
        setParseFn((source, options) => parse(source, { ...options, maxTokens: opts.maxTokens }));
      },
      onValidate({ addValidationRule }) {
        for (const rule of limitRules(opts.limits)) addValidationRule(rule);
        if (opts.production) addValidationRule(NoSchemaIntrospectionCustomRule);
      },
      onResponse({ request, response }) {
        for (const cookie of cookieJar.get(request) ?? []) response.headers.append("set-cookie", cookie);
      },
    },
    auditPlugin() as Plugin,
    subscriptionAuthPlugin() as Plugin,
  ];

  const yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext> = createYoga({
    schema: opts.schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: !opts.production,
    batching: false,
    logging: false,
    plugins,
    maskedErrors: {
      maskError: (error, message) => toClientError(error, message, opts.production, opts.onError),
    },
    context: async (initial): Promise<GraphQLContext> => {
      // Over WebSocket the caller was authenticated once, at connection_init.
      const fromSocket = (initial as { auth?: Authenticated_; sourceIp?: string | null }).auth;
      if (fromSocket) return contextFor(fromSocket, (initial as { sourceIp?: string | null }).sourceIp ?? null, true);
      const { request } = initial;
      const sourceIp = (initial as { req?: IncomingMessage }).req?.socket.remoteAddress ?? null;
      let auth: Authenticated_;
      try {
        auth = await authenticate(services, {
          authorization: request.headers.get("authorization"),
          cookie: request.headers.get("cookie"),
        });
      } catch (error) {
        if (error instanceof DomainError) {
          // A session cookie that stopped working is cleared: a browser that kept it could not log in again.
          const staleSession =
            !request.headers.get("authorization") && !!cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
          const headers = staleSession
            ? { "set-cookie": `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` }
            : undefined;
          throw createGraphQLError(error.message, {
            extensions: { code: error.code, http: { status: 401, ...(headers ? { headers } : {}) } },
          });
        }
        throw error;
      }
      const limited = await rateLimit(auth.credential);
      if (limited) {
        throw createGraphQLError("too many requests", {
          extensions: {
            code: "RATE_LIMITED",
            http: { status: 429, headers: { "retry-after": String(Math.ceil(limited.retryAfterMs / 1000)) } },
          },
        });
      }
      const csrfOk = auth.credential.kind !== "session" || request.headers.get("x-csrf-token") === auth.csrfToken;
      return contextFor(auth, sourceIp, csrfOk, request);
    },
  });

  function attach(httpServer: Server) {
    const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });
    // Live sockets by the credential that opened them, so that a revocation can close them.
    const socketsByCredential = new Map<string, Set<WebSocket>>();
    const credentialKey = (c: Credential) => `${c.kind}:${c.id}`;
    const stopRevocations = listen(services, (credential) => {
      for (const socket of socketsByCredential.get(credentialKey(credential)) ?? []) {
        socket.close(CloseCode.Forbidden, "Forbidden: credential revoked");
      }
    });

    const disposable = useServer<Record<string, unknown>, SocketExtra>(
      {
        connectionInitWaitTimeout: opts.connectionInitWaitMs,
        onConnect: async (ctx) => {
          const { request } = ctx.extra;
          const cookie = request.headers.cookie ?? null;
          const params = ctx.connectionParams ?? {};
          const usesCookie = !!cookie && params.apiKey === undefined && params.nodeToken === undefined;
          if (usesCookie && !sameOrigin(request, opts.allowedOrigins)) return false; // cross-site WebSocket hijacking
          let auth: Authenticated_;
          try {
            auth = await authenticate(services, { cookie: usesCookie ? cookie : null, params });
          } catch (error) {
            if (error instanceof DomainError) return false; // graphql-ws closes with 4403 Forbidden
            throw error;
          }
          ctx.extra.auth = auth;
          const key = credentialKey(auth.credential);
          if (auth.credential.kind !== "none") {
            const set = socketsByCredential.get(key) ?? new Set();
            set.add(ctx.extra.socket);
            socketsByCredential.set(key, set);
          }
          return true;
        },
        onClose: (ctx) => {
          const auth = ctx.extra.auth;
          if (!auth) return;
          const set = socketsByCredential.get(credentialKey(auth.credential));
          set?.delete(ctx.extra.socket);
          if (set?.size === 0) socketsByCredential.delete(credentialKey(auth.credential));
        },
        onSubscribe: async (ctx, _id, payload) => {
          const auth = ctx.extra.auth as Authenticated_;
          if (await rateLimit(auth.credential)) {
            ctx.extra.socket.close(TOO_MANY_REQUESTS, "Too many requests");
            return [new GraphQLError("too many requests", { extensions: { code: "RATE_LIMITED" } })];
          }
          const enveloped = yoga.getEnveloped({
            ...ctx,
            req: ctx.extra.request,
            auth,
            sourceIp: ctx.extra.request.socket.remoteAddress ?? null,
            params: payload,
          });
          let document: ReturnType<typeof enveloped.parse>;
          try {
            document = enveloped.parse(payload.query);
          } catch (error) {
            return [new GraphQLError((error as Error).message, { extensions: { code: "BAD_USER_INPUT" } })];
          }
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
        stopRevocations();
        for (const client of wss.clients) client.close(1001, "server shutting down");
        await disposable.dispose();
      },
    };
  }

  return { yoga, attach };
}

function listen(services: Services, handle: (credential: Credential) => void): () => void {
  const iterator = services.events.subscribe<Credential>(topics.credentialRevoked);
  void (async () => {
    for await (const credential of iterator) handle(credential);
  })();
  return () => void iterator.return?.();
}

/** A browser's WebSocket carries its page's Origin; it must be this server (or an allowed origin). */
function sameOrigin(request: IncomingMessage, allowed: string[]): boolean {
  const origin = request.headers.origin;
  if (!origin) return true; // not a browser: cookies are not sent implicitly
  const host = request.headers.host;
  return allowed.includes(origin) || (!!host && (origin === `http://${host}` || origin === `https://${host}`));
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
    error.extensions = {
      ...error.extensions,
      code: (error.extensions?.code as string | undefined) ?? "BAD_USER_INPUT",
    };
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
