import type { ContainerRunnerSpec } from "./protocol.js";

/**
 * The command lines for a `container` runner, built by pure functions (the hosts that test this have no container
 * engine). The container publishes its port on 127.0.0.1 only, gets the GPUs the spec asks for, and sees the
 * attempts' output folder at the same absolute path as the host, so `file://` URLs in its results resolve on the
 * host. It does not see the rest of the agent's work folder (the node token lives there).
 */

export interface ContainerRunOptions {
  engine: string;
  name: string;
  port: number;
  spec: ContainerRunnerSpec;
  /** PORT, VYVO_MODEL_ID, VYVO_MODEL_VERSION_ID, VYVO_WORK_DIR, …: set after the spec's env, so they win. */
  env: Record<string, string>;
  /** Host folders mounted read-write at the same path inside. */
  mounts: string[];
  /**
   * Names passed as `-e NAME` without a value: the engine's client takes them from its own environment, so
   * values (pushed secrets) never appear on a command line. The spec's env and `env` override them.
   */
  inherit?: string[];
}

/** The `--gpus` value: "all", a count, or `"device=0,2"` (quoted as docker wants for lists). */
export function gpusArg(gpus: ContainerRunnerSpec["gpus"]): string | undefined {
  if (gpus === undefined || gpus === null || gpus === "all") return "all";
  if (gpus === "none" || gpus === 0) return undefined;
  if (typeof gpus === "number") return String(gpus);
  if (gpus.length === 0) return undefined;
  return `"device=${gpus.join(",")}"`;
}

const NAME_UNSAFE = /[^a-zA-Z0-9_.-]/g;

/** A container name from the model version and port: `vyvo-runner-<id>-<port>`, safe for docker. */
export function containerName(modelVersionId: string, port: number): string {
  const id = modelVersionId.replace(NAME_UNSAFE, "-").slice(0, 40);
  return `vyvo-runner-${id}-${port}`;
}

/** `docker run --rm --init --name … --gpus … -p 127.0.0.1:PORT:PORT -e PORT=PORT … image args…` */
export function containerRunArgv(options: ContainerRunOptions): string[] {
  const { engine, name, port, spec } = options;
  const argv = [engine, "run", "--rm", "--init", "--name", name, "--label", "vyvo.runner=1"];
  const gpus = gpusArg(spec.gpus);
  if (gpus !== undefined) argv.push("--gpus", gpus);
  argv.push("-p", `127.0.0.1:${port}:${port}`);
  for (const mount of options.mounts) argv.push("-v", `${mount}:${mount}`);
  for (const name of options.inherit ?? []) argv.push("-e", name);
  const env = { ...spec.env, ...options.env, PORT: String(port) };
  for (const [key, value] of Object.entries(env)) argv.push("-e", `${key}=${value}`);
  argv.push(spec.image, ...spec.args);
  return argv;
}

/** Removes the container whatever its state: used after SIGKILL, which stops the engine's client, not the container. */
export function containerRemoveArgv(engine: string, name: string): string[] {
  return [engine, "rm", "-f", name];
}
