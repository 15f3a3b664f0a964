import type { Clock } from "../clock.js";
import { type EventBus, topics } from "../events/event-bus.js";
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";
import { redact } from "./redact.js";

export interface AuditRecord {
  actor: string;
  actorKind: string;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  args?: unknown;
  outcome: "ok" | "denied" | "error";
  errorCode?: string | null;
  sourceIp?: string | null;
}

export interface AuditFilter {
  actor?: string | null;
  action?: string | null;
  outcome?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** The record of every change: who, what, on what, how it ended. Arguments are redacted first. */
export class AuditService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly retentionMs: number,
  ) {}

  async record(entry: AuditRecord): Promise<void> {
    const row = await this.prisma.auditEvent.create({
      data: {
        at: new Date(this.clock.now()),
        actor: entry.actor,
        actorKind: entry.actorKind,
        action: entry.action,
        targetType: entry.targetType ?? null,
        targetId: entry.targetId ?? null,
        args: entry.args === undefined ? Prisma.DbNull : (redact(entry.args) as Prisma.InputJsonValue),
        outcome: entry.outcome,
        errorCode: entry.errorCode ?? null,
        sourceIp: entry.sourceIp ?? null,
      },
    });
    this.events.publish(topics.auditEvents, { ...row, id: row.id.toString() });
  }

  where(filter: AuditFilter): Prisma.AuditEventWhereInput {
    return {
      ...(filter.actor ? { actor: filter.actor } : {}),
      ...(filter.action ? { action: filter.action } : {}),
      ...(filter.outcome ? { outcome: filter.outcome } : {}),
      ...(filter.since || filter.until
        ? { at: { ...(filter.since ? { gte: filter.since } : {}), ...(filter.until ? { lt: filter.until } : {}) } }
        : {}),
    };
  }

  matches(row: { actor: string; action: string; outcome: string; at: Date | string }, filter: AuditFilter): boolean {
    const at = new Date(row.at).getTime();
    return (
      (!filter.actor || row.actor === filter.actor) &&
      (!filter.action || row.action === filter.action) &&
      (!filter.outcome || row.outcome === filter.outcome) &&
      (!filter.since || at >= filter.since.getTime()) &&
      (!filter.until || at < filter.until.getTime())
    );
  }

  async purgeExpired(): Promise<number> {
    const { count } = await this.prisma.auditEvent.deleteMany({
      where: { at: { lt: new Date(this.clock.now() - this.retentionMs) } },
    });
    return count;
  }
}
