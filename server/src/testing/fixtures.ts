import type { RunningServer } from "../main.js";
import type { RunnerSpec } from "../models/model-service.js";

export const echoRunner: RunnerSpec = { kind: "process", command: "node", args: ["echo.js"] };

export const promptSchema = {
  type: "object",
  properties: { prompt: { type: "string", minLength: 1 }, steps: { type: "integer", minimum: 1, maximum: 100 } },
  required: ["prompt"],
  additionalProperties: false,
};

/** A model with one version, through the same services the GraphQL mutations call. */
export async function createTestModel(
  server: RunningServer,
  id = "acme/echo",
  opts: { inputSchema?: unknown; maxAttempts?: number; timeoutMs?: number } = {},
) {
  await server.services.models.createModel({ id });
  return server.services.models.createVersion({
    modelId: id,
    runner: echoRunner,
    inputSchema: opts.inputSchema ?? promptSchema,
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

export async function registerNode(server: RunningServer, name: string) {
  return server.services.nodes.register(name);
}
