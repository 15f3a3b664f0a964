import { topics } from "../../events/event-bus.js";
import { builder } from "../builder.js";

builder.prismaObject("AuditEvent", {
  fields: (t) => ({
    id: t.string({ resolve: (event) => event.id.toString() }),
    at: t.expose("at", { type: "DateTime" }),
    actor: t.exposeString("actor", { description: '"user:<id>", "key:<id>", "node:<id>" or "anonymous".' }),
    actorKind: t.exposeString("actorKind"),
    action: t.exposeString("action", { description: "The mutation's name." }),
    targetType: t.exposeString("targetType", { nullable: true }),
    targetId: t.exposeString("targetId", { nullable: true }),
    args: t.expose("args", { type: "JSON", nullable: true, description: "Arguments with secrets redacted." }),
    outcome: t.exposeString("outcome", { description: "ok, denied or error." }),
    errorCode: t.exposeString("errorCode", { nullable: true }),
    sourceIp: t.exposeString("sourceIp", { nullable: true }),
  }),
});

const AuditFilter = builder.inputType("AuditFilter", {
  fields: (t) => ({
    actor: t.string(),
    action: t.string(),
    outcome: t.string(),
    since: t.field({ type: "DateTime" }),
    until: t.field({ type: "DateTime" }),
  }),
});

interface AuditPayload {
  id: string;
  at: string | Date;
  actor: string;
  actorKind: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  args: unknown;
  outcome: string;
  errorCode: string | null;
  sourceIp: string | null;
}

const AuditEventAdded = builder.objectRef<AuditPayload>("AuditEventAdded").implement({
  fields: (t) => ({
    id: t.exposeString("id"),
    at: t.expose("at", { type: "DateTime" }),
    actor: t.exposeString("actor"),
    action: t.exposeString("action"),
    targetType: t.exposeString("targetType", { nullable: true }),
    targetId: t.exposeString("targetId", { nullable: true }),
    args: t.expose("args", { type: "JSON", nullable: true }),
    outcome: t.exposeString("outcome"),
    errorCode: t.exposeString("errorCode", { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  auditEvents: t.prismaConnection({
    type: "AuditEvent",
    cursor: "id",
    authScopes: { permission: "audit:read" },
    args: { filter: t.arg({ type: AuditFilter }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.auditEvent.findMany({ ...query, where: ctx.audit.where(args.filter ?? {}), orderBy: { id: "desc" } }),
  }),
}));

builder.subscriptionFields((t) => ({
  auditEventAdded: t.field({
    type: AuditEventAdded,
    authScopes: { permission: "audit:read" },
    args: { filter: t.arg({ type: AuditFilter }) },
    subscribe: async function* (_root, args, ctx) {
      const filter = args.filter ?? {};
      for await (const event of ctx.events.subscribe<AuditPayload>(topics.auditEvents)) {
        if (ctx.audit.matches(event, filter)) yield event;
      }
    },
    resolve: (event) => event,
  }),
}));
