import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import type { Job } from "../generated/prisma/client.js";
import { createTestDatabase, type TestDatabase } from "../testing/postgres.js";
import { nextStatus } from "./state-machine.js";
import { type BatchedTransition, TransitionBatcher } from "./transition-batcher.js";
import { INSERT_SUBMITTED } from "./transition-sql.js";

// The batched transition statements against real Postgres: the state machine guards every
// write, every applied transition appends its event, and a job's transitions in one batch are
// applied and published in the order they were asked for.

let testDb: TestDatabase;
let db: Database;
let versionId: string;
let clock = Date.parse("2026-01-01T00:00:00.000Z");
const published: Job[] = [];
let batcher: TransitionBatcher;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = await openDatabase({ databaseUrl: testDb.url, dataDir: "/tmp" });
  await db.prisma.model.create({ data: { id: "acme/batch", name: "acme/batch" } });
  versionId = randomUUID();
  await db.prisma.modelVersion.create({
    data: {
      id: versionId,
      modelId: "acme/batch",
      version: 1,
      runner: { kind: "process", command: "x" },
      maxAttempts: 3,
    },
  });
  await db.prisma.node.create({
    data: { id: "node-a", name: "node-a", tokenHash: "hash-a", capacity: 4, state: "ONLINE" },
  });
  batcher = new TransitionBatcher(
    db.sql,
    () => clock,
    (jobs) => published.push(...jobs),
  );
});

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

async function submitted(count: number): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, ord) => ({
    id: randomUUID(),
    modelId: "acme/batch",
    modelVersionId: versionId,
    priority: 0,
    input: { n: ord },
    maxAttempts: 3,
    submittedBy: "tester",
    createdAt: new Date(clock),
    ord,
  }));
  await db.sql.query(INSERT_SUBMITTED, [JSON.stringify(rows)]);
  return rows.map((row) => row.id);
}

const assign = (jobId: string, attempt = 1): BatchedTransition => ({
  trigger: "assign",
  jobId,
  attemptId: `${jobId}.${attempt}`,
  attempt,
  nodeId: "node-a",
});
const start = (jobId: string, attempt = 1): BatchedTransition => ({
  trigger: "start",
  jobId,
  attemptId: `${jobId}.${attempt}`,
  actor: "node:node-a",
});
const succeed = (jobId: string, output: unknown, attempt = 1): BatchedTransition => ({
  trigger: "succeed",
  jobId,
  attemptId: `${jobId}.${attempt}`,
  actor: "node:node-a",
  output,
  retentionMs: 60_000,
});

async function eventsOf(jobId: string) {
  return db.prisma.jobEvent.findMany({ where: { jobId }, orderBy: { id: "asc" } });
}

