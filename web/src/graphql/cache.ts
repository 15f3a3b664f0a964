import type { CacheExchangeOpts, Data } from "@urql/exchange-graphcache";

const embedded = () => null;

/**
 * The normalized cache: entities by id, so that a subscription's update of a job, a queue or a key
 * shows in every view that holds it. Types without an id are keyed here or kept embedded.
 */
export const cacheOptions: CacheExchangeOpts = {
  keys: {
    Queue: (queue) => (queue.modelId as string | undefined) ?? null,
    Permission: (permission) => (permission.name as string | undefined) ?? null,
    Viewer: embedded,
    JobLogLine: embedded,
    PageInfo: embedded,
    QueryJobsConnection: embedded,
    QueryJobsConnectionEdge: embedded,
    QueryAuditEventsConnection: embedded,
    QueryNodesConnection: embedded,
    QueryNodesConnectionEdge: embedded,
    NodeGpu: embedded,
    ResidentRunner: embedded,
    SshHost: embedded,
    ProvisioningStep: embedded,
    ProvisioningLogEntry: embedded,
    NodeCommandReceipt: embedded,
    ConfirmHostKeyPayload: embedded,
    QueryAuditEventsConnectionEdge: embedded,
    LoginResult: embedded,
    CreatedApiKey: embedded,
    SubmitJobPayload: embedded,
    EnrollmentTokenPayload: embedded,
  },
  updates: {
    Subscription: {
      // Every queue, as a whole list: it replaces what `queues` holds, so new models appear too.
      queueUpdated(result, _args, cache) {
        cache.link("Query", "queues", result.queueUpdated as Data[]);
      },
    },
    Mutation: {
      createApiKey(_result, _args, cache) {
        cache.invalidate("Query", "apiKeys");
      },
      createUser(_result, _args, cache) {
        cache.invalidate("Query", "users");
      },
    },
  },
};
