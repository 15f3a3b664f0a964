/** Small pure helpers for nodes: GPU aggregates and labels. */

export interface GpuLike {
  utilizationPct?: number | null;
}

/** Mean utilisation of GPUs that report one; null when none does. */
export function meanUtilization(gpus: readonly GpuLike[]): number | null {
  const known = gpus.map((gpu) => gpu.utilizationPct).filter((pct): pct is number => typeof pct === "number");
  if (known.length === 0) return null;
  return known.reduce((sum, pct) => sum + pct, 0) / known.length;
}

/** Labels (a JSON object) as "key=value" pairs. */
export function labelPairs(labels: unknown): [string, string][] {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return [];
  return Object.entries(labels as Record<string, unknown>).map(([key, value]) => [
    key,
    typeof value === "string" ? value : JSON.stringify(value),
  ]);
}

/** "key=value" lines (or comma-separated) into a labels object; the first bad entry is an error. */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {};
  for (const entry of text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf("=");
    if (eq <= 0) return { error: `"${entry}" is not key=value` };
    labels[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return { labels };
}

export function labelsText(labels: unknown): string {
  return labelPairs(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");
}
