#!/usr/bin/env node
// `vyvo-agent`: runs the TypeScript sources through tsx in a checkout, else the bundle (agent/dist/vyvo-agent.mjs,
// built by `npm run build -w agent`). On a GPU host ship the bundle alone: `node vyvo-agent.mjs --help`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const bundle = fileURLToPath(new URL("../dist/vyvo-agent.mjs", import.meta.url));

let useSource = existsSync(source);
if (useSource) {
  try {
    const { register } = await import("tsx/esm/api");
    register();
  } catch {
    useSource = false;
  }
}
if (useSource) {
  await import(source);
} else if (existsSync(bundle)) {
  await import(bundle);
} else {
  process.stderr.write(
    "vyvo-agent: neither the sources with tsx nor dist/vyvo-agent.mjs are available; run npm run build -w agent\n",
  );
  process.exit(1);
}
