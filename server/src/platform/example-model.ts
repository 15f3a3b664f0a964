import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { inputSchema } from "../../../runners/image-tools/src/input-schema.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { ModelService, RunnerSpec } from "../models/model-service.js";

export const EXAMPLE_MODEL_ID = "vyvo/image-tools";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** How the local agent starts the example runner from this checkout. */
export function exampleRunnerSpec(): RunnerSpec {
  return {
    kind: "process",
    command: process.execPath,
    args: ["--import", "tsx", "runners/image-tools/src/main.ts"],
    cwd: repoRoot,
  };
}

/**
 * Registers vyvo/image-tools, and a new version when the runner spec or schema changed (the
 * checkout moved, the schema grew). Versions are immutable, so an unchanged one is kept.
 */
export async function ensureExampleModel(prisma: PrismaClient, models: ModelService) {
  const runner = exampleRunnerSpec();
  const existing = await prisma.model.findUnique({ where: { id: EXAMPLE_MODEL_ID } });
  if (!existing) {
    await models.createModel({
      id: EXAMPLE_MODEL_ID,
      name: "Image tools",
      description: "Example runner: resize, blur, grayscale and thumbnail PNG images.",
    });
  }
  const latest = await prisma.modelVersion.findFirst({
    where: { modelId: EXAMPLE_MODEL_ID },
    orderBy: { version: "desc" },
  });
  if (latest && isDeepStrictEqual(latest.runner, runner) && isDeepStrictEqual(latest.inputSchema, inputSchema))
    return latest;
  return models.createVersion({ modelId: EXAMPLE_MODEL_ID, runner, inputSchema, timeoutMs: 120_000 });
}
