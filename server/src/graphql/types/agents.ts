import type { AgentCommand } from "../../agents/commands.js";
import { DomainError } from "../../errors.js";
import { builder } from "../builder.js";
import type { GraphQLContext } from "../context.js";

// The agent-facing surface of agent/PROTOCOL.md. Every field here needs a node token (scope `agent`)
// and acts only for that node.

type Of<T extends AgentCommand["__typename"]> = Extract<AgentCommand, { __typename: T }>;

const HelloCommand = builder.objectRef<Of<"HelloCommand">>("HelloCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    nodeId: t.exposeString("nodeId"),
    heartbeatIntervalMs: t.exposeInt("heartbeatIntervalMs"),
    leaseTtlMs: t.exposeInt("leaseTtlMs"),
    logFlushIntervalMs: t.exposeInt("logFlushIntervalMs"),
  }),
});

const RunJobCommand = builder.objectRef<Of<"RunJobCommand">>("RunJobCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    jobId: t.exposeString("jobId"),
    attemptId: t.exposeString("attemptId"),
    modelId: t.exposeString("modelId"),
    modelVersionId: t.exposeString("modelVersionId"),
    route: t.exposeString("route", { nullable: true }),
    input: t.expose("input", { type: "JSON" }),
    runner: t.expose("runner", { type: "JSON" }),
    timeoutMs: t.exposeInt("timeoutMs", { nullable: true }),
    leaseExpiresAt: t.field({ type: "DateTime", resolve: (c) => new Date(c.leaseExpiresAt) }),
  }),
});

const CancelJobCommand = builder.objectRef<Of<"CancelJobCommand">>("CancelJobCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    jobId: t.exposeString("jobId"),
    attemptId: t.exposeString("attemptId"),
    reason: t.exposeString("reason"),
    graceMs: t.int({ resolve: (c) => c.graceMs ?? 5_000 }),
  }),
});

// Node commands (PROTOCOL.md, "Node commands"): about the host, not a job; acked step by step.

const ConfigureEnvCommand = builder.objectRef<Of<"ConfigureEnvCommand">>("ConfigureEnvCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    env: t.expose("env", { type: "JSON", description: "Merged into the runners' environment." }),
    secrets: t.expose("secrets", { type: "JSON", description: "Like env; the agent never logs or echoes them." }),
    unset: t.exposeStringList("unset"),
  }),
});

const PrefetchRunnerCommand = builder.objectRef<Of<"PrefetchRunnerCommand">>("PrefetchRunnerCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    modelId: t.exposeString("modelId"),
    modelVersionId: t.exposeString("modelVersionId"),
    runner: t.expose("runner", { type: "JSON" }),
  }),
});

const RemoveRunnerCommand = builder.objectRef<Of<"RemoveRunnerCommand">>("RemoveRunnerCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    modelId: t.exposeString("modelId"),
    modelVersionId: t.exposeString("modelVersionId"),
    runner: t.expose("runner", { type: "JSON" }),
  }),
});

const RestartAgentCommand = builder.objectRef<Of<"RestartAgentCommand">>("RestartAgentCommand").implement({
  fields: (t) => ({ commandId: t.exposeString("commandId"), reason: t.exposeString("reason") }),
});

const UpgradeAgentCommand = builder.objectRef<Of<"UpgradeAgentCommand">>("UpgradeAgentCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    bundleUrl: t.exposeString("bundleUrl", {
      description: "Absolute, or a path on the control plane (sent with the node token).",
    }),
    sha256: t.exposeString("sha256"),
  }),
});

const DrainCommand = builder.objectRef<Of<"DrainCommand">>("DrainCommand").implement({
  fields: (t) => ({
    commandId: t.exposeString("commandId"),
    deadlineMs: t.exposeInt("deadlineMs", {
      nullable: true,
      description: "The server requeues what still runs after it.",
    }),
  }),
});

