import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const builtIndex = fileURLToPath(new URL("../../../web/dist/index.html", import.meta.url));

/** A fresh clone has no web/dist: build the admin once (Vite, ~30 s) so `npm start` serves it. */
export async function ensureAdminBuilt(log: (line: string) => void): Promise<void> {
  if (existsSync(builtIndex)) return;
  log("vyvo: building the admin console once (npm run build -w web)…");
  await new Promise<void>((resolve, reject) => {
    const child = spawn("npm", ["run", "build", "-w", "web"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`admin build failed (${code}):\n${output}`)),
    );
  });
}
