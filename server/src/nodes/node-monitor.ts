import type { Clock } from "../clock.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { Node, Prisma, PrismaClient } from "../generated/prisma/client.js";
import type { NodeState } from "../generated/prisma/enums.js";
import type { NodeLedger, SchedulingChange } from "./node-ledger.js";
import type { CommandAck, GpuStats, NodePresence, RunnerState } from "./node-presence.js";
import { isConnectedState, LOSABLE_STATES } from "./node-states.js";
import type { NodeWork } from "./node-work.js";

export interface MonitorConfig {
  /** A node with no stored heartbeat for this long is LOST (≥ the lease, so its leases have lapsed too). */
  lostAfterMs: number;
  /** At most one row write per node per this interval for heartbeats; every heartbeat is still published. */
  statsWriteIntervalMs: number;
}

/** This replica's view of a node whose socket it holds. */
interface LiveNode {
  connectionId: string;
  /** No new work: cordoned, draining or removed. Kept current by the nodeScheduling topic. */
  blocked: boolean;
  lastWriteAt: number;
  node: Node;
}

const MONITOR = "node-monitor";

/** The bound the server reports and enforces: 3 heartbeats, and never less than a lease. */
export function defaultLostAfterMs(heartbeatIntervalMs: number, leaseTtlMs: number): number {
  return Math.max(3 * heartbeatIntervalMs, leaseTtlMs);
}

/** Heartbeat writes must land well inside the loss bound, or a live node would look lost. */
export function statsWriteIntervalFor(lostAfterMs: number, heartbeatIntervalMs: number): number {
  return Math.max(0, Math.min(5_000, Math.floor(lostAfterMs / 3) - heartbeatIntervalMs));
}

/**
 * Node presence (the agent gateway's NodePresence) and the loops that watch it: heartbeats stored
 * (throttled) and published (every one), loss detection, and drains that finish or run out of time.
 * The loops are safe on every replica at once: each change is one conditional UPDATE, so exactly
 * one replica acts on a node.
 */
