import type { AgentGateway } from "../agents/agent-gateway.js";
import type { ArtifactService } from "../artifacts/artifact-service.js";
import type { AuditService } from "../audit/audit-service.js";
import type { AuthService, Credential } from "../auth/auth-service.js";
import type { Principal } from "../auth/permissions.js";
import type { EventBus } from "../events/event-bus.js";
import type { Node, PrismaClient } from "../generated/prisma/client.js";
import type { JobService } from "../jobs/job-service.js";
import type { ModelService } from "../models/model-service.js";
import type { NodeCommands } from "../nodes/node-commands.js";
import type { NodeService } from "../nodes/node-service.js";
import type { ProvisioningService } from "../provisioning/provisioning-service.js";
import type { QueueService } from "../queues/queue-service.js";
import type { WebhookService } from "../webhooks/webhook-service.js";

/** The services every resolver may call; built once in main.ts. */
export interface Services {
  prisma: PrismaClient;
  events: EventBus;
  jobs: JobService;
  models: ModelService;
  nodes: NodeService;
  nodeCommands: NodeCommands;
  provisioning: ProvisioningService;
  queues: QueueService;
  agents: AgentGateway;
  artifacts: ArtifactService;
  auth: AuthService;
  audit: AuditService;
  webhooks: WebhookService;
}

/** Per request (HTTP) or per socket (graphql-ws). */
export interface GraphQLContext extends Services {
  /** Set when the caller authenticated with a node token: an agent speaking for this node. */
  node: Node | null;
  /** Who is acting and what they may do (a user, an API key, a node, or anonymous). */
  principal: Principal;
  /** How they proved it; revoking it closes their live subscriptions. */
  credential: Credential;
  /** The actor string for events and audit: "user:…", "key:…", "node:…" or "anonymous". */
  actor: string;
  sourceIp: string | null;
  /** For cookie sessions: the token mutations must echo in x-csrf-token. */
  csrfToken?: string;
  /** Adds a Set-Cookie header to the HTTP response (no-op over WebSocket). */
  setCookie(cookie: string): void;
}
