import { randomUUID } from "node:crypto";
import { DomainError, notFound } from "../errors.js";
import { type ModelVersion, Prisma, type PrismaClient } from "../generated/prisma/client.js";
import type { InputValidator } from "./input-validator.js";

/** How an agent starts a version's runner. Stored as JSON on the version. */
export type RunnerSpec =
  | {
      kind: "process";
      command: string;
      args?: string[];
      cwd?: string;
      env?: Record<string, string>;
      artifactUrl?: string;
    }
  | { kind: "container"; image: string; args?: string[]; env?: Record<string, string>; gpus?: string };

export interface CreateModelInput {
  id: string;
  name?: string;
  description?: string;
}

export interface CreateVersionInput {
  modelId: string;
  runner: RunnerSpec;
  inputSchema?: unknown;
  outputSchema?: unknown;
  gpuCount?: number;
  gpuMemoryMb?: number;
  maxAttempts?: number;
  timeoutMs?: number;
}

/** App ids as fal has them: owner/name, lowercase letters, digits, dash, underscore and dot. */
export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;

const VERSION_CACHE_MS = 1_000;

export class ModelService {
  /** Latest version per model, cached briefly: submit reads it on every job. */
  private readonly latest = new Map<string, { version: ModelVersion; at: number }>();
  /** Reads in flight, so that concurrent submits share one. */
  private readonly reading = new Map<string, Promise<ModelVersion>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly validator: InputValidator,
    private readonly now: () => number,
  ) {}

  async createModel(input: CreateModelInput) {
    if (!MODEL_ID_PATTERN.test(input.id)) {
      throw new DomainError("INVALID_INPUT", `model id "${input.id}" must look like owner/name`, [
        { loc: ["id"], msg: "must match owner/name", type: "pattern" },
      ]);
    }
    try {
      return await this.prisma.model.create({
        data: { id: input.id, name: input.name ?? input.id, description: input.description ?? null },
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw new DomainError("CONFLICT", `model ${input.id} already exists`);
      }
      throw error;
    }
  }

  /** Versions are immutable: each call adds the next number. */
  async createVersion(input: CreateVersionInput): Promise<ModelVersion> {
    validateRunner(input.runner);
    this.validator.assertValidSchema(input.inputSchema);
    if (input.maxAttempts !== undefined && (input.maxAttempts < 1 || input.maxAttempts > 20)) {
      throw new DomainError("INVALID_INPUT", "maxAttempts must be between 1 and 20");
    }
    const model = await this.prisma.model.findUnique({ where: { id: input.modelId } });
    if (!model) throw notFound("model", input.modelId);
    for (let tries = 0; ; tries++) {
      const last = await this.prisma.modelVersion.findFirst({
        where: { modelId: input.modelId },
        orderBy: { version: "desc" },
        select: { version: true },
      });
      try {
        const version = await this.prisma.modelVersion.create({
          data: {
            id: randomUUID(),
            modelId: input.modelId,
            version: (last?.version ?? 0) + 1,
            runner: input.runner as Prisma.InputJsonValue,
            inputSchema: (input.inputSchema ?? Prisma.DbNull) as Prisma.InputJsonValue,
            outputSchema: (input.outputSchema ?? Prisma.DbNull) as Prisma.InputJsonValue,
            gpuCount: input.gpuCount ?? 0,
            gpuMemoryMb: input.gpuMemoryMb ?? 0,
            maxAttempts: input.maxAttempts ?? 3,
            timeoutMs: input.timeoutMs ?? null,
          },
        });
        this.latest.delete(input.modelId);
        this.reading.delete(input.modelId);
        return version;
      } catch (error) {
        // Two concurrent creates picked the same number: take the next one.
        const raced = error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
        if (!raced || tries >= 5) throw error;
      }
    }
  }

  /**
   * The version new jobs of a model run on. Past the cache's second, the version known so far
   * is still used while one read (not one per submit) fetches the latest: versions are
   * immutable, and a new one is picked up by that read (at once on the replica that made it).
   */
  async currentVersion(modelId: string): Promise<ModelVersion> {
    const cached = this.latest.get(modelId);
    if (cached && this.now() - cached.at < VERSION_CACHE_MS) return cached.version;
    const read = this.readCurrentVersion(modelId);
    if (!cached) return read;
    read.catch(() => undefined); // the next call reads again
    return cached.version;
  }

  private readCurrentVersion(modelId: string): Promise<ModelVersion> {
    const inFlight = this.reading.get(modelId);
    if (inFlight) return inFlight;
    let started: Promise<ModelVersion> | undefined;
    started = (async () => {
      const version = await this.prisma.modelVersion.findFirst({ where: { modelId }, orderBy: { version: "desc" } });
      if (!version) {
        const exists = await this.prisma.model.count({ where: { id: modelId } });
        throw exists
          ? new DomainError("INVALID_STATE", `model ${modelId} has no version to run`)
          : notFound("model", modelId);
      }
      // A version created meanwhile dropped this read (createVersion): its answer may be old.
      if (this.reading.get(modelId) === started) this.latest.set(modelId, { version, at: this.now() });
      return version;
    })().finally(() => {
      if (this.reading.get(modelId) === started) this.reading.delete(modelId);
    });
    this.reading.set(modelId, started);
    return started;
  }

  async versionById(id: string): Promise<ModelVersion> {
    const version = await this.prisma.modelVersion.findUnique({ where: { id } });
    if (!version) throw notFound("model version", id);
    return version;
  }
}

function validateRunner(runner: RunnerSpec): void {
  const problem =
    runner.kind === "process"
      ? !runner.command && !runner.artifactUrl && "a process runner needs a command"
      : runner.kind === "container"
        ? !runner.image && "a container runner needs an image"
        : `unknown runner kind ${(runner as { kind: string }).kind}`;
  if (problem)
    throw new DomainError("INVALID_INPUT", problem, [{ loc: ["runner"], msg: problem, type: "value_error" }]);
}
