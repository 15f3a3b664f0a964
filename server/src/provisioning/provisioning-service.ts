import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Clock } from "../clock.js";
import { DomainError, notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type {
  Node,
  Prisma,
  PrismaClient,
  ProvisioningRun,
  ProvisioningStep,
  SshHost,
} from "../generated/prisma/client.js";
import type { ProvisioningStepStatus } from "../generated/prisma/enums.js";
import type { NodeLedger } from "../nodes/node-ledger.js";
import { NODE_NAME, type NodeService, validateLabels } from "../nodes/node-service.js";
import { isConnectedState } from "../nodes/node-states.js";
import { hashSecret } from "../nodes/tokens.js";
import { normalizeFingerprint } from "./host-keys.js";
import {
  agentPaths,
  hostFactsScript,
  parseHostFacts,
  resolveInstallDir,
  STEP_NAMES,
  type StepName,
  type StepOutcome,
  stepsToRun,
} from "./provisioning-plan.js";
import { STEPS, type StepContext } from "./provisioning-steps.js";
import type { SecretBox } from "./secret-box.js";
import { HostKeyRejected, privateKeyProblem, SshConnection } from "./ssh-connection.js";

export interface ProvisioningConfig {
  bundlePath: string;
  /** The URL agents dial (VYVO_SERVER_URL); known once the server listens. */
  serverUrl: () => string;
  sshTimeoutMs: number;
  onlineTimeoutMs: number;
}

export interface RegisterSshHostInput {
  name: string;
  address: string;
  port?: number | null;
  user: string;
  privateKey: string;
  hostKeyFingerprint?: string | null;
  installDir?: string | null;
  capacity?: number | null;
  pool?: string | null;
  labels?: unknown;
  agentEnv?: Record<string, unknown> | null;
}

/** One line of a run's live stream: a step's output line, or a step's (or, without a step, the run's) new status. */
export interface ProvisioningLogEntry {
  runId: string;
  position: number | null;
  step: string | null;
  status: string;
  line: string | null;
  at: Date;
}

const ADDRESS = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const INSTALL_DIR = /^[A-Za-z0-9._/-]{1,255}$/;
/** Settings provisioning writes itself; the rest of VYVO_* may be given per host. */
const MANAGED_ENV = new Set([
  "VYVO_SERVER_URL",
  "VYVO_WORK_DIR",
  "VYVO_CAPACITY",
  "VYVO_NODE_NAME",
  "VYVO_ENROLLMENT_TOKEN",
  "VYVO_NODE_TOKEN",
]);
const MAX_OUTPUT_CHARS = 64 * 1024;
const ACTOR = "provisioning";
/** Longer than any wait of a step besides wait-online (stopping an agent takes up to 90 s). */
const ABANDONED_AFTER_MS = 5 * 60_000;

/**
 * Bootstraps a host's agent over SSH (ssh2) once: register the host (its private key sealed at
 * rest), run the steps of provisioning-plan.ts with their output stored and streamed, retry a
 * failed run from its failed step, and pin host keys (confirmHostKey). Later changes go over the
 * agent's socket (NodeCommands), not SSH.
 */
export class ProvisioningService {
  private readonly active = new Map<string, Promise<void>>();
  private readonly sessions = new Set<SshConnection>();
  private readonly shutdown = new AbortController();
  private closing = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly nodes: NodeService,
    private readonly ledger: NodeLedger,
    private readonly box: SecretBox,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly config: ProvisioningConfig,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /** Registers (or updates) the SSH access of a host; its node waits in PENDING until provisioned. */
  async registerSshHost(input: RegisterSshHostInput, actor: string): Promise<Node> {
    const checked = checkHostInput(input);
    const sealed = this.box.seal(input.privateKey);
    const existing = await this.prisma.node.findUnique({ where: { name: input.name }, include: { sshHost: true } });
    const previous = existing?.sshHost;
    // A new address or port is another host as far as its key goes: the old pin does not carry over.
    const sameEndpoint = previous?.address === checked.address && previous?.port === checked.port;
    const fingerprint = checked.hostKeyFingerprint ?? (sameEndpoint ? (previous?.hostKeyFingerprint ?? null) : null);
    const host = {
      address: checked.address,
      port: checked.port,
      user: checked.user,
      privateKeyCipher: sealed,
      hostKeyFingerprint: fingerprint,
      offeredHostKeyFingerprint: null,
      installDir: checked.installDir,
      agentEnv: checked.agentEnv,
    };
    const nodeData = {
      // Registering a removed node again brings it back; provisioning replaces its revoked token on the host.
      ...(existing?.removedAt
        ? { removedAt: null, cordoned: false, drainDeadlineAt: null, state: "PENDING" as const }
        : {}),
      address: checked.address,
      ...(checked.capacity ? { capacity: checked.capacity } : {}),
      ...(checked.pool !== undefined ? { pool: checked.pool } : {}),
      ...(checked.labels ? { labels: checked.labels } : {}),
    };
    const node = existing
      ? await this.prisma.node.update({
          where: { id: existing.id },
          data: { ...nodeData, sshHost: { upsert: { create: host, update: host } } },
        })
      : await this.prisma.node.create({
          data: { id: randomUUID(), name: input.name, ...nodeData, sshHost: { create: host } },
        });
    await this.ledger.record(node.id, {
      type: existing?.removedAt
        ? "ssh_host_registered_again"
        : existing?.sshHost
          ? "ssh_host_updated"
          : "ssh_host_registered",
      actor,
      message: `${checked.user}@${checked.address}:${checked.port}${fingerprint ? `, host key ${fingerprint}` : ", host key to be confirmed"}`,
      detail: {
        address: checked.address,
        port: checked.port,
        user: checked.user,
        installDir: checked.installDir,
        hostKeyFingerprint: fingerprint,
      },
    });
    this.ledger.publishNode(node);
    return node;
  }

  /** Starts a run in the background and returns it (RUNNING); one run per node at a time. */
  async provision(nodeId: string, opts: { restart?: boolean }, actor: string): Promise<ProvisioningRun> {
    const run = await this.prisma.$transaction(async (tx) => {
      await this.lockIdleNode(tx, nodeId);
      return tx.provisioningRun.create({
        data: {
          id: randomUUID(),
          nodeId,
          status: "RUNNING",
          actor,
          startedAt: new Date(this.clock.now()),
          steps: { create: STEP_NAMES.map((name, position) => ({ id: randomUUID(), name, position })) },
        },
      });
    });
    this.launch(run, null, opts.restart ?? false, actor, "provisioning_started");
    return run;
  }

  /** Runs a failed run again, starting at its failed step (its earlier steps keep what they found). */
  async retry(runId: string, actor: string): Promise<ProvisioningRun> {
    const existing = await this.prisma.provisioningRun.findUnique({ where: { id: runId }, include: { steps: true } });
    if (!existing) throw notFound("provisioning run", runId);
    if (existing.status !== "FAILED" && existing.status !== "AWAITING_HOST_KEY") {
      throw new DomainError(
        "INVALID_STATE",
        `run ${runId} is ${existing.status.toLowerCase()}: only a failed run can be retried`,
      );
    }
    const failedAt = existing.steps.find((step) => step.status === "FAILED")?.position ?? 0;
    const run = await this.prisma.$transaction(async (tx) => {
      await this.lockIdleNode(tx, existing.nodeId);
      await tx.provisioningStep.updateMany({
        where: { runId, OR: [{ position: { gte: failedAt } }, { name: "connect" }] },
        data: { status: "PENDING", output: "", error: null, startedAt: null, finishedAt: null, durationMs: null },
      });
      return tx.provisioningRun.update({
        where: { id: runId },
        data: { status: "RUNNING", error: null, finishedAt: null, tries: { increment: 1 } },
      });
    });
    this.launch(run, failedAt, false, actor, "provisioning_retried");
    return run;
  }

  /**
   * Pins the host key an operator checked. It must be the key the host offered (so the operator
   * confirms what was seen); a run waiting for it resumes.
   */
  async confirmHostKey(
    nodeId: string,
    fingerprint: string,
    actor: string,
  ): Promise<{ host: SshHost; resumed: ProvisioningRun | null }> {
    const normalized = normalizeFingerprint(fingerprint);
    if (!normalized) throw new DomainError("INVALID_INPUT", 'fingerprint must look like "SHA256:…" (ssh-keygen -lf)');
    const host = await this.prisma.sshHost.findUnique({ where: { nodeId } });
    if (!host) throw notFound("SSH host of node", nodeId);
    if (host.offeredHostKeyFingerprint !== normalized && host.hostKeyFingerprint !== normalized) {
      throw new DomainError(
        "INVALID_INPUT",
        host.offeredHostKeyFingerprint
          ? `the host offered ${host.offeredHostKeyFingerprint}, not ${normalized}`
          : "the host has not offered a key yet: provision it first",
      );
    }
    const pinned = await this.prisma.sshHost.update({
      where: { nodeId },
      data: { hostKeyFingerprint: normalized, offeredHostKeyFingerprint: null },
    });
    await this.ledger.record(nodeId, { type: "host_key_confirmed", actor, message: `host key ${normalized} pinned` });
    const waiting = await this.prisma.provisioningRun.findFirst({
      where: { nodeId, status: { in: ["AWAITING_HOST_KEY", "FAILED"] } },
      orderBy: { startedAt: "desc" },
      include: { steps: { where: { name: "connect" } } },
    });
    const resumable = waiting && (waiting.status === "AWAITING_HOST_KEY" || waiting.steps[0]?.status === "FAILED");
    return { host: pinned, resumed: resumable ? await this.retry(waiting.id, actor) : null };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.shutdown.abort(new Error("the server is shutting down"));
    for (const session of this.sessions) session.close();
    await Promise.allSettled([...this.active.values()]);
  }

  private launch(
    run: ProvisioningRun,
    failedAt: number | null,
    forceRestart: boolean,
    actor: string,
    event: string,
  ): void {
    const done = (async () => {
      try {
        await this.ledger.transition(
          run.nodeId,
          { kind: "provisioning" },
          { type: event, actor, message: `run ${run.id}` },
          { recordUnchanged: true },
        );
        await this.execute(run, failedAt, forceRestart);
      } catch (error) {
        this.onError(error, `provisioning run ${run.id}`);
      } finally {
        this.active.delete(run.id);
      }
    })();
    this.active.set(run.id, done);
  }

  private async execute(run: ProvisioningRun, failedAt: number | null, forceRestart: boolean): Promise<void> {
    const loaded = await this.prisma.provisioningRun.findUniqueOrThrow({
      where: { id: run.id },
      include: { steps: { orderBy: { position: "asc" } }, node: { include: { sshHost: true } } },
    });
    const host = loaded.node.sshHost;
    if (!host) throw new Error(`node ${loaded.nodeId} has no SSH host`);
    const toRun = new Set<string>(stepsToRun(failedAt));
    const outcomes: StepContext["outcomes"] = {};
    for (const step of loaded.steps) {
      if (!toRun.has(step.name) && (step.status === "CHANGED" || step.status === "UNCHANGED")) {
        outcomes[step.name as StepName] = step.status === "CHANGED" ? "changed" : "unchanged";
      }
    }
    let ctx: StepContext | undefined;
    let failure: { step: ProvisioningStep; error: unknown } | null = null;
    try {
      for (const step of loaded.steps) {
        if (!toRun.has(step.name)) continue;
        if (failure || this.closing) {
          await this.saveStep(run.id, step, "SKIPPED", [], null, null);
          continue;
        }
        const output: string[] = [];
        const log = (line: string) => this.logLine(run.id, step, output, line);
        const started = this.clock.now();
        await this.saveStep(run.id, step, "RUNNING", [], null, null, started);
        try {
          let outcome: StepOutcome;
          if (step.name === "connect") {
            ctx = await this.connect(loaded.node, host, outcomes, forceRestart, log);
            outcome = "unchanged";
          } else {
            (ctx as StepContext).log = log;
            outcome = await STEPS[step.name as Exclude<StepName, "connect">](ctx as StepContext);
          }
          outcomes[step.name as StepName] = outcome;
          await this.saveStep(run.id, step, outcome === "changed" ? "CHANGED" : "UNCHANGED", output, null, started);
        } catch (error) {
          failure = { step, error };
          await this.saveStep(run.id, step, "FAILED", output, describe(error), started);
        }
      }
    } finally {
      ctx?.ssh.close();
      if (ctx) this.sessions.delete(ctx.ssh);
    }
    await this.finish(loaded.node, run.id, failure);
  }

  private async connect(
    node: Node,
    host: SshHost,
    outcomes: StepContext["outcomes"],
    forceRestart: boolean,
    log: (line: string) => void,
  ): Promise<StepContext> {
    log(`connecting to ${host.user}@${host.address}:${host.port}`);
    const ssh = await SshConnection.connect({
      host: host.address,
      port: host.port,
      username: host.user,
      privateKey: this.box.open(host.privateKeyCipher),
      hostKeyFingerprint: host.hostKeyFingerprint,
      timeoutMs: this.config.sshTimeoutMs,
    });
    this.sessions.add(ssh);
    log(`connected; host key ${ssh.fingerprint} matches the pinned one`);
    const facts = parseHostFacts(await ssh.run(hostFactsScript(host.installDir)));
    const bundle = await readBundle(this.config.bundlePath);
    return {
      ssh,
      facts,
      paths: agentPaths(resolveInstallDir(host.installDir, facts.home)),
      node: { id: node.id, name: node.name, capacity: node.capacity, tokenHash: node.tokenHash },
      agentEnv: host.agentEnv as Record<string, string>,
      serverUrl: this.config.serverUrl(),
      bundle,
      forceRestart,
      outcomes,
      agentStartedAt: null,
      onlineTimeoutMs: this.config.onlineTimeoutMs,
      signal: this.shutdown.signal,
      now: () => this.clock.now(),
      log: () => {},
      enrollment: {
        create: async () =>
          (await this.nodes.createEnrollmentToken({ nodeName: node.name, ...(node.pool ? { pool: node.pool } : {}) }))
            .token,
        usable: async (token) =>
          (await this.prisma.enrollmentToken.count({
            where: { tokenHash: hashSecret(token), usedAt: null, expiresAt: { gt: new Date(this.clock.now()) } },
          })) > 0,
      },
      tokenIsCurrent: (text) => {
        try {
          const saved = JSON.parse(text) as { nodeToken?: unknown };
          return (
            typeof saved.nodeToken === "string" &&
            node.tokenHash !== null &&
            hashSecret(saved.nodeToken) === node.tokenHash
          );
        } catch {
          return false;
        }
      },
      presence: async () => {
        const row = await this.prisma.node.findUniqueOrThrow({
          where: { id: node.id },
          select: { state: true, lastHeartbeatAt: true },
        });
        return { connected: isConnectedState(row.state), lastHeartbeatAt: row.lastHeartbeatAt };
      },
    };
  }

  private async finish(
    node: Node,
    runId: string,
    failure: { step: ProvisioningStep; error: unknown } | null,
  ): Promise<void> {
    const finishedAt = new Date(this.clock.now());
    if (!failure) {
      await this.prisma.provisioningRun.update({ where: { id: runId }, data: { status: "SUCCEEDED", finishedAt } });
      this.publish({ runId, position: null, step: null, status: "SUCCEEDED", line: null, at: finishedAt });
      await this.ledger.record(node.id, { type: "provisioning_succeeded", actor: ACTOR, message: `run ${runId}` });
      return;
    }
    const error = `${failure.step.name}: ${describe(failure.error)}`;
    const rejected = failure.error instanceof HostKeyRejected ? failure.error.verdict : null;
    if (rejected) {
      // Kept so that an operator can compare it with the host and confirm it.
      await this.prisma.sshHost.update({
        where: { nodeId: node.id },
        data: { offeredHostKeyFingerprint: rejected.offered },
      });
    }
    const status = rejected?.reason === "unconfirmed" ? "AWAITING_HOST_KEY" : "FAILED";
    await this.prisma.provisioningRun.update({ where: { id: runId }, data: { status, error, finishedAt } });
    this.publish({ runId, position: null, step: null, status, line: error, at: finishedAt });
    await this.ledger.transition(
      node.id,
      { kind: "provisioning_failed" },
      {
        type: rejected?.reason === "unconfirmed" ? "host_key_offered" : "provisioning_failed",
        actor: ACTOR,
        message: error,
      },
      { recordUnchanged: true },
    );
  }

  private async lockIdleNode(tx: Prisma.TransactionClient, nodeId: string): Promise<void> {
    const [locked] = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "Node" WHERE "id" = ${nodeId} FOR UPDATE`;
    if (!locked) throw notFound("node", nodeId);
    const node = await tx.node.findUniqueOrThrow({ where: { id: nodeId }, include: { sshHost: true } });
    if (node.removedAt) throw new DomainError("INVALID_STATE", `node ${node.name} was removed`);
    if (!node.sshHost) throw new DomainError("INVALID_STATE", `node ${node.name} has no SSH host: register one first`);
    const running = await tx.provisioningRun.findFirst({ where: { nodeId, status: "RUNNING" } });
    if (!running) return;
    // A replica that dies mid-run leaves its run RUNNING: past any step's longest wait it is abandoned.
    const staleBefore = this.clock.now() - (this.config.onlineTimeoutMs + ABANDONED_AFTER_MS);
    if (running.updatedAt.getTime() > staleBefore) {
      throw new DomainError("CONFLICT", `run ${running.id} is provisioning node ${node.name} right now`);
    }
    await tx.provisioningRun.update({
      where: { id: running.id },
      data: {
        status: "FAILED",
        error: "abandoned: the server running it stopped",
        finishedAt: new Date(this.clock.now()),
      },
    });
  }

  private logLine(runId: string, step: ProvisioningStep, output: string[], raw: string): void {
    // Terminal control sequences from remote commands are dropped: the output is stored and shown.
    const line = [...raw]
      .filter((char) => char === "\t" || char.charCodeAt(0) >= 0x20)
      .join("")
      .replace(/\x7f/g, "")
      .slice(0, 2_000);
    if (output.reduce((sum, l) => sum + l.length + 1, 0) < MAX_OUTPUT_CHARS) output.push(line);
    this.publish({
      runId,
      position: step.position,
      step: step.name,
      status: "RUNNING",
      line,
      at: new Date(this.clock.now()),
    });
  }

  private async saveStep(
    runId: string,
    step: ProvisioningStep,
    status: ProvisioningStepStatus,
    output: string[],
    error: string | null,
    startedAt: number | null,
    now = this.clock.now(),
  ): Promise<void> {
    const ended = status !== "RUNNING" && status !== "PENDING";
    // Touching the run marks it alive (see lockIdleNode).
    await this.prisma.provisioningRun.update({ where: { id: runId }, data: { status: "RUNNING" } });
    await this.prisma.provisioningStep.update({
      where: { id: step.id },
      data: {
        status,
        output: output.join("\n"),
        error,
        ...(status === "RUNNING" ? { startedAt: new Date(now) } : {}),
        ...(ended ? { finishedAt: new Date(now), durationMs: startedAt === null ? null : now - startedAt } : {}),
      },
    });
    this.publish({ runId, position: step.position, step: step.name, status, line: error, at: new Date(now) });
  }

  private publish(entry: ProvisioningLogEntry): void {
    this.events.publish(topics.provisioningLogs(entry.runId), entry);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readBundle(path: string): Promise<StepContext["bundle"]> {
  try {
    const bytes = await readFile(path);
    return { path, sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Checks a host registration; secrets are checked for shape only and never echoed. */
function checkHostInput(input: RegisterSshHostInput) {
  const fail = (message: string) => new DomainError("INVALID_INPUT", message);
  if (!NODE_NAME.test(input.name)) throw fail(`node name "${input.name}" is not valid`);
  if (!ADDRESS.test(input.address)) throw fail(`address "${input.address}" is not a host name or IP address`);
  const port = input.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw fail("port must be 1..65535");
  if (!USER.test(input.user)) throw fail(`user "${input.user}" is not a valid user name`);
  const keyProblem = privateKeyProblem(input.privateKey);
  if (keyProblem) throw fail(keyProblem);
  let hostKeyFingerprint: string | null = null;
  if (input.hostKeyFingerprint) {
    hostKeyFingerprint = normalizeFingerprint(input.hostKeyFingerprint);
    if (!hostKeyFingerprint) throw fail('hostKeyFingerprint must look like "SHA256:…" (ssh-keygen -lf)');
  }
  const installDir = input.installDir ?? ".vyvo-agent";
  if (!INSTALL_DIR.test(installDir) || installDir.split("/").includes(".."))
    throw fail("installDir must be a plain path without ..");
  const capacity = input.capacity ?? null;
  if (capacity !== null && (!Number.isInteger(capacity) || capacity < 1 || capacity > 1024))
    throw fail("capacity must be 1..1024");
  if (input.pool && !NODE_NAME.test(input.pool)) throw fail(`pool "${input.pool}" is not valid`);
  const agentEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.agentEnv ?? {})) {
    if (!/^VYVO_[A-Z0-9_]+$/.test(name) || MANAGED_ENV.has(name))
      throw fail(`${name} is not an agent setting provisioning lets you set`);
    if (typeof value !== "string" || /['\n\r]/.test(value))
      throw fail(`${name} must be a string without quotes or line breaks`);
    agentEnv[name] = value;
  }
  return {
    address: input.address,
    port,
    user: input.user,
    hostKeyFingerprint,
    installDir,
    capacity,
    pool: input.pool === undefined ? undefined : input.pool,
    labels: input.labels === undefined || input.labels === null ? null : validateLabels(input.labels),
    agentEnv,
  };
}
