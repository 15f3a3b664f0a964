import { type FieldNode, getOperationAST, Kind } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { can, type Permission } from "../auth/permissions.js";
import type { GraphQLContext } from "../graphql/context.js";

type Scope = { permission?: Permission; public?: boolean; agent?: boolean };

/**
 * Pothos checks a field's authScopes when it resolves a value; a subscription may wait a long
 * time for its first value (or never get one). This checks the root fields' scopes when the
 * subscription starts, on every transport, so a caller without the permission is refused at once.
 */
export function subscriptionAuthPlugin(): Plugin<GraphQLContext> {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      const type = args.schema.getSubscriptionType();
      if (operation?.operation !== "subscription" || !type) return;
      const ctx = args.contextValue as GraphQLContext;
      for (const selection of operation.selectionSet.selections) {
        if (selection.kind !== Kind.FIELD || selection.name.value.startsWith("__")) continue;
        const field = type.getFields()[(selection as FieldNode).name.value];
        const scope = (field?.extensions as { pothosOptions?: { authScopes?: Scope } } | undefined)?.pothosOptions
          ?.authScopes;
        const allowed =
          !!scope &&
          (scope.public === true ||
            (scope.agent === true && ctx.node !== null) ||
            (scope.permission !== undefined && can(ctx.principal, scope.permission)));
        if (!allowed) {
          const code = ctx.principal.kind === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN";
          const need = scope?.permission ?? (scope?.agent ? "a node token" : "a declared scope");
          setResultAndStopExecution({
            errors: [
              createGraphQLError(`not allowed to subscribe to ${selection.name.value}: needs ${need}`, {
                extensions: { code },
              }),
            ],
          });
          return;
        }
      }
    },
  };
}
