import { execFileSync } from "node:child_process";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";

export interface Row {
  measure: string;
  value: string;
  target?: string;
  note?: string;
}

/** A plain aligned text table. */
export function formatTable(rows: Row[]): string {
  const header: Row = { measure: "measure", value: "value", target: "target", note: "note" };
  const all = [header, ...rows];
  const cells = all.map((row) => [row.measure, row.value, row.target ?? "", row.note ?? ""]);
  const widths = [0, 1, 2, 3].map((col) => Math.max(...cells.map((line) => (line[col] as string).length)));
  const line = (values: string[]) =>
    values
      .map((value, col) => value.padEnd(widths[col] as number))
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(cells[0] as string[]), rule, ...cells.slice(1).map(line)].join("\n");
}

export function machineInfo() {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model ?? "unknown",
    cpuCount: cpuList.length,
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function gitInfo(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { encoding: "utf8" }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Writes through a temporary file, so a crash never leaves half a result behind. */
export async function writeResults(path: string, results: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  await writeFile(temporary, `${JSON.stringify(results, null, 2)}\n`);
  await rename(temporary, path);
}
