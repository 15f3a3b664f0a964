import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SortedSet } from "./sorted-set.js";

/** The obvious O(n log n) model that the sorted set must agree with. */
function modelOrder(scores: Map<string, number>): string[] {
  return [...scores.entries()]
    .sort(([memberA, scoreA], [memberB, scoreB]) =>
      scoreA !== scoreB ? scoreA - scoreB : memberA < memberB ? -1 : memberA > memberB ? 1 : 0,
    )
    .map(([member]) => member);
}

describe("SortedSet", () => {
  it("orders by score, then by member like a Redis ZSET", () => {
    const set = new SortedSet();
    set.add("b", 2);
    set.add("c", 1);
    set.add("a", 2);
    set.add("d", -5);
    expect(set.members()).toEqual(["d", "c", "a", "b"]);
    expect(set.rank("a")).toBe(2);
    expect(set.first()).toEqual({ member: "d", score: -5 });
  });

  it("moves a member that is added again with another score", () => {
    const set = new SortedSet();
    set.add("x", 1);
    set.add("y", 2);
    set.add("x", 3);
    expect(set.members()).toEqual(["y", "x"]);
    expect(set.size).toBe(2);
    expect(set.score("x")).toBe(3);
  });

  it("removes members and reports absent ones", () => {
    const set = new SortedSet();
    set.add("x", 1);
    expect(set.remove("x")).toBe(true);
    expect(set.remove("x")).toBe(false);
    expect(set.rank("x")).toBeNull();
    expect(set.first()).toBeUndefined();
    expect(set.has("x")).toBe(false);
  });

  it("ranges up to a score with a limit", () => {
    const set = new SortedSet();
    for (const [member, score] of [
      ["a", 10],
      ["b", 20],
      ["c", 30],
      ["d", 20],
    ] as const) {
      set.add(member, score);
    }
    expect(set.rangeUpTo(20, 10)).toEqual(["a", "b", "d"]);
    expect(set.rangeUpTo(20, 2)).toEqual(["a", "b"]);
    expect(set.rangeUpTo(5, 10)).toEqual([]);
  });

  it("agrees with a naive model under random adds and removes", () => {
    const operation = fc.oneof(
      fc.record({
        kind: fc.constant("add" as const),
        member: fc.string({ maxLength: 3 }),
        score: fc.integer({ min: -5, max: 5 }),
      }),
      fc.record({ kind: fc.constant("remove" as const), member: fc.string({ maxLength: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 80 }), (operations) => {
        const set = new SortedSet();
        const model = new Map<string, number>();
        for (const op of operations) {
          if (op.kind === "add") {
            set.add(op.member, op.score);
            model.set(op.member, op.score);
          } else {
            expect(set.remove(op.member)).toBe(model.delete(op.member));
          }
        }
        const expected = modelOrder(model);
        expect(set.members()).toEqual(expected);
        expected.forEach((member, index) => {
          expect(set.rank(member)).toBe(index);
        });
      }),
    );
  });
});
