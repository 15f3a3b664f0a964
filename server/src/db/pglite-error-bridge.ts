// pglite-prisma-adapter turns database errors into Prisma's own (P2002 for a unique violation,
// P2003 for a foreign key, ...) only when they are `instanceof` the DatabaseError class of the PGlite
// copy that *it* imports. npm hoists a different PGlite next to the adapter (0.4.3, a dependency of
// prisma's @prisma/dev) than the one this server uses (0.5.16), so without this bridge every
// constraint error on the embedded database would surface as a bare Postgres code ("23505").
// The bridge puts the adapter's DatabaseError into the prototype chain of ours. It does nothing
// once both resolve to one copy (e.g. with "@electric-sql/pglite": "0.5.16" in the root package.json).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { messages } from "@electric-sql/pglite";

let bridged: Promise<void> | undefined;

export function bridgePgliteErrorsToAdapter(): Promise<void> {
  bridged ??= linkErrorClasses();
  return bridged;
}

async function linkErrorClasses(): Promise<void> {
  const require = createRequire(import.meta.url);
  const adapterRequire = createRequire(require.resolve("pglite-prisma-adapter"));
  const adapterPgliteDir = findPackageRoot(adapterRequire.resolve("@electric-sql/pglite"), "@electric-sql/pglite");
  const ownPgliteDir = findPackageRoot(require.resolve("@electric-sql/pglite"), "@electric-sql/pglite");
  if (adapterPgliteDir === ownPgliteDir) return;

  // The adapter is loaded as ESM, so it sees the copy's ESM entry (not the CommonJS one).
  const manifest = JSON.parse(readFileSync(join(adapterPgliteDir, "package.json"), "utf8")) as {
    exports?: { ".": { import: { default: string } } };
    module?: string;
  };
  const esmEntry = manifest.exports?.["."].import.default ?? manifest.module ?? "dist/index.js";
  const adapterPglite = (await import(pathToFileURL(join(adapterPgliteDir, esmEntry)).href)) as {
    messages: { DatabaseError: typeof messages.DatabaseError };
  };
  const theirs = adapterPglite.messages.DatabaseError;
  const ours = messages.DatabaseError;
  if (theirs === ours || ours.prototype instanceof theirs) return;
  Object.setPrototypeOf(ours.prototype, theirs.prototype);
}

function findPackageRoot(fromFile: string, packageName: string): string {
  let dir = dirname(fromFile);
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
      if (manifest.name === packageName) return dir;
    } catch {
      // no package.json here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${packageName} package above ${fromFile}`);
    dir = parent;
  }
}
