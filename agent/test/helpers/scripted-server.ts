import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { buildSchema, graphql } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";

/**
 * A scripted control plane for the agent's protocol tests: a real HTTP server with `POST /graphql` (enrollment) and
 * a real graphql-ws endpoint at `/graphql`, executing a schema written from agent/PROTOCOL.md. It records what the
 * agent sends, lets a test push command batches, drop or block connections, and hands out upload URLs it serves.
 * A test peer, not a model of the real server's storage.
 */

export const PROTOCOL_SDL = /* GraphQL */ `
  scalar JSON
  scalar DateTime

  type Query { ok: Boolean }

  input EnrollNodeInput { enrollmentToken: String!, name: String! }
  type EnrollNodeResult { nodeId: String!, nodeToken: String! }

  input AttemptRefInput { jobId: String!, attemptId: String! }

  type HelloCommand { commandId: String!, nodeId: String!, heartbeatIntervalMs: Int!, leaseTtlMs: Int!, logFlushIntervalMs: Int! }
  type RunJobCommand {
    commandId: String!, jobId: String!, attemptId: String!, modelId: String!, modelVersionId: String!
    route: String, input: JSON!, runner: JSON!, timeoutMs: Int, leaseExpiresAt: DateTime!
  }
  type CancelJobCommand { commandId: String!, jobId: String!, attemptId: String!, reason: String!, graceMs: Int! }
  type ConfigureEnvCommand { commandId: String!, env: JSON!, secrets: JSON!, unset: [String!]! }
  type PrefetchRunnerCommand { commandId: String!, modelId: String!, modelVersionId: String!, runner: JSON! }
  type RemoveRunnerCommand { commandId: String!, modelId: String!, modelVersionId: String!, runner: JSON! }
  type RestartAgentCommand { commandId: String!, reason: String! }
  type UpgradeAgentCommand { commandId: String!, bundleUrl: String!, sha256: String! }
  type DrainCommand { commandId: String!, deadlineMs: Int }
  type ResumeWorkCommand { commandId: String! }
  union AgentCommand = HelloCommand | RunJobCommand | CancelJobCommand | ConfigureEnvCommand | PrefetchRunnerCommand
    | RemoveRunnerCommand | RestartAgentCommand | UpgradeAgentCommand | DrainCommand | ResumeWorkCommand

  input GpuInput {
    index: Int!, uuid: String!, name: String!, memoryTotalMb: Int!, memoryUsedMb: Int!,
    utilizationPct: Float, temperatureC: Float, powerW: Float, driverVersion: String, cudaVersion: String
  }
  input RunnerStateInput { modelVersionId: String!, state: String!, pid: Int, port: Int, runs: Int! }
  input HeartbeatInput {
    freeSlots: Int!, running: [AttemptRefInput!]!, gpus: [GpuInput!]!, runners: [RunnerStateInput!]!, agentVersion: String
  }
  type HeartbeatResult { lostAttemptIds: [String!]!, serverTime: DateTime! }

  input CommandAckInput { commandId: String!, step: String!, detail: String, jobId: String, attemptId: String }
  input LogLineInput { jobId: String!, attemptId: String!, seq: Int!, level: String!, message: String!, at: DateTime! }
  input ProgressInput { jobId: String!, attemptId: String!, progress: Float!, message: String }
  input CompletionInput { jobId: String!, attemptId: String!, output: JSON! }
  input FailureInput {
    jobId: String!, attemptId: String!, error: String!, errorType: String!, cause: String!, retryable: Boolean!
  }
  input AgentReportInput {
    acks: [CommandAckInput!], started: [AttemptRefInput!], logs: [LogLineInput!], progress: [ProgressInput!],
    completed: [CompletionInput!], failed: [FailureInput!], cancelled: [AttemptRefInput!]
  }
  type RejectedReport { attemptId: String!, reason: String! }
  type AgentReportResult { accepted: Int!, rejected: [RejectedReport!]! }

  input ArtifactUploadInput { jobId: String!, attemptId: String!, fileName: String!, contentType: String!, sizeBytes: Int! }
  type ArtifactUploadResult { artifactId: String!, uploadUrl: String!, url: String! }

  type Mutation {
    enrollNode(input: EnrollNodeInput!): EnrollNodeResult!
    agentHeartbeat(input: HeartbeatInput!): HeartbeatResult!
    agentReport(input: AgentReportInput!): AgentReportResult!
    agentArtifactUpload(input: ArtifactUploadInput!): ArtifactUploadResult!
  }

  type Subscription {
    agentCommands(capacity: Int!, models: [String!], running: [AttemptRefInput!]): [AgentCommand!]!
  }
`;

