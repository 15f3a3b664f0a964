import type { RunJobPayload } from "../jobs/attempt-service.js";

/** What the server sends an agent. `__typename` names the GraphQL union member. */
export type AgentCommand =
  | {
      __typename: "HelloCommand";
      commandId: string;
      nodeId: string;
      heartbeatIntervalMs: number;
      leaseTtlMs: number;
      logFlushIntervalMs: number;
    }
  | ({ __typename: "RunJobCommand"; commandId: string } & RunJobPayload)
  | { __typename: "CancelJobCommand"; commandId: string; jobId: string; attemptId: string; reason: string; graceMs?: number };
