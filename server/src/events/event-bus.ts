import { createPubSub } from "@graphql-yoga/subscription";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { Redis } from "ioredis";

/**
 * The pubsub port. Subscriptions and command routing both go through it, so that an event
 * published on one replica reaches subscribers and agent sockets on every other replica.
 * Two drivers: Redis (via @graphql-yoga/redis-event-target) and in-process.
 */
export interface EventBus {
  publish(topic: string, payload: unknown): void;
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
  // Publishing is fire-and-forget: a PUBLISH that fails (Redis gone, server closing) must not
  // become an unhandled rejection; subscribers re-read state when they (re)subscribe.
  const publishClient = { publish: (channel: string, message: string) => publisher.publish(channel, message).catch(() => 0) };
  const eventTarget = createRedisEventTarget({ publishClient: publishClient as unknown as Redis, subscribeClient: subscriber });
  const pubsub = createPubSub({ eventTarget });
  // Channels are global in Redis; the prefix keeps deployments (and test runs) apart.
  return fromPubSub(pubsub, `${prefix}:`);
}

// biome-ignore lint/suspicious/noExplicitAny: the yoga pubsub is typed per topic map; ours is dynamic
function fromPubSub(pubsub: any, channelPrefix = ""): EventBus {
  return {
    publish(topic, payload) {
      pubsub.publish(channelPrefix + topic, payload);
    },
    subscribe<T>(topic: string) {
      return pubsub.subscribe(channelPrefix + topic) as AsyncIterableIterator<T>;
    },
  };
}
