#!/usr/bin/env node
// Runs the Prisma CLI with a schema-engine stub that exits 1: the real engine is a
// download these machines cannot reach, and generate/validate/format do not need it.
// An exiting-1 stub makes any migrate command fail loudly instead of silently doing nothing.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const stubDir = join(tmpdir(), "vyvo-prisma-stub");
const stub = join(stubDir, "schema-engine");
if (!existsSync(stub)) {
  mkdirSync(stubDir, { recursive: true });
  writeFileSync(
    stub,
    '#!/bin/sh\necho "vyvo: the Prisma schema engine is not available here; migrations are applied by server/src/db/migrate.ts" >&2\nexit 1\n',
  );
  chmodSync(stub, 0o755);
}
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: stub,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
};
const result = spawnSync("npx", ["--no-install", "prisma", ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);
