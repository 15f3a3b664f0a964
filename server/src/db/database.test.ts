// openDatabase on both drivers: the real Postgres server and PGlite in a temporary folder.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Prisma } from "../generated/prisma/client.js";
import { createTestDatabase, type TestDatabase } from "../testing/postgres.js";
import { type Database, openDatabase } from "./database.js";

const slow = { timeout: 120_000 };

/** Writes a model, a version, a job and its first event; returns the ids. */
async function seedJob(db: Database, suffix: string) {
  const modelId = `acme/flux-${suffix}`;
  await db.prisma.model.create({ data: { id: modelId, name: "Flux" } });
  await db.prisma.modelVersion.create({
    data: { id: `mv-${suffix}`, modelId, version: 1, runner: { kind: "process", command: "python", args: ["run.py"] } },
  });
  const job = await db.prisma.job.create({
    data: {
      id: `job-${suffix}`,
      modelId,
      modelVersionId: `mv-${suffix}`,
      status: "QUEUED",
      maxAttempts: 3,
      input: { prompt: "a cat", steps: 4, nested: { seed: 42 } },
      idempotencyKey: `key-${suffix}`,
    },
  });
  const event = await db.prisma.jobEvent.create({
    data: { jobId: job.id, type: "submitted", toStatus: "QUEUED", detail: { by: "test" } },
  });
  return { modelId, jobId: job.id, eventId: event.id };
}

function describeDriver(kind: Database["kind"], open: () => Promise<Database>) {
  describe(`openDatabase (${kind})`, () => {
    let db: Database;

    beforeAll(async () => {
      db = await open();
    }, 120_000);

    afterAll(async () => {
      await db?.close();
    });

    test("reports its kind", () => {
      expect(db.kind).toBe(kind);
    });

    test("writes and reads models, versions, jobs with JSON input, and events with BigInt ids", async () => {
      const { modelId, jobId, eventId } = await seedJob(db, "rw");
      expect(typeof eventId).toBe("bigint");
      const second = await db.prisma.jobEvent.create({ data: { jobId, type: "assigned", fromStatus: "QUEUED" } });
      expect(second.id).toBeGreaterThan(eventId);

      const job = await db.prisma.job.findUniqueOrThrow({
        where: { id: jobId },
        include: { model: true, modelVersion: true, events: { orderBy: { id: "asc" } } },
      });
      expect(job.input).toEqual({ prompt: "a cat", steps: 4, nested: { seed: 42 } });
      expect(job.model.id).toBe(modelId);
      expect(job.modelVersion.runner).toMatchObject({ kind: "process", args: ["run.py"] });
      expect(job.modelVersion.maxAttempts).toBe(3); // column default
      expect(job.events.map((event) => [event.type, event.id])).toEqual([
        ["submitted", eventId],
        ["assigned", second.id],
      ]);
      expect(job.createdAt).toBeInstanceOf(Date);

      const byJsonPath = await db.prisma.job.findMany({ where: { input: { path: ["nested", "seed"], equals: 42 } } });
      expect(byJsonPath.map((found) => found.id)).toEqual([jobId]);
    });

    test("node defaults from the migration: state, JSON labels and gpus", async () => {
      const node = await db.prisma.node.create({ data: { id: "node-1", name: "gpu-host-1" } });
      expect(node).toMatchObject({ state: "PENDING", labels: {}, gpus: [], capacity: 1 });
    });

    test("a unique violation surfaces as Prisma's P2002", async () => {
      await seedJob(db, "dup");
      const duplicate = db.prisma.model.create({ data: { id: "acme/flux-dup", name: "again" } });
      await expect(duplicate).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      await expect(duplicate).rejects.toMatchObject({ code: "P2002" });
    });

    test("an interactive transaction commits together, and rolls back together on error", async () => {
      const { jobId } = await seedJob(db, "tx");
      await db.prisma.$transaction(async (tx) => {
        const job = await tx.job.update({ where: { id: jobId }, data: { status: "ASSIGNED", attemptCount: 1 } });
        await tx.jobAttempt.create({
          data: { id: "attempt-tx-1", jobId, number: job.attemptCount, status: "ASSIGNED" },
        });
        await tx.jobEvent.create({ data: { jobId, type: "assigned", fromStatus: "QUEUED", toStatus: "ASSIGNED" } });
      });
      expect(await db.prisma.job.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "ASSIGNED" });

      const failing = db.prisma.$transaction(async (tx) => {
        await tx.job.update({ where: { id: jobId }, data: { status: "RUNNING" } });
        throw new Error("agent lost");
      });
      await expect(failing).rejects.toThrow("agent lost");
      expect(await db.prisma.job.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "ASSIGNED" });
      expect(await db.prisma.jobAttempt.count({ where: { jobId } })).toBe(1);
    });

    test("runs raw queries", async () => {
      await seedJob(db, "raw");
      const status = "QUEUED";
      const rows = await db.prisma.$queryRaw<{ id: string; steps: number }[]>`
        SELECT id, (input->>'steps')::int AS steps
        FROM "Job" WHERE id = ${"job-raw"} AND status = ${status}::"JobStatus"`;
      expect(rows).toEqual([{ id: "job-raw", steps: 4 }]);
    });
  });
}

describe("on the real Postgres server", () => {
  let testDatabase: TestDatabase | undefined;
  afterAll(async () => {
    await testDatabase?.drop();
  });
  describeDriver("postgres", async () => {
    testDatabase = await createTestDatabase();
    return openDatabase({ databaseUrl: testDatabase.url, dataDir: "/nonexistent-unused" });
  });
});

describe("on PGlite in a temporary folder", () => {
  let dataDir: string | undefined;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  describeDriver("pglite", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "vyvo-pglite-"));
    const started = Date.now();
    const db = await openDatabase({ dataDir });
    console.info(`PGlite first open with migrations: ${Date.now() - started} ms`);
    return db;
  });

  test("keeps its data across a close and a reopen, without migrating again", slow, async () => {
    const dir = await mkdtemp(join(tmpdir(), "vyvo-pglite-reopen-"));
    try {
      const first = await openDatabase({ dataDir: dir });
      await seedJob(first, "persist");
      await first.close();

      const logs: string[] = [];
      const second = await openDatabase({ dataDir: dir, log: (msg) => logs.push(msg) });
      try {
        const job = await second.prisma.job.findUniqueOrThrow({
          where: { id: "job-persist" },
          include: { events: true },
        });
        expect(job.input).toEqual({ prompt: "a cat", steps: 4, nested: { seed: 42 } });
        expect(job.events).toHaveLength(1);
        expect(logs.some((msg) => msg.startsWith("applying migration"))).toBe(false);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
