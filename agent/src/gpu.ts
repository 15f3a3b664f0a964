import type { GpuInput } from "./protocol.js";

/**
 * GPU inventory and utilisation from nvidia-smi, parsed by pure functions (the command runs in gpu-probe.ts).
 * Values nvidia-smi cannot give (`[N/A]`, `[Not Supported]`, `[Unknown Error]`, …) become null; the two required
 * memory fields become 0.
 */

export const GPU_QUERY_FIELDS = [
  "index",
  "uuid",
  "name",
  "memory.total",
  "memory.used",
  "utilization.gpu",
  "temperature.gpu",
  "power.draw",
  "driver_version",
] as const;

export const NVIDIA_SMI_QUERY_ARGS = [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];

export type GpuInfo = GpuInput;

/** `[N/A]`, `N/A`, `[Not Supported]`, `[Unknown Error]`, `[Insufficient Permissions]`, "" → undefined. */
function present(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\[.*\]$/.test(value) || /^n\/?a$/i.test(value)) return undefined;
  return value;
}

function number(raw: string | undefined): number | null {
  const value = present(raw);
  if (value === undefined) return null;
  // Without `nounits` nvidia-smi appends units ("81559 MiB", "69.87 W", "0 %"): take the leading number.
  const match = /^-?\d+(?:\.\d+)?/.exec(value);
  return match ? Number(match[0]) : null;
}

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,
 * power.draw,driver_version --format=csv,noheader,nounits`. Lines that are not GPU rows (errors, a header) are
 * skipped. A name that holds ", " is rejoined, since nvidia-smi does not quote CSV fields.
 */
export function parseGpuQuery(text: string, cudaVersion: string | null = null): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const cells = line.split(",").map((cell) => cell.trim());
    if (cells.length < GPU_QUERY_FIELDS.length) continue;
    // index, uuid, name…, then six trailing fields; anything extra in the middle belongs to the name.
    const tail = cells.slice(cells.length - 6);
    const [index, uuid] = cells;
    const name = cells.slice(2, cells.length - 6).join(", ");
    const gpuIndex = number(index);
    if (gpuIndex === null || !Number.isInteger(gpuIndex) || gpuIndex < 0) continue;
    const [memoryTotal, memoryUsed, utilization, temperature, power, driver] = tail;
    gpus.push({
      index: gpuIndex,
      uuid: present(uuid) ?? `gpu-${gpuIndex}`,
      name: present(name) ?? "unknown",
      memoryTotalMb: Math.round(number(memoryTotal) ?? 0),
      memoryUsedMb: Math.round(number(memoryUsed) ?? 0),
      utilizationPct: number(utilization),
      temperatureC: number(temperature),
      powerW: number(power),
      driverVersion: present(driver) ?? null,
      cudaVersion,
    });
  }
  return gpus.sort((a, b) => a.index - b.index);
}

/** The CUDA version from the banner of plain `nvidia-smi` ("CUDA Version: 12.4"), or from `-q` ("CUDA Version : 12.4"). */
export function parseCudaVersion(text: string): string | null {
  const match = /CUDA Version\s*:\s*([0-9][0-9.]*)/i.exec(text);
  return match?.[1] ?? null;
}

/** The driver version from the banner, used when the query rows lack it. */
export function parseDriverVersion(text: string): string | null {
  const match = /Driver Version\s*:\s*([0-9][0-9.]*)/i.exec(text);
  return match?.[1] ?? null;
}
