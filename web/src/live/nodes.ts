import { useEffect, useMemo } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql } from "../gql/gql";
import type { NodeFieldsFragment } from "../gql/graphql";
import { useRefetchOnReconnect } from "./use-live";

export const NodeFields = graphql(`
  fragment NodeFields on Node {
    id
    name
    state
    address
    pool
    labels
    capacity
    freeSlots
    cordoned
    schedulable
    connected
    agentVersion
    lastHeartbeatAt
    drainDeadlineAt
    removedAt
    createdAt
    gpus {
      index
      uuid
      name
      memoryTotalMb
      memoryUsedMb
      utilizationPct
      temperatureC
      powerW
    }
  }
`);

const NodesDocument = graphql(`
  query Nodes($first: Int) {
    nodes(first: $first) {
      edges {
        node {
          ...NodeFields
          sshHost {
            address
          }
        }
      }
    }
  }
`);

const NodeUpdatedDocument = graphql(`
  subscription NodeUpdated($id: ID) {
    nodeUpdated(id: $id) {
      ...NodeFields
    }
  }
`);

/**
 * Every node, live: nodeUpdated (each change and each heartbeat's GPU stats) updates the cached
 * nodes in place; a node the list does not hold yet, or one just removed, refetches the list.
 */
export function useLiveNodes() {
  const [result, reexecute] = useQuery({ query: NodesDocument, variables: { first: 100 } });
  const [live] = useSubscription({ query: NodeUpdatedDocument, variables: { id: null } });
  useRefetchOnReconnect(reexecute);
  const known = useMemo(() => new Set(result.data?.nodes.edges.map((edge) => edge.node.id)), [result.data]);
  const updated = live.data?.nodeUpdated;
  useEffect(() => {
    if (!updated || !result.data) return;
    if (!known.has(updated.id) || updated.removedAt) reexecute({ requestPolicy: "network-only" });
  }, [updated, known, result.data, reexecute]);
  const nodes = useMemo(
    () => result.data?.nodes.edges.map((edge) => edge.node).filter((node) => !node.removedAt),
    [result.data],
  );
  return { result, reexecute, nodes };
}

/** One node, live. */
export function useNodeUpdates(id: string): NodeFieldsFragment | undefined {
  const [live] = useSubscription({ query: NodeUpdatedDocument, variables: { id } });
  return live.data?.nodeUpdated;
}
