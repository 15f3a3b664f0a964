import { createHash } from "node:crypto";
import { createFalClient, type FalClient } from "@fal-ai/client";
import type { RunningServer } from "../main.js";
import { createTestModel, registerNode } from "../testing/fixtures.js";
import { type AttemptRef, type Command, TestAgent } from "../testing/test-agent.js";
import { createTestEnv, startTestServer, TEST_API_KEY, type TestEnv } from "../testing/test-env.js";

/**
 * A server with the fal shim on real Postgres and Redis, the models the tests call, and a
 * scripted runner (the TestAgent from testing/, playing the agent) that acts on each input:
 *   prompt "fail" → a runner error; "invalid" → a validation error; "hold" → waits for release();
 *   anything else → logs `step i/n` (n = steps, default 2) 100 ms apart, then { text: PROMPT }.
 *   Model acme/files downloads every URL in its input and answers with their sizes and hashes.
 */

/** The bootstrap admin key every test server has: fal callers use the platform's API keys. */
export const API_KEY = TEST_API_KEY;
export const ECHO = "acme/echo";
export const FILES = "acme/files";

export interface RunRecord {
  command: Command;
  ref: AttemptRef;
}

export class ScriptedRunner {
  readonly runs = new Map<string, RunRecord>();
  private readonly holds = new Map<string, (output: unknown) => void>();
  private handled = 0;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly agent: TestAgent) {
    this.timer = setInterval(() => this.poll(), 10);
  }

  /** Ends a run that is holding ("hold"), with `output`. */
  release(jobId: string, output: unknown = { released: true }): void {
    this.holds.get(jobId)?.(output);
  }

  async waitForRun(jobId: string, timeoutMs = 10_000): Promise<RunRecord> {
    const deadline = Date.now() + timeoutMs;
    while (!this.runs.has(jobId)) {
      if (Date.now() > deadline) throw new Error(`job ${jobId} never reached the runner`);
      await sleep(10);
    }
    return this.runs.get(jobId) as RunRecord;
  }

  async waitForHold(jobId: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.holds.has(jobId)) {
      if (Date.now() > deadline) throw new Error(`job ${jobId} never started holding`);
      await sleep(10);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const release of this.holds.values()) release(null);
  }

  private poll(): void {
    const commands = this.agent.commands;
    for (; this.handled < commands.length; this.handled++) {
      const command = commands[this.handled] as Command;
      if (command.__typename !== "RunJobCommand") continue;
      const ref = { jobId: command.jobId as string, attemptId: command.attemptId as string };
      this.runs.set(ref.jobId, { command, ref });
      this.agent.running.set(ref.attemptId, ref);
      void this.run(command, ref).catch((error) => {
        if (!this.stopped) console.error("scripted runner:", error);
      });
    }
  }

  private async run(command: Command, ref: AttemptRef): Promise<void> {
    const input = (command.input ?? {}) as Record<string, unknown>;
    await this.agent.started(ref);
    if (command.modelId === FILES) return void (await this.agent.complete(ref, { files: await downloads(input) }));
    const prompt = String(input.prompt ?? "");
    if (prompt === "fail") {
      await this.agent.logs(ref, ["about to fail"]);
      return void (await this.agent.fail(ref, {
        error: "the model crashed",
        errorType: "runner_error",
        cause: "runner error",
        retryable: false,
      }));
    }
    if (prompt === "invalid") {
      return void (await this.agent.fail(ref, {
        error: "steps must be even",
        errorType: "validation_error",
        cause: "invalid input",
        retryable: false,
      }));
    }
    if (prompt === "hold") {
      await this.agent.logs(ref, ["holding"]);
      const output = await new Promise<unknown>((resolve) => this.holds.set(ref.jobId, resolve));
      return void (await this.agent.complete(ref, output));
    }
    const steps = typeof input.steps === "number" ? input.steps : 2;
    for (let i = 1; i <= steps; i++) {
      await this.agent.logs(ref, [`step ${i}/${steps}`]);
      await sleep(100);
    }
    await this.agent.complete(ref, {
      text: prompt.toUpperCase(),
      route: (command as { route?: string | null }).route ?? null,
    });
  }
}

async function downloads(input: Record<string, unknown>) {
  const files: { field: string; size: number; sha256: string; contentType: string | null }[] = [];
  for (const [field, value] of Object.entries(input)) {
    if (typeof value !== "string" || !/^https?:/.test(value)) continue;
    const response = await fetch(value);
    const bytes = Buffer.from(await response.arrayBuffer());
    files.push({
      field,
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      contentType: response.headers.get("content-type"),
    });
  }
  return files;
}

export interface FalHarness {
  env: TestEnv;
  server: RunningServer;
  agent: TestAgent;
  runner: ScriptedRunner;
  /**
   * The official client, its hosts rewritten to this server (fal-api.md §4.1) by requestMiddleware,
   * or by a custom fetch (which also covers the calls that bypass the middleware).
   */
  client(credentials?: string, via?: "middleware" | "fetch"): FalClient;
  /** A plain fetch against the shim, with the API key. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  pause(modelId?: string): Promise<void>;
  resume(modelId?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFalHarness(overrides: Record<string, string> = {}): Promise<FalHarness> {
  const env = await createTestEnv();
  const server = await startTestServer(env, overrides);
  await createTestModel(server, ECHO, { maxAttempts: 2 });
  await createTestModel(server, FILES, { inputSchema: { type: "object" } });
  const { nodeToken } = await registerNode(server, "fal-test-node");
  const agent = new TestAgent(server.url, nodeToken, { capacity: 8 });
  await agent.startHeartbeats();
  const runner = new ScriptedRunner(agent);
  const hosts: Record<string, string> = {
    "queue.fal.run": "/fal/queue",
    "fal.run": "/fal/run",
    "rest.fal.ai": "/fal/rest",
    "rest.alpha.fal.ai": "/fal/rest",
    "v3.fal.media": "/fal/cdn",
  };
  const rewrite = (target: string) => {
    const url = new URL(target);
    const prefix = hosts[url.host];
    return prefix === undefined ? target : `${server.url}${prefix}${url.pathname}${url.search}`;
  };
  return {
    env,
    server,
    agent,
    runner,
    client: (credentials = API_KEY, via = "middleware") =>
      createFalClient({
        credentials,
        suppressLocalCredentialsWarning: true,
        ...(via === "middleware"
          ? { requestMiddleware: async (request) => ({ ...request, url: rewrite(request.url) }) }
          : { fetch: (input, init) => globalThis.fetch(rewrite(String(input)), init) }),
      }),
    fetch: (path, init = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Key ${API_KEY}`, ...(init.headers ?? {}) } }),
    pause: async (modelId = ECHO) => void (await server.services.queues.pause(modelId)),
    resume: async (modelId = ECHO) => void (await server.services.queues.resume(modelId)),
    async close() {
      runner.stop();
      await agent.close();
      await server.close();
      await env.cleanup();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
