import type { PrismaClient } from "../generated/prisma/client.js";
import type { Node } from "../generated/prisma/client.js";
import type { AgentGateway } from "../agents/agent-gateway.js";
import type { EventBus } from "../events/event-bus.js";
import type { JobService } from "../jobs/job-service.js";
import type { ModelService } from "../models/model-service.js";
import type { NodeService } from "../nodes/node-service.js";
import type { QueueService } from "../queues/queue-service.js";

/** The services every resolver may call; built once in main.ts. */
export interface Services {
  prisma: PrismaClient;
  events: EventBus;
  jobs: JobService;
  models: ModelService;
  nodes: NodeService;
  queues: QueueService;
  agents: AgentGateway;
}

/** Per request (HTTP) or per socket (graphql-ws). */
export interface GraphQLContext extends Services {
  /** Set when the caller authenticated with a node token: an agent speaking for this node. */
  node: Node | null;
  /** Who is acting, for events and audit ("anonymous" until the auth issue lands). */
  actor: string;
}
