import type { Client } from "graphql-ws";
import { collect, wsClient } from "./graphql-client.js";

/** The agent protocol's documents (agent/PROTOCOL.md), as the real agent sends them. */
export const AGENT_COMMANDS = /* GraphQL */ `
  subscription Commands($capacity: Int!, $models: [String!], $running: [AttemptRefInput!]) {
    agentCommands(capacity: $capacity, models: $models, running: $running) {
      __typename
      ... on HelloCommand { commandId nodeId heartbeatIntervalMs leaseTtlMs logFlushIntervalMs }
      ... on RunJobCommand { commandId jobId attemptId modelId modelVersionId route input runner timeoutMs leaseExpiresAt }
      ... on CancelJobCommand { commandId jobId attemptId reason graceMs }
    }
  }`;

export const AGENT_HEARTBEAT = /* GraphQL */ `
  mutation Heartbeat($input: HeartbeatInput!) { agentHeartbeat(input: $input) { lostAttemptIds serverTime } }`;

export const AGENT_REPORT = /* GraphQL */ `
  mutation Report($input: AgentReportInput!) { agentReport(input: $input) { accepted rejected { attemptId reason } } }`;

export interface Command {
  __typename: "HelloCommand" | "RunJobCommand" | "CancelJobCommand";
  commandId: string;
  jobId?: string;
  attemptId?: string;
  modelId?: string;
  input?: unknown;
  reason?: string;
  heartbeatIntervalMs?: number;
  leaseTtlMs?: number;
}

export interface AttemptRef {
  jobId: string;
  attemptId: string;
}

/**
 * A scripted agent: a real graphql-ws client that speaks the protocol step by step, so tests
 * decide exactly when it reports, heartbeats or vanishes.
 */
export class TestAgent {
  readonly client: Client;
  private readonly stream: ReturnType<typeof collect<{ agentCommands: Command[] }>>;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private seq = new Map<string, number>();
  /** Attempts this agent considers running (sent in heartbeats). */
  readonly running = new Map<string, AttemptRef>();

  constructor(
    readonly baseUrl: string,
    readonly nodeToken: string,
    opts: { capacity?: number; models?: string[] | null; running?: AttemptRef[] } = {},
  ) {
    this.client = wsClient(baseUrl, { nodeToken, agentVersion: "test-agent" });
    this.stream = collect(this.client, AGENT_COMMANDS, {
      capacity: opts.capacity ?? 1,
      models: opts.models ?? null,
      running: opts.running ?? [],
    });
  }

  get commands(): Command[] {
    return this.stream.events.flatMap((event) => event.agentCommands);
  }

  get errors(): unknown[] {
    return this.stream.errors;
  }

  async waitForCommand(predicate: (command: Command) => boolean, timeoutMs = 15_000): Promise<Command> {
    await this.stream.until(() => this.commands.some(predicate), timeoutMs);
    return this.commands.find(predicate) as Command;
  }

  /** Returns the attempt reference (just jobId and attemptId, ready to report with) and the command. */
  async waitForRunJob(jobId?: string, timeoutMs = 15_000): Promise<AttemptRef & { command: Command }> {
    const command = await this.waitForCommand(
      (c) => c.__typename === "RunJobCommand" && (!jobId || c.jobId === jobId),
      timeoutMs,
    );
    const ref = { jobId: command.jobId as string, attemptId: command.attemptId as string };
    this.running.set(ref.attemptId, ref);
    return { ...ref, command };
  }

  /** Heartbeats on the interval the server sent in Hello, listing `running`. */
  async startHeartbeats(): Promise<void> {
    const hello = await this.waitForCommand((c) => c.__typename === "HelloCommand");
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch(() => undefined), hello.heartbeatIntervalMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  async heartbeat(): Promise<{ lostAttemptIds: string[] }> {
    const result = await this.mutate<{ agentHeartbeat: { lostAttemptIds: string[] } }>(AGENT_HEARTBEAT, {
      input: { freeSlots: 1, running: [...this.running.values()].map(pick), gpus: [], runners: [] },
    });
    for (const id of result.agentHeartbeat.lostAttemptIds) this.running.delete(id);
    return result.agentHeartbeat;
  }

  async report(input: Record<string, unknown>) {
    const result = await this.mutate<{
      agentReport: { accepted: number; rejected: { attemptId: string; reason: string }[] };
    }>(AGENT_REPORT, { input });
    return result.agentReport;
  }

  started(ref: AttemptRef) {
    return this.report({ started: [pick(ref)] });
  }

  logs(ref: AttemptRef, messages: string[]) {
    const first = this.seq.get(ref.attemptId) ?? 0;
    this.seq.set(ref.attemptId, first + messages.length);
    const at = new Date().toISOString();
    return this.report({
      logs: messages.map((message, i) => ({ ...pick(ref), seq: first + i, level: "info", message, at })),
    });
  }

  complete(ref: AttemptRef, output: unknown) {
    this.running.delete(ref.attemptId);
    return this.report({ completed: [{ ...pick(ref), output }] });
  }

  fail(ref: AttemptRef, failure: { error: string; errorType: string; cause: string; retryable: boolean }) {
    this.running.delete(ref.attemptId);
    return this.report({ failed: [{ ...pick(ref), ...failure }] });
  }

  async mutate<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let result: T | undefined;
      this.client.subscribe<T>(
        { query, variables },
        {
          next: (value) => {
            if (value.errors?.length) reject(new Error(JSON.stringify(value.errors)));
            else result = value.data as T;
          },
          error: reject,
          complete: () => (result === undefined ? reject(new Error("no result")) : resolve(result)),
        },
      );
    });
  }

  /** Vanishes without a word, like a host that lost power. */
  async vanish(): Promise<void> {
    this.stopHeartbeats();
    this.stream.stop();
    await this.client.dispose();
  }

  close(): Promise<void> {
    return this.vanish();
  }
}

function pick(ref: AttemptRef): AttemptRef {
  return { jobId: ref.jobId, attemptId: ref.attemptId };
}
