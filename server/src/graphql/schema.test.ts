import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { printedSchema } from "./schema.js";

it("schema/schema.graphql is the printed Pothos schema (run `npm run schema:print` after changing types)", () => {
  const committed = readFileSync(new URL("../../../schema/schema.graphql", import.meta.url), "utf8");
  expect(printedSchema()).toBe(committed);
});
