import { setTimeout as sleep } from "node:timers/promises";
import {
  type AgentPaths,
  decideEnv,
  desiredAgentEnv,
  ENROLLMENT_TOKEN_VAR,
  type HostFacts,
  nodeProblem,
  parseEnvFile,
  renderEnvFile,
  renderSupervisor,
  renderSystemdUnit,
  restartNeeded,
  SERVICE_NAME,
  type StepName,
  type StepOutcome,
  serviceMode,
  shq,
} from "./provisioning-plan.js";
import type { SshConnection } from "./ssh-connection.js";

/** What the steps of one run share. Built by the ProvisioningService; the SSH session is already open. */
export interface StepContext {
  ssh: SshConnection;
  facts: HostFacts;
  paths: AgentPaths;
  /** tokenHash: the node token the server knows (null until it enrolled, or once it was removed). */
  node: { id: string; name: string; capacity: number; tokenHash: string | null };
  agentEnv: Record<string, string>;
  serverUrl: string;
  /** null when the bundle file is missing (the upload step says how to build it). */
  bundle: { path: string; sha256: string; bytes: number } | null;
  forceRestart: boolean;
  /** What the steps of this run (and, on a retry, of its earlier try) found. */
  outcomes: Partial<Record<StepName, StepOutcome>>;
  /** When start-agent (re)started the agent, by the server's clock. */
  agentStartedAt: number | null;
  onlineTimeoutMs: number;
  /** Aborted when the server shuts down: waits end at once. */
  signal: AbortSignal;
  now(): number;
  log(line: string): void;
  enrollment: {
    /** A fresh single-use token bound to this node's name. */
    create(): Promise<string>;
    /** An unused, unexpired token (so a rerun during enrollment keeps it). */
    usable(token: string): Promise<boolean>;
  };
  /** The node's presence now, from the database. */
  presence(): Promise<{ connected: boolean; lastHeartbeatAt: Date | null }>;
  /** Whether a node token file's token is this node's current one. */
  tokenIsCurrent(tokenFileText: string): boolean;
}

export type StepRunner = (ctx: StepContext) => Promise<StepOutcome>;

const STOP_WAIT_MS = 90_000;

