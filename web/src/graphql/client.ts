import { cacheExchange } from "@urql/exchange-graphcache";
import { CloseCode, createClient as createWsClient } from "graphql-ws";
import { Client, type CombinedError, fetchExchange, mapExchange, subscriptionExchange } from "urql";
import { reconnectDelayMs } from "./backoff";
import { cacheOptions } from "./cache";
import { type ConnectionStore, createConnectionStore } from "./connection";

export interface SessionClient {
  client: Client;
  connection: ConnectionStore;
  dispose(): void;
}

/** Operations of a signed-out page (viewer, login): plain HTTP, no cache, no socket. */
export function createAnonymousClient(): Client {
  return new Client({ url: "/graphql", exchanges: [fetchExchange], requestPolicy: "network-only" });
}

/**
 * The client of a signed-in session. Queries and mutations go over HTTP with the session cookie
 * and the CSRF token; subscriptions over one graphql-ws socket that the same cookie authenticates.
 * The socket reconnects forever with backoff (a server restart is survived without a reload);
 * a 4403 close means the session was revoked or expired: no retry, `onSessionEnded` is called.
 */
export function createSessionClient(opts: { csrfToken: string | null; onSessionEnded: () => void }): SessionClient {
  const connection = createConnectionStore();
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    opts.onSessionEnded();
  };
  const ws = createWsClient({
    url: url.toString(),
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(retries))),
    shouldRetry: (event) => !(isCloseEvent(event) && event.code === CloseCode.Forbidden),
    // The default logs to console.error; a refused socket is handled by `closed` below.
    onNonLazyError: () => undefined,
    on: {
      connecting: () => connection.connecting(),
      connected: () => connection.connected(),
      closed: (event) => {
        if (isCloseEvent(event) && event.code === CloseCode.Forbidden) end();
        else if (!ended) connection.closed();
      },
    },
  });

  const client = new Client({
    url: "/graphql",
    fetchOptions: (): RequestInit => {
      const headers: Record<string, string> = opts.csrfToken ? { "x-csrf-token": opts.csrfToken } : {};
      return { credentials: "same-origin", headers };
    },
    exchanges: [
      mapExchange({
        onError(error: CombinedError) {
          if (error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) end();
        },
      }),
      cacheExchange(cacheOptions),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    connection,
    dispose() {
      ended = true;
      void ws.dispose();
    },
  };
}

function isCloseEvent(value: unknown): value is CloseEvent {
  return (
    typeof value === "object" &&
    value !== null &&
    "code" in value &&
    typeof (value as { code: unknown }).code === "number"
  );
}
