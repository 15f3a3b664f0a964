#!/usr/bin/env node
import { runCli } from "./cli.js";

// The entry of `vyvo-agent` (bin/vyvo-agent.mjs, the bundle dist/vyvo-agent.mjs, or `npx tsx agent/src/main.ts`).
void runCli(process.argv.slice(2));
