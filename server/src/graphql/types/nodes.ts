import { NodeState } from "../../generated/prisma/enums.js";
import { builder } from "../builder.js";

const NodeStateEnum = builder.enumType(NodeState, { name: "NodeState" });

builder.prismaObject("Node", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    state: t.expose("state", { type: NodeStateEnum }),
    pool: t.exposeString("pool", { nullable: true }),
    labels: t.expose("labels", { type: "JSON" }),
    capacity: t.exposeInt("capacity"),
    gpus: t.expose("gpus", { type: "JSON", description: "GPU inventory and utilisation from the last heartbeat." }),
    agentVersion: t.exposeString("agentVersion", { nullable: true }),
    lastHeartbeatAt: t.expose("lastHeartbeatAt", { type: "DateTime", nullable: true }),
    connected: t.boolean({
      description: "Whether this replica holds the node's socket right now.",
      resolve: (node, _args, ctx) => ctx.agents.connectedNodeIds.includes(node.id),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
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

builder.queryFields((t) => ({
  nodes: t.prismaField({
    authScopes: { permission: "nodes:read" },
    type: ["Node"],
    args: { state: t.arg({ type: [NodeStateEnum], required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.node.findMany({
        ...query,
        where: args.state?.length ? { state: { in: args.state } } : {},
        orderBy: { name: "asc" },
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
}));
