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
  | {
      __typename: "CancelJobCommand";
      commandId: string;
      jobId: string;
      attemptId: string;
      reason: string;
      graceMs?: number;
    }
  | NodeCommand;

/** Commands about the node itself rather than a job (PROTOCOL.md, "Node commands"); each is acked step by step. */
export type NodeCommand =
  | {
      __typename: "ConfigureEnvCommand";
      commandId: string;
      /** Merged into what the agent passes to runners. */
      env: Record<string, string>;
      /** Like env, but never logged or echoed back by the agent. */
      secrets: Record<string, string>;
      /** Names removed from both. */
      unset: string[];
    }
  | { __typename: "PrefetchRunnerCommand"; commandId: string; modelId: string; modelVersionId: string; runner: unknown }
  | { __typename: "RemoveRunnerCommand"; commandId: string; modelId: string; modelVersionId: string; runner: unknown }
  | { __typename: "RestartAgentCommand"; commandId: string; reason: string }
  | { __typename: "UpgradeAgentCommand"; commandId: string; bundleUrl: string; sha256: string }
  | { __typename: "DrainCommand"; commandId: string; deadlineMs: number | null }
  | { __typename: "ResumeWorkCommand"; commandId: string };
