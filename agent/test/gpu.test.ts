import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NVIDIA_SMI_QUERY_ARGS, parseCudaVersion, parseDriverVersion, parseGpuQuery } from "../src/gpu.js";
import { GpuProbe } from "../src/gpu-probe.js";
import { silentLogger } from "../src/log.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/nvidia-smi/${name}`, import.meta.url), "utf8");

describe("nvidia-smi parsing", () => {
  it("asks for exactly the fields it parses", () => {
    expect(NVIDIA_SMI_QUERY_ARGS).toEqual([
      "--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw,driver_version",
      "--format=csv,noheader,nounits",
    ]);
  });

  it("parses an 8×H100 box", () => {
    const cuda = parseCudaVersion(fixture("h100x8-nvidia-smi.txt"));
    expect(cuda).toBe("12.4");
    const gpus = parseGpuQuery(fixture("h100x8-query.csv"), cuda);
    expect(gpus).toHaveLength(8);
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(gpus[0]).toEqual({
      index: 0,
      uuid: "GPU-2f6a0b1c-93d4-7e58-a1b2-6c7d8e9f0a11",
      name: "NVIDIA H100 80GB HBM3",
      memoryTotalMb: 81559,
      memoryUsedMb: 74213,
      utilizationPct: 98,
      temperatureC: 67,
      powerW: 612.48,
      driverVersion: "550.90.07",
      cudaVersion: "12.4",
    });
    expect(gpus[2]).toMatchObject({ memoryUsedMb: 1, utilizationPct: 0, powerW: 69.87 });
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(8);
  });

  it("parses a single consumer GPU", () => {
    const text = fixture("rtx4090-nvidia-smi.txt");
    const gpus = parseGpuQuery(fixture("rtx4090-query.csv"), parseCudaVersion(text));
    expect(gpus).toEqual([
      {
        index: 0,
        uuid: "GPU-5e0f3a2b-7c41-9d86-2e1f-b0a9c8d7e6f5",
        name: "NVIDIA GeForce RTX 4090",
        memoryTotalMb: 24564,
        memoryUsedMb: 1342,
        utilizationPct: 3,
        temperatureC: 41,
        powerW: 28.67,
        driverVersion: "560.35.03",
        cudaVersion: "12.6",
      },
    ]);
    expect(parseDriverVersion(text)).toBe("560.35.03");
  });

  it("turns [N/A] and [Not Supported] into null (and required memory into 0)", () => {
    const gpus = parseGpuQuery(fixture("na-values-query.csv"), parseCudaVersion(fixture("na-values-nvidia-smi.txt")));
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toMatchObject({
      name: "NVIDIA GeForce GTX 1650 with Max-Q Design",
      powerW: null,
      temperatureC: 46,
      cudaVersion: "12.2",
    });
    expect(gpus[1]).toMatchObject({
      name: "GRID A100D-40C",
      memoryTotalMb: 40960,
      memoryUsedMb: 0,
      utilizationPct: null,
      temperatureC: null,
      powerW: null,
    });
  });

  it("rejoins a GPU name that contains a comma and reads values with units", () => {
    const [gpu] = parseGpuQuery("3, GPU-x, Tesla V100-SXM2-16GB, rev B, 16160 MiB, 0 MiB, 0 %, 35, 41.2 W, 470.82\n");
    expect(gpu).toMatchObject({
      index: 3,
      name: "Tesla V100-SXM2-16GB, rev B",
      memoryTotalMb: 16160,
      utilizationPct: 0,
      powerW: 41.2,
    });
  });

  it("gives no GPUs for an nvidia-smi error text or an empty answer", () => {
    expect(parseGpuQuery(fixture("driver-not-loaded.txt"))).toEqual([]);
    expect(parseGpuQuery("")).toEqual([]);
    expect(parseCudaVersion(fixture("driver-not-loaded.txt"))).toBeNull();
  });
});

describe("GpuProbe", () => {
  it("runs nvidia-smi once for the banner and each time for the query", async () => {
    const calls: string[][] = [];
    const probe = new GpuProbe({
      log: silentLogger,
      exec: async (_command, args) => {
        calls.push(args);
        return args.length === 0 ? fixture("rtx4090-nvidia-smi.txt") : fixture("rtx4090-query.csv");
      },
    });
    expect((await probe.probe())[0]?.cudaVersion).toBe("12.6");
    expect(await probe.probe()).toHaveLength(1);
    expect(calls).toEqual([[], NVIDIA_SMI_QUERY_ARGS, NVIDIA_SMI_QUERY_ARGS]);
  });

  it("reports an empty list on a host without nvidia-smi", async () => {
    const probe = new GpuProbe({ log: silentLogger, command: "/nonexistent/nvidia-smi" });
    expect(await probe.probe()).toEqual([]);
  });

  it("reports an empty list when nvidia-smi fails (driver not loaded)", async () => {
    const probe = new GpuProbe({
      log: silentLogger,
      exec: async () => {
        throw Object.assign(new Error("Command failed: nvidia-smi (exit 9)"), { code: 9 });
      },
    });
    expect(await probe.probe()).toEqual([]);
  });
});
