import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/src/main.js";
import { startSshd, type TestSshd } from "../../server/src/testing/sshd.js";
import { createTestEnv, startTestServer, type TestEnv } from "../../server/src/testing/test-env.js";
import { buildWeb, launchChromium, openPage, repoRoot, signIn, type WatchedPage } from "./browser.js";

// Registering and provisioning a host from the admin: a real OpenSSH server on loopback, a "host"
// that is a folder on this machine, the real agent bundle, and a fake nvidia-smi reporting 8 H100s.

const ADMIN = { email: "olga@vyvo.test", name: "Olga Operator", password: "provision all the things" };

let env: TestEnv;
let sshd: TestSshd;
let server: RunningServer;
let browser: Browser;
let work: string;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vyvo-admin-provision-"));
  const bundle = join(work, "bundle", "vyvo-agent.mjs");
  await Promise.all([
    buildWeb(),
    promisify(execFile)(process.execPath, [join(repoRoot, "agent/build.mjs"), "--outfile", bundle]),
    (async () => {
      env = await createTestEnv();
      sshd = await startSshd();
    })(),
  ]);
  const fixtures = join(repoRoot, "agent/test/fixtures/nvidia-smi");
  await writeFile(
    join(work, "nvidia-smi"),
    `#!/bin/sh\ncase "$*" in *--query-gpu*) cat '${fixtures}/h100x8-query.csv';; *) cat '${fixtures}/h100x8-nvidia-smi.txt';; esac\n`,
  );
  await chmod(join(work, "nvidia-smi"), 0o755);
  await mkdir(join(work, "hosts"));
  server = await startTestServer(env, {
    AGENT_BUNDLE_PATH: bundle,
    HEARTBEAT_INTERVAL_MS: "250",
    LEASE_TTL_MS: "1500",
    NODE_SWEEP_INTERVAL_MS: "100",
    PROVISION_ONLINE_TIMEOUT_MS: "30000",
  });
  await server.services.auth.createUser({ ...ADMIN, role: "operator" });
  browser = await launchChromium();
}, 180_000);

afterEach(async (context) => {
  if (context.task.result?.state === "fail")
    await Promise.all(pages.map((p, i) => p.shot(`failed-provisioning-${i}`).catch(() => undefined)));
  await Promise.all(pages.splice(0).map((page) => page.close()));
});

afterAll(async () => {
  // The provisioned agent runs under its own supervisor on the "host": stop both.
  for (const file of ["supervisor.pid", "agent.pid"]) {
    const pid = Number((await readFile(join(work, "hosts", "gpu-host", file), "utf8").catch(() => "")).trim());
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
  await browser?.close();
  await server?.close();
  await sshd?.stop();
  await env?.cleanup();
  await rm(work, { recursive: true, force: true });
}, 60_000);

describe("provisioning from the admin console", () => {
  it("registers an SSH host, confirms its host key in the page, streams every step live, and the node comes ONLINE with its GPUs", async () => {
    const watched = await openPage(browser, server.url);
    pages.push(watched);
    const { page, errors, shot } = watched;
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("button", { name: "Register SSH host" }).click();

    const dialog = page.getByRole("dialog", { name: "Register an SSH host" });
    await dialog.getByLabel("Node name").fill("gpu-host");
    await dialog.getByLabel("Address").fill(sshd.host);
    await dialog.getByLabel("Port").fill(String(sshd.port));
    await dialog.getByLabel("User").fill(sshd.user);
    await dialog.getByLabel("Private key").fill(sshd.clientPrivateKey);
    await dialog.getByLabel("Labels").fill("zone=lab, tier=gold");
    await dialog.getByText("Advanced").click();
    await dialog.getByLabel("Install folder").fill(join(work, "hosts", "gpu-host"));
    await dialog
      .getByLabel("Agent settings")
      .fill(
        [`VYVO_NVIDIA_SMI=${join(work, "nvidia-smi")}`, "VYVO_RECONNECT_BASE_MS=100", "VYVO_RECONNECT_MAX_MS=500"].join(
          "\n",
        ),
      );
    await shot("register-ssh-host");
    await dialog.getByRole("button", { name: "Register host" }).click();
    await page.waitForURL(/\/nodes\/[^/?]+$/);
    await page.getByRole("heading", { level: 1, name: /gpu-host/ }).waitFor();

    await page.getByRole("button", { name: "Provision" }).click();
    await page.getByRole("dialog", { name: "Provision gpu-host?" }).getByRole("button", { name: "Provision" }).click();
    await page.waitForURL(/\?run=/);

    // No fingerprint was given: the run stops at the host key, which the operator checks and trusts here.
    const run = page.locator(".provisioning");
    await run.and(page.locator('[data-status="AWAITING_HOST_KEY"]')).waitFor({ timeout: 30_000 });
    await page.getByText(sshd.hostKeyFingerprint).first().waitFor();
    await shot("provision-awaiting-host-key");
    await page.getByRole("button", { name: "Trust this host key" }).click();

    await run.and(page.locator('[data-status="SUCCEEDED"]')).waitFor({ timeout: 90_000 });
    const log = page.getByRole("list", { name: "Provisioning log" });
    await log
      .getByText(/node v\d+/)
      .first()
      .waitFor();
    for (const step of ["connect", "upload-agent", "start-agent"]) {
      await page.locator(`.step[data-step="${step}"]`).waitFor();
    }
    expect(await page.locator('.step .badge:text-is("FAILED")').count()).toBe(0);

    // The agent it started dialled in: the node is ONLINE with the 8 GPUs its nvidia-smi reports.
    await page.getByRole("heading", { level: 1 }).getByText("ONLINE").waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator("table.gpus tbody tr").count(), { timeout: 15_000 }).toBe(8);
    await shot("provision-succeeded");

    await page.getByRole("link", { name: "Nodes", exact: true }).first().click();
    await page.locator('article[data-node="gpu-host"]').getByText("zone=lab").waitFor();
    await shot("nodes-provisioned");
    expect(errors).toEqual([]);
  }, 180_000);
});
