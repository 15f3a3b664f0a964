import type { Clock } from "../clock.js";
import { notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { Node, NodeEvent, Prisma, PrismaClient } from "../generated/prisma/client.js";
import type { NodeState } from "../generated/prisma/enums.js";
import { type NodeStatus, type NodeTransition, nextStatus, operatorTransition } from "./node-states.js";

/** What happened to a node, for its event log. */
export interface NodeChange {
  type: string;
  actor: string;
  message?: string | null;
  detail?: Record<string, unknown> | null;
}

export interface TransitionOptions {
  /** Operator actions that change nothing are refused (NodeTransitionError). */
  operator?: boolean;
  /** Only if this socket is still the node's latest one (presence updates). */
  connectionId?: string;
  /** Other columns written with the state, in the same statement. */
  data?: Prisma.NodeUpdateManyMutationInput;
  /** Record the event even when the state did not change (e.g. every connect). */
  recordUnchanged?: boolean;
}

/** How a node looks on the nodeScheduling topic. */
export interface SchedulingChange {
  nodeId: string;
  cordoned: boolean;
  removed: boolean;
}

/** NodeEvents go over the bus as JSON: the BigInt id travels as a string. */
export type PublishedNodeEvent = Omit<NodeEvent, "id"> & { id: string };

interface LockedRow {
  state: NodeState;
  cordoned: boolean;
  drainDeadlineAt: Date | null;
  lastHeartbeatAt: Date | null;
  connectionId: string | null;
  removedAt: Date | null;
}

/**
 * The one writer of node state: every change is computed by the pure state machine under a row
 * lock (so replicas never interleave), stored with its NodeEvent in one transaction, then
 * published (nodeUpdated, nodeEvents, and nodeScheduling when the cordon changed).
 */
export class NodeLedger {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    private readonly clock: Clock,
  ) {}

  /** Returns the node after the change, or null when `connectionId` no longer names its socket. */
  async transition(
    nodeId: string,
    transition: NodeTransition,
    change: NodeChange,
    opts: TransitionOptions = {},
  ): Promise<{ node: Node; changed: boolean } | null> {
    const at = new Date(this.clock.now());
    const result = await this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<LockedRow[]>`
        SELECT "state", "cordoned", "drainDeadlineAt", "lastHeartbeatAt", "connectionId", "removedAt"
        FROM "Node" WHERE "id" = ${nodeId} FOR UPDATE`;
      if (!row) throw notFound("node", nodeId);
      if (opts.connectionId !== undefined && row.connectionId !== opts.connectionId) return null;
      const before: NodeStatus = {
        state: row.state,
        cordoned: row.cordoned,
        drainDeadlineAt: row.drainDeadlineAt,
        everConnected: row.lastHeartbeatAt !== null,
      };
      const after = opts.operator ? operatorTransition(before, transition) : nextStatus(before, transition);
      const changed = after !== before;
      if (!changed && !opts.recordUnchanged && !opts.data) {
        return {
          node: await tx.node.findUniqueOrThrow({ where: { id: nodeId } }),
          changed,
          event: null,
          cordonChanged: false,
        };
      }
      const node = await tx.node.update({
        where: { id: nodeId },
        data: { ...opts.data, state: after.state, cordoned: after.cordoned, drainDeadlineAt: after.drainDeadlineAt },
      });
      const event =
        changed || opts.recordUnchanged
          ? await tx.nodeEvent.create({
              data: {
                nodeId,
                type: change.type,
                fromState: before.state,
                toState: after.state,
                message: change.message ?? null,
                actor: change.actor,
                ...(change.detail ? { detail: change.detail as Prisma.InputJsonValue } : {}),
                at,
              },
            })
          : null;
      return { node, changed, event, cordonChanged: before.cordoned !== after.cordoned };
    });
    if (!result) return null;
    if (result.event) this.publishEvent(result.event);
    if (result.changed || opts.data) this.publishNode(result.node);
    if (result.cordonChanged || transition.kind === "removed") this.publishScheduling(result.node);
    return { node: result.node, changed: result.changed };
  }

  /** Appends an event that changes no state (a command sent, its acks, provisioning runs). */
  async record(nodeId: string, change: NodeChange): Promise<NodeEvent> {
    const event = await this.prisma.nodeEvent.create({
      data: {
        nodeId,
        type: change.type,
        message: change.message ?? null,
        actor: change.actor,
        ...(change.detail ? { detail: change.detail as Prisma.InputJsonValue } : {}),
        at: new Date(this.clock.now()),
      },
    });
    this.publishEvent(event);
    return event;
  }

  /** Records a state change decided by an atomic statement elsewhere (the loss sweep). */
  async recordDecided(nodeId: string, from: NodeState | null, to: NodeState, change: NodeChange): Promise<void> {
    const event = await this.prisma.nodeEvent.create({
      data: {
        nodeId,
        type: change.type,
        fromState: from,
        toState: to,
        message: change.message ?? null,
        actor: change.actor,
        ...(change.detail ? { detail: change.detail as Prisma.InputJsonValue } : {}),
        at: new Date(this.clock.now()),
      },
    });
    this.publishEvent(event);
    const node = await this.prisma.node.findUnique({ where: { id: nodeId } });
    if (node) this.publishNode(node);
  }

  publishNode(node: Node): void {
    this.events.publish(topics.nodeUpdated, node);
  }

  publishScheduling(node: Pick<Node, "id" | "cordoned" | "removedAt">): void {
    const change: SchedulingChange = { nodeId: node.id, cordoned: node.cordoned, removed: node.removedAt !== null };
    this.events.publish(topics.nodeScheduling, change);
  }

  private publishEvent(event: NodeEvent): void {
    const published: PublishedNodeEvent = { ...event, id: event.id.toString() };
    this.events.publish(topics.nodeEvents(event.nodeId), published);
  }
}
