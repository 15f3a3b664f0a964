import { randomUUID } from "node:crypto";
import type { NodeCommand } from "../agents/commands.js";
import { DomainError, notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { NodeLedger } from "./node-ledger.js";
import { isConnectedState } from "./node-states.js";

export interface CommandReceipt {
  commandId: string;
  nodeId: string;
  command: NodeCommand["__typename"];
}

export interface EnvChange {
  env?: Record<string, unknown> | null;
  secrets?: Record<string, unknown> | null;
  unset?: string[] | null;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Set by the agent itself for every runner (or its own settings): not for operators to override. */
const RESERVED_NAME = /^(VYVO_.*|PORT)$/;
const MAX_VARIABLES = 200;
const MAX_VALUE_CHARS = 32_768;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** Checks a ConfigureEnv request and returns its parts as the command carries them. Pure. */
export function checkEnvChange(change: EnvChange): {
  env: Record<string, string>;
  secrets: Record<string, string>;
  unset: string[];
} {
  const parts = { env: change.env ?? {}, secrets: change.secrets ?? {} };
  const out = {
    env: {} as Record<string, string>,
    secrets: {} as Record<string, string>,
    unset: [...(change.unset ?? [])],
  };
  const names = new Set<string>();
  for (const kind of ["env", "secrets"] as const) {
    const values = parts[kind];
    if (typeof values !== "object" || values === null || Array.isArray(values)) {
      throw new DomainError("INVALID_INPUT", `${kind} must be an object of string values`);
    }
    for (const [name, value] of Object.entries(values)) {
      checkName(name);
      if (names.has(name)) throw new DomainError("INVALID_INPUT", `${name} is given twice`);
      names.add(name);
      if (typeof value !== "string" || value.length > MAX_VALUE_CHARS) {
        // The message names the variable, never its value.
        throw new DomainError("INVALID_INPUT", `${name} must be a string of at most ${MAX_VALUE_CHARS} characters`);
      }
      out[kind][name] = value;
    }
  }
  for (const name of out.unset) {
    checkName(name);
    if (names.has(name)) throw new DomainError("INVALID_INPUT", `${name} is both set and unset`);
  }
  if (names.size + out.unset.length === 0) throw new DomainError("INVALID_INPUT", "nothing to change");
  if (names.size + out.unset.length > MAX_VARIABLES)
    throw new DomainError("INVALID_INPUT", `at most ${MAX_VARIABLES} variables`);
  return out;
}

function checkName(name: string): void {
  if (!ENV_NAME.test(name))
    throw new DomainError("INVALID_INPUT", `"${name.slice(0, 64)}" is not a valid variable name`);
  if (RESERVED_NAME.test(name))
    throw new DomainError("INVALID_INPUT", `${name} is set by the agent and cannot be configured`);
}

/**
 * Commands about a node, sent over the agent's own socket (no SSH once the agent runs): they travel
 * on the node's command topic to whichever replica holds the socket. Each is recorded as a NodeEvent;
 * the agent's acks (received, applied, failed …) are recorded as they arrive (NodeMonitor.acknowledged).
 */
export class NodeCommands {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ledger: NodeLedger,
    private readonly events: EventBus,
  ) {}

  async configureEnv(nodeId: string, change: EnvChange, actor: string): Promise<CommandReceipt> {
    const { env, secrets, unset } = checkEnvChange(change);
    return this.send(
      nodeId,
      { __typename: "ConfigureEnvCommand", commandId: randomUUID(), env, secrets, unset },
      actor,
      // Names only: values may be secrets, and even plain env values stay out of the event log.
      { env: Object.keys(env), secrets: Object.keys(secrets), unset },
    );
  }

  async prefetchRunner(nodeId: string, modelVersionId: string, actor: string): Promise<CommandReceipt> {
    const version = await this.version(modelVersionId);
    return this.send(
      nodeId,
      {
        __typename: "PrefetchRunnerCommand",
        commandId: randomUUID(),
        modelId: version.modelId,
        modelVersionId,
        runner: version.runner,
      },
      actor,
      { modelVersionId },
    );
  }

  async removeRunner(nodeId: string, modelVersionId: string, actor: string): Promise<CommandReceipt> {
    const version = await this.version(modelVersionId);
    return this.send(
      nodeId,
      {
        __typename: "RemoveRunnerCommand",
        commandId: randomUUID(),
        modelId: version.modelId,
        modelVersionId,
        runner: version.runner,
      },
      actor,
      { modelVersionId },
    );
  }

  restartAgent(nodeId: string, reason: string | null, actor: string): Promise<CommandReceipt> {
    const why = reason?.trim() || "asked by an operator";
    return this.send(nodeId, { __typename: "RestartAgentCommand", commandId: randomUUID(), reason: why }, actor, {
      reason: why,
    });
  }

  upgradeAgent(nodeId: string, bundleUrl: string, sha256: string, actor: string): Promise<CommandReceipt> {
    if (!SHA256_HEX.test(sha256)) throw new DomainError("INVALID_INPUT", "sha256 must be 64 hex digits");
    if (!/^(https?:\/\/|\/)/.test(bundleUrl)) {
      throw new DomainError("INVALID_INPUT", "bundleUrl must be an http(s) URL or a path on this server");
    }
    const command = {
      __typename: "UpgradeAgentCommand" as const,
      commandId: randomUUID(),
      bundleUrl,
      sha256: sha256.toLowerCase(),
    };
    return this.send(nodeId, command, actor, { bundleUrl, sha256: command.sha256 });
  }

  /** For commands that follow an operator action (drain, uncordon): sent if the node is connected, else skipped. */
  async sendQuietly(nodeId: string, command: NodeCommand, actor: string): Promise<void> {
    await this.send(nodeId, command, actor, {}).catch((error: unknown) => {
      if (!(error instanceof DomainError && error.code === "INVALID_STATE")) throw error;
    });
  }

  private async send(
    nodeId: string,
    command: NodeCommand,
    actor: string,
    summary: Record<string, unknown>,
  ): Promise<CommandReceipt> {
    const node = await this.prisma.node.findUnique({ where: { id: nodeId } });
    if (!node) throw notFound("node", nodeId);
    // Commands are not queued for absent agents: the operator sees at once that nothing happened.
    if (node.removedAt || !isConnectedState(node.state)) {
      throw new DomainError(
        "INVALID_STATE",
        `node ${node.name} is ${node.removedAt ? "removed" : node.state.toLowerCase()}: its agent is not connected`,
      );
    }
    const name = command.__typename.replace(/Command$/, "");
    await this.ledger.record(nodeId, {
      type: "command",
      actor,
      message: `${name} sent`,
      detail: { commandId: command.commandId, command: name, ...summary },
    });
    this.events.publish(topics.agentCommands(nodeId), [command]);
    return { commandId: command.commandId, nodeId, command: command.__typename };
  }

  private async version(modelVersionId: string) {
    const version = await this.prisma.modelVersion.findUnique({ where: { id: modelVersionId } });
    if (!version) throw notFound("model version", modelVersionId);
    return version;
  }
}