const ResumeWorkCommand = builder.objectRef<Of<"ResumeWorkCommand">>("ResumeWorkCommand").implement({
  fields: (t) => ({ commandId: t.exposeString("commandId") }),
});

const AgentCommandUnion = builder.unionType("AgentCommand", {
  types: [
    HelloCommand,
    RunJobCommand,
    CancelJobCommand,
    ConfigureEnvCommand,
    PrefetchRunnerCommand,
    RemoveRunnerCommand,
    RestartAgentCommand,
    UpgradeAgentCommand,
    DrainCommand,
    ResumeWorkCommand,
  ],
  resolveType: (command) => command.__typename,
});

const AttemptRefInput = builder.inputType("AttemptRefInput", {
  fields: (t) => ({ jobId: t.string({ required: true }), attemptId: t.string({ required: true }) }),
});

const GpuInput = builder.inputType("GpuInput", {
  fields: (t) => ({
    index: t.int({ required: true }),
    uuid: t.string({ required: true }),
    name: t.string({ required: true }),
    memoryTotalMb: t.int({ required: true }),
    memoryUsedMb: t.int({ required: true }),
    utilizationPct: t.float(),
    temperatureC: t.float(),
    powerW: t.float(),
    driverVersion: t.string(),
    cudaVersion: t.string(),
  }),
});

const RunnerStateInput = builder.inputType("RunnerStateInput", {
  fields: (t) => ({
    modelVersionId: t.string({ required: true }),
    state: t.string({ required: true }),
    pid: t.int(),
    port: t.int(),
    runs: t.int({ required: true }),
  }),
});

const HeartbeatInput = builder.inputType("HeartbeatInput", {
  fields: (t) => ({
    freeSlots: t.int({ required: true }),
    running: t.field({ type: [AttemptRefInput], required: true }),
    gpus: t.field({ type: [GpuInput], required: true }),
    runners: t.field({ type: [RunnerStateInput], required: true }),
    agentVersion: t.string(),
  }),
});

const CommandAckInput = builder.inputType("CommandAckInput", {
  fields: (t) => ({
    commandId: t.string({ required: true }),
    step: t.string({ required: true }),
    detail: t.string(),
    jobId: t.string(),
    attemptId: t.string(),
  }),
});

const LogLineInput = builder.inputType("LogLineInput", {
  fields: (t) => ({
    jobId: t.string({ required: true }),
    attemptId: t.string({ required: true }),
    seq: t.int({ required: true }),
    level: t.string({ required: true }),
    message: t.string({ required: true }),
    at: t.field({ type: "DateTime", required: true }),
  }),
});

const ProgressInput = builder.inputType("ProgressInput", {
  fields: (t) => ({
    jobId: t.string({ required: true }),
    attemptId: t.string({ required: true }),
    progress: t.float({ required: true }),
    message: t.string(),
  }),
});

const CompletionInput = builder.inputType("CompletionInput", {
  fields: (t) => ({
    jobId: t.string({ required: true }),
    attemptId: t.string({ required: true }),
    output: t.field({ type: "JSON", required: true }),
  }),
});

const FailureInput = builder.inputType("FailureInput", {
  fields: (t) => ({
    jobId: t.string({ required: true }),
    attemptId: t.string({ required: true }),
    error: t.string({ required: true }),
    errorType: t.string({ required: true }),
    cause: t.string({ required: true }),
    retryable: t.boolean({ required: true }),
  }),
});

const AgentReportInput = builder.inputType("AgentReportInput", {
  fields: (t) => ({
    acks: t.field({ type: [CommandAckInput] }),
    started: t.field({ type: [AttemptRefInput] }),
    logs: t.field({ type: [LogLineInput] }),
    progress: t.field({ type: [ProgressInput] }),
    completed: t.field({ type: [CompletionInput] }),
    failed: t.field({ type: [FailureInput] }),
    cancelled: t.field({ type: [AttemptRefInput] }),
  }),
});

