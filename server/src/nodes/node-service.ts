import { randomUUID } from "node:crypto";
import { type Node, Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { Clock } from "../clock.js";
import { DomainError } from "../errors.js";
import { hashSecret, newSecret } from "./tokens.js";

export interface GpuStats {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMb: number;
  memoryUsedMb: number;
  utilizationPct?: number | null;
  temperatureC?: number | null;
  powerW?: number | null;
  driverVersion?: string | null;
  cudaVersion?: string | null;
}

export interface NodesConfig {
  enrollmentTokenTtlMs: number;
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Node identity: enrollment, node tokens, and what agents say about their hosts. */
export class NodeService {
  constructor(
    private readonly prisma: PrismaClient,
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
    return this.prisma.$transaction(async (tx) => {
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
      const data = { tokenHash: hashSecret(nodeToken), capacity, pool: token.pool, state: "PENDING" as const };
      const node = existing
        ? await tx.node.update({ where: { id: existing.id }, data })
        : await tx.node.create({ data: { id: randomUUID(), name: nodeName, ...data } });
      await tx.enrollmentToken.update({ where: { id: token.id }, data: { nodeId: node.id } });
      return { node, nodeToken };
    });
  }

  /** Creates a node and token directly (operators and tests; agents normally enroll). */
  async register(name: string, capacity = 1): Promise<{ node: Node; nodeToken: string }> {
    const { token } = await this.createEnrollmentToken({ nodeName: name });
    return this.enroll(token, name, capacity);
  }

  authenticate(nodeToken: string): Promise<Node | null> {
    if (typeof nodeToken !== "string" || !nodeToken.startsWith("vyvo_node_")) return Promise.resolve(null);
    return this.prisma.node.findUnique({ where: { tokenHash: hashSecret(nodeToken) } });
  }

  async connected(nodeId: string, info: { capacity: number; agentVersion?: string | null }) {
    return this.prisma.node.update({
      where: { id: nodeId },
      data: {
        state: "ONLINE",
        capacity: info.capacity,
        agentVersion: info.agentVersion ?? null,
        lastHeartbeatAt: new Date(this.clock.now()),
      },
    });
  }

  async heartbeat(nodeId: string, info: { gpus: GpuStats[]; agentVersion?: string | null }) {
    return this.prisma.node.update({
      where: { id: nodeId },
      data: {
        lastHeartbeatAt: new Date(this.clock.now()),
        gpus: info.gpus as unknown as Prisma.InputJsonValue,
        ...(info.agentVersion ? { agentVersion: info.agentVersion } : {}),
      },
    });
  }

  async disconnected(nodeId: string) {
    await this.prisma.node.updateMany({ where: { id: nodeId, state: "ONLINE" }, data: { state: "OFFLINE" } });
  }
}
