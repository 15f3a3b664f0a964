import { type Client, createClient, type FormattedExecutionResult } from "graphql-ws/client";
import WebSocket from "ws";
import { type BackoffPolicy, jitteredBackoff } from "./backoff.js";
import { errorMessage, type Logger } from "./log.js";

/**
 * The agent's one graphql-ws connection (R3, R4, R14): the command subscription and every mutation share it.
 *
 * - graphql-ws reconnects with `retryAttempts: Infinity`, waiting `retryWait` (jittered exponential back-off) and
 *   retrying every failure (`shouldRetry`) except `4403 Forbidden`, which stops the agent with a clear error (R3).
 * - On every (re)connect graphql-ws sends the subscription again. Its variables are a getter, read when the message
 *   is written, so `running` lists the attempts still in flight at that moment (R7).
 * - Requests in flight when the socket drops fail at once (TransportError): the caller decides to resend.
 * - A ping every `keepAliveMs`; no pong within `pongTimeoutMs` terminates the socket (a NAT that silently dropped
 *   the connection) and the retry logic takes over.
 * - If graphql-ws itself gives up (close codes it deems fatal, e.g. 4400/4500), a fresh client is created after a
 *   back-off: only 4403 ends the agent.
 */

export const FORBIDDEN_CLOSE_CODE = 4403;

export class TransportError extends Error {
  override name = "TransportError";
}

export class GraphQLRequestError extends Error {
  override name = "GraphQLRequestError";

  constructor(readonly graphQLErrors: readonly { message: string; extensions?: Record<string, unknown> }[]) {
    super(graphQLErrors.map((e) => e.message).join("; ") || "GraphQL error");
  }

  get code(): string | undefined {
    const code = this.graphQLErrors[0]?.extensions?.code;
    return typeof code === "string" ? code : undefined;
  }
}

export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}

interface CloseEventLike {
  code: number;
  reason: string;
}

function isCloseEvent(value: unknown): value is CloseEventLike {
  return typeof value === "object" && value !== null && "code" in value && "reason" in value;
}

export function isForbidden(value: unknown): boolean {
  return isCloseEvent(value) && value.code === FORBIDDEN_CLOSE_CODE;
}

export interface ConnectionOptions {
  url: string;
  connectionParams: () => Record<string, unknown>;
  subscription: { query: string; variables: () => Record<string, unknown> };
  /** One event of the subscription: a batch of raw commands. */
  onCommands: (commands: unknown[]) => void;
  onConnected: (wasRetry: boolean) => void;
  onDisconnected: (code: number | undefined, reason: string) => void;
  /** The server refused the node token (4403): the connection is closed for good. */
  onFatal: (error: Error) => void;
  log: Logger;
  backoff: BackoffPolicy;
  random?: () => number;
  requestTimeoutMs?: number;
  keepAliveMs?: number;
  pongTimeoutMs?: number;
  connectionAckTimeoutMs?: number;
  /** A WebSocket class (tests may wrap `ws`). */
  webSocketImpl?: unknown;
}

interface PendingRequest {
  fail: (error: Error) => void;
}

