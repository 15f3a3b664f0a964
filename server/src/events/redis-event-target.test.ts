import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testRedisUrl } from "../testing/test-env.js";
import { createRedisEventBus, type EventBus } from "./event-bus.js";

// Two buses on one Redis stand for two replicas: what one publishes, singly or in a batch,
// reaches the other's subscribers, in the order it was published.

const clients: Redis[] = [];
let a: EventBus;
let b: EventBus;

async function connected(): Promise<Redis> {
  const client = new Redis(testRedisUrl);
  clients.push(client);
  await new Promise((resolve) => client.once("ready", resolve));
  return client;
}

beforeAll(async () => {
  const prefix = `vyvo-test-bus-${randomBytes(4).toString("hex")}`;
  a = createRedisEventBus(await connected(), await connected(), prefix);
  b = createRedisEventBus(await connected(), await connected(), prefix);
});

afterAll(() => {
  for (const client of clients) client.disconnect();
});

/** Starts pulling at once (a subscription begins with its first pull) and resolves with `count` events. */
function take<T>(iterator: AsyncIterableIterator<T>, count: number): Promise<T[]> {
  const seen: T[] = [];
  return (async () => {
    while (seen.length < count) {
      const next = await iterator.next();
      if (next.done) break;
      seen.push(next.value);
    }
    await iterator.return?.();
    return seen;
  })();
}

it("delivers batches and single events to every replica's subscribers, in order", async () => {
  const jobOne = take(b.subscribe<{ id: string; n: number }>("job:1"), 2);
  const all = take(b.subscribe<{ id: string; n: number }>("jobs"), 4);
  const onA = take(a.subscribe<{ id: string; n: number }>("jobs"), 4);
  await new Promise((resolve) => setTimeout(resolve, 100)); // SUBSCRIBE reaches Redis

  a.publishAll([
    { topics: ["job:1", "jobs"], payload: { id: "1", n: 1 } },
    { topics: ["job:2", "jobs"], payload: { id: "2", n: 1 } },
  ]);
  a.publish("jobs", { id: "3", n: 1 });
  a.publishAll([{ topics: ["job:1", "jobs"], payload: { id: "1", n: 2 } }]);

  expect(await jobOne).toEqual([
    { id: "1", n: 1 },
    { id: "1", n: 2 },
  ]);
  const expected = [
    { id: "1", n: 1 },
    { id: "2", n: 1 },
    { id: "3", n: 1 },
    { id: "1", n: 2 },
  ];
  expect(await all).toEqual(expected);
  expect(await onA).toEqual(expected);
});

it("splits a large batch into several messages and still delivers every item in order", async () => {
  const all = take(b.subscribe<{ n: number; blob: string }>("big"), 8);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const blob = "x".repeat(300_000);
  a.publishAll(Array.from({ length: 8 }, (_, n) => ({ topics: ["big"], payload: { n, blob } })));
  const seen = await all;
  expect(seen.map((item) => item.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(seen.every((item) => item.blob.length === 300_000)).toBe(true);
});
