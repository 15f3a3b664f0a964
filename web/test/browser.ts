import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const screenshotDir = join(repoRoot, "web/test/screenshots");

const WEB_INPUTS = ["web/src", "web/index.html", "web/vite.config.ts", "web/package.json", "web/tsconfig.json"];
const buildState = join(repoRoot, ".vitest-tmp");

/**
 * Builds web/dist, which the server serves at `/` (the same build `npm start` serves). Test files
 * run in parallel and one may be serving the build while another starts: the build runs under a
 * lock, and only when the sources changed since the last one (else it would pull files from under
 * a page that is loading).
 */
export async function buildWeb(): Promise<void> {
  await mkdir(buildState, { recursive: true });
  const lock = join(buildState, "web-build.lock");
  await acquire(lock);
  try {
    const stamp = join(buildState, "web-build.hash");
    const hash = await sourceHash();
    const built = await stat(join(repoRoot, "web/dist/index.html")).then(
      () => true,
      () => false,
    );
    if (built && (await readFile(stamp, "utf8").catch(() => "")) === hash) return;
    await promisify(execFile)("npm", ["run", "build", "-w", "web"], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    await writeFile(stamp, hash);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function acquire(lock: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lock);
      return;
    } catch {
      // A lock left by a killed run is stale after the longest build.
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > timeoutMs) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function sourceHash(): Promise<string> {
  const hash = createHash("sha256");
  const visit = async (path: string): Promise<void> => {
    const info = await stat(join(repoRoot, path));
    if (info.isDirectory()) {
      for (const name of (await readdir(join(repoRoot, path))).sort()) await visit(join(path, name));
    } else {
      hash
        .update(path)
        .update("\0")
        .update(await readFile(join(repoRoot, path)))
        .update("\0");
    }
  };
  for (const input of WEB_INPUTS) await visit(input);
  return hash.digest("hex");
}

/** Debian's Chromium driven by playwright-core (never a downloaded browser). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"])
    .toString()
    .trim();
  if (!executablePath) throw new Error("chromium is not installed (apt-get install -y chromium)");
  await mkdir(screenshotDir, { recursive: true });
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** console.error messages and uncaught exceptions of the page so far. */
  errors: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** A fresh context (its own cookies) at laptop width, recording the page's console errors. */
export async function openPage(
  browser: Browser,
  baseURL: string,
  viewport = { width: 1440, height: 900 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL, viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
  // The console says "Failed to load resource" without the address: record which one.
  page.on("response", (response) => {
    if (response.status() >= 400)
      errors.push(`http: ${response.status()} ${response.request().method()} ${response.url()}`);
  });
  return {
    context,
    page,
    errors,
    shot: async (name) => void (await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true })),
    close: () => context.close(),
  };
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}