export class Connection {
  private client: Client | undefined;
  private online = false;
  private closed = false;
  private fatal = false;
  private subscriptionGeneration = 0;
  private disposeSubscription: (() => void) | undefined;
  private readonly pending = new Set<PendingRequest>();
  private pongTimer: NodeJS.Timeout | undefined;
  private restartAttempts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConnectionOptions) {}

  get isOnline(): boolean {
    return this.online;
  }

  start(): void {
    if (this.client || this.closed) return;
    const { options } = this;
    const random = options.random ?? Math.random;
    const client: Client = createClient({
      url: options.url,
      webSocketImpl: options.webSocketImpl ?? WebSocket,
      lazy: false,
      retryAttempts: Number.POSITIVE_INFINITY,
      retryWait: async (retries) => {
        const delay = jitteredBackoff(retries, options.backoff, random);
        options.log.info("reconnecting", { inMs: delay, attempt: retries + 1 });
        await new Promise((resolve) => setTimeout(resolve, delay));
      },
      shouldRetry: (errOrClose) => !isForbidden(errOrClose) && !this.closed,
      connectionParams: () => options.connectionParams(),
      connectionAckWaitTimeout: options.connectionAckTimeoutMs ?? 15_000,
      keepAlive: options.keepAliveMs ?? 15_000,
      onNonLazyError: (error) => this.onClientGaveUp(client, error),
      on: {
        connected: (_socket, _payload, wasRetry) => {
          this.online = true;
          this.restartAttempts = 0;
          options.log.info(wasRetry ? "reconnected" : "connected", { url: options.url });
          options.onConnected(wasRetry);
        },
        closed: (event) => {
          clearTimeout(this.pongTimer);
          const wasOnline = this.online;
          this.online = false;
          const code = isCloseEvent(event) ? event.code : undefined;
          const reason = isCloseEvent(event) ? event.reason : "";
          this.failPending(
            new TransportError(`connection closed${code ? ` (${code}${reason ? ` ${reason}` : ""})` : ""}`),
          );
          if (wasOnline) options.log.warn("disconnected", { code, reason: reason || undefined });
          if (isForbidden(event)) this.onForbidden(event as CloseEventLike);
          else if (wasOnline) options.onDisconnected(code, reason);
        },
        error: (error) => {
          options.log.debug("socket error", { error: describe(error) });
        },
        ping: (received) => {
          if (received) return;
          clearTimeout(this.pongTimer);
          this.pongTimer = setTimeout(() => {
            options.log.warn("no pong from the server: dropping the connection");
            client.terminate();
          }, options.pongTimeoutMs ?? 10_000);
        },
        pong: (received) => {
          if (received) clearTimeout(this.pongTimer);
        },
      },
    });
    this.client = client;
    this.subscribe();
  }

  /** Sends the subscription again with fresh variables (capacity changed, e.g. drain). */
  resubscribe(): void {
    if (!this.client || this.closed) return;
    this.disposeSubscription?.();
    this.subscribe();
  }

  /** One GraphQL operation over the socket; rejects with TransportError (no answer) or GraphQLRequestError. */
  request<T>(query: string, variables: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    const client = this.client;
    if (!client || !this.online) return Promise.reject(new TransportError("not connected"));
    const limit = timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      let last: FormattedExecutionResult<Record<string, unknown>, unknown> | undefined;
      let settled = false;
      let dispose: (() => void) | undefined;
      const entry: PendingRequest = { fail: (error) => finish(() => reject(error)) };
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(entry);
        dispose?.();
        settle();
      };
      const timer = setTimeout(() => entry.fail(new TransportError(`no answer within ${limit} ms`)), limit);
      this.pending.add(entry);
      dispose = client.subscribe<Record<string, unknown>>(
        { query, variables },
        {
          next: (result) => {
            last = result;
          },
          error: (error) =>
            finish(() =>
              reject(
                Array.isArray(error)
                  ? new GraphQLRequestError(error as { message: string }[])
                  : new TransportError(describe(error)),
              ),
            ),
          complete: () =>
            finish(() => {
              if (last?.errors?.length) reject(new GraphQLRequestError(last.errors as { message: string }[]));
              else if (!last?.data) reject(new TransportError("empty answer"));
              else resolve(last.data as T);
            }),
        },
      );
      if (settled) dispose();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.online = false;
    clearTimeout(this.pongTimer);
    clearTimeout(this.restartTimer);
    clearTimeout(this.resubscribeTimer);
    this.subscriptionGeneration++;
    this.disposeSubscription?.();
    this.failPending(new TransportError("connection closed by the agent"));
    const client = this.client;
    this.client = undefined;
    // dispose() rethrows the close event that ended a connection attempt: nothing to do about it here
    if (client) await Promise.resolve(client.dispose()).catch(() => {});
  }

  private subscribe(): void {
    const client = this.client;
    if (!client) return;
    const generation = ++this.subscriptionGeneration;
    const { subscription, log } = this.options;
    const stale = (): boolean => generation !== this.subscriptionGeneration || this.closed;
    const payload = {
      query: subscription.query,
      // Read each time graphql-ws writes the subscribe message, i.e. on every reconnect (R7).
      get variables(): Record<string, unknown> {
        return subscription.variables();
      },
    };
    this.disposeSubscription = client.subscribe<{ agentCommands?: unknown }>(payload, {
      next: (result) => {
        if (stale()) return;
        if (result.errors?.length) {
          log.error("command stream error", { errors: result.errors.map((e) => e.message).join("; ") });
        }
        const batch = result.data?.agentCommands;
        if (Array.isArray(batch)) this.options.onCommands(batch);
      },
      error: (error) => {
        if (stale()) return;
        if (isForbidden(error)) return; // handled by the "closed" listener
        log.error("command stream failed; subscribing again", { error: describe(error) });
        this.scheduleResubscribe(generation);
      },
      complete: () => {
        if (stale()) return;
        log.warn("server ended the command stream; subscribing again");
        this.scheduleResubscribe(generation);
      },
    });
  }

  private scheduleResubscribe(generation: number): void {
    clearTimeout(this.resubscribeTimer);
    const delay = jitteredBackoff(this.restartAttempts++, this.options.backoff, this.options.random);
    this.resubscribeTimer = setTimeout(() => {
      if (generation === this.subscriptionGeneration && !this.closed) this.subscribe();
    }, delay);
  }

  private onForbidden(event: CloseEventLike): void {
    if (this.fatal) return;
    this.fatal = true;
    this.closed = true;
    const error = new ForbiddenError(
      `the server refused the node token (${event.code} ${event.reason || "Forbidden"}): the node was removed or its ` +
        "token revoked. Enroll again with a new enrollment token (delete the saved token file first).",
    );
    this.options.log.error(error.message);
    if (this.client) void Promise.resolve(this.client.dispose()).catch(() => {});
    this.options.onFatal(error);
  }

  /** graphql-ws stopped retrying (a close code it treats as fatal, or an internal error). */
  private onClientGaveUp(client: Client, error: unknown): void {
    if (client !== this.client || this.closed) return;
    if (isForbidden(error)) {
      this.onForbidden(error as CloseEventLike);
      return;
    }
    this.online = false;
    this.client = undefined;
    const delay = jitteredBackoff(this.restartAttempts++, this.options.backoff, this.options.random);
    this.options.log.error("connection failed; starting over", { error: describe(error), inMs: delay });
    void Promise.resolve(client.dispose()).catch(() => {});
    this.restartTimer = setTimeout(() => this.start(), delay);
  }

  private failPending(error: Error): void {
    for (const entry of [...this.pending]) entry.fail(error);
  }
}

function describe(error: unknown): string {
  if (isCloseEvent(error)) return `closed ${error.code}${error.reason ? ` ${error.reason}` : ""}`;
  if (Array.isArray(error)) return error.map((e) => errorMessage((e as { message?: unknown }).message ?? e)).join("; ");
  if (typeof error === "object" && error !== null && "message" in error) return errorMessage((error as Error).message);
  return errorMessage(error);
}
