import type { RunnerSpec } from "../../models/model-service.js";
import { builder } from "../builder.js";

builder.prismaObject("Model", {
  fields: (t) => ({
    id: t.exposeID("id", { description: "The public app id, e.g. vyvo/image-tools." }),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    versions: t.relation("versions", { query: { orderBy: { version: "desc" } } }),
  }),
});

builder.prismaObject("ModelVersion", {
  fields: (t) => ({
    id: t.exposeID("id"),
    modelId: t.exposeString("modelId"),
    version: t.exposeInt("version"),
    runner: t.expose("runner", { type: "JSON", description: "How an agent starts the runner." }),
    gpuCount: t.exposeInt("gpuCount"),
    gpuMemoryMb: t.exposeInt("gpuMemoryMb"),
    inputSchema: t.expose("inputSchema", { type: "JSON", nullable: true }),
    outputSchema: t.expose("outputSchema", { type: "JSON", nullable: true }),
    maxAttempts: t.exposeInt("maxAttempts"),
    timeoutMs: t.exposeInt("timeoutMs", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  models: t.prismaField({
    authScopes: { permission: "models:read" },
    type: ["Model"],
    resolve: (query, _root, _args, ctx) => ctx.prisma.model.findMany({ ...query, orderBy: { id: "asc" } }),
  }),
  model: t.prismaField({
    authScopes: { permission: "models:read" },
    type: "Model",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.model.findUnique({ ...query, where: { id: String(args.id) } }),
  }),
}));

const CreateModelInput = builder.inputType("CreateModelInput", {
  fields: (t) => ({
    id: t.string({ required: true, description: "owner/name" }),
    name: t.string(),
    description: t.string(),
  }),
});

const CreateModelVersionInput = builder.inputType("CreateModelVersionInput", {
  fields: (t) => ({
    modelId: t.string({ required: true }),
    runner: t.field({
      type: "JSON",
      required: true,
      description:
        '{ kind: "process", command, args?, cwd?, env?, artifactUrl? } or { kind: "container", image, args?, env?, gpus? }',
    }),
    inputSchema: t.field({ type: "JSON", description: "JSON Schema that every job input must match." }),
    outputSchema: t.field({ type: "JSON" }),
    gpuCount: t.int(),
    gpuMemoryMb: t.int(),
    maxAttempts: t.int(),
    timeoutMs: t.int(),
  }),
});

builder.mutationFields((t) => ({
  createModel: t.prismaField({
    authScopes: { permission: "models:write" },
    type: "Model",
    args: { input: t.arg({ type: CreateModelInput, required: true }) },
    resolve: (_query, _root, { input }, ctx) =>
      ctx.models.createModel({
        id: input.id,
        ...(input.name != null ? { name: input.name } : {}),
        ...(input.description != null ? { description: input.description } : {}),
      }),
  }),
  createModelVersion: t.prismaField({
    authScopes: { permission: "models:write" },
    type: "ModelVersion",
    args: { input: t.arg({ type: CreateModelVersionInput, required: true }) },
    resolve: (_query, _root, { input }, ctx) =>
      ctx.models.createVersion({
        modelId: input.modelId,
        runner: input.runner as RunnerSpec,
        ...(input.inputSchema != null ? { inputSchema: input.inputSchema } : {}),
        ...(input.outputSchema != null ? { outputSchema: input.outputSchema } : {}),
        ...(input.gpuCount != null ? { gpuCount: input.gpuCount } : {}),
        ...(input.gpuMemoryMb != null ? { gpuMemoryMb: input.gpuMemoryMb } : {}),
        ...(input.maxAttempts != null ? { maxAttempts: input.maxAttempts } : {}),
        ...(input.timeoutMs != null ? { timeoutMs: input.timeoutMs } : {}),
      }),
  }),
}));
