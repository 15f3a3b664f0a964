import { generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import { createMemoryEventBus } from "../events/event-bus.js";
import type { JobStatus } from "../jobs/state-machine.js";
import { createTestDatabase, type TestDatabase } from "../testing/postgres.js";
import { FAL_RETRY_POLICY } from "./retry-policy.js";
import { WebhookService } from "./webhook-service.js";

// The delivery loop against real Postgres, as two replicas would run it: two database clients,
// two services, one table. Row locks decide who sends what.

const { privateKey } = generateKeyPairSync("ed25519");
let testDb: TestDatabase;
let dataDir: string;
let replicaA: Database;
let replicaB: Database;
let receiver: Server;
let receiverUrl: string;
const hits: string[] = [];

function service(db: Database, now: () => number = Date.now) {
  return new WebhookService(
    {
      prisma: db.prisma,
      events: createMemoryEventBus(),
      clock: { now },
      signingKey: privateKey,
      render: (job) => ({ request_id: job.id, status: job.status }),
      onError: (error) => console.error(error),
    },
    { policy: { ...FAL_RETRY_POLICY, maxAttempts: 3 }, timeoutMs: 2_000, retentionMs: 60_000, batch: 8 },
  );
}

async function createJob(status: JobStatus): Promise<string> {
  const id = randomUUID();
  await replicaA.prisma.job.create({
    data: { id, modelId: "acme/hooks", modelVersionId: "acme-hooks-1", status, input: {}, maxAttempts: 1 },
  });
  return id;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), "vyvo-webhooks-"));
  replicaA = await openDatabase({ databaseUrl: testDb.url, dataDir });
  replicaB = await openDatabase({ databaseUrl: testDb.url, dataDir });
  await replicaA.prisma.model.create({ data: { id: "acme/hooks", name: "hooks" } });
  await replicaA.prisma.modelVersion.create({
    data: { id: "acme-hooks-1", modelId: "acme/hooks", version: 1, runner: {} },
  });
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      hits.push((JSON.parse(body) as { request_id: string }).request_id);
      // A slow receiver widens the window in which a second replica could double-send.
      setTimeout(() => res.writeHead(204).end(), 20);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await replicaA?.close();
  await replicaB?.close();
  await testDb?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("webhook delivery across replicas", () => {
  it("two replicas sweeping at once send every webhook exactly once", async () => {
    const a = service(replicaA);
    const b = service(replicaB);
    const jobs = await Promise.all(Array.from({ length: 40 }, () => createJob("SUCCEEDED")));
    for (const [i, jobId] of jobs.entries()) await (i % 2 ? a : b).register(jobId, receiverUrl, "key:test");
    hits.length = 0;
    await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
    await Promise.all([a.sweep(), b.sweep()]);
    expect(hits.sort()).toEqual([...jobs].sort());
    const rows = await replicaA.prisma.webhookDelivery.findMany({ where: { jobId: { in: jobs } } });
    expect(rows.every((row) => row.state === "DELIVERED" && row.attempts === 1 && row.lastStatusCode === 204)).toBe(
      true,
    );
  });

  it("a webhook waits while its job runs, and goes once the job has ended", async () => {
    const a = service(replicaA);
    const jobId = await createJob("RUNNING");
    await a.register(jobId, receiverUrl, "key:test");
    hits.length = 0;
    expect(await a.sweep()).toBe(0);
    await replicaA.prisma.job.update({ where: { id: jobId }, data: { status: "FAILED" } });
    expect(await a.sweep()).toBe(1);
    expect(hits).toEqual([jobId]);
  });

  it("a claim holds the delivery for its lease; after that another replica takes it over", async () => {
    let nowB = Date.now();
    const b = service(replicaB, () => nowB);
    const jobId = await createJob("SUCCEEDED");
    const delivery = await b.register(jobId, receiverUrl, "key:test");
    // Replica A claimed it (attempt 1, lease running) and died before recording the outcome.
    await replicaA.prisma.webhookDelivery.update({
      where: { id: delivery.id },
      data: { state: "PENDING", attempts: 1, nextAttemptAt: new Date(Date.now() + 30_000) },
    });
    hits.length = 0;
    expect(await b.sweep()).toBe(0);
    nowB += 31_000;
    expect(await b.sweep()).toBe(1);
    expect(hits).toEqual([jobId]);
    expect(await replicaA.prisma.webhookDelivery.findUnique({ where: { id: delivery.id } })).toMatchObject({
      state: "DELIVERED",
      attempts: 2,
    });
  });

  it("records past retention are purged, and so are waiting ones whose job is gone", async () => {
    let now = Date.now();
    const a = service(replicaA, () => now);
    const ended = await createJob("SUCCEEDED");
    await a.register(ended, receiverUrl, "key:test");
    await a.sweep();
    await a.register(randomUUID(), receiverUrl, "key:test"); // a job that no longer exists
    now += 120_000;
    expect(await a.purgeExpired()).toBeGreaterThanOrEqual(2);
    expect(await replicaA.prisma.webhookDelivery.count({ where: { jobId: ended } })).toBe(0);
  });
});
