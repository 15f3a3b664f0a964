import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { waitFor } from "../testing/graphql-client.js";

// The README's promise, kept literally: a fresh clone, `npm ci && npm start`, and the command
// it prints completes a job. (Clones the committed HEAD of this checkout.)

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
let dir = "";
let platform: ChildProcess | null = null;

afterAll(async () => {
  if (platform && platform.exitCode === null && platform.signalCode === null) {
    platform.kill("SIGINT");
    await new Promise((resolve) => platform?.once("exit", resolve));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("npm ci && npm start on a fresh clone comes up, and the printed command completes a job", async () => {
  dir = await mkdtemp(join(tmpdir(), "vyvo-clone-"));
  const clone = join(dir, "vyvo");
  await run("git", ["clone", "--quiet", "--depth", "1", `file://${repoRoot}`, clone]);
  await run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: clone, maxBuffer: 64 * 1024 * 1024 });

  let output = "";
  const started = spawn("npm", ["start"], {
    cwd: clone,
    env: { ...process.env, PORT: "0", DATA_DIR: join(dir, "data"), DATABASE_URL: "", REDIS_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  platform = started;
  started.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  started.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(async () => output.includes("Ctrl-C stops"), 180_000, "npm start to come up").catch((error: Error) => {
    throw new Error(`${error.message}; it printed:\n${output}`);
  });

  const [submit, follow] = [...output.matchAll(/^ {4}(curl .+)$/gm)].map((m) => m[1] as string);
  expect(submit).toBeDefined();
  const submitted = JSON.parse((await run("sh", ["-c", submit as string])).stdout) as {
    data: { submitJob: { job: { id: string } } };
  };
  const id = submitted.data.submitJob.job.id;
  const final = await waitFor(
    async () => {
      const { stdout } = await run("sh", ["-c", follow as string]);
      const node = (
        JSON.parse(stdout) as { data: { jobs: { edges: { node: { id: string; status: string; output: unknown } }[] } } }
      ).data.jobs.edges[0]?.node;
      return node?.id === id && node.status === "SUCCEEDED" ? node : null;
    },
    90_000,
    "the printed job to succeed",
  );
  expect(final.output).toMatchObject({ images: [{ width: 64, height: 64, content_type: "image/png" }] });

  // Ctrl-C stops everything it started: the npm process group ends.
  process.kill(-(started.pid as number), "SIGINT");
  await new Promise((resolve) => started.once("exit", resolve));
  // npm exits at once; the platform then drains its agent and runners and exits. pgrep exits 1
  // when nothing matches (and never matches itself).
  const leftOver = () =>
    run("pgrep", ["-f", clone]).then(
      (r) => r.stdout.trim(),
      () => "",
    );
  await waitFor(async () => (await leftOver()) === "", 30_000, "every process of the clone to stop").catch(
    async (error: Error) => {
      throw new Error(`${error.message}: still running ${await leftOver()}`);
    },
  );
}, 420_000);