describe("TransitionBatcher", () => {
  it("applies assign, start and succeed of one job asked for together, in order, with their events", async () => {
    const [jobId] = (await submitted(1)) as [string];
    published.length = 0;
    const outcomes = await Promise.all([
      batcher.apply(assign(jobId)),
      batcher.apply(start(jobId)),
      batcher.apply(succeed(jobId, { text: "hi" })),
    ]);
    expect(outcomes.map((o) => o.applied && o.from)).toEqual(["QUEUED", "ASSIGNED", "RUNNING"]);
    expect(published.map((job) => job.status)).toEqual(["ASSIGNED", "RUNNING", "SUCCEEDED"]);

    const job = await db.prisma.job.findUniqueOrThrow({ where: { id: jobId }, include: { attempts: true } });
    expect(job).toMatchObject({
      status: "SUCCEEDED",
      output: { text: "hi" },
      attemptCount: 1,
      currentAttemptId: `${jobId}.1`,
    });
    expect(job.finishedAt?.toISOString()).toBe(new Date(clock).toISOString());
    expect(job.retentionUntil?.getTime()).toBe(clock + 60_000);
    expect(job.attempts).toEqual([
      expect.objectContaining({ id: `${jobId}.1`, number: 1, nodeId: "node-a", status: "SUCCEEDED" }),
    ]);
    const events = await eventsOf(jobId);
    expect(events.map((e) => [e.type, e.fromStatus, e.toStatus, e.attemptId])).toEqual([
      ["submit", null, "QUEUED", null],
      ["assign", "QUEUED", "ASSIGNED", `${jobId}.1`],
      ["start", "ASSIGNED", "RUNNING", `${jobId}.1`],
      ["succeed", "RUNNING", "SUCCEEDED", `${jobId}.1`],
    ]);
    expect(events[1]).toMatchObject({ actor: "node:node-a", cause: "claimed by node node-a", detail: { attempt: 1 } });
  });

  it("holds a job's next transition until its write in flight committed, while other jobs go ahead", async () => {
    const [first, second] = (await submitted(2)) as [string, string];
    published.length = 0;
    const assigned = batcher.apply(assign(first));
    await new Promise((resolve) => setImmediate(resolve)); // the first write is now in flight
    const later = [
      batcher.apply(start(first)),
      batcher.apply(assign(second)),
      batcher.apply(succeed(first, { ok: 1 })),
    ];
    const outcomes = await Promise.all([assigned, ...later]);
    expect(outcomes.map((o) => o.applied && `${o.job.id === first ? "first" : "second"}:${o.job.status}`)).toEqual([
      "first:ASSIGNED",
      "first:RUNNING",
      "second:ASSIGNED",
      "first:SUCCEEDED",
    ]);
    const firstStates = published.filter((job) => job.id === first).map((job) => job.status);
    expect(firstStates).toEqual(["ASSIGNED", "RUNNING", "SUCCEEDED"]);
  });

  it("writes many jobs in one batch and reads rows back as Prisma would (UTC dates, parsed JSON)", async () => {
    const ids = await submitted(50);
    clock += 1_500;
    const outcomes = await Promise.all(ids.map((id) => batcher.apply(assign(id))));
    expect(outcomes.every((o) => o.applied)).toBe(true);
    const first = outcomes[0];
    if (!first?.applied) throw new Error("not applied");
    const viaPrisma = await db.prisma.job.findUniqueOrThrow({ where: { id: first.job.id } });
    expect(first.job).toEqual(viaPrisma);
    expect(first.runner).toEqual({ kind: "process", command: "x" });
  });

  it("refuses what the state machine or the fencing forbids, and writes nothing for it", async () => {
    const [jobId] = (await submitted(1)) as [string];
    const refused = await Promise.all([
      batcher.apply(start(jobId)), // QUEUED cannot start
      batcher.apply(succeed(jobId, {})),
    ]);
    expect(refused).toEqual([{ applied: false }, { applied: false }]);
    expect(nextStatus("QUEUED", "start")).toBeNull();

    await batcher.apply(assign(jobId));
    expect(await batcher.apply(succeed(jobId, {}, 2))).toEqual({ applied: false }); // not the current attempt
    expect(await batcher.apply(assign(jobId, 1))).toEqual({ applied: false }); // already assigned
    const failed = await batcher.apply({
      trigger: "fail",
      jobId,
      attemptId: `${jobId}.1`,
      actor: "node:node-a",
      error: "boom",
      errorType: "runner_error",
      cause: "runner crashed",
      attemptStatus: "FAILED",
      retentionMs: 1_000,
    });
    expect(failed.applied && failed.job).toMatchObject({
      status: "FAILED",
      error: "boom",
      errorType: "runner_error",
      cause: "runner crashed",
    });
    expect(await batcher.apply(succeed(jobId, {}))).toEqual({ applied: false }); // terminal
    expect((await eventsOf(jobId)).map((e) => e.type)).toEqual(["submit", "assign", "fail"]);
  });

  it("retry and requeue take a job back to its queue, and the next attempt can be assigned", async () => {
    const [jobId] = (await submitted(1)) as [string];
    await batcher.apply(assign(jobId));
    const lost = {
      actor: "reaper",
      error: "gone",
      errorType: "agent_lost",
      cause: "agent lost",
      attemptStatus: "LOST" as const,
    };
    const outcomes = await Promise.all([
      batcher.apply({ trigger: "retry", jobId, attemptId: `${jobId}.1`, ...lost }),
      batcher.apply({ trigger: "requeue", jobId, actor: "reaper", cause: "backoff over" }),
      batcher.apply(assign(jobId, 2)),
    ]);
    expect(outcomes.map((o) => o.applied && o.job.status)).toEqual(["RETRY_WAIT", "QUEUED", "ASSIGNED"]);
    const attempts = await db.prisma.jobAttempt.findMany({ where: { jobId }, orderBy: { number: "asc" } });
    expect(attempts.map((a) => [a.number, a.status, a.cause])).toEqual([
      [1, "LOST", "agent lost"],
      [2, "ASSIGNED", null],
    ]);
  });

  it("a failed statement rejects its whole batch and commits none of it", async () => {
    const [jobId, other] = (await submitted(2)) as [string, string];
    const bad = batcher.apply({
      trigger: "assign",
      jobId,
      attemptId: `${jobId}.1`,
      attempt: 1,
      nodeId: "no-such-node",
    });
    const good = batcher.apply(assign(other));
    await expect(bad).rejects.toThrow();
    await expect(good).rejects.toThrow();
    for (const id of [jobId, other])
      expect((await db.prisma.job.findUniqueOrThrow({ where: { id } })).status).toBe("QUEUED");
  });
});
