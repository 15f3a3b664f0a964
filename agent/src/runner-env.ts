import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Environment and secrets the control plane pushed (ConfigureEnvCommand), kept for every runner the agent starts.
 * Stored in `<workDir>/runner-env.json`, mode 0600, written atomically, so they survive restarts. Secrets are kept
 * apart from plain variables only so that nothing ever prints them: neither the log nor an ack carries a value.
 */

export const RUNNER_ENV_FILE = "runner-env.json";

export interface StoredRunnerEnv {
  env: Record<string, string>;
  secrets: Record<string, string>;
}

export interface EnvUpdate {
  env: Record<string, string>;
  secrets: Record<string, string>;
  unset: string[];
}

export class RunnerEnvStore {
  private current: StoredRunnerEnv = { env: {}, secrets: {} };

  constructor(private readonly workDir: string) {}

  get file(): string {
    return path.join(this.workDir, RUNNER_ENV_FILE);
  }

  /** Reads the saved file (a missing or unreadable one means nothing was pushed yet). */
  async load(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.file, "utf8")) as Partial<StoredRunnerEnv>;
      this.current = { env: strings(data.env), secrets: strings(data.secrets) };
      await chmod(this.file, 0o600);
    } catch {
      this.current = { env: {}, secrets: {} };
    }
  }

  /** What runners get on top of the agent's own environment: variables, then secrets. */
  variables(): Record<string, string> {
    return { ...this.current.env, ...this.current.secrets };
  }

  /** Names only, for logs and acks. */
  names(): { env: string[]; secrets: string[] } {
    return { env: Object.keys(this.current.env).sort(), secrets: Object.keys(this.current.secrets).sort() };
  }

  async apply(update: EnvUpdate): Promise<void> {
    const env = { ...this.current.env };
    const secrets = { ...this.current.secrets };
    // A name is either a plain variable or a secret, never both.
    for (const [name, value] of Object.entries(update.env)) {
      delete secrets[name];
      env[name] = value;
    }
    for (const [name, value] of Object.entries(update.secrets)) {
      delete env[name];
      secrets[name] = value;
    }
    for (const name of update.unset) {
      delete env[name];
      delete secrets[name];
    }
    await this.save({ env, secrets });
    this.current = { env, secrets };
  }

  private async save(data: StoredRunnerEnv): Promise<void> {
    await mkdir(this.workDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(data)}\n`, { mode: 0o600, flag: "wx" });
      await rename(tmp, this.file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
}

function strings(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}
