import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "./database.js";
const dir = await mkdtemp(join(tmpdir(), "vyvo-probe-"));
const t0 = Date.now();
const db = await openDatabase({ dataDir: dir, log: (m) => console.log("log:", m) });
console.log("opened in", Date.now() - t0, "ms");
await db.prisma.model.create({ data: { id: "a/b", name: "x" } });
try { await db.prisma.model.create({ data: { id: "a/b", name: "x" } }); } catch (e: any) { console.log("dup error:", e.constructor.name, e.code, String(e.message).slice(0, 300)); }
await db.close();
