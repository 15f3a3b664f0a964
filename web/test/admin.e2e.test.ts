import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { drawTestPattern } from "../../runners/image-tools/src/image-ops.js";
import { encodePng } from "../../runners/image-tools/src/png-codec.js";
import type { RunningServer } from "../../server/src/main.js";
import { EXAMPLE_MODEL_ID, ensureExampleModel } from "../../server/src/platform/example-model.js";
import { type AgentProcess, startAgentProcess } from "../../server/src/testing/agent-process.js";
import { gqlData } from "../../server/src/testing/graphql-client.js";
import { AGENT_HEARTBEAT, type AttemptRef, TestAgent } from "../../server/src/testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "../../server/src/testing/test-env.js";
import { buildWeb, launchChromium, openPage, screenshotDir, signIn, type WatchedPage } from "./browser.js";

// The admin console in Debian's Chromium against a real server (Postgres, Redis), serving the
// production build of web/ at `/`, with the real agent or a scripted one (TestAgent) as the node.

const ADMIN = { email: "ada@vyvo.test", name: "Ada Admin", password: "correct horse battery" };
const VIEWER = { email: "vic@vyvo.test", name: "Vic Viewer", password: "viewer password 123" };

let env: TestEnv;
let server: RunningServer;
let browser: Browser;
let work: string;
const pages: WatchedPage[] = [];
const agents: TestAgent[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await Promise.all([
    buildWeb(),
    (async () => {
      env = await createTestEnv();
      server = await startTestServer(env);
    })(),
  ]);
  await ensureExampleModel(server.services.prisma, server.services.models);
  await server.services.auth.createUser({ ...ADMIN, role: "admin" });
  await server.services.auth.createUser({ ...VIEWER, role: "viewer" });
  work = await mkdtemp(join(tmpdir(), "vyvo-admin-e2e-"));
  browser = await launchChromium();
}, 120_000);

afterEach(async (context) => {
  // A failed test leaves a picture of where it stood.
  if (context.task.result?.state === "fail") {
    await Promise.all(
      pages.map((watched, i) =>
        watched.shot(`failed-${context.task.name.slice(0, 40).replace(/\W+/g, "-")}-${i}`).catch(() => undefined),
      ),
    );
  }
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
  await Promise.all(pages.splice(0).map((page) => page.close()));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await env?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

async function open(
  as: { email: string; password: string },
  viewport?: { width: number; height: number },
): Promise<WatchedPage> {
  const watched = await openPage(browser, server.url, viewport);
  pages.push(watched);
  await signIn(watched.page, as.email, as.password);
  return watched;
}

/** A scripted node that takes vyvo/image-tools jobs and heartbeats (so its leases hold); it reports what the test says. */
async function scriptedNode(name: string, models: string[] = [EXAMPLE_MODEL_ID]) {
  const { nodeToken } = await server.services.nodes.register(name);
  const agent = new TestAgent(server.url, nodeToken, { models });
  agents.push(agent);
  await agent.startHeartbeats();
  return agent;
}

async function uploadPng(agent: TestAgent, ref: AttemptRef, png: Buffer) {
  const { agentArtifactUpload: target } = await agent.mutate<{
    agentArtifactUpload: { uploadUrl: string; url: string };
  }>(`mutation($input: ArtifactUploadInput!) { agentArtifactUpload(input: $input) { uploadUrl url } }`, {
    input: { ...ref, fileName: "thumbnail.png", contentType: "image/png", sizeBytes: png.length },
  });
  const put = await fetch(target.uploadUrl, {
    method: "PUT",
    body: new Uint8Array(png),
    headers: { "content-type": "image/png" },
  });
  expect(put.status).toBe(200);
  return target.url;
}

/** Fills the form generated from vyvo/image-tools' input schema and submits; returns the new job's id. */
async function submitFromForm(page: Page, fields: { operation: string; width?: string; height?: string }) {
  await page.goto(`/models?model=${encodeURIComponent(EXAMPLE_MODEL_ID)}`);
  // From here on the page must never reload: everything after arrives live.
  await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
  const form = page.getByRole("form", { name: `Submit a job to ${EXAMPLE_MODEL_ID}` });
  await form.getByLabel("Operation").selectOption(fields.operation);
  if (fields.width) await form.getByLabel("Width").fill(fields.width);
  if (fields.height) await form.getByLabel("Height").fill(fields.height);
  await page.screenshot({ path: join(screenshotDir, `submit-form-${fields.operation}.png`), fullPage: true });
  await form.getByRole("button", { name: "Submit job" }).click();
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  return page.url().split("/").pop() as string;
}

/** Waits until the job page's heading shows this status. */
const jobStatus = (page: Page, status: RegExp | string, timeout = 30_000) =>
  page
    .getByRole("heading", { level: 1 })
    .locator(".badge")
    .filter({ hasText: typeof status === "string" ? new RegExp(`^${status}$`) : status })
    .waitFor({ timeout });

/** The image has arrived and decoded in the page (not just an <img> tag with a URL). */
async function loadedImageSize(page: Page) {
  const image = page.locator(".images img").first();
  await image.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>(".images img");
    return !!img && img.complete && img.naturalWidth > 0;
  });
  return image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
}