/** Every step but `connect`, which the service runs itself (it opens the session). */
export const STEPS: Record<Exclude<StepName, "connect">, StepRunner> = {
  "check-node": async (ctx) => {
    const problem = nodeProblem(ctx.facts);
    if (problem) throw new Error(problem);
    ctx.log(`node ${ctx.facts.nodeVersion} at ${ctx.facts.nodePath}`);
    ctx.log(
      `the agent runs as a ${serviceMode(ctx.facts) === "systemd" ? "systemd service" : "supervised background process"}`,
    );
    return "unchanged";
  },

  "create-folders": async (ctx) => {
    const { installDir, workDir } = ctx.paths;
    if ((await ctx.ssh.exists(installDir)) && (await ctx.ssh.exists(workDir))) {
      ctx.log(`${installDir} exists`);
      return "unchanged";
    }
    await ctx.ssh.mkdirs(workDir, 0o700);
    await ctx.ssh.chmod(installDir, 0o700);
    ctx.log(`created ${installDir} and ${workDir} (mode 700)`);
    return "changed";
  },

  "upload-agent": async (ctx) => {
    if (!ctx.bundle)
      throw new Error(
        "the agent bundle is missing on the server: build it with node agent/build.mjs (or set AGENT_BUNDLE_PATH)",
      );
    // Computed on the host by the first check (sha256sum), so an unchanged bundle is never read back.
    const remote = ctx.facts.bundleSha256;
    if (remote === ctx.bundle.sha256) {
      ctx.log(`agent bundle up to date (sha256 ${ctx.bundle.sha256.slice(0, 16)}…)`);
      return "unchanged";
    }
    ctx.log(
      remote ? `agent bundle differs (sha256 ${remote.slice(0, 16)}…): uploading` : "no agent bundle yet: uploading",
    );
    await ctx.ssh.upload(ctx.bundle.path, ctx.paths.bundle, 0o755);
    const uploaded = await ctx.ssh.sha256(ctx.paths.bundle);
    if (uploaded !== ctx.bundle.sha256)
      throw new Error("the uploaded bundle's sha256 does not match: upload corrupted");
    ctx.log(`uploaded ${Math.round(ctx.bundle.bytes / 1024)} KiB, sha256 ${ctx.bundle.sha256.slice(0, 16)}… verified`);
    return "changed";
  },

  "write-env": async (ctx) => {
    const desired = desiredAgentEnv({
      serverUrl: ctx.serverUrl,
      workDir: ctx.paths.workDir,
      capacity: ctx.node.capacity,
      nodeName: ctx.node.name,
      extra: ctx.agentEnv,
    });
    const tokenText = await ctx.ssh.readFile(ctx.paths.tokenFile);
    let hostHasToken = tokenText !== null;
    if (tokenText !== null && !ctx.tokenIsCurrent(tokenText)) {
      // Revoked (the node was removed) or another node's: the agent would be refused with 4403. Enroll anew.
      await ctx.ssh.remove(ctx.paths.tokenFile);
      ctx.log(
        "the host's node token is no longer valid here (node removed, or enrolled elsewhere): removed it, enrolling again",
      );
      hostHasToken = false;
    }
    const text = await ctx.ssh.readFile(ctx.paths.envFile);
    const current = text === null ? null : parseEnvFile(text);
    const pending = current?.[ENROLLMENT_TOKEN_VAR];
    const decision = decideEnv(current, desired, hostHasToken, pending ? await ctx.enrollment.usable(pending) : false);
    const names = Object.keys(desired).sort().join(", ");
    if (decision.action === "keep") {
      if ((await ctx.ssh.mode(ctx.paths.envFile)) === 0o600) {
        ctx.log(`env file up to date (${names})`);
        return "unchanged";
      }
      await ctx.ssh.chmod(ctx.paths.envFile, 0o600);
      ctx.log("env file was readable by others: mode set to 600");
      return "changed";
    }
    const vars = decision.enroll ? { ...desired, [ENROLLMENT_TOKEN_VAR]: await ctx.enrollment.create() } : desired;
    await ctx.ssh.writeFile(ctx.paths.envFile, renderEnvFile(vars), 0o600);
    // Names only: the file holds a token, and this output is stored and streamed.
    ctx.log(`wrote ${ctx.paths.envFile} (mode 600): ${names}`);
    ctx.log(
      decision.enroll ? "with a fresh enrollment token (no node token on the host yet)" : "the host has its node token",
    );
    return "changed";
  },

  "install-service": async (ctx) => {
    const nodePath = ctx.facts.nodePath as string;
    if (serviceMode(ctx.facts) === "systemd") {
      const unit = renderSystemdUnit(nodePath, ctx.paths);
      if ((await ctx.ssh.readFile(ctx.paths.systemdUnit)) === unit) {
        ctx.log(`${ctx.paths.systemdUnit} up to date`);
        return "unchanged";
      }
      await ctx.ssh.writeFile(ctx.paths.systemdUnit, unit, 0o644);
      await ctx.ssh.run(`systemctl daemon-reload && systemctl enable ${SERVICE_NAME}`, ctx.log);
      ctx.log(`installed and enabled ${SERVICE_NAME}.service`);
      return "changed";
    }
    const script = renderSupervisor(nodePath);
    if ((await ctx.ssh.readFile(ctx.paths.supervisor)) === script) {
      ctx.log(`${ctx.paths.supervisor} up to date`);
      return "unchanged";
    }
    await ctx.ssh.writeFile(ctx.paths.supervisor, script, 0o755);
    ctx.log(`wrote ${ctx.paths.supervisor} (no systemd here: a supervisor keeps the agent running)`);
    return "changed";
  },

  "start-agent": async (ctx) => {
    const systemd = serviceMode(ctx.facts) === "systemd";
    const running = systemd ? await systemdActive(ctx) : await supervisorRunning(ctx);
    const restart = restartNeeded(ctx.outcomes, ctx.forceRestart);
    if (running && !restart) {
      ctx.log("the agent is running");
      return "unchanged";
    }
    ctx.agentStartedAt = ctx.now();
    if (systemd) {
      await ctx.ssh.run(`systemctl ${running ? "restart" : "start"} ${SERVICE_NAME}`, ctx.log);
    } else {
      if (running) await stopSupervisor(ctx);
      await ctx.ssh.run(
        `cd ${shq(ctx.paths.installDir)} && (setsid nohup sh ./vyvo-agent-supervisor.sh > /dev/null 2>&1 < /dev/null &)`,
      );
      await waitFor(
        () => supervisorRunning(ctx),
        10_000,
        "the supervisor did not start (see agent.log on the host)",
        ctx.signal,
      );
    }
    ctx.log(running ? "restarted the agent (its bundle, env or service changed)" : "started the agent");
    return "changed";
  },

  "wait-online": async (ctx) => {
    const since = ctx.agentStartedAt;
    const online = async () => {
      const presence = await ctx.presence();
      return presence.connected && (since === null || (presence.lastHeartbeatAt?.getTime() ?? 0) >= since);
    };
    if (since === null && (await online())) {
      ctx.log("the node is online");
      return "unchanged";
    }
    ctx.log(`waiting up to ${Math.round(ctx.onlineTimeoutMs / 1000)} s for the agent to connect`);
    try {
      await waitFor(
        online,
        ctx.onlineTimeoutMs,
        `the node did not come online within ${ctx.onlineTimeoutMs} ms`,
        ctx.signal,
      );
    } catch (error) {
      const tail = await ctx.ssh.exec(`tail -n 15 ${shq(ctx.paths.log)} 2>/dev/null`).catch(() => null);
      for (const line of tail?.stdout.split("\n").filter(Boolean) ?? []) ctx.log(`agent.log: ${line}`);
      throw error;
    }
    ctx.log("the node is online");
    return since === null ? "unchanged" : "changed";
  },

  "forget-enrollment-token": async (ctx) => {
    const text = await ctx.ssh.readFile(ctx.paths.envFile);
    const vars = text === null ? null : parseEnvFile(text);
    if (!vars?.[ENROLLMENT_TOKEN_VAR] || !(await ctx.ssh.exists(ctx.paths.tokenFile))) {
      ctx.log("no enrollment token left on the host");
      return "unchanged";
    }
    const { [ENROLLMENT_TOKEN_VAR]: _used, ...rest } = vars;
    await ctx.ssh.writeFile(ctx.paths.envFile, renderEnvFile(rest), 0o600);
    ctx.log("the agent enrolled: removed the used enrollment token from the env file");
    return "changed";
  },
};

