import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config from "../../codegen.js";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));

describe("web/src/gql (typed documents, committed)", () => {
  it("is what codegen.ts generates from schema/schema.graphql and the documents in web/src (run `npm run codegen`)", async () => {
    const outputs = (await generate({ ...config, cwd: root, silent: true, errorsOnly: true }, false)) as {
      filename: string;
      content: string;
    }[];
    expect(outputs.length).toBeGreaterThan(0);
    const generated = new Map(
      outputs.map((output) => [relative(root, resolve(root, output.filename)), output.content]),
    );
    for (const [file, content] of generated) {
      const committed = await readFile(join(root, file), "utf8").catch(() => null);
      expect(committed, `${file} is stale`).toBe(content);
    }
    const onDisk = (await readdir(join(root, "web/src/gql"))).map((name) => join("web/src/gql", name));
    expect(onDisk.sort()).toEqual([...generated.keys()].sort());
  }, 60_000);
});
