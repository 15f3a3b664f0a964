import { createPubSub } from "@graphql-yoga/subscription";
import type { Redis } from "ioredis";
import { createRedisEventTarget } from "./redis-event-target.js";

/**
 * The pubsub port. Subscriptions and command routing both go through it, so that an event
 * published on one replica reaches subscribers and agent sockets on every other replica.
 * Two drivers: Redis (redis-event-target.ts) and in-process.
 */
export interface EventBus {
  publish(topic: string, payload: unknown): void;
  /**
   * Publishes each payload to each of its topics, in order. The Redis driver sends them all as
   * one message: job states are published a batch at a time, two topics each.
   */
  publishAll(items: { topics: string[]; payload: unknown }[]): void;
  subscribe<T>(topic: string): AsyncIterableIterator<T>;
}

/** Topic names in one place, so publishers and subscribers cannot drift apart. */
export const topics = {
  jobUpdated: (jobId: string) => `job:${jobId}`,
  jobLogs: (jobId: string) => `job-logs:${jobId}`,
  jobsChanged: "jobs",
  queueUpdated: "queues",
  /** A model has queued work: every replica tries to dispatch it to its own agents. */
  workAvailable: "work",
  /** Commands for one node, delivered by whichever replica holds its socket. */
  agentCommands: (nodeId: string) => `agent:${nodeId}`,
  /** A session, API key or node token stopped being valid: every replica closes its sockets. */
  credentialRevoked: "credential-revoked",
  auditEvents: "audit",
  /** A node changed, or heartbeated (live GPU stats): the whole node, every time. */
  nodeUpdated: "nodes",
  nodeEvents: (nodeId: string) => `node-events:${nodeId}`,
  /** A node's cordon changed: every replica updates what its dispatcher may give it. */
  nodeScheduling: "node-scheduling",
  /** A provisioning run's step changes and output lines. */
  provisioningLogs: (runId: string) => `provisioning:${runId}`,
} as const;

export function createMemoryEventBus(): EventBus {
  return fromPubSub(createPubSub());
}

/** `publisher` and `subscriber` must be separate connections: a subscribed ioredis client can only subscribe. */
export function createRedisEventBus(publisher: Redis, subscriber: Redis, prefix: string): EventBus {
  // Channels are global in Redis; the prefix keeps deployments (and test runs) apart.
  const channelPrefix = `${prefix}:`;
  const eventTarget = createRedisEventTarget(publisher, subscriber, `${channelPrefix}__batch`);
  const bus = fromPubSub(createPubSub({ eventTarget }), channelPrefix);
  bus.publishAll = (items) =>
    eventTarget.publishBatch(
      items.map((item) => ({ channels: item.topics.map((t) => channelPrefix + t), payload: item.payload })),
    );
  return bus;
}

// biome-ignore lint/suspicious/noExplicitAny: the yoga pubsub is typed per topic map; ours is dynamic
function fromPubSub(pubsub: any, channelPrefix = ""): EventBus {
  return {
    publish(topic, payload) {
      pubsub.publish(channelPrefix + topic, payload);
    },
    publishAll(items) {
      for (const item of items) for (const topic of item.topics) pubsub.publish(channelPrefix + topic, item.payload);
    },
    subscribe<T>(topic: string) {
      return pubsub.subscribe(channelPrefix + topic) as AsyncIterableIterator<T>;
    },
  };
}
