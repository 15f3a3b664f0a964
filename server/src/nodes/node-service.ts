import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { DomainError, notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { Node, PrismaClient } from "../generated/prisma/client.js";
import type { NodeCommands } from "./node-commands.js";
import type { NodeLedger } from "./node-ledger.js";
import { NodeTransitionError } from "./node-states.js";
import type { NodeWork } from "./node-work.js";
import { hashSecret, newSecret } from "./tokens.js";

export interface NodesConfig {
  enrollmentTokenTtlMs: number;
}

export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/;
const MAX_LABELS = 64;
const MAX_DRAIN_MS = 7 * 24 * 3_600_000;

/** Checks operator-given labels: `{ key: value }`, keys like "gpu" or "vyvo.io/zone", string values. Pure. */
export function validateLabels(labels: unknown): Record<string, string> {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new DomainError("INVALID_INPUT", "labels must be an object of string values");
  }
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw new DomainError("INVALID_INPUT", `at most ${MAX_LABELS} labels`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) throw new DomainError("INVALID_INPUT", `label key "${key}" is not valid`);
    if (typeof value !== "string" || value.length > 253) {
      throw new DomainError("INVALID_INPUT", `label "${key}" must have a string value of at most 253 characters`);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * Node identity and what operators decide about nodes: enrollment, node tokens, cordon, drain,
 * uncordon, removal, labels. State changes go through the NodeLedger (one writer, with events).
 */
export class NodeService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ledger: NodeLedger,
    private readonly work: NodeWork,
    private readonly commands: NodeCommands,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly config: NodesConfig,
  ) {}

  async createEnrollmentToken(opts: { nodeName?: string; pool?: string; ttlMs?: number } = {}) {
    const token = newSecret("vyvo_enroll");
    const record = await this.prisma.enrollmentToken.create({
      data: {
        id: randomUUID(),
        tokenHash: hashSecret(token),
        nodeName: opts.nodeName ?? null,
        pool: opts.pool ?? null,
        expiresAt: new Date(this.clock.now() + (opts.ttlMs ?? this.config.enrollmentTokenTtlMs)),
      },
    });
    return { token, expiresAt: record.expiresAt, id: record.id };
  }

  /** Exchanges a single-use enrollment token for a node and its token (returned once). */
  async enroll(enrollmentToken: string, name: string, capacity = 1): Promise<{ node: Node; nodeToken: string }> {
    if (!NODE_NAME.test(name)) throw new DomainError("INVALID_INPUT", `node name "${name}" is not valid`);
    const nodeToken = newSecret("vyvo_node");
    const now = new Date(this.clock.now());
    const result = await this.prisma.$transaction(async (tx) => {
      // Claiming the token and creating the node commit together: a token is used once or not at all.
      const claimed = await tx.enrollmentToken.updateMany({
        where: { tokenHash: hashSecret(enrollmentToken), usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      if (claimed.count !== 1) {
        throw new DomainError("ENROLLMENT_TOKEN_INVALID", "enrollment token is unknown, used or expired");
      }
      const token = await tx.enrollmentToken.findUniqueOrThrow({ where: { tokenHash: hashSecret(enrollmentToken) } });
      const nodeName = token.nodeName ?? name;
      const existing = await tx.node.findUnique({ where: { name: nodeName } });
      const common = { tokenHash: hashSecret(nodeToken), capacity, state: "PENDING" as const, connectionId: null };
      const node = existing
        ? await tx.node.update({
            where: { id: existing.id },
            // A removed node that enrolls again starts schedulable; a live one keeps its cordon and pool.
            data: {
              ...common,
              pool: token.pool ?? existing.pool,
              ...(existing.removedAt ? { removedAt: null, cordoned: false, drainDeadlineAt: null } : {}),
            },
          })
        : await tx.node.create({ data: { id: randomUUID(), name: nodeName, pool: token.pool, ...common } });
      await tx.enrollmentToken.update({ where: { id: token.id }, data: { nodeId: node.id } });
      return { node, nodeToken, replaced: existing?.tokenHash != null };
    });
    await this.ledger.record(result.node.id, {
      type: "enrolled",
      actor: `node:${result.node.id}`,
      message: result.replaced ? "enrolled again: the previous node token no longer works" : "enrolled",
      detail: { capacity },
    });
    return { node: result.node, nodeToken: result.nodeToken };
  }

  /** Creates a node and token directly (operators and tests; agents normally enroll). */
  async register(name: string, capacity = 1): Promise<{ node: Node; nodeToken: string }> {
    const { token } = await this.createEnrollmentToken({ nodeName: name });
    return this.enroll(token, name, capacity);
  }

  authenticate(nodeToken: string): Promise<Node | null> {
    if (typeof nodeToken !== "string" || !nodeToken.startsWith("vyvo_node_")) return Promise.resolve(null);
    return this.prisma.node.findFirst({ where: { tokenHash: hashSecret(nodeToken), removedAt: null } });
  }

  async get(nodeId: string): Promise<Node> {
    const node = await this.prisma.node.findUnique({ where: { id: nodeId } });
    if (!node) throw notFound("node", nodeId);
    return node;
  }

  /** No new work; what runs goes on. */
  async cordon(nodeId: string, actor: string): Promise<Node> {
    return this.operator(nodeId, { kind: "cordon" }, { type: "cordoned", actor, message: "no new work" });
  }

  /**
   * No new work, and what runs may finish until the deadline; then the node is cordoned. The node
   * monitor finishes the drain (or requeues what is left at the deadline) on whichever replica sees it first.
   */
  async drain(nodeId: string, deadlineMs: number, actor: string): Promise<Node> {
    if (!Number.isInteger(deadlineMs) || deadlineMs < 0 || deadlineMs > MAX_DRAIN_MS) {
      throw new DomainError("INVALID_INPUT", `deadlineMs must be between 0 and ${MAX_DRAIN_MS}`);
    }
    const deadlineAt = new Date(this.clock.now() + deadlineMs);
    const node = await this.operator(
      nodeId,
      { kind: "drain", deadlineAt },
      {
        type: "drain_started",
        actor,
        message: `draining; deadline ${deadlineAt.toISOString()}`,
        detail: { deadlineMs },
      },
      true,
    );
    const running = await this.work.heldCount(nodeId);
    // The agent stops asking for work too (advisory: the server's cordon is what keeps work away).
    await this.commands.sendQuietly(nodeId, { __typename: "DrainCommand", commandId: randomUUID(), deadlineMs }, actor);
    if (running === 0 && node.state === "DRAINING") {
      const drained = await this.ledger.transition(
        nodeId,
        { kind: "drained" },
        { type: "drained", actor, message: "nothing was running" },
      );
      return drained?.node ?? node;
    }
    return node;
  }

  async uncordon(nodeId: string, actor: string): Promise<Node> {
    const node = await this.operator(
      nodeId,
      { kind: "uncordon" },
      { type: "uncordoned", actor, message: "accepts work again" },
    );
    await this.commands.sendQuietly(nodeId, { __typename: "ResumeWorkCommand", commandId: randomUUID() }, actor);
    this.events.publish(topics.workAvailable, "*");
    return node;
  }

  /**
   * Removes a node: its token stops working at once (live sockets close with 4403 on every replica),
   * its attempts go back to the queue, and its history stays. Enrolling the same name again brings it back.
   */
  async remove(nodeId: string, actor: string): Promise<Node> {
    const existing = await this.get(nodeId);
    if (existing.removedAt) throw new DomainError("INVALID_STATE", `node ${existing.name} is already removed`);
    const result = await this.ledger.transition(
      nodeId,
      { kind: "removed" },
      { type: "removed", actor, message: "node token revoked" },
      { recordUnchanged: true, data: { tokenHash: null, removedAt: new Date(this.clock.now()), connectionId: null } },
    );
    this.events.publish(topics.credentialRevoked, { kind: "node", id: nodeId });
    await this.work.requeueHeld(nodeId, {
      cause: "node removed",
      error: "The node running this request was removed",
      errorType: "node_removed",
    });
    return result?.node ?? existing;
  }

  async setLabels(nodeId: string, labels: unknown, pool: string | null | undefined, actor: string): Promise<Node> {
    const checked = validateLabels(labels);
    if (pool !== undefined && pool !== null && !NODE_NAME.test(pool)) {
      throw new DomainError("INVALID_INPUT", `pool "${pool}" is not valid`);
    }
    const before = await this.get(nodeId);
    const node = await this.prisma.node.update({
      where: { id: nodeId },
      data: { labels: checked, ...(pool !== undefined ? { pool } : {}) },
    });
    await this.ledger.record(nodeId, {
      type: "labels_changed",
      actor,
      detail: { before: before.labels, after: checked, ...(pool !== undefined ? { pool } : {}) },
    });
    this.ledger.publishNode(node);
    return node;
  }

  private async operator(
    nodeId: string,
    transition: Parameters<NodeLedger["transition"]>[1],
    change: Parameters<NodeLedger["transition"]>[2],
    recordUnchanged = false,
  ): Promise<Node> {
    const node = await this.get(nodeId);
    if (node.removedAt) throw new DomainError("INVALID_STATE", `node ${node.name} was removed`);
    try {
      const result = await this.ledger.transition(nodeId, transition, change, {
        operator: !recordUnchanged,
        recordUnchanged,
      });
      return result?.node ?? node;
    } catch (error) {
      if (error instanceof NodeTransitionError) throw new DomainError("INVALID_STATE", error.message);
      throw error;
    }
  }
}