const HeartbeatResult = builder.objectRef<{ lostAttemptIds: string[]; serverTime: Date }>("HeartbeatResult").implement({
  fields: (t) => ({
    lostAttemptIds: t.exposeStringList("lostAttemptIds", {
      description: "Attempts this node no longer holds: stop them.",
    }),
    serverTime: t.expose("serverTime", { type: "DateTime" }),
  }),
});

const RejectedReport = builder.objectRef<{ attemptId: string; reason: string }>("RejectedReport").implement({
  fields: (t) => ({ attemptId: t.exposeString("attemptId"), reason: t.exposeString("reason") }),
});

const AgentReportResult = builder
  .objectRef<{ accepted: number; rejected: { attemptId: string; reason: string }[] }>("AgentReportResult")
  .implement({
    fields: (t) => ({
      accepted: t.exposeInt("accepted"),
      rejected: t.field({ type: [RejectedReport], resolve: (r) => r.rejected }),
    }),
  });

const EnrollNodeInput = builder.inputType("EnrollNodeInput", {
  fields: (t) => ({
    enrollmentToken: t.string({ required: true }),
    name: t.string({ required: true }),
    capacity: t.int(),
  }),
});

const EnrollNodeResult = builder.objectRef<{ nodeId: string; nodeToken: string }>("EnrollNodeResult").implement({
  fields: (t) => ({
    nodeId: t.exposeString("nodeId"),
    nodeToken: t.exposeString("nodeToken", { description: "Shown once; the server keeps only its hash." }),
  }),
});

function nodeOf(ctx: GraphQLContext) {
  if (!ctx.node) throw new DomainError("FORBIDDEN", "a node token is required");
  return ctx.node;
}

builder.mutationFields((t) => ({
  enrollNode: t.field({
    authScopes: { public: true },
    type: EnrollNodeResult,
    description: "Exchanges a single-use enrollment token for a node token (R1, R2).",
    args: { input: t.arg({ type: EnrollNodeInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { node, nodeToken } = await ctx.nodes.enroll(input.enrollmentToken, input.name, input.capacity ?? 1);
      return { nodeId: node.id, nodeToken };
    },
  }),
  agentHeartbeat: t.field({
    type: HeartbeatResult,
    authScopes: { agent: true },
    args: { input: t.arg({ type: HeartbeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const node = nodeOf(ctx);
      const { lostAttemptIds } = await ctx.agents.heartbeat(node.id, {
        freeSlots: input.freeSlots,
        running: input.running,
        gpus: input.gpus,
        runners: input.runners,
        agentVersion: input.agentVersion ?? null,
      });
      return { lostAttemptIds, serverTime: new Date() };
    },
  }),
  agentReport: t.field({
    type: AgentReportResult,
    authScopes: { agent: true },
    args: { input: t.arg({ type: AgentReportInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.agents.report(nodeOf(ctx).id, {
        acks: input.acks ?? [],
        started: input.started ?? [],
        logs: input.logs ?? [],
        progress: input.progress ?? [],
        completed: (input.completed ?? []).map((item) => ({ ...item, output: item.output })),
        failed: input.failed ?? [],
        cancelled: input.cancelled ?? [],
      }),
  }),
}));

builder.subscriptionFields((t) => ({
  agentCommands: t.field({
    type: [AgentCommandUnion],
    authScopes: { agent: true },
    description: "The command stream of the calling node; the first batch is its HelloCommand (R5).",
    args: {
      capacity: t.arg.int({ required: true }),
      models: t.arg.stringList(),
      running: t.arg({ type: [AttemptRefInput] }),
    },
    subscribe: (_root, args, ctx) => {
      const node = nodeOf(ctx);
      if (args.capacity < 0 || args.capacity > 1024) throw new DomainError("INVALID_INPUT", "capacity must be 0..1024");
      return ctx.agents.connect({
        nodeId: node.id,
        capacity: args.capacity,
        models: args.models ?? null,
        running: args.running ?? [],
        agentVersion: null,
      });
    },
    resolve: (batch) => batch,
  }),
}));
