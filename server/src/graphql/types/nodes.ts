import { DomainError } from "../../errors.js";
import { topics } from "../../events/event-bus.js";
import type { Node, Prisma } from "../../generated/prisma/client.js";
import { NodeState } from "../../generated/prisma/enums.js";
import type { PublishedNodeEvent } from "../../nodes/node-ledger.js";
import type { GpuStats, RunnerState } from "../../nodes/node-presence.js";
import { acceptsWork, isConnectedState } from "../../nodes/node-states.js";
import { builder } from "../builder.js";

export const NodeStateEnum = builder.enumType(NodeState, { name: "NodeState" });

const NodeGpu = builder.objectRef<GpuStats>("NodeGpu").implement({
  description: "One GPU as nvidia-smi reported it at the last heartbeat.",
  fields: (t) => ({
    index: t.exposeInt("index"),
    uuid: t.exposeString("uuid"),
    name: t.exposeString("name", { description: "The model, e.g. NVIDIA H100 80GB HBM3." }),
    memoryTotalMb: t.exposeInt("memoryTotalMb"),
    memoryUsedMb: t.exposeInt("memoryUsedMb"),
    utilizationPct: t.float({ nullable: true, resolve: (gpu) => gpu.utilizationPct ?? null }),
    temperatureC: t.float({ nullable: true, resolve: (gpu) => gpu.temperatureC ?? null }),
    powerW: t.float({ nullable: true, resolve: (gpu) => gpu.powerW ?? null }),
    driverVersion: t.string({ nullable: true, resolve: (gpu) => gpu.driverVersion ?? null }),
    cudaVersion: t.string({ nullable: true, resolve: (gpu) => gpu.cudaVersion ?? null }),
  }),
});

const ResidentRunner = builder.objectRef<RunnerState>("ResidentRunner").implement({
  description: "A runner process the agent keeps for a model version (busy, idle, starting, stopping).",
  fields: (t) => ({
    modelVersionId: t.exposeString("modelVersionId"),
    state: t.exposeString("state"),
    pid: t.int({ nullable: true, resolve: (runner) => runner.pid ?? null }),
    port: t.int({ nullable: true, resolve: (runner) => runner.port ?? null }),
    runs: t.exposeInt("runs"),
  }),
});

const NodeEventRef = builder.prismaObject("NodeEvent", {
  fields: (t) => ({
    id: t.string({ resolve: (event) => String(event.id) }),
    nodeId: t.exposeString("nodeId"),
    type: t.exposeString("type", {
      description: "connected, lost, cordoned, drain_started, command, ack, provisioning_failed, …",
    }),
    fromState: t.expose("fromState", { type: NodeStateEnum, nullable: true }),
    toState: t.expose("toState", { type: NodeStateEnum, nullable: true }),
    message: t.exposeString("message", { nullable: true }),
    actor: t.exposeString("actor", { description: '"user:…", "key:…", "node:…", "node-monitor" or "provisioning".' }),
    detail: t.expose("detail", { type: "JSON", nullable: true }),
    at: t.expose("at", { type: "DateTime" }),
  }),
});

export const NodeRef = builder.prismaObject("Node", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    state: t.expose("state", { type: NodeStateEnum }),
    address: t.exposeString("address", { nullable: true }),
    pool: t.exposeString("pool", { nullable: true }),
    labels: t.expose("labels", { type: "JSON" }),
    capacity: t.exposeInt("capacity", { description: "Jobs the agent runs at once." }),
    freeSlots: t.exposeInt("freeSlots", { description: "Free slots at the last stored heartbeat." }),
    gpus: t.field({
      type: [NodeGpu],
      description: "GPU inventory and utilisation from the last heartbeat.",
      resolve: (node) => (Array.isArray(node.gpus) ? (node.gpus as unknown as GpuStats[]) : []),
    }),
    runners: t.field({
      type: [ResidentRunner],
      description: "Runners resident on the node at the last heartbeat.",
      resolve: (node) => (Array.isArray(node.runners) ? (node.runners as unknown as RunnerState[]) : []),
    }),
    agentVersion: t.exposeString("agentVersion", { nullable: true }),
    lastHeartbeatAt: t.expose("lastHeartbeatAt", { type: "DateTime", nullable: true }),
    cordoned: t.exposeBoolean("cordoned", { description: "No new work (cordon or drain); survives reconnects." }),
    drainDeadlineAt: t.expose("drainDeadlineAt", { type: "DateTime", nullable: true }),
    schedulable: t.boolean({
      description: "Whether new work may be dispatched to it now.",
      resolve: (node) => acceptsWork(node),
    }),
    connected: t.boolean({
      description: "Whether its agent holds a socket to the control plane (on any replica).",
      resolve: (node) => isConnectedState(node.state),
    }),
    removedAt: t.expose("removedAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    events: t.relation("events", {
      description: "What happened to the node, newest first.",
      args: { last: t.arg.int({ defaultValue: 100 }) },
      query: (args) => ({ orderBy: { id: "desc" }, take: Math.min(Math.max(args.last ?? 100, 1), 1_000) }),
    }),
    sshHost: t.relation("sshHost", {
      nullable: true,
      description: "How provisioning reaches the host (never its key).",
    }),
    provisioningRuns: t.relation("provisioningRuns", {
      description: "Newest first.",
      args: { last: t.arg.int({ defaultValue: 10 }) },
      query: (args) => ({ orderBy: { startedAt: "desc" }, take: Math.min(Math.max(args.last ?? 10, 1), 100) }),
    }),
  }),
});

