import { posix } from "node:path";

/**
 * What a provisioning run does, as pure functions: its steps, the files it writes on the host,
 * and the decisions that make every step check-then-apply (a rerun on a provisioned host reports
 * "unchanged" for each). The I/O lives in provisioning-steps.ts.
 */

export const STEP_NAMES = [
  "connect",
  "check-node",
  "create-folders",
  "upload-agent",
  "write-env",
  "install-service",
  "start-agent",
  "wait-online",
  "forget-enrollment-token",
] as const;

export type StepName = (typeof STEP_NAMES)[number];
export type StepOutcome = "changed" | "unchanged";

export const MIN_NODE_MAJOR = 20;
/** The agent's exit code for "restart me" (RestartAgent, UpgradeAgent): the supervisor or systemd starts it again. */
export const RESTART_EXIT_CODE = 75;
export const SERVICE_NAME = "vyvo-agent";

export interface AgentPaths {
  installDir: string;
  bundle: string;
  envFile: string;
  supervisor: string;
  supervisorPid: string;
  log: string;
  workDir: string;
  tokenFile: string;
  systemdUnit: string;
}

export function agentPaths(installDir: string): AgentPaths {
  const at = (name: string) => posix.join(installDir, name);
  return {
    installDir,
    bundle: at("vyvo-agent.mjs"),
    envFile: at("agent.env"),
    supervisor: at("vyvo-agent-supervisor.sh"),
    supervisorPid: at("supervisor.pid"),
    log: at("agent.log"),
    workDir: at("work"),
    // Written by the agent after it enrolled (agent/src/enrollment.ts).
    tokenFile: posix.join(installDir, "work", "node-token.json"),
    systemdUnit: `/etc/systemd/system/${SERVICE_NAME}.service`,
  };
}

/** An install folder relative to the remote home is made absolute there. */
export function resolveInstallDir(installDir: string, home: string): string {
  return posix.isAbsolute(installDir) ? posix.normalize(installDir) : posix.join(home, installDir);
}

/** Quotes a value for a POSIX shell command line. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What the first check prints, one fact per line (see hostFactsScript). */
export interface HostFacts {
  home: string;
  nodePath: string | null;
  nodeVersion: string | null;
  systemd: boolean;
  uid: number | null;
  /** SHA-256 of the agent bundle already on the host (computed there), or null when there is none. */
  bundleSha256: string | null;
}

/**
 * The one shell command of a run that changes nothing (a login shell may take seconds to start, so
 * everything else goes over SFTP): prints `key=value` lines for parseHostFacts. Commands start in
 * the user's home, where a relative install folder lives.
 */
export function hostFactsScript(installDir: string): string {
  const bundle = shq(posix.join(installDir, "vyvo-agent.mjs"));
  return [
    'printf "home=%s\\n" "$HOME"',
    'printf "uid=%s\\n" "$(id -u)"',
    "if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi",
    'n="$(command -v node 2>/dev/null)"; if [ -n "$n" ]; then printf "node=%s\\n" "$n"; printf "nodeVersion=%s\\n" "$("$n" --version 2>/dev/null)"; fi',
    `if [ -f ${bundle} ]; then printf "bundleSha256=%s\\n" "$(sha256sum ${bundle} 2>/dev/null || shasum -a 256 ${bundle})"; fi`,
  ].join("; ");
}

export function parseHostFacts(output: string): HostFacts {
  const facts = new Map<string, string>();
  for (const line of output.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) facts.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const uid = facts.get("uid");
  return {
    home: facts.get("home") || "/",
    nodePath: facts.get("node") || null,
    nodeVersion: facts.get("nodeVersion") || null,
    systemd: facts.get("systemd") === "1",
    uid: uid && /^\d+$/.test(uid) ? Number(uid) : null,
    bundleSha256: /^([0-9a-f]{64})\b/.exec(facts.get("bundleSha256") ?? "")?.[1] ?? null,
  };
}

/** null when the host's node can run the agent, else why not. */
export function nodeProblem(facts: HostFacts): string | null {
  if (!facts.nodePath) return `no node on the remote PATH: install Node.js ${MIN_NODE_MAJOR} or newer on the host`;
  const major = Number(/^v?(\d+)\./.exec(facts.nodeVersion ?? "")?.[1]);
  if (!Number.isFinite(major))
    return `could not read the version of ${facts.nodePath} (${facts.nodeVersion ?? "no output"})`;
  if (major < MIN_NODE_MAJOR)
    return `${facts.nodePath} is ${facts.nodeVersion}: the agent needs Node.js ${MIN_NODE_MAJOR} or newer`;
  return null;
}

/** systemd runs the agent where it is the init system and we may write system units; else the supervisor script does. */
export function serviceMode(facts: HostFacts): "systemd" | "supervisor" {
  return facts.systemd && facts.uid === 0 ? "systemd" : "supervisor";
}

// ---- the env file ------------------------------------------------------------------------------------------------

export const ENROLLMENT_TOKEN_VAR = "VYVO_ENROLLMENT_TOKEN";
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export interface AgentEnvInput {
  serverUrl: string;
  workDir: string;
  capacity: number;
  nodeName: string;
  /** Extra VYVO_* settings from the host's registration (e.g. VYVO_LOG_LEVEL, VYVO_NVIDIA_SMI). */
  extra: Record<string, string>;
}

