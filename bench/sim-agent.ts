import { performance } from "node:perf_hooks";
import type { Client } from "graphql-ws";
import { wsClient } from "../server/src/testing/graphql-client.js";
import { AGENT_COMMANDS, AGENT_HEARTBEAT, AGENT_REPORT } from "../server/src/testing/test-agent.js";

export interface RunJob {
  jobId: string;
  attemptId: string;
  input: { n: number; tag?: string };
}

export interface SimAgentOptions {
  capacity: number;
  /** Called the moment a RunJob arrives (performance.now() time), before anything else. */
  onRunJob?: (command: RunJob, receivedAt: number) => void;
}

interface AgentReportResult {
  agentReport: { accepted: number; rejected: { attemptId: string; reason: string }[] };
}

type Ref = { jobId: string; attemptId: string };

/**
 * A GPU host whose runner finishes at once: a real graphql-ws client speaking agent/PROTOCOL.md.
 * Like the real agent's reporter it keeps one agentReport in flight and batches whatever piled
 * up meanwhile (started and completed of every RunJob received), and heartbeats on the interval
 * the server's Hello gives.
 */
export class SimAgent {
  readonly client: Client;
  received = 0;
  accepted = 0;
  readonly rejected: { attemptId: string; reason: string }[] = [];
  readonly errors: unknown[] = [];
  private readonly running = new Map<string, Ref>();
  private queued: Ref[] = [];
  private reporting = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopCommands: () => void = () => {};
  private readonly greeted: Promise<void>;

  constructor(
    baseUrl: string,
    nodeToken: string,
    private readonly options: SimAgentOptions,
  ) {
    this.client = wsClient(baseUrl, { nodeToken, agentVersion: "bench-sim-agent" });
    let greet: () => void = () => {};
    this.greeted = new Promise((resolve) => {
      greet = resolve;
    });
    this.stopCommands = this.client.subscribe<{
      agentCommands: { __typename: string; heartbeatIntervalMs?: number }[];
    }>(
      { query: AGENT_COMMANDS, variables: { capacity: options.capacity, models: null, running: [] } },
      {
        next: (event) => {
          const receivedAt = performance.now();
          if (event.errors) this.errors.push(event.errors);
          for (const command of event.data?.agentCommands ?? []) {
            if (command.__typename === "RunJobCommand") this.onRunJob(command as unknown as RunJob, receivedAt);
            else if (command.__typename === "HelloCommand") {
              this.startHeartbeats(command.heartbeatIntervalMs ?? 5_000);
              greet();
            }
          }
          this.flush();
        },
        error: (error) => this.errors.push(error),
        complete: () => {},
      },
    );
  }

  /** Resolves once the server said Hello: the agent can be given work. */
  ready(): Promise<void> {
    return this.greeted;
  }

  get inflight(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.stopCommands();
    await this.client.dispose();
  }

  private onRunJob(command: RunJob, receivedAt: number): void {
    this.received++;
    this.options.onRunJob?.(command, receivedAt);
    const ref = { jobId: command.jobId, attemptId: command.attemptId };
    this.running.set(ref.attemptId, ref);
    this.queued.push(ref);
  }

  private flush(): void {
    if (this.reporting || this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    this.reporting = true;
    const input = { started: batch, completed: batch.map((ref) => ({ ...ref, output: { ok: true } })) };
    this.mutate<AgentReportResult>(AGENT_REPORT, { input })
      .then(({ agentReport }) => {
        this.accepted += agentReport.accepted;
        this.rejected.push(...agentReport.rejected);
      })
      .catch((error) => this.errors.push(error))
      .finally(() => {
        for (const ref of batch) this.running.delete(ref.attemptId);
        this.reporting = false;
        this.flush();
      });
  }

  private startHeartbeats(intervalMs: number): void {
    if (this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => {
      const input = {
        freeSlots: Math.max(0, this.options.capacity - this.running.size),
        running: [...this.running.values()],
        gpus: [],
        runners: [],
      };
      this.mutate(AGENT_HEARTBEAT, { input }).catch((error) => this.errors.push(error));
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private mutate<T>(query: string, variables: Record<string, unknown>): Promise<T> {
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
}

/** Connects `tokens.length` agents and waits until every one was greeted. */
export async function connectAgents(baseUrl: string, tokens: string[], options: SimAgentOptions): Promise<SimAgent[]> {
  const agents = tokens.map((token) => new SimAgent(baseUrl, token, options));
  await Promise.all(agents.map((agent) => agent.ready()));
  return agents;
}

/** Everything the agents saw go wrong, for the bench to refuse a run that is not clean. */
export function agentProblems(agents: SimAgent[]): string[] {
  return agents.flatMap((agent, i) => [
    ...agent.errors.map(
      (error) => `agent ${i}: ${String((error as Error)?.message ?? JSON.stringify(error)).slice(0, 300)}`,
    ),
    ...agent.rejected.map((r) => `agent ${i}: report rejected for ${r.attemptId}: ${r.reason}`),
  ]);
}
