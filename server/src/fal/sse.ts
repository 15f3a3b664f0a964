import type { ServerResponse } from "node:http";
import type { EventBus } from "../events/event-bus.js";

/**
 * Server-sent events for the status stream and streaming runs (fal-api.md §2.4): one JSON
 * object per `data:` line, `: ping` comments as keep-alives, and the stream closed by us only
 * after the last event.
 */
export interface SseStream {
  send(data: unknown, event?: string): void;
  close(): void;
  readonly closed: boolean;
}

const KEEPALIVE_MS = 15_000;

export function openSse(res: ServerResponse, headers: Record<string, string> = {}): SseStream {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    // Tells nginx-style proxies not to buffer the stream.
    "x-accel-buffering": "no",
    ...headers,
  });
  res.flushHeaders();
  let closed = false;
  const keepalive = setInterval(() => {
    if (!closed) res.write(": ping\n\n");
  }, KEEPALIVE_MS);
  keepalive.unref();
  const stop = () => {
    closed = true;
    clearInterval(keepalive);
  };
  res.once("close", stop);
  return {
    send(data, event) {
      if (closed) return;
      res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (closed) return;
      stop();
      res.end();
    },
    get closed() {
      return closed;
    },
  };
}

/**
 * Wakes a waiting loop whenever one of the topics publishes, and on a tick as a backstop (a
 * Redis subscription starts a moment after subscribe() returns, so an event can slip by).
 * Payloads are ignored: the loop re-reads Postgres, which is the truth.
 */
export class ChangeSignal {
  private pending = true;
  private waiter: (() => void) | null = null;
  private readonly iterators: AsyncIterator<unknown>[] = [];
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    events: EventBus,
    topicNames: string[],
    tickMs: number,
    private readonly onEvent?: (topic: string, payload: unknown) => void,
  ) {
    for (const topic of topicNames) {
      const iterator = events.subscribe<unknown>(topic);
      this.iterators.push(iterator);
      void this.pump(topic, iterator);
    }
    this.timer = setInterval(() => this.wake(), tickMs);
    this.timer.unref();
  }

  wake(): void {
    this.pending = true;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Returns at once the first time, then when something changed (or the tick came). */
  async wait(): Promise<void> {
    if (!this.pending && !this.stopped) await new Promise<void>((resolve) => (this.waiter = resolve));
    this.pending = false;
  }

  get closed(): boolean {
    return this.stopped;
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const iterator of this.iterators) void iterator.return?.();
    this.wake();
  }

  private async pump(topic: string, iterator: AsyncIterator<unknown>): Promise<void> {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || this.stopped) return;
        this.onEvent?.(topic, next.value);
        this.wake();
      }
    } catch {
      // a broken subscription leaves the tick as the only trigger
    }
  }
}
