/** One GPU as the agent reports it in heartbeats (GpuInput), read defensively from Node.gpus (JSON). */
export interface Gpu {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMb: number;
  memoryUsedMb: number;
  utilizationPct: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

export function parseGpus(value: unknown): Gpu[] {
  if (!Array.isArray(value)) return [];
  const gpus: Gpu[] = [];
  for (const [i, raw] of value.entries()) {
    if (typeof raw !== "object" || raw === null) continue;
    const gpu = raw as Record<string, unknown>;
    gpus.push({
      index: num(gpu.index) ?? i,
      uuid: typeof gpu.uuid === "string" ? gpu.uuid : `gpu-${i}`,
      name: typeof gpu.name === "string" ? gpu.name : "GPU",
      memoryTotalMb: num(gpu.memoryTotalMb) ?? 0,
      memoryUsedMb: num(gpu.memoryUsedMb) ?? 0,
      utilizationPct: num(gpu.utilizationPct),
      temperatureC: num(gpu.temperatureC),
      powerW: num(gpu.powerW),
    });
  }
  return gpus.sort((a, b) => a.index - b.index);
}

/** Mean utilisation of GPUs that report one; null when none does. */
export function meanUtilization(gpus: Gpu[]): number | null {
  const known = gpus.map((gpu) => gpu.utilizationPct).filter((pct): pct is number => pct !== null);
  if (known.length === 0) return null;
  return known.reduce((sum, pct) => sum + pct, 0) / known.length;
}

/** Labels (a JSON object of strings) as "key=value" pairs. */
export function labelPairs(labels: unknown): [string, string][] {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return [];
  return Object.entries(labels as Record<string, unknown>).map(([key, value]) => [
    key,
    typeof value === "string" ? value : JSON.stringify(value),
  ]);
}
