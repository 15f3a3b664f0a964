#!/usr/bin/env node
// Bundles the agent into one ESM file that any host with Node 20 runs: `node dist/vyvo-agent.mjs`.
// Usage: node build.mjs [--outfile PATH] [--outdir DIR] [--no-minify]
import { chmod } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: { outfile: { type: "string" }, outdir: { type: "string" }, "no-minify": { type: "boolean" } },
});
const outfile = path.resolve(values.outfile ?? path.join(values.outdir ?? path.join(here, "dist"), "vyvo-agent.mjs"));

const result = await build({
  entryPoints: [path.join(here, "src/main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: !values["no-minify"],
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  // ws loads these native helpers only if installed (inside try/catch); the bundle goes without them.
  external: ["bufferutil", "utf-8-validate"],
  banner: {
    // Bundled CommonJS (ws) calls require() for Node built-ins: give the ESM bundle one. (The hashbang comes from
    // src/main.ts; esbuild keeps it on the first line.)
    js: [
      'import { createRequire as __vyvoCreateRequire } from "node:module";',
      "const require = __vyvoCreateRequire(import.meta.url);",
    ].join("\n"),
  },
  logLevel: "warning",
});
await chmod(outfile, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(`built ${path.relative(process.cwd(), outfile) || outfile} (${Math.round(bytes / 1024)} KiB)\n`);