export interface Hello {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  logFlushIntervalMs: number;
}

export interface SubscriptionRecord {
  nodeToken: string;
  variables: { capacity: number; models: string[] | null; running: { jobId: string; attemptId: string }[] };
  at: number;
}

export interface HeartbeatRecord {
  nodeToken: string;
  input: Record<string, unknown> & { running: { attemptId: string }[]; freeSlots: number };
  at: number;
}

export interface ReportRecord {
  nodeToken: string;
  input: {
    acks?: { commandId: string; step: string; detail?: string | null; jobId?: string; attemptId?: string }[];
    started?: { jobId: string; attemptId: string }[];
    logs?: { attemptId: string; seq: number; level: string; message: string; at: string }[];
    progress?: { attemptId: string; progress: number; message?: string | null }[];
    completed?: { attemptId: string; output: unknown }[];
    failed?: { attemptId: string; error: string; errorType: string; cause: string; retryable: boolean }[];
    cancelled?: { attemptId: string }[];
  };
  at: number;
}

interface Listener {
  nodeToken: string;
  push: (batch: unknown[]) => void;
  close: () => void;
}

export class ScriptedServer {
  readonly enrollmentTokens = new Set<string>();
  readonly nodeTokens = new Set<string>();
  readonly enrollments: { enrollmentToken: string; name: string }[] = [];
  readonly connections: { nodeToken: unknown; params: Record<string, unknown> }[] = [];
  readonly subscriptions: SubscriptionRecord[] = [];
  readonly heartbeats: HeartbeatRecord[] = [];
  readonly reports: ReportRecord[] = [];
  readonly uploads = new Map<string, { contentType: string | undefined; body: Buffer }>();
  hello: Hello = { heartbeatIntervalMs: 200, leaseTtlMs: 5_000, logFlushIntervalMs: 100 };
  /** Attempt ids the next heartbeats answer as lost. */
  lostAttemptIds: string[] = [];
  /** attemptId -> reason: reports about them are rejected (R9). */
  rejectAttempts = new Map<string, string>();
  /** Delay before agentReport answers (the report is recorded at once). */
  reportDelayMs = 0;
  /** While true, new WebSocket connections are refused at the HTTP upgrade (a network outage). */
  blocked = false;
  private listeners = new Set<Listener>();
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly schema = buildSchema(PROTOCOL_SDL);
  private waiters: (() => void)[] = [];
  url = "";

