import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.js";
// Each area adds its types to the builder when imported.
import "./types/agents.js";
import "./types/audit.js";
import "./types/auth.js";
import "./types/artifacts.js";
import "./types/jobs.js";
import "./types/models.js";
import "./types/nodes.js";
import "./types/provisioning.js";
import "./types/queues.js";
import "./types/webhooks.js";

let schema: GraphQLSchema | undefined;

export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

/** The committed contract (schema/schema.graphql), sorted so that its diffs stay small. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
