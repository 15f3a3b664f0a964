import { useSubscription } from "urql";
import { graphql } from "../gql/gql";
import type { QueueFieldsFragment } from "../gql/graphql";

export const QueueFields = graphql(`
  fragment QueueFields on Queue {
    modelId
    depth
    running
    delayed
    paused
    oldestEnqueuedAt
    oldestWaitMs
  }
`);

const QueueUpdatedDocument = graphql(`
  subscription QueueUpdated {
    queueUpdated {
      ...QueueFields
    }
  }
`);

/**
 * Every queue, live (the server sends them all at once, then on each change). `tick` counts the
 * updates, so views whose data follows queue changes (job lists) can refetch on it.
 */
export function useQueueUpdates(pause = false): { queues: QueueFieldsFragment[] | null; tick: number; error: boolean } {
  const [result] = useSubscription(
    { query: QueueUpdatedDocument, pause },
    (previous: { tick: number; queues: QueueFieldsFragment[] } | undefined, data) => ({
      tick: (previous?.tick ?? 0) + 1,
      queues: data.queueUpdated,
    }),
  );
  return { queues: result.data?.queues ?? null, tick: result.data?.tick ?? 0, error: !!result.error };
}
