import { execFile } from "node:child_process";
import { type GpuInfo, NVIDIA_SMI_QUERY_ARGS, parseCudaVersion, parseGpuQuery } from "./gpu.js";
import { errorMessage, type Logger } from "./log.js";

export type ExecFn = (command: string, args: string[], timeoutMs: number) => Promise<string>;

/** Runs a command and returns its stdout; rejects with the error (ENOENT when it is not installed). */
export const execText: ExecFn = (command, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: "utf8" }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });

export interface GpuProbeOptions {
  command?: string;
  timeoutMs?: number;
  exec?: ExecFn;
  log: Logger;
}

/**
 * Asks nvidia-smi for the GPUs on each call (heartbeats carry fresh utilisation). The CUDA version comes from the
 * banner of plain `nvidia-smi`, read once. A host without nvidia-smi (or whose driver does not answer) has no GPUs:
 * the probe returns [] and the agent still serves CPU runners.
 */
export class GpuProbe {
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly exec: ExecFn;
  private cudaVersion: string | null | undefined;
  private warned = false;

  constructor(private readonly options: GpuProbeOptions) {
    this.command = options.command ?? "nvidia-smi";
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.exec = options.exec ?? execText;
  }

  async probe(): Promise<GpuInfo[]> {
    try {
      if (this.cudaVersion === undefined) {
        this.cudaVersion = parseCudaVersion(await this.exec(this.command, [], this.timeoutMs));
      }
      const gpus = parseGpuQuery(
        await this.exec(this.command, NVIDIA_SMI_QUERY_ARGS, this.timeoutMs),
        this.cudaVersion,
      );
      this.warned = false;
      return gpus;
    } catch (error) {
      this.cudaVersion = undefined;
      if (!this.warned) {
        this.warned = true;
        const missing = (error as NodeJS.ErrnoException)?.code === "ENOENT";
        this.options.log.info(
          missing ? "no nvidia-smi on this host: reporting no GPUs" : "nvidia-smi failed: reporting no GPUs",
          {
            error: missing ? undefined : errorMessage(error),
          },
        );
      }
      return [];
    }
  }
}