  constructor() {
    this.server = http.createServer((req, res) => void this.handleHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on("upgrade", (req, socket, head) => {
      if (this.blocked || !req.url?.startsWith("/graphql")) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
    });
    useServer(
      {
        schema: this.schema,
        onConnect: (ctx) => {
          const params = (ctx.connectionParams ?? {}) as Record<string, unknown>;
          this.connections.push({ nodeToken: params.nodeToken, params });
          this.notify();
          return typeof params.nodeToken === "string" && this.nodeTokens.has(params.nodeToken);
        },
        context: (ctx) => ({ nodeToken: (ctx.connectionParams as { nodeToken: string }).nodeToken }),
        roots: {
          mutation: this.mutationRoot(),
          subscription: {
            agentCommands: (args: SubscriptionRecord["variables"], context: { nodeToken: string }) =>
              this.commandStream(args, context.nodeToken),
          },
        },
      },
      this.wss,
    );
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const listener of this.listeners) listener.close();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  issueEnrollmentToken(): string {
    const token = `enroll-${randomUUID()}`;
    this.enrollmentTokens.add(token);
    return token;
  }

  issueNodeToken(): string {
    const token = `node-${randomUUID()}`;
    this.nodeTokens.add(token);
    return token;
  }

  /** Sends a batch of commands to every open command stream (of one node token, if given). */
  push(batch: unknown[], nodeToken?: string): void {
    for (const listener of this.listeners) if (!nodeToken || listener.nodeToken === nodeToken) listener.push(batch);
  }

  get openStreams(): number {
    return this.listeners.size;
  }

  /** Cuts every WebSocket without a close frame, like a network failure. */
  dropConnections(): void {
    for (const client of this.wss.clients) client.terminate();
  }

  /** Resolves when `predicate` holds (checked on every recorded event and every 20 ms). */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  // ---- views over the records ----------------------------------------------------------------------------------

  logsOf(attemptId: string): NonNullable<ReportRecord["input"]["logs"]> {
    return this.reports.flatMap((r) => r.input.logs ?? []).filter((l) => l.attemptId === attemptId);
  }

  field<K extends keyof ReportRecord["input"]>(key: K): NonNullable<ReportRecord["input"][K]> {
    return this.reports.flatMap((r) => (r.input[key] ?? []) as never[]) as NonNullable<ReportRecord["input"][K]>;
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private notify(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private commandStream(variables: SubscriptionRecord["variables"], nodeToken: string): AsyncIterableIterator<unknown> {
    this.subscriptions.push({ nodeToken, variables: JSON.parse(JSON.stringify(variables)), at: Date.now() });
    const queue: unknown[][] = [
      [{ __typename: "HelloCommand", commandId: randomUUID(), nodeId: `node-of-${nodeToken}`, ...this.hello }],
    ];
    let wake: (() => void) | undefined;
    let done = false;
    const listener: Listener = {
      nodeToken,
      push: (batch) => {
        queue.push(batch);
        wake?.();
      },
      close: () => {
        done = true;
        wake?.();
      },
    };
    this.listeners.add(listener);
    this.notify();
    const listeners = this.listeners;
    const iterator: AsyncIterableIterator<unknown> = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next() {
        while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
        const batch = queue.shift();
        if (!batch) return { done: true, value: undefined };
        return { done: false, value: { agentCommands: batch } };
      },
      async return() {
        done = true;
        listeners.delete(listener);
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  private mutationRoot(): Record<string, (args: { input: never }, context: { nodeToken: string }) => unknown> {
    return {
      agentHeartbeat: ({ input }: { input: HeartbeatRecord["input"] }, { nodeToken }) => {
        this.heartbeats.push({ nodeToken, input, at: Date.now() });
        this.notify();
        const held = new Set(input.running.map((r) => r.attemptId));
        const lost = this.lostAttemptIds.filter((id) => held.has(id));
        return { lostAttemptIds: lost, serverTime: new Date().toISOString() };
      },
      agentReport: async ({ input }: { input: ReportRecord["input"] }, { nodeToken }) => {
        this.reports.push({ nodeToken, input: JSON.parse(JSON.stringify(input)), at: Date.now() });
        this.notify();
        const rejected: { attemptId: string; reason: string }[] = [];
        for (const key of ["started", "logs", "progress", "completed", "failed", "cancelled"] as const) {
          for (const item of (input[key] ?? []) as { attemptId: string }[]) {
            const reason = this.rejectAttempts.get(item.attemptId);
            if (reason && !rejected.some((r) => r.attemptId === item.attemptId))
              rejected.push({ attemptId: item.attemptId, reason });
          }
        }
        if (this.reportDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.reportDelayMs));
        return { accepted: 1, rejected };
      },
      agentArtifactUpload: ({ input }: { input: { fileName: string } }) => {
        const id = randomUUID();
        this.notify();
        return {
          artifactId: id,
          uploadUrl: `${this.url}/upload/${id}`,
          url: `${this.url}/files/${id}/${input.fileName}`,
        };
      },
    };
  }

  private async handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === "PUT" && req.url?.startsWith("/upload/")) {
      this.uploads.set(req.url.slice("/upload/".length), { contentType: req.headers["content-type"], body });
      this.notify();
      res.writeHead(200).end();
      return;
    }
    if (req.method === "POST" && req.url === "/graphql") {
      const { query, variables } = JSON.parse(body.toString("utf8")) as {
        query: string;
        variables: Record<string, unknown>;
      };
      const result = await graphql({
        schema: this.schema,
        source: query,
        variableValues: variables,
        rootValue: {
          enrollNode: ({ input }: { input: { enrollmentToken: string; name: string } }) => {
            this.enrollments.push(input);
            this.notify();
            if (!this.enrollmentTokens.delete(input.enrollmentToken)) {
              const error = new Error("enrollment token is invalid, used or expired") as Error & {
                extensions: unknown;
              };
              throw Object.assign(error, { extensions: { code: "ENROLLMENT_TOKEN_INVALID" } });
            }
            return { nodeId: `node-${this.enrollments.length}`, nodeToken: this.issueNodeToken() };
          },
        },
      });
      const json = JSON.stringify(result);
      res.writeHead(200, { "content-type": "application/json" }).end(json);
      return;
    }
    res.writeHead(404).end();
  }
}