const EnrollmentTokenPayload = builder
  .objectRef<{ token: string; expiresAt: Date; id: string }>("EnrollmentTokenPayload")
  .implement({
    fields: (t) => ({
      id: t.exposeID("id"),
      token: t.exposeString("token", { description: "Shown once. Give it to the agent (VYVO_ENROLLMENT_TOKEN)." }),
      expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    }),
  });

const NodeCommandReceipt = builder
  .objectRef<{ commandId: string; nodeId: string; command: string }>("NodeCommandReceipt")
  .implement({
    description: "A command sent over the node's socket; its acks arrive as NodeEvents (type ack, detail.commandId).",
    fields: (t) => ({
      commandId: t.exposeString("commandId"),
      nodeId: t.exposeString("nodeId"),
      command: t.exposeString("command"),
    }),
  });

const ConfigureEnvInput = builder.inputType("ConfigureNodeEnvInput", {
  fields: (t) => ({
    env: t.field({ type: "JSON", description: "Variables for runners: { NAME: value }." }),
    secrets: t.field({ type: "JSON", description: "Like env, but never logged, stored in events or echoed back." }),
    unset: t.stringList({ description: "Names to remove." }),
  }),
});

/** "key=value" label selectors: every one must match. */
function labelFilters(selectors: readonly string[]): Prisma.NodeWhereInput[] {
  return selectors.map((selector) => {
    const eq = selector.indexOf("=");
    if (eq <= 0) throw new DomainError("INVALID_INPUT", `label filter "${selector}" must be key=value`);
    return { labels: { path: [selector.slice(0, eq)], equals: selector.slice(eq + 1) } };
  });
}

