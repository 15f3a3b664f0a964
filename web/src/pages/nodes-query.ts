import { graphql } from "../gql/gql";

export const NodesDocument = graphql(`
  query Nodes {
    nodes {
      id
      name
      state
      pool
      labels
      capacity
      gpus
      agentVersion
      lastHeartbeatAt
      connected
      createdAt
    }
  }
`);

/** Until the schema has a node subscription, nodes are polled at this interval. */
export const NODE_POLL_MS = 2_000;