describe("the admin console", () => {
  it("runs vyvo/image-tools on the real agent from the submit form: logs stream and the thumbnail shows, without a reload", async () => {
    const { nodeToken } = await server.services.nodes.register("local-real");
    const agent: AgentProcess = startAgentProcess({ serverUrl: server.url, workDir: join(work, "agent"), nodeToken });
    stops.push(() => agent.stop());
    await agent.waitFor(/hello from the server/);

    const { page, errors, shot } = await open(ADMIN);
    const jobId = await submitFromForm(page, { operation: "thumbnail", width: "96", height: "96" });
    await jobStatus(page, "SUCCEEDED");
    await page
      .getByRole("list", { name: "Job log" })
      .getByText(/encoded \d+ bytes of PNG as thumbnail.png/)
      .waitFor();
    expect(await loadedImageSize(page)).toEqual([96, 96]);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(page.url()).toContain(jobId);
    await shot("job-real-agent-succeeded");
    expect(errors).toEqual([]);
  }, 90_000);

  it("follows a job live: RUNNING, each log batch as the node reports it, then SUCCEEDED with the output image", async () => {
    const agent = await scriptedNode("scripted-1");
    const { page, errors, shot } = await open(ADMIN);
    const jobId = await submitFromForm(page, { operation: "thumbnail", width: "64", height: "64" });
    await jobStatus(page, /QUEUED|ASSIGNED/);

    const run = await agent.waitForRunJob(jobId);
    expect(run.command.input).toEqual({ operation: "thumbnail", width: 64, height: 64 });
    await agent.started(run);
    await jobStatus(page, "RUNNING");
    const log = page.getByRole("list", { name: "Job log" });
    await agent.logs(run, ["loading image", "applying thumbnail"]);
    await log.getByText("applying thumbnail").waitFor();
    await shot("job-running-logs");
    await agent.logs(run, ["thumbnail 100%"]);
    await log.getByText("thumbnail 100%").waitFor();

    const png = encodePng(drawTestPattern(64, 64));
    const url = await uploadPng(agent, { jobId: run.jobId, attemptId: run.attemptId }, png);
    await agent.logs(run, [`encoded ${png.length} bytes of PNG as thumbnail.png`]);
    await agent.complete(run, {
      images: [{ url, width: 64, height: 64, content_type: "image/png", file_name: "thumbnail.png" }],
    });
    await jobStatus(page, "SUCCEEDED");
    expect(await loadedImageSize(page)).toEqual([64, 64]);
    expect(await log.locator("li").count()).toBe(4);
    // The timeline shows every transition, with its actor.
    const timeline = page.locator(".timeline");
    for (const status of ["QUEUED", "ASSIGNED", "RUNNING", "SUCCEEDED"])
      await timeline.getByText(status, { exact: true }).first().waitFor();
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await shot("job-succeeded");
    await page.setViewportSize({ width: 820, height: 1100 });
    await shot("job-succeeded-820");
    await page.setViewportSize({ width: 1440, height: 900 });

    // The jobs list shows it, and filters by status.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    await page.locator(`tr[data-job-id="${jobId}"]`).getByText("SUCCEEDED").waitFor();
    await page.getByLabel("Status").selectOption("FAILED");
    await page.getByText("No jobs match these filters.").waitFor();
    await page.getByLabel("Status").selectOption("");
    await page.locator(`tr[data-job-id="${jobId}"]`).waitFor();
    await shot("jobs-list");
    expect(errors).toEqual([]);
  }, 60_000);

  it("cancels a running job after a confirmation that Escape dismisses; the node is told to stop", async () => {
    const agent = await scriptedNode("scripted-2");
    const { job } = await gqlData<{ submitJob: { job: { id: string } } }>(
      server.url,
      `mutation($input: SubmitJobInput!) { submitJob(input: $input) { job { id } } }`,
      { input: { modelId: EXAMPLE_MODEL_ID, input: { operation: "blur", sigma: 4 } } },
    ).then((data) => data.submitJob);
    const run = await agent.waitForRunJob(job.id);
    await agent.started(run);
    await agent.logs(run, ["blurring"]);

    const { page, errors, shot } = await open(ADMIN);
    await page.goto(`/jobs/${job.id}`);
    await jobStatus(page, "RUNNING");
    const cancel = page.getByRole("button", { name: "Cancel job" });
    await cancel.click();
    const dialog = page.getByRole("dialog", { name: "Cancel this job?" });
    await dialog.waitFor();
    await shot("job-cancel-dialog");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel job");

    await page.keyboard.press("Enter"); // the focused button opens it again
    await dialog.getByRole("button", { name: "Cancel job" }).click();
    await jobStatus(page, "CANCELLED");
    await agent.waitForCommand((c) => c.__typename === "CancelJobCommand" && c.jobId === job.id);
    await expect.poll(() => cancel.count(), { timeout: 10_000 }).toBe(0);
    await page.getByRole("button", { name: "Retry" }).waitFor();
    await page.locator(".timeline").getByText("CANCELLED", { exact: true }).waitFor();
    await shot("job-cancelled");
    expect(errors).toEqual([]);
  }, 60_000);

  it("shows a node's GPU utilisation and memory as its heartbeats report them", async () => {
    // This node heartbeats with GPU stats of the test's choosing (and takes no jobs).
    const { nodeToken } = await server.services.nodes.register("gpu-node-1");
    const agent = new TestAgent(server.url, nodeToken, { models: ["acme/nothing"] });
    agents.push(agent);
    await agent.waitForCommand((c) => c.__typename === "HelloCommand");
    const gpus = (util: number, usedMb: number) => [
      {
        index: 0,
        uuid: "GPU-0a",
        name: "NVIDIA H100 80GB HBM3",
        memoryTotalMb: 81_559,
        memoryUsedMb: usedMb,
        utilizationPct: util,
        temperatureC: 54,
        powerW: 312,
        driverVersion: "550.54",
        cudaVersion: "12.4",
      },
      {
        index: 1,
        uuid: "GPU-1b",
        name: "NVIDIA H100 80GB HBM3",
        memoryTotalMb: 81_559,
        memoryUsedMb: 1_024,
        utilizationPct: 3,
        temperatureC: 33,
        powerW: 71,
      },
    ];
    let current = gpus(37, 20_480);
    const beat = () =>
      agent.mutate(AGENT_HEARTBEAT, {
        input: { freeSlots: 1, running: [], runners: [], agentVersion: "test-agent", gpus: current },
      });
    await beat();
    const timer = setInterval(() => void beat().catch(() => undefined), 200);
    stops.push(async () => clearInterval(timer));

    const { page, errors, shot } = await open(ADMIN);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Nodes" }).click();
    const card = page.locator('article[data-node="gpu-node-1"]');
    await card.locator('tr[data-gpu="0"]').getByText("37%").waitFor();
    await card.getByText("20.0 GiB / 79.6 GiB").waitFor();
    await card.getByText("ONLINE").waitFor();
    await shot("nodes-1440");

    current = gpus(81, 65_536);
    await card.locator('tr[data-gpu="0"]').getByText("81%").waitFor();
    await card.getByText("64.0 GiB / 79.6 GiB").waitFor();
    await page.setViewportSize({ width: 820, height: 1100 });
    await shot("nodes-820");

    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByText("Nodes online").waitFor();
    await page.locator(".node-row", { hasText: "gpu-node-1" }).getByText("42%").waitFor(); // mean of 81 and 3
    await shot("overview-820");
    await page.setViewportSize({ width: 1440, height: 900 });
    await shot("overview-1440");
    expect(errors).toEqual([]);
  }, 60_000);

  it("hides what a viewer may not do (provision, add node, cancel, pause, settings), and the server refuses it anyway", async () => {
    const { job } = await server.services.jobs.submit({ modelId: EXAMPLE_MODEL_ID, input: { operation: "grayscale" } });
    const { page, errors, shot } = await open(VIEWER);
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Nodes" }).waitFor();
    expect(await nav.getByRole("link", { name: "Settings" }).count()).toBe(0);

    await nav.getByRole("link", { name: "Nodes" }).click();
    await page.locator('article[data-node="gpu-node-1"]').waitFor();
    expect(await page.getByRole("button", { name: /provision/i }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Add node" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Register SSH host" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /cordon|drain|remove/i }).count()).toBe(0);
    await shot("nodes-viewer");

    await nav.getByRole("link", { name: "Queues" }).click();
    await page.locator(`tr[data-queue="${EXAMPLE_MODEL_ID}"]`).waitFor();
    expect(await page.getByRole("button", { name: "Pause" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Purge" }).count()).toBe(0);

    await page.goto(`/jobs/${job.id}`);
    await jobStatus(page, "QUEUED");
    expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(0);
    await page.goto(`/models?model=${encodeURIComponent(EXAMPLE_MODEL_ID)}`);
    await page.getByText("Your role cannot submit jobs.").waitFor();

    // The same session, calling the API directly with its CSRF token, is refused by the server.
    const refused = await page.evaluate(async (id) => {
      const post = (body: unknown, headers: Record<string, string> = {}) =>
        fetch("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        }).then((r) => r.json());
      const viewer = await post({ query: "{ viewer { csrfToken permissions } }" });
      const csrf = viewer.data.viewer.csrfToken as string;
      const cancel = await post(
        { query: "mutation($id: ID!) { cancelJob(id: $id) { id } }", variables: { id } },
        { "x-csrf-token": csrf },
      );
      const enroll = await post({ query: "mutation { createEnrollmentToken { token } }" }, { "x-csrf-token": csrf });
      return {
        permissions: viewer.data.viewer.permissions,
        codes: [cancel.errors?.[0]?.extensions?.code, enroll.errors?.[0]?.extensions?.code],
      };
    }, job.id);
    expect(refused.permissions).not.toContain("jobs:cancel");
    expect(refused.codes).toEqual(["FORBIDDEN", "FORBIDDEN"]);
    expect(errors).toEqual([]);
  }, 60_000);

  it("manages API keys (secret shown once, revoke), users and roles; the audit log shows each action live", async () => {
    const { page, errors, shot } = await open(ADMIN);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.waitForURL(/\/settings\/keys$/);

    await page.getByRole("button", { name: "Create key" }).click();
    const create = page.getByRole("dialog", { name: "Create an API key" });
    await create.getByLabel("Name").fill("ci-pipeline");
    await create.getByLabel("jobs:read").check();
    await create.getByLabel("jobs:submit").check();
    await create.getByRole("button", { name: "Create key" }).click();
    const created = page.getByRole("dialog", { name: "Key created" });
    const secret = (await created.locator(".secret").textContent())?.trim() ?? "";
    await shot("settings-key-created");
    const asKey = () =>
      fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: "{ viewer { permissions } }" }),
      });
    expect(await (await asKey()).json()).toEqual({ data: { viewer: { permissions: ["jobs:read", "jobs:submit"] } } });
    await created.getByRole("button", { name: "Done" }).click();

    const row = page.locator('tr[data-key="ci-pipeline"]');
    await row.getByText("active").waitFor();
    expect(await row.textContent()).not.toContain(secret); // only the prefix is kept
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke key" }).click();
    await row.getByText("revoked").waitFor();
    expect((await asKey()).status).toBe(401);

    await page.getByRole("link", { name: "Users and roles" }).click();
    await page.getByRole("button", { name: "Create user" }).click();
    const newUser = page.getByRole("dialog", { name: "Create a user" });
    await newUser.getByLabel("Email").fill("dev@vyvo.test");
    await newUser.getByLabel("Name").fill("Dee Developer");
    await newUser.getByLabel("Password").fill("developer password 1");
    await newUser.getByLabel("Role").selectOption("developer");
    await newUser.getByRole("button", { name: "Create user" }).click();
    const user = page.locator('tr[data-user="dev@vyvo.test"]');
    await user.getByText("developer", { exact: true }).waitFor();
    await user.getByRole("button", { name: "Change role" }).click();
    const roleDialog = page.getByRole("dialog", { name: "Role of dev@vyvo.test" });
    await roleDialog.getByLabel("Role").selectOption("operator");
    await roleDialog.getByRole("button", { name: "Save role" }).click();
    await user.getByText("operator", { exact: true }).waitFor();
    await shot("settings-users");

    await page.getByRole("link", { name: "Audit log" }).click();
    for (const action of ["createApiKey", "revokeApiKey", "createUser", "setUserRole"]) {
      await page.locator(`tr[data-audit-action="${action}"]`).first().waitFor();
    }
    // Live: an action taken elsewhere shows up on the open page.
    await gqlData(server.url, `mutation { createApiKey(name: "from-a-script") { apiKey { id } } }`);
    await page.locator('tr[data-audit-action="createApiKey"]', { hasText: "from-a-script" }).waitFor();
    await page.getByLabel("Action").fill("setUserRole");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/action=setUserRole/);
    await expect.poll(() => page.locator("tr[data-audit-action]").count(), { timeout: 10_000 }).toBe(1);
    await shot("settings-audit");
    expect(errors).toEqual([]);
  }, 60_000);

  it("a revoked session returns the page to the login, and signing in again picks up where it was", async () => {
    const { page, errors, shot } = await open(ADMIN);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Queues" }).click();
    await page.locator(`tr[data-queue="${EXAMPLE_MODEL_ID}"]`).waitFor();

    const sessions = await server.services.prisma.session.findMany({
      where: { user: { email: ADMIN.email }, revokedAt: null },
    });
    for (const session of sessions) await server.services.auth.logout(session.id);
    await page.getByText("Your session ended. Sign in again.").waitFor();
    await shot("session-ended");

    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(`tr[data-queue="${EXAMPLE_MODEL_ID}"]`).waitFor();
    expect(new URL(page.url()).pathname).toBe("/queues");
    // The one expected failure: the request that found the session revoked (it also cleared the cookie).
    expect(errors.filter((e) => !/\b401\b/.test(e))).toEqual([]);
  }, 60_000);

  it("survives a server restart without a reload: a reconnecting banner, then live updates again", async () => {
    const { page, errors, shot } = await open(ADMIN);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Queues" }).click();
    const row = page.locator(`tr[data-queue="${EXAMPLE_MODEL_ID}"]`);
    await row.waitFor();
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));

    await server.close();
    const banner = page.getByRole("status").filter({ hasText: "reconnecting" });
    await banner.waitFor({ timeout: 15_000 });
    await shot("reconnecting");
    server = await startTestServer(env, { PORT: String(server.port) });
    await banner.waitFor({ state: "detached", timeout: 20_000 });

    // Live again: a job submitted now moves the queue's depth on the open page.
    const depth = async () => Number(await row.locator("td").nth(1).textContent());
    const before = await depth();
    await server.services.jobs.submit({ modelId: EXAMPLE_MODEL_ID, input: { operation: "grayscale" } });
    await expect.poll(depth, { timeout: 10_000 }).toBe(before + 1);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await shot("reconnected");
    // While the server was down the browser logged its failed connection attempts; nothing else.
    expect(errors.filter((e) => !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
  }, 60_000);
});
