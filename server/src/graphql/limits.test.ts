import { buildSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { limitRules } from "./limits.js";

const schema = buildSchema(`
  type Query { node: Node, nodes(first: Int): [Node!]! }
  type Node { id: ID!, child: Node, children(first: Int): [Node!]! }
`);
const rules = limitRules({ maxDepth: 4, maxAliases: 3, maxCost: 500 });
const codes = (query: string) => validate(schema, parse(query), rules).map((e) => e.extensions.code);

describe("query limits", () => {
  it("allow an ordinary query", () => {
    expect(codes(`{ nodes(first: 10) { id child { id } } }`)).toEqual([]);
  });

  it("refuse depth past the limit, through fragments too", () => {
    expect(codes(`{ node { child { child { child { child { id } } } } } }`)).toEqual(["QUERY_TOO_DEEP"]);
    expect(codes(`fragment F on Node { child { child { child { id } } } } { node { child { ...F } } }`)).toEqual([
      "QUERY_TOO_DEEP",
    ]);
  });

  it("refuse too many aliases", () => {
    expect(codes(`{ a: node { id } b: node { id } c: node { id } d: node { id } }`)).toEqual(["TOO_MANY_ALIASES"]);
  });

  it("count list sizes into the cost", () => {
    expect(codes(`{ nodes(first: 100) { children(first: 100) { id } } }`)).toEqual(["QUERY_TOO_COSTLY"]);
    expect(codes(`{ nodes(first: 5) { children(first: 5) { id } } }`)).toEqual([]);
  });
});