/** The settings the agent must have, without any enrollment token. */
export function desiredAgentEnv(input: AgentEnvInput): Record<string, string> {
  return {
    ...input.extra,
    VYVO_SERVER_URL: input.serverUrl,
    VYVO_WORK_DIR: input.workDir,
    VYVO_CAPACITY: String(input.capacity),
    VYVO_NODE_NAME: input.nodeName,
  };
}

/** `KEY='value'` lines: read the same by POSIX sh (`. file`) and by systemd's EnvironmentFile=. */
export function renderEnvFile(vars: Record<string, string>): string {
  const lines = ["# Written by Vyvo provisioning; rewritten on every run that changes it."];
  for (const [name, value] of Object.entries(vars).sort(([a], [b]) => a.localeCompare(b))) {
    if (!ENV_NAME.test(name)) throw new Error(`${name} is not a valid variable name`);
    if (/['\n\r\0]/.test(value)) throw new Error(`the value of ${name} may not contain quotes or line breaks`);
    lines.push(`${name}='${value}'`);
  }
  return `${lines.join("\n")}\n`;
}

export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line.trim());
    if (match?.[1]) vars[match[1]] = match[2] ?? "";
  }
  return vars;
}

export type EnvDecision =
  | { action: "keep" }
  /** Write these settings; `enroll`: with a fresh enrollment token (the host has no node token yet). */
  | { action: "write"; enroll: boolean };

/**
 * The env file is up to date when it holds exactly the desired settings. A host without a node token
 * needs an enrollment token too: an unused one already in the file is kept (`enrollmentTokenUsable`).
 */
export function decideEnv(
  current: Record<string, string> | null,
  desired: Record<string, string>,
  hostHasToken: boolean,
  enrollmentTokenUsable: boolean,
): EnvDecision {
  if (hostHasToken)
    return current && sameVars(current, desired) ? { action: "keep" } : { action: "write", enroll: false };
  if (!current?.[ENROLLMENT_TOKEN_VAR] || !enrollmentTokenUsable) return { action: "write", enroll: true };
  const { [ENROLLMENT_TOKEN_VAR]: _token, ...rest } = current;
  return sameVars(rest, desired) ? { action: "keep" } : { action: "write", enroll: true };
}

function sameVars(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

// ---- the service -------------------------------------------------------------------------------------------------

/**
 * Keeps the agent running where there is no systemd (and in tests): restarts it when it exits with
 * anything but 0, at once for RESTART_EXIT_CODE, else with a back-off; SIGTERM stops agent and supervisor.
 * The env file is read anew for every start, in a subshell, so removed settings are gone too.
 */
export function renderSupervisor(nodePath: string): string {
  return `#!/bin/sh
# Written by Vyvo provisioning: runs the Vyvo agent and starts it again when it stops unexpectedly.
cd "$(dirname "$0")" || exit 1
echo $$ > supervisor.pid
child=
stop() {
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi
  rm -f supervisor.pid agent.pid
  exit 0
}
trap stop TERM INT
delay=1
while :; do
  (set -a; . ./agent.env; set +a; exec ${shq(nodePath)} ./vyvo-agent.mjs) >> agent.log 2>&1 &
  child=$!
  echo "$child" > agent.pid
  wait "$child"
  code=$?
  child=
  if [ "$code" -eq 0 ]; then rm -f supervisor.pid agent.pid; exit 0; fi
  if [ "$code" -eq ${RESTART_EXIT_CODE} ]; then delay=1; continue; fi
  echo "supervisor: the agent exited with $code; starting it again in \${delay}s" >> agent.log
  # In the background, so that SIGTERM (trapped) ends the wait at once.
  sleep "$delay" &
  wait $!
  delay=$((delay * 2)); if [ "$delay" -gt 30 ]; then delay=30; fi
done
`;
}

export function renderSystemdUnit(nodePath: string, paths: AgentPaths): string {
  return `# Written by Vyvo provisioning.
[Unit]
Description=Vyvo GPU host agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=${paths.installDir}
EnvironmentFile=${paths.envFile}
ExecStart=${nodePath} ${paths.bundle}
# Exit 0 is a stop; anything else (${RESTART_EXIT_CODE}: restart or upgrade asked for) starts it again.
Restart=on-failure
RestartSec=2
KillMode=mixed
TimeoutStopSec=90

[Install]
WantedBy=multi-user.target
`;
}

/** A running agent is restarted when its bundle, env or service definition changed in this run. */
export function restartNeeded(outcomes: Partial<Record<StepName, StepOutcome>>, forced: boolean): boolean {
  return (
    forced || (["upload-agent", "write-env", "install-service"] as const).some((step) => outcomes[step] === "changed")
  );
}

/**
 * Which steps a run executes. A fresh run does all of them; a retry starts at the failed step and
 * keeps what the earlier ones found, except `connect`, which every session needs.
 */
export function stepsToRun(failedAt: number | null): StepName[] {
  if (failedAt === null || failedAt <= 0) return [...STEP_NAMES];
  return ["connect", ...STEP_NAMES.slice(failedAt)];
}
