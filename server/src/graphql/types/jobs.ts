import { DomainError, type FieldIssue } from "../../errors.js";
import { topics } from "../../events/event-bus.js";
import type { Job } from "../../generated/prisma/client.js";
import { JobStatus } from "../../generated/prisma/enums.js";
import type { SubmitRequest } from "../../jobs/job-service.js";
import { builder } from "../builder.js";
import { FieldIssueRef } from "./errors.js";

export const JobStatusEnum = builder.enumType(JobStatus, { name: "JobStatus" });

builder.prismaObject("JobAttempt", {
  fields: (t) => ({
    id: t.exposeID("id", { description: "The attempt id, also its fencing token." }),
    number: t.exposeInt("number"),
    nodeId: t.exposeString("nodeId", { nullable: true }),
    status: t.exposeString("status"),
    cause: t.exposeString("cause", { nullable: true }),
    assignedAt: t.expose("assignedAt", { type: "DateTime" }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
  }),
});

builder.prismaObject("JobEvent", {
  fields: (t) => ({
    id: t.string({ resolve: (event) => event.id.toString() }),
    type: t.exposeString("type"),
    attemptId: t.exposeString("attemptId", { nullable: true }),
    fromStatus: t.expose("fromStatus", { type: JobStatusEnum, nullable: true }),
    toStatus: t.expose("toStatus", { type: JobStatusEnum, nullable: true }),
    cause: t.exposeString("cause", { nullable: true }),
    actor: t.exposeString("actor", { nullable: true }),
    detail: t.expose("detail", { type: "JSON", nullable: true }),
    at: t.expose("at", { type: "DateTime" }),
  }),
});

export interface LogLineShape {
  attemptId: string;
  seq: number;
  level: string;
  message: string;
  at: Date | string;
}

const JobLogLine = builder.objectRef<LogLineShape>("JobLogLine").implement({
  fields: (t) => ({
    attemptId: t.exposeString("attemptId"),
    seq: t.exposeInt("seq", { description: "Order within the attempt." }),
    level: t.exposeString("level"),
    message: t.exposeString("message"),
    at: t.expose("at", { type: "DateTime" }),
  }),
});

export const JobRef = builder.prismaObject("Job", {
  fields: (t) => ({
    id: t.exposeID("id"),
    modelId: t.exposeString("modelId"),
    modelVersionId: t.exposeString("modelVersionId"),
    model: t.relation("model"),
    status: t.expose("status", { type: JobStatusEnum }),
    priority: t.exposeInt("priority"),
    input: t.expose("input", { type: "JSON" }),
    output: t.expose("output", { type: "JSON", nullable: true }),
    route: t.exposeString("route", { nullable: true }),
    error: t.exposeString("error", { nullable: true }),
    errorType: t.exposeString("errorType", { nullable: true }),
    cause: t.exposeString("cause", {
      nullable: true,
      description: "Why the job ended as it did, or why it was last retried.",
    }),
    idempotencyKey: t.exposeString("idempotencyKey", { nullable: true }),
    attemptCount: t.exposeInt("attemptCount"),
    maxAttempts: t.exposeInt("maxAttempts"),
    currentAttemptId: t.exposeString("currentAttemptId", { nullable: true }),
    submittedBy: t.exposeString("submittedBy", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
    startDeadlineAt: t.expose("startDeadlineAt", { type: "DateTime", nullable: true }),
    timeoutMs: t.exposeInt("timeoutMs", { nullable: true }),
    queueWaitMs: t.exposeInt("queueWaitMs", { nullable: true, description: "Submit to first start." }),
    runTimeMs: t.exposeInt("runTimeMs", { nullable: true }),
    totalTimeMs: t.exposeInt("totalTimeMs", { nullable: true }),
    queuePosition: t.int({
      nullable: true,
      description: "0-based place in the model's queue while the job waits there.",
      resolve: (job, _args, ctx) => (job.status === "QUEUED" ? ctx.jobs.position(job.id) : null),
    }),
    attempts: t.relation("attempts", { query: { orderBy: { number: "asc" } } }),
    events: t.relation("events", { query: { orderBy: { id: "asc" } } }),
    logs: t.field({
      type: [JobLogLine],
      args: { limit: t.arg.int({ defaultValue: 1000 }) },
      resolve: (job, args, ctx) =>
        ctx.prisma.jobLog.findMany({
          where: { jobId: job.id },
          orderBy: { id: "asc" },
          take: Math.min(args.limit ?? 1000, 10_000),
        }),
    }),
  }),
});

builder.queryFields((t) => ({
  job: t.prismaField({
    authScopes: { permission: "jobs:read" },
    type: "Job",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.job.findUnique({ ...query, where: { id: String(args.id) } }),
  }),
  jobs: t.prismaConnection({
    authScopes: { permission: "jobs:read" },
    type: "Job",
    cursor: "id",
    args: {
      status: t.arg({ type: [JobStatusEnum], required: false }),
      modelId: t.arg.string({ required: false }),
      createdAfter: t.arg({ type: "DateTime", required: false }),
      createdBefore: t.arg({ type: "DateTime", required: false }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findMany({
        ...query,
        where: {
          ...(args.status?.length ? { status: { in: args.status } } : {}),
          ...(args.modelId ? { modelId: args.modelId } : {}),
          ...(args.createdAfter || args.createdBefore
            ? {
                createdAt: {
                  ...(args.createdAfter ? { gte: args.createdAfter } : {}),
                  ...(args.createdBefore ? { lt: args.createdBefore } : {}),
                },
              }
            : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      }),
  }),
}));

const SubmitJobInput = builder.inputType("SubmitJobInput", {
  fields: (t) => ({
    modelId: t.string({ required: true, description: "The model's app id, e.g. vyvo/image-tools." }),
    input: t.field({ type: "JSON", required: true }),
    priority: t.int({ description: "Higher runs first, -1000..1000; default 0." }),
    idempotencyKey: t.string({ description: "A second submit with the same key returns the first job." }),
    route: t.string({ description: "Sub-path passed to the runner." }),
    startTimeoutMs: t.int({ description: "Time out if no agent starts the job within this." }),
    timeoutMs: t.int({ description: "Execution timeout; defaults to the model version's." }),
    retry: t.boolean({ description: "false: do not retry a failed attempt." }),
  }),
});

type SubmitJobArgs = typeof SubmitJobInput.$inferInput;

function toSubmitRequest(input: SubmitJobArgs, actor: string): SubmitRequest {
  for (const [name, value] of [
    ["startTimeoutMs", input.startTimeoutMs],
    ["timeoutMs", input.timeoutMs],
  ] as const) {
    if (value !== null && value !== undefined && value <= 0)
      throw new DomainError("INVALID_INPUT", `${name} must be positive`);
  }
  return {
    modelId: input.modelId,
    input: input.input,
    actor,
    ...(input.priority != null ? { priority: input.priority } : {}),
    ...(input.idempotencyKey != null ? { idempotencyKey: input.idempotencyKey } : {}),
    ...(input.route != null ? { route: input.route } : {}),
    ...(input.startTimeoutMs != null ? { startTimeoutMs: input.startTimeoutMs } : {}),
    ...(input.timeoutMs != null ? { timeoutMs: input.timeoutMs } : {}),
    ...(input.retry != null ? { retry: input.retry } : {}),
  };
}

const SubmitJobPayload = builder.objectRef<{ job: Job; created: boolean }>("SubmitJobPayload").implement({
  fields: (t) => ({
    job: t.field({ type: JobRef, resolve: (payload) => payload.job }),
    created: t.exposeBoolean("created", { description: "false when the idempotency key returned an existing job." }),
  }),
});

interface SubmitResultShape {
  job: Job | null;
  created: boolean;
  error: DomainError | null;
}

// A plain object, not the Error itself: graphql-js turns a returned Error into a field error.
const SubmitError = builder
  .objectRef<{ code: string; message: string; issues: FieldIssue[] }>("SubmitError")
  .implement({
    fields: (t) => ({
      code: t.exposeString("code"),
      message: t.exposeString("message"),
      issues: t.field({ type: [FieldIssueRef], resolve: (error) => error.issues }),
    }),
  });

const SubmitJobResult = builder.objectRef<SubmitResultShape>("SubmitJobResult").implement({
  description: "One item of a batch submit: the job, or why this item was refused.",
  fields: (t) => ({
    job: t.field({ type: JobRef, nullable: true, resolve: (r) => r.job }),
    created: t.exposeBoolean("created"),
    error: t.field({
      type: SubmitError,
      nullable: true,
      resolve: (r) => (r.error ? { code: r.error.code, message: r.error.message, issues: r.error.issues } : null),
    }),
  }),
});

const MAX_BATCH = 1000;

builder.mutationFields((t) => ({
  submitJob: t.field({
    authScopes: { permission: "jobs:submit" },
    type: SubmitJobPayload,
    args: { input: t.arg({ type: SubmitJobInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.submit(toSubmitRequest(args.input, ctx.actor)),
  }),
  submitJobs: t.field({
    authScopes: { permission: "jobs:submit" },
    type: [SubmitJobResult],
    description: `Submits up to ${MAX_BATCH} jobs in one call; each item succeeds or fails on its own.`,
    args: { inputs: t.arg({ type: [SubmitJobInput], required: true }) },
    resolve: async (_root, args, ctx) => {
      if (args.inputs.length > MAX_BATCH) throw new DomainError("INVALID_INPUT", `at most ${MAX_BATCH} jobs per batch`);
      const requests: (SubmitRequest | DomainError)[] = args.inputs.map((input) => {
        try {
          return toSubmitRequest(input, ctx.actor);
        } catch (error) {
          if (error instanceof DomainError) return error;
          throw error;
        }
      });
      const valid = requests.filter((r): r is SubmitRequest => !(r instanceof DomainError));
      const outcomes = await ctx.jobs.submitMany(valid);
      let next = 0;
      return requests.map((request): SubmitResultShape => {
        if (request instanceof DomainError) return { job: null, created: false, error: request };
        const outcome = outcomes[next++];
        if (!outcome || "error" in outcome) return { job: null, created: false, error: outcome?.error ?? null };
        return { job: outcome.job, created: outcome.created, error: null };
      });
    },
  }),
  cancelJob: t.field({
    authScopes: { permission: "jobs:cancel" },
    type: JobRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.cancel(String(args.id), ctx.actor),
  }),
  retryJob: t.field({
    authScopes: { permission: "jobs:retry" },
    type: JobRef,
    description: "Runs a failed, cancelled or timed-out job again.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.resubmit(String(args.id), ctx.actor),
  }),
}));

builder.subscriptionFields((t) => ({
  jobUpdated: t.field({
    authScopes: { permission: "jobs:read" },
    type: JobRef,
    description: "The job now, then every change of it, in order.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      withCurrent(ctx.events.subscribe<Job>(topics.jobUpdated(String(args.id))), () => ctx.jobs.get(String(args.id))),
    resolve: (job) => job,
  }),
  jobLogs: t.field({
    authScopes: { permission: "jobs:read" },
    type: [JobLogLine],
    description: "The job's log lines so far, then new lines as agents report them.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const jobId = String(args.id);
      const live = ctx.events.subscribe<(LogLineShape & { progress?: number })[]>(topics.jobLogs(jobId));
      return withCurrent(live, async () => {
        await ctx.jobs.get(jobId);
        return ctx.prisma.jobLog.findMany({ where: { jobId }, orderBy: { id: "asc" }, take: 10_000 });
      });
    },
    resolve: (lines) => lines.filter((line) => typeof line.message === "string" && typeof line.seq === "number"),
  }),
}));

/**
 * Yields `current()` first, then the live events. The subscription is opened before reading
 * the current value, so nothing that happens in between is missed.
 */
async function* withCurrent<T>(live: AsyncIterableIterator<T>, current: () => Promise<T>): AsyncGenerator<T> {
  try {
    yield await current();
    yield* live;
  } finally {
    await live.return?.();
  }
}