builder.queryFields((t) => ({
  nodes: t.prismaConnection({
    authScopes: { permission: "nodes:read" },
    type: "Node",
    cursor: "id",
    args: {
      state: t.arg({ type: [NodeStateEnum], required: false }),
      pool: t.arg.string({ required: false }),
      labels: t.arg.stringList({ required: false, description: 'Selectors like "zone=eu"; all must match.' }),
      gpuModel: t.arg.string({ required: false, description: "Nodes with at least one GPU of exactly this name." }),
      includeRemoved: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.node.findMany({
        ...query,
        where: {
          AND: [
            args.state?.length ? { state: { in: args.state } } : {},
            args.pool ? { pool: args.pool } : {},
            args.includeRemoved ? {} : { removedAt: null },
            args.gpuModel ? { gpus: { array_contains: [{ name: args.gpuModel }] } } : {},
            ...labelFilters(args.labels ?? []),
          ],
        },
        orderBy: [{ name: "asc" }, { id: "asc" }],
      }),
  }),
  node: t.prismaField({
    authScopes: { permission: "nodes:read" },
    type: "Node",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.node.findUnique({ ...query, where: { id: String(args.id) } }),
  }),
}));

builder.mutationFields((t) => ({
  createEnrollmentToken: t.field({
    authScopes: { permission: "nodes:enroll" },
    type: EnrollmentTokenPayload,
    description: "A single-use token an agent exchanges for its node token.",
    args: { nodeName: t.arg.string(), pool: t.arg.string(), ttlMs: t.arg.int() },
    resolve: (_root, args, ctx) =>
      ctx.nodes.createEnrollmentToken({
        ...(args.nodeName ? { nodeName: args.nodeName } : {}),
        ...(args.pool ? { pool: args.pool } : {}),
        ...(args.ttlMs ? { ttlMs: args.ttlMs } : {}),
      }),
  }),
  cordonNode: t.prismaField({
    authScopes: { permission: "nodes:drain" },
    type: "Node",
    description: "No new work for the node; what runs goes on.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) => ctx.nodes.cordon(String(args.id), ctx.actor),
  }),
  drainNode: t.prismaField({
    authScopes: { permission: "nodes:drain" },
    type: "Node",
    description:
      "No new work; running work may finish within deadlineMs, then what is left is requeued. Ends CORDONED.",
    args: { id: t.arg.id({ required: true }), deadlineMs: t.arg.int({ required: true }) },
    resolve: (_query, _root, args, ctx) => ctx.nodes.drain(String(args.id), args.deadlineMs, ctx.actor),
  }),
  uncordonNode: t.prismaField({
    authScopes: { permission: "nodes:drain" },
    type: "Node",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) => ctx.nodes.uncordon(String(args.id), ctx.actor),
  }),
  removeNode: t.prismaField({
    authScopes: { permission: "nodes:drain" },
    type: "Node",
    description: "Revokes the node's token (its socket closes with 4403) and requeues its work; its history stays.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) => ctx.nodes.remove(String(args.id), ctx.actor),
  }),
  setNodeLabels: t.prismaField({
    authScopes: { permission: "nodes:configure" },
    type: "Node",
    description: "Replaces the node's labels ({ key: value }); `pool` too when given.",
    args: { id: t.arg.id({ required: true }), labels: t.arg({ type: "JSON", required: true }), pool: t.arg.string() },
    resolve: (_query, _root, args, ctx) => ctx.nodes.setLabels(String(args.id), args.labels, args.pool, ctx.actor),
  }),
  configureNodeEnv: t.field({
    authScopes: { permission: "nodes:configure" },
    type: NodeCommandReceipt,
    description: "Environment and secrets the agent stores (0600) and passes to the runners it starts from now on.",
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: ConfigureEnvInput, required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.nodeCommands.configureEnv(
        String(args.id),
        {
          env: (args.input.env ?? null) as Record<string, unknown> | null,
          secrets: (args.input.secrets ?? null) as Record<string, unknown> | null,
          unset: args.input.unset ?? null,
        },
        ctx.actor,
      ),
  }),
  prefetchRunner: t.field({
    authScopes: { permission: "nodes:configure" },
    type: NodeCommandReceipt,
    description:
      "Fetches a model version's runner (bundle or image) onto the node and starts it, so its first job starts warm.",
    args: { id: t.arg.id({ required: true }), modelVersionId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.nodeCommands.prefetchRunner(String(args.id), args.modelVersionId, ctx.actor),
  }),
  removeRunner: t.field({
    authScopes: { permission: "nodes:configure" },
    type: NodeCommandReceipt,
    description: "Stops a model version's idle runners on the node and deletes its fetched bundle.",
    args: { id: t.arg.id({ required: true }), modelVersionId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.nodeCommands.removeRunner(String(args.id), args.modelVersionId, ctx.actor),
  }),
  restartAgent: t.field({
    authScopes: { permission: "nodes:configure" },
    type: NodeCommandReceipt,
    description: "The agent drains and exits; its service (systemd or the supervisor) starts it again.",
    args: { id: t.arg.id({ required: true }), reason: t.arg.string() },
    resolve: (_root, args, ctx) => ctx.nodeCommands.restartAgent(String(args.id), args.reason ?? null, ctx.actor),
  }),
  upgradeAgent: t.field({
    authScopes: { permission: "nodes:provision" },
    type: NodeCommandReceipt,
    description: "The agent downloads the bundle, checks its sha256, replaces itself and restarts.",
    args: {
      id: t.arg.id({ required: true }),
      bundleUrl: t.arg.string({ required: true }),
      sha256: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.nodeCommands.upgradeAgent(String(args.id), args.bundleUrl, args.sha256, ctx.actor),
  }),
}));

builder.subscriptionFields((t) => ({
  nodeUpdated: t.field({
    authScopes: { permission: "nodes:read" },
    type: NodeRef,
    description: "Every change of every node (or of one, with id), and every heartbeat's live GPU stats.",
    args: { id: t.arg.id() },
    subscribe: (_root, args, ctx) =>
      filtered(ctx.events.subscribe<Node>(topics.nodeUpdated), (node) => !args.id || node.id === String(args.id)),
    resolve: (node) => node,
  }),
  nodeEvents: t.field({
    authScopes: { permission: "nodes:read" },
    type: NodeEventRef,
    description: "The node's events as they happen.",
    args: { nodeId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.events.subscribe<PublishedNodeEvent>(topics.nodeEvents(String(args.nodeId))),
    // Published events carry their BigInt id as a string.
    resolve: (event) => ({ ...event, id: BigInt(event.id) }),
  }),
}));

async function* filtered<T>(live: AsyncIterableIterator<T>, keep: (value: T) => boolean): AsyncGenerator<T> {
  try {
    for await (const value of live) if (keep(value)) yield value;
  } finally {
    await live.return?.();
  }
}
