import { notFound } from "../../errors.js";
import { topics } from "../../events/event-bus.js";
import { ProvisioningRunStatus, ProvisioningStepStatus } from "../../generated/prisma/enums.js";
import type { ProvisioningLogEntry } from "../../provisioning/provisioning-service.js";
import { builder } from "../builder.js";

const RunStatusEnum = builder.enumType(ProvisioningRunStatus, { name: "ProvisioningRunStatus" });
const StepStatusEnum = builder.enumType(ProvisioningStepStatus, { name: "ProvisioningStepStatus" });

builder.prismaObject("SshHost", {
  description: "How provisioning reaches a host. The private key is stored encrypted and never returned.",
  fields: (t) => ({
    address: t.exposeString("address"),
    port: t.exposeInt("port"),
    user: t.exposeString("user"),
    hostKeyFingerprint: t.exposeString("hostKeyFingerprint", { nullable: true, description: "The pinned host key." }),
    offeredHostKeyFingerprint: t.exposeString("offeredHostKeyFingerprint", {
      nullable: true,
      description: "A key the host offered that nobody confirmed (confirmHostKey).",
    }),
    installDir: t.exposeString("installDir"),
    agentEnv: t.expose("agentEnv", { type: "JSON" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("ProvisioningStep", {
  fields: (t) => ({
    position: t.exposeInt("position"),
    name: t.exposeString("name"),
    status: t.expose("status", { type: StepStatusEnum }),
    output: t.exposeString("output"),
    error: t.exposeString("error", { nullable: true }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
    durationMs: t.exposeInt("durationMs", { nullable: true }),
  }),
});

const ProvisioningRunRef = builder.prismaObject("ProvisioningRun", {
  fields: (t) => ({
    id: t.exposeID("id"),
    nodeId: t.exposeString("nodeId"),
    node: t.relation("node"),
    status: t.expose("status", { type: RunStatusEnum }),
    actor: t.exposeString("actor"),
    error: t.exposeString("error", { nullable: true }),
    tries: t.exposeInt("tries"),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
    steps: t.relation("steps", { query: { orderBy: { position: "asc" } } }),
  }),
});

const LogEntry = builder.objectRef<ProvisioningLogEntry>("ProvisioningLogEntry").implement({
  description: "A line a step printed, or a new status of a step (or, with no step, of the run).",
  fields: (t) => ({
    runId: t.exposeString("runId"),
    position: t.exposeInt("position", { nullable: true }),
    step: t.exposeString("step", { nullable: true }),
    status: t.exposeString("status"),
    line: t.exposeString("line", { nullable: true }),
    at: t.expose("at", { type: "DateTime" }),
  }),
});

const RegisterSshHostInput = builder.inputType("RegisterSshHostInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "The node's name." }),
    address: t.string({ required: true }),
    port: t.int({ description: "Default 22." }),
    user: t.string({ required: true }),
    privateKey: t.string({
      required: true,
      description: "OpenSSH or PEM, unencrypted. Stored encrypted; never returned or logged.",
    }),
    hostKeyFingerprint: t.string({
      description:
        '"SHA256:…" as ssh-keygen -lf prints it. Without it, the first run records the offered key and waits for confirmHostKey.',
    }),
    installDir: t.string({
      description:
        "Folder on the host for the agent; relative to the user's home unless absolute. Default .vyvo-agent.",
    }),
    capacity: t.int({ description: "Jobs the agent runs at once (VYVO_CAPACITY)." }),
    pool: t.string(),
    labels: t.field({ type: "JSON" }),
    agentEnv: t.field({
      type: "JSON",
      description: 'Other VYVO_* agent settings, e.g. { VYVO_LOG_LEVEL: "debug" } (not secrets).',
    }),
  }),
});

const ConfirmHostKeyPayload = builder
  .objectRef<{ nodeId: string; fingerprint: string; resumedRunId: string | null }>("ConfirmHostKeyPayload")
  .implement({
    fields: (t) => ({
      nodeId: t.exposeString("nodeId"),
      fingerprint: t.exposeString("fingerprint"),
      resumedRun: t.prismaField({
        type: "ProvisioningRun",
        nullable: true,
        description: "The run that waited for this key and goes on now.",
        resolve: (query, payload, _args, ctx) =>
          payload.resumedRunId
            ? ctx.prisma.provisioningRun.findUnique({ ...query, where: { id: payload.resumedRunId } })
            : null,
      }),
    }),
  });

builder.queryFields((t) => ({
  provisioningRun: t.prismaField({
    authScopes: { permission: "nodes:read" },
    type: "ProvisioningRun",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.provisioningRun.findUnique({ ...query, where: { id: String(args.id) } }),
  }),
}));

builder.mutationFields((t) => ({
  registerSshHost: t.prismaField({
    authScopes: { permission: "nodes:enroll" },
    type: "Node",
    description: "Registers (or updates) a host the platform bootstraps over SSH; provision it next.",
    args: { input: t.arg({ type: RegisterSshHostInput, required: true }) },
    resolve: (_query, _root, { input }, ctx) =>
      ctx.provisioning.registerSshHost(
        {
          name: input.name,
          address: input.address,
          port: input.port ?? null,
          user: input.user,
          privateKey: input.privateKey,
          hostKeyFingerprint: input.hostKeyFingerprint ?? null,
          installDir: input.installDir ?? null,
          capacity: input.capacity ?? null,
          ...(input.pool !== undefined ? { pool: input.pool } : {}),
          labels: input.labels ?? null,
          agentEnv: (input.agentEnv ?? null) as Record<string, unknown> | null,
        },
        ctx.actor,
      ),
  }),
  provisionNode: t.field({
    authScopes: { permission: "nodes:provision" },
    type: ProvisioningRunRef,
    description:
      "Bootstraps the node's agent over SSH; every step is check-then-apply. Follow it with provisioningLogs.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.provisioning.provision(String(args.id), { restart: false }, ctx.actor),
  }),
  reprovisionNode: t.field({
    authScopes: { permission: "nodes:provision" },
    type: ProvisioningRunRef,
    description: "Like provisionNode, and restarts the agent even when nothing changed (a repair).",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.provisioning.provision(String(args.id), { restart: true }, ctx.actor),
  }),
  retryProvisioningRun: t.field({
    authScopes: { permission: "nodes:provision" },
    type: ProvisioningRunRef,
    description: "Runs a failed run again from its failed step.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.provisioning.retry(String(args.id), ctx.actor),
  }),
  confirmHostKey: t.field({
    authScopes: { permission: "nodes:provision" },
    type: ConfirmHostKeyPayload,
    description: "Pins the host key the host offered (checked by an operator); a run waiting for it goes on.",
    args: { id: t.arg.id({ required: true, description: "The node." }), fingerprint: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const { host, resumed } = await ctx.provisioning.confirmHostKey(String(args.id), args.fingerprint, ctx.actor);
      return {
        nodeId: host.nodeId,
        fingerprint: host.hostKeyFingerprint ?? args.fingerprint,
        resumedRunId: resumed?.id ?? null,
      };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  provisioningLogs: t.field({
    authScopes: { permission: "nodes:read" },
    type: [LogEntry],
    description: "The run's steps and output so far, then each new line and status as it happens.",
    args: { runId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const runId = String(args.runId);
      const live = ctx.events.subscribe<ProvisioningLogEntry>(topics.provisioningLogs(runId));
      return withSnapshot(live, async () => {
        const run = await ctx.prisma.provisioningRun.findUnique({
          where: { id: runId },
          include: { steps: { orderBy: { position: "asc" } } },
        });
        if (!run) throw notFound("provisioning run", runId);
        const entries: ProvisioningLogEntry[] = [];
        for (const step of run.steps) {
          const at = step.finishedAt ?? step.startedAt ?? run.startedAt;
          for (const line of step.output ? step.output.split("\n") : []) {
            entries.push({ runId, position: step.position, step: step.name, status: "RUNNING", line, at });
          }
          entries.push({ runId, position: step.position, step: step.name, status: step.status, line: step.error, at });
        }
        entries.push({
          runId,
          position: null,
          step: null,
          status: run.status,
          line: run.error,
          at: run.finishedAt ?? run.startedAt,
        });
        return entries;
      });
    },
    resolve: (entries) => entries,
  }),
}));

/** The snapshot first, then each live entry as a batch of one; the subscription opens before the snapshot is read. */
async function* withSnapshot<T>(live: AsyncIterableIterator<T>, snapshot: () => Promise<T[]>): AsyncGenerator<T[]> {
  try {
    yield await snapshot();
    for await (const entry of live) yield [entry];
  } finally {
    await live.return?.();
  }
}
