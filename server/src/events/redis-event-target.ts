import type { Redis } from "ioredis";

type Listener = (event: CustomEvent) => void;
type ListenerOrObject = Listener | { handleEvent: Listener };

/** One payload for several channels. */
export interface BatchItem {
  channels: string[];
  payload: unknown;
}

/**
 * The event target under yoga's pubsub, over Redis: what @graphql-yoga/redis-event-target does
 * (PUBLISH per event, SUBSCRIBE per channel with local listeners), plus batches. A batch goes
 * out as ONE message on one channel that every replica subscribes to, and each replica hands
 * its items to its local listeners: a write of 500 jobs' new states is one PUBLISH instead of
 * a thousand (two topics per job), and one parse on each replica instead of one per message.
 * Items of a batch, and batches and single events from one replica, arrive in the order sent.
 */
export function createRedisEventTarget(publisher: Redis, subscriber: Redis, batchChannel: string) {
  const listeners = new Map<string, Set<Listener>>();
  // Fire-and-forget: a PUBLISH that fails (Redis gone, server closing) must not become an
  // unhandled rejection; subscribers re-read state when they (re)subscribe.
  const publish = (channel: string, message: string) => void publisher.publish(channel, message).catch(() => 0);
  const deliver = (channel: string, detail: unknown) => {
    const set = listeners.get(channel);
    if (!set) return;
    const event = new CustomEvent(channel, { detail });
    for (const listener of set) {
      try {
        listener(event);
      } catch {
        // A subscriber too far behind (its buffer is full) loses this event; the process must not.
      }
    }
  };

  // Big batches are handed out in slices with a turn of the event loop between them, so that
  // subscribers drain as they go instead of being pushed a thousand events at once. The chain
  // keeps messages in the order they arrived.
  let chain = Promise.resolve();
  const SLICE = 256;
  subscriber.on("message", (channel: string, message: string) => {
    chain = chain
      .then(async () => {
        if (channel !== batchChannel) return deliver(channel, message === "" ? null : JSON.parse(message));
        let delivered = 0;
        for (const [channels, payload] of JSON.parse(message) as [string[], unknown][]) {
          for (const itemChannel of channels) deliver(itemChannel, payload);
          if (++delivered % SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })
      .catch(() => undefined); // a malformed message is dropped, never thrown into the Redis client
  });
  void subscriber.subscribe(batchChannel).catch(() => 0);

  const listenerOf = (value: ListenerOrObject): Listener => ("handleEvent" in value ? value.handleEvent : value);
  return {
    addEventListener(channel: string, value: ListenerOrObject | null) {
      if (!value) return;
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        void subscriber.subscribe(channel).catch(() => 0);
      }
      set.add(listenerOf(value));
    },
    removeEventListener(channel: string, value: ListenerOrObject | null) {
      const set = listeners.get(channel);
      if (!value || !set) return;
      set.delete(listenerOf(value));
      if (set.size > 0) return;
      listeners.delete(channel);
      void subscriber.unsubscribe(channel).catch(() => 0);
    },
    dispatchEvent(event: CustomEvent): boolean {
      publish(event.type, event.detail === undefined ? "" : JSON.stringify(event.detail));
      return true;
    },
    publishBatch(items: BatchItem[]): void {
      // Messages of about a megabyte at most: inputs and outputs can be large.
      let parts: string[] = [];
      let size = 0;
      const flush = () => {
        if (parts.length) publish(batchChannel, `[${parts.join(",")}]`);
        parts = [];
        size = 0;
      };
      for (const item of items) {
        const part = JSON.stringify([item.channels, item.payload]);
        if (size + part.length > MAX_MESSAGE_CHARS) flush();
        parts.push(part);
        size += part.length;
      }
      flush();
    },
  };
}

const MAX_MESSAGE_CHARS = 1_000_000;