async function systemdActive(ctx: StepContext): Promise<boolean> {
  return (await ctx.ssh.exec(`systemctl is-active --quiet ${SERVICE_NAME}`)).code === 0;
}

function supervisorRunning(ctx: StepContext): Promise<boolean> {
  return ctx.ssh.processAlive(ctx.paths.supervisorPid);
}

/** SIGTERM: the supervisor stops the agent, which drains first; SIGKILL if that takes too long. */
async function stopSupervisor(ctx: StepContext): Promise<void> {
  const pidfile = shq(ctx.paths.supervisorPid);
  await ctx.ssh.exec(`kill -TERM "$(cat ${pidfile})" 2>/dev/null`);
  try {
    await waitFor(async () => !(await supervisorRunning(ctx)), STOP_WAIT_MS, "the agent did not stop", ctx.signal);
  } catch {
    ctx.log(`the agent did not stop within ${STOP_WAIT_MS / 1000} s: killing it`);
    const agentPid = shq(`${ctx.paths.installDir}/agent.pid`);
    await ctx.ssh.exec(`kill -KILL "$(cat ${pidfile})" "$(cat ${agentPid})" 2>/dev/null; rm -f ${pidfile}`);
  }
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  message: string,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(message);
    await sleep(200, undefined, { signal });
  }
}
