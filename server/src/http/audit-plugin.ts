import {
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  getArgumentValues,
  getOperationAST,
  Kind,
} from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import type { GraphQLContext } from "../graphql/context.js";

/** Agent telemetry is recorded on the jobs themselves (JobEvents), not once per heartbeat in the audit log. */
const NOT_AUDITED = new Set(["agentHeartbeat", "agentReport", "agentArtifactUpload"]);

/**
 * Every mutation leaves an audit event: who, which field, on what, with which (redacted)
 * arguments, and whether it succeeded, was denied or failed. Cookie sessions must also prove
 * they are not a cross-site request (x-csrf-token), or the mutation does not run.
 */
export function auditPlugin(): Plugin<GraphQLContext & { csrfOk?: boolean }> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (operation?.operation !== "mutation") return;
      const ctx = args.contextValue as GraphQLContext & { csrfOk?: boolean };
      const fields = rootFields(args.document, operation.selectionSet.selections);
      const record = (result: ExecutionResult) => {
        for (const field of fields) {
          const name = field.name.value;
          if (NOT_AUDITED.has(name)) continue;
          const key = field.alias?.value ?? name;
          const error =
            result.errors?.find((e) => e.path?.[0] === key) ?? (result.data ? undefined : result.errors?.[0]);
          const code = error ? String(error.extensions?.code ?? "INTERNAL_SERVER_ERROR") : null;
          const fieldArgs = argumentsOf(args.schema, field, args.variableValues ?? {});
          const data = (result.data as Record<string, unknown> | null | undefined)?.[key];
          void ctx.audit.record({
            actor: ctx.actor,
            actorKind: ctx.principal.kind,
            action: name,
            ...target(fieldArgs, data),
            args: fieldArgs,
            outcome: !code ? "ok" : code === "FORBIDDEN" || code === "UNAUTHENTICATED" ? "denied" : "error",
            errorCode: code,
            sourceIp: ctx.sourceIp,
          });
        }
      };
      if (ctx.credential.kind === "session" && ctx.csrfOk === false) {
        const result: ExecutionResult = {
          errors: [
            createGraphQLError("mutations from a cookie session need the x-csrf-token header", {
              extensions: { code: "FORBIDDEN", http: { status: 403 } },
            }),
          ],
        };
        record(result);
        setResultAndStopExecution(result);
        return;
      }
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in (result as object)) return;
          record(result as ExecutionResult);
        },
      };
    },
  };
}

function rootFields(document: DocumentNode, selections: readonly import("graphql").SelectionNode[]): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      fields.push(...rootFields(document, selection.selectionSet.selections));
    else {
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION)
        fields.push(...rootFields(document, fragment.selectionSet.selections));
    }
  }
  return fields;
}

function argumentsOf(
  schema: GraphQLSchema,
  field: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  const definition = schema.getMutationType()?.getFields()[field.name.value];
  if (!definition) return {};
  try {
    return getArgumentValues(definition, field, variables);
  } catch {
    return {}; // invalid arguments: the execution error says why
  }
}

/** Best effort at naming what the mutation touched: an id argument, an input's id, or the result's id. */
function target(args: Record<string, unknown>, data: unknown): { targetType: string | null; targetId: string | null } {
  const input = args.input as Record<string, unknown> | undefined;
  const candidates: [string, unknown][] = [
    ["id", args.id],
    ["userId", args.userId],
    ["modelId", args.modelId ?? input?.modelId],
    ["id", input?.id],
    ["id", (data as { id?: unknown } | null)?.id],
    ["id", (data as { job?: { id?: unknown } } | null)?.job?.id],
  ];
  for (const [type, value] of candidates) {
    if (typeof value === "string" || typeof value === "number") return { targetType: type, targetId: String(value) };
  }
  return { targetType: null, targetId: null };
}
