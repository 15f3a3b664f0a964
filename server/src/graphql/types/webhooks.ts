import { WebhookDeliveryState } from "../../generated/prisma/enums.js";
import { builder } from "../builder.js";
import { JobRef } from "./jobs.js";

// Webhooks of fal requests (`?fal_webhook=`): each delivery, its attempts and how they ended.

const WebhookDeliveryStateEnum = builder.enumType(WebhookDeliveryState, {
  name: "WebhookDeliveryState",
  description: "WAITING: the job runs. PENDING: due or retrying. DELIVERED: answered 2xx. FAILED: out of attempts.",
});

const WebhookDeliveryRef = builder.prismaObject("WebhookDelivery", {
  description: "The webhook of one job, sent when it ends and retried with backoff.",
  fields: (t) => ({
    id: t.exposeID("id"),
    jobId: t.exposeString("jobId"),
    url: t.exposeString("url"),
    userId: t.exposeString("userId", { description: "Sent and signed as X-Fal-Webhook-User-Id." }),
    state: t.expose("state", { type: WebhookDeliveryStateEnum }),
    attempts: t.exposeInt("attempts"),
    maxAttempts: t.exposeInt("maxAttempts"),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime", nullable: true }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    lastStatusCode: t.exposeInt("lastStatusCode", {
      nullable: true,
      description: "HTTP code of the last answer; null: none came.",
    }),
    lastError: t.exposeString("lastError", { nullable: true }),
    attemptLog: t.expose("attemptLog", {
      type: "JSON",
      description: "Every attempt: at, attempt, statusCode, error, durationMs.",
    }),
    deliveredAt: t.expose("deliveredAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.objectField(JobRef, "webhookDeliveries", (t) =>
  t.prismaField({
    type: ["WebhookDelivery"],
    description: "The webhooks of this job (fal_webhook), oldest first.",
    resolve: (query, job, _args, ctx) =>
      ctx.prisma.webhookDelivery.findMany({ ...query, where: { jobId: job.id }, orderBy: { createdAt: "asc" } }),
  }),
);

builder.queryFields((t) => ({
  webhookDeliveries: t.prismaConnection({
    type: "WebhookDelivery",
    cursor: "id",
    authScopes: { permission: "webhooks:read" },
    description: "Webhook deliveries, newest first.",
    args: {
      jobId: t.arg.id({ required: false }),
      states: t.arg({ type: [WebhookDeliveryStateEnum], required: false }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.webhookDelivery.findMany({
        ...query,
        where: {
          ...(args.jobId ? { jobId: String(args.jobId) } : {}),
          ...(args.states?.length ? { state: { in: args.states } } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  redeliverWebhook: t.field({
    type: WebhookDeliveryRef,
    authScopes: { permission: "jobs:retry" },
    description: "Sends a delivered or failed webhook again, with a fresh budget of attempts.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.webhooks.redeliver(String(args.id)),
  }),
}));
