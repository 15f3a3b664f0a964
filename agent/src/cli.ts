import { readFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import { Agent } from "./agent.js";
import { type AgentConfig, CONFIG_KEYS, ConfigError, flagName, resolveConfig } from "./config.js";
import { EnrollmentError } from "./enrollment.js";
import { createLogger, errorMessage } from "./log.js";
import { AGENT_VERSION } from "./version.js";

/** The `vyvo-agent` command: flags, help, exit codes and signals. */

/** Exit code after RestartAgent/UpgradeAgent: systemd (Restart=on-failure) or the supervisor starts the agent again. */
export const RESTART_EXIT_CODE = 75;

export const HELP = `vyvo-agent ${AGENT_VERSION}: the Vyvo GPU host agent

Usage: vyvo-agent [options]

Dials the control plane over WebSocket (no inbound port needed), runs the jobs it is given with runner processes or
containers, and reports back. Settings come from --config FILE (JSON, camelCase keys), then VYVO_* environment
variables, then flags (a flag wins).

Options (environment variable in brackets):
  --server-url URL            control plane, http(s)://host[:port] (the socket is ws(s)://host/graphql) [VYVO_SERVER_URL]
  --enrollment-token TOKEN    single-use token for the first start; the node token is then saved [VYVO_ENROLLMENT_TOKEN]
  --node-token TOKEN          use this node token instead of the saved one [VYVO_NODE_TOKEN]
  --work-dir DIR              node token, runner bundles, outputs (default ~/.vyvo-agent) [VYVO_WORK_DIR]
  --capacity N                jobs run at once (default 1) [VYVO_CAPACITY]
  --models A,B                serve only these model ids (default: any) [VYVO_MODELS]
  --node-name NAME            name given at enrollment (default: hostname) [VYVO_NODE_NAME]
  --max-runners N             runner processes kept at once, idle ones included (default: capacity) [VYVO_MAX_RUNNERS]
  --container-engine CMD      docker or podman, for container runners (default docker) [VYVO_CONTAINER_ENGINE]
  --nvidia-smi CMD            nvidia-smi command (default nvidia-smi) [VYVO_NVIDIA_SMI]
  --runner-startup-timeout-ms MS  wait for a runner's /health (default 300000) [VYVO_RUNNER_STARTUP_TIMEOUT_MS]
  --runner-idle-timeout-ms MS stop idle runners after this; 0 = keep (default 600000) [VYVO_RUNNER_IDLE_TIMEOUT_MS]
  --stop-grace-ms MS          SIGTERM→SIGKILL grace when the agent stops a runner (default 10000) [VYVO_STOP_GRACE_MS]
  --shutdown-deadline-ms MS   drain time on SIGTERM/SIGINT before stopping jobs (default 60000) [VYVO_SHUTDOWN_DEADLINE_MS]
  --log-level LEVEL           debug, info, warn or error (default info) [VYVO_LOG_LEVEL]
  --config FILE               JSON file with any of the settings above (e.g. {"serverUrl": "...", "capacity": 2})
  -h, --help                  show this help
  -v, --version               show the version

Tuning (flags or env, rarely needed): --heartbeat-interval-ms, --log-flush-interval-ms (until the server's Hello),
--reconnect-base-ms, --reconnect-max-ms, --crash-loop-base-ms, --crash-loop-max-ms, --crash-loop-stable-ms.

Signals: SIGTERM or SIGINT drains (finish running jobs, take no new ones) up to the shutdown deadline, then stops,
and exits 0. A second signal stops at once. Exit codes: 0 stopped, 1 error at run time (e.g. token refused),
2 bad configuration or credentials, 75 stopped to be restarted (RestartAgent or UpgradeAgent from the control plane).
`;

export interface CliArgs {
  help: boolean;
  version: boolean;
  configPath: string | undefined;
  flags: Partial<Record<string, string>>;
}

/** Parses argv (without node and script). Throws ConfigError on unknown flags or missing values. */
export function parseCliArgs(argv: string[]): CliArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "v" },
    config: { type: "string" },
  };
  for (const key of CONFIG_KEYS) options[flagName(key)] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(`${errorMessage(error)}\nRun vyvo-agent --help for the options.`);
  }
  const flags: Partial<Record<string, string>> = {};
  for (const key of CONFIG_KEYS) {
    const value = values[flagName(key)];
    if (typeof value === "string") flags[key] = value;
  }
  return {
    help: values.help === true,
    version: values.version === true,
    configPath: typeof values.config === "string" ? values.config : undefined,
    flags,
  };
}

/** Reads argv, the environment and the config file into a validated config. Throws ConfigError. */
export async function loadConfig(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<AgentConfig | CliArgs> {
  const args = parseCliArgs(argv);
  if (args.help || args.version) return args;
  const configPath = args.configPath ?? env.VYVO_CONFIG;
  let file: { path: string; data: unknown } | undefined;
  if (configPath) {
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read the config file ${configPath}: ${errorMessage(error)}`);
    }
    try {
      file = { path: configPath, data: JSON.parse(text) };
    } catch (error) {
      throw new ConfigError(`the config file ${configPath} is not valid JSON: ${errorMessage(error)}`);
    }
  }
  return resolveConfig({ flags: args.flags, env, file, hostname: os.hostname(), homedir: os.homedir() });
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  exit: (code: number) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/** Runs the agent until a signal or a fatal error; calls `io.exit` with the exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: CliIo = processIo,
): Promise<void> {
  let loaded: AgentConfig | CliArgs;
  try {
    loaded = await loadConfig(argv, env);
  } catch (error) {
    io.stderr(`vyvo-agent: ${errorMessage(error)}\n`);
    io.exit(2);
    return;
  }
  if ("help" in loaded) {
    io.stdout(loaded.help ? HELP : `${AGENT_VERSION}\n`);
    io.exit(0);
    return;
  }
  const config = loaded;
  const log = createLogger({ level: config.logLevel, write: io.stderr });
  const agent = new Agent(config, { log });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn(`${signal} again: stopping now`);
      agent.killRunnersNow();
      io.exit(1);
      return;
    }
    log.info(`${signal}: draining and shutting down`, { deadlineMs: config.shutdownDeadlineMs });
    void agent.shutdown();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("exit", () => agent.killRunnersNow());

  try {
    await agent.start();
  } catch (error) {
    const code = error instanceof EnrollmentError ? 2 : 1;
    log.error(`cannot start: ${errorMessage(error)}`);
    io.exit(code);
    return;
  }
  const error = await agent.finished;
  if (error) {
    log.error(`stopped: ${error.message}`);
    io.exit(1);
    return;
  }
  if (agent.restartRequested) {
    log.info(`stopped to restart (exit ${RESTART_EXIT_CODE}): the service starts the agent again`);
    io.exit(RESTART_EXIT_CODE);
    return;
  }
  log.info("stopped");
  io.exit(0);
}