export class NodeMonitor implements NodePresence {
  private readonly live = new Map<string, LiveNode>();
  private readonly stopScheduling: () => void;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly ledger: NodeLedger,
    private readonly work: NodeWork,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly config: MonitorConfig,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    const changes = this.events.subscribe<SchedulingChange>(topics.nodeScheduling);
    void (async () => {
      try {
        for await (const change of changes) {
          const entry = this.live.get(change.nodeId);
          if (entry) entry.blocked = change.cordoned || change.removed;
        }
      } catch (error) {
        this.onError(error, "node scheduling listener");
      }
    })();
    this.stopScheduling = () => void changes.return?.();
  }

  close(): void {
    this.stopScheduling();
  }

  get lostAfterMs(): number {
    return this.config.lostAfterMs;
  }

  async connected(nodeId: string, info: { connectionId: string; capacity: number; agentVersion?: string | null }) {
    const now = this.clock.now();
    const result = await this.ledger.transition(
      nodeId,
      { kind: "connected" },
      {
        type: "connected",
        actor: `node:${nodeId}`,
        detail: { capacity: info.capacity, agentVersion: info.agentVersion ?? null },
      },
      {
        recordUnchanged: true,
        data: {
          connectionId: info.connectionId,
          lastHeartbeatAt: new Date(now),
          // A draining agent asks for capacity 0: the node's capacity is what it runs when it works.
          ...(info.capacity > 0 ? { capacity: info.capacity, freeSlots: info.capacity } : { freeSlots: 0 }),
          ...(info.agentVersion ? { agentVersion: info.agentVersion } : {}),
        },
      },
    );
    if (!result) return;
    const node = result.node;
    this.live.set(nodeId, {
      connectionId: info.connectionId,
      blocked: node.cordoned || node.removedAt !== null,
      lastWriteAt: now,
      node,
    });
  }

  async heartbeat(
    nodeId: string,
    info: {
      connectionId?: string;
      freeSlots: number;
      gpus: GpuStats[];
      runners?: RunnerState[];
      agentVersion?: string | null;
    },
  ) {
    const now = this.clock.now();
    const entry = this.live.get(nodeId);
    const stats = {
      freeSlots: info.freeSlots,
      gpus: info.gpus as unknown as Prisma.InputJsonValue,
      runners: (info.runners ?? []) as unknown as Prisma.InputJsonValue,
      lastHeartbeatAt: new Date(now),
      ...(info.agentVersion ? { agentVersion: info.agentVersion } : {}),
    };
    if (!entry || now - entry.lastWriteAt >= this.config.statsWriteIntervalMs) {
      if (entry) entry.lastWriteAt = now;
      const connectionId = info.connectionId ?? entry?.connectionId;
      const written = await this.prisma.node.updateManyAndReturn({
        where: { id: nodeId, removedAt: null, ...(connectionId ? { connectionId } : {}) },
        data: stats,
      });
      const node = written[0];
      if (node && entry) {
        entry.node = node;
        entry.blocked = node.cordoned;
      }
      // Declared lost (or offline) while it was only slow: a heartbeat brings it back.
      if (node && !isConnectedState(node.state) && connectionId) {
        const back = await this.ledger.transition(
          nodeId,
          { kind: "connected" },
          { type: "back", actor: `node:${nodeId}`, message: "heartbeats resumed" },
          { connectionId },
        );
        if (back && entry) entry.node = back.node;
      }
    }
    const current = this.live.get(nodeId)?.node;
    if (current) this.ledger.publishNode({ ...current, ...(stats as unknown as Partial<Node>) });
  }

  async disconnected(nodeId: string, connectionId: string) {
    if (this.live.get(nodeId)?.connectionId === connectionId) this.live.delete(nodeId);
    await this.ledger.transition(
      nodeId,
      { kind: "disconnected" },
      { type: "disconnected", actor: `node:${nodeId}`, message: "socket closed" },
      { connectionId },
    );
  }

  canDispatch(nodeId: string): boolean {
    const entry = this.live.get(nodeId);
    return entry !== undefined && !entry.blocked;
  }

  async acknowledged(nodeId: string, ack: CommandAck): Promise<void> {
    await this.ledger.record(nodeId, {
      type: "ack",
      actor: `node:${nodeId}`,
      message: ack.detail ? `${ack.step}: ${ack.detail}` : ack.step,
      detail: { commandId: ack.commandId, step: ack.step, ...(ack.detail ? { detail: ack.detail } : {}) },
    });
  }

  /** One pass of every loop; run it every NODE_SWEEP_INTERVAL_MS on every replica. */
  async sweep(): Promise<{ lost: number; drained: number }> {
    const lost = await this.detectLost();
    const drained = (await this.expireDrains()) + (await this.finishDrains());
    return { lost, drained };
  }

  /**
   * Nodes whose heartbeats stopped past the bound become LOST: one conditional UPDATE, so under
   * concurrent sweeps each node is taken by exactly one replica, which then gives back its work.
   */
  async detectLost(): Promise<number> {
    const now = new Date(this.clock.now());
    const cutoff = new Date(now.getTime() - this.config.lostAfterMs);
    const states = [...LOSABLE_STATES];
    const lost = await this.prisma.$queryRaw<{ id: string; fromState: NodeState; lastHeartbeatAt: Date }[]>`
      UPDATE "Node" AS n SET "state" = 'LOST', "updatedAt" = ${now}
      FROM (SELECT "id", "state" FROM "Node" WHERE "state"::text = ANY(${states}) AND "lastHeartbeatAt" < ${cutoff}) AS old
      WHERE n."id" = old."id" AND n."state"::text = ANY(${states}) AND n."removedAt" IS NULL AND n."lastHeartbeatAt" < ${cutoff}
      RETURNING n."id", old."state" AS "fromState", n."lastHeartbeatAt"`;
    for (const node of lost) {
      await this.ledger.recordDecided(node.id, node.fromState, "LOST", {
        type: "lost",
        actor: MONITOR,
        message: `no heartbeat for more than ${this.config.lostAfterMs} ms`,
        detail: { lastHeartbeatAt: node.lastHeartbeatAt.toISOString(), lostAfterMs: this.config.lostAfterMs },
      });
      const requeued = await this.work.releaseLost(node.id, now.getTime());
      if (requeued > 0) {
        await this.ledger.record(node.id, {
          type: "work_requeued",
          actor: MONITOR,
          message: `${requeued} attempt(s) requeued: agent lost`,
        });
      }
    }
    return lost.length;
  }

  /** Drains past their deadline: the node is cordoned and what still runs is cancelled and requeued. */
  private async expireDrains(): Promise<number> {
    const now = new Date(this.clock.now());
    const expired = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "Node" SET "state" = 'CORDONED', "drainDeadlineAt" = NULL, "updatedAt" = ${now}
      WHERE "state" = 'DRAINING' AND "drainDeadlineAt" < ${now}
      RETURNING "id"`;
    for (const { id } of expired) {
      const requeued = await this.work.requeueHeld(id, {
        cause: "drain deadline",
        error: "The node's drain deadline passed before this request finished",
        errorType: "drain_deadline",
        cancelReason: "drain deadline",
      });
      await this.ledger.recordDecided(id, "DRAINING", "CORDONED", {
        type: "drain_deadline",
        actor: MONITOR,
        message: `drain deadline passed: ${requeued} attempt(s) cancelled and requeued`,
        detail: { requeued },
      });
    }
    return expired.length;
  }

  /** Draining nodes that hold no attempt any more are cordoned. */
  private async finishDrains(): Promise<number> {
    const draining = await this.prisma.node.findMany({ where: { state: "DRAINING" }, select: { id: true } });
    let finished = 0;
    for (const { id } of draining) {
      if ((await this.work.heldCount(id)) > 0) continue;
      const result = await this.ledger.transition(
        id,
        { kind: "drained" },
        { type: "drained", actor: MONITOR, message: "work finished: cordoned" },
      );
      if (result?.changed) finished++;
    }
    return finished;
  }
}
