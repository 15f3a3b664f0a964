import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";

/**
 * Bounds on what one document may ask for, as graphql-js validation rules. Pure: they read the
 * document only. Together with the parser's token limit and the HTTP body limit they keep a
 * hostile query from costing more than an honest one.
 */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  /** Fields counted once each, times `listFactor` for every enclosing `first`/`limit` list. */
  maxCost: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 12, maxAliases: 30, maxCost: 20_000 };

export function limitRules(limits: QueryLimits): ValidationRule[] {
  return [depthRule(limits.maxDepth), aliasRule(limits.maxAliases), costRule(limits.maxCost)];
}

function fragmentsOf(context: ValidationContext): Map<string, FragmentDefinitionNode> {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions)
    if (def.kind === Kind.FRAGMENT_DEFINITION) map.set(def.name.value, def);
  return map;
}

/** Walks a selection set through fragments; `visit` gets each field with its depth. Cycles are cut. */
function walk(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  depth: number,
  visit: (field: FieldNode, depth: number) => boolean,
  seen = new Set<string>(),
): void {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (visit(selection, depth) && selection.selectionSet)
        walk(selection.selectionSet, fragments, depth + 1, visit, seen);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      walk(selection.selectionSet, fragments, depth, visit, seen);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue;
      walk(fragment.selectionSet, fragments, depth, visit, new Set([...seen, name]));
    }
  }
}

function depthRule(maxDepth: number): ValidationRule {
  return (context): ASTVisitor => ({
    OperationDefinition(node) {
      let deepest = 0;
      walk(node.selectionSet, fragmentsOf(context), 1, (_field, depth) => {
        deepest = Math.max(deepest, depth);
        return depth <= maxDepth;
      });
      if (deepest > maxDepth) {
        context.reportError(
          new GraphQLError(`query is deeper than ${maxDepth} levels`, {
            nodes: [node],
            extensions: { code: "QUERY_TOO_DEEP" },
          }),
        );
      }
    },
  });
}

function aliasRule(maxAliases: number): ValidationRule {
  return (context): ASTVisitor => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias) aliases++;
      },
      Document: {
        leave() {
          if (aliases > maxAliases) {
            context.reportError(
              new GraphQLError(`${aliases} aliases; at most ${maxAliases} are allowed`, {
                extensions: { code: "TOO_MANY_ALIASES" },
              }),
            );
          }
        },
      },
    };
  };
}

const LIST_ARGS = new Set(["first", "last", "limit"]);
const DEFAULT_LIST_SIZE = 20;

function costRule(maxCost: number): ValidationRule {
  return (context): ASTVisitor => ({
    OperationDefinition(node) {
      const cost = costOf(node.selectionSet, fragmentsOf(context), new Set());
      if (cost > maxCost) {
        context.reportError(
          new GraphQLError(`query cost ${cost} is over the limit of ${maxCost}`, {
            nodes: [node],
            extensions: { code: "QUERY_TOO_COSTLY" },
          }),
        );
      }
    },
  });
}

function costOf(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  let total = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      const size = listSize(selection);
      const inner = selection.selectionSet ? costOf(selection.selectionSet, fragments, seen) : 0;
      total += 1 + size * inner;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      total += costOf(selection.selectionSet, fragments, seen);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (fragment && !seen.has(fragment.name.value))
        total += costOf(fragment.selectionSet, fragments, new Set([...seen, fragment.name.value]));
    }
    if (total > Number.MAX_SAFE_INTEGER / 2) return total;
  }
  return total;
}

/** The page size a field asks for: a literal first/last/limit, or a default when it is a variable. */
function listSize(field: FieldNode): number {
  for (const arg of field.arguments ?? []) {
    if (!LIST_ARGS.has(arg.name.value)) continue;
    return arg.value.kind === Kind.INT ? Math.max(1, Number(arg.value.value)) : DEFAULT_LIST_SIZE;
  }
  return 1;
}
