// The SQL of the transitions that run once per job or more (submit, assign, start, succeed,
// fail, retry, requeue), each written for a whole batch of jobs in ONE statement: lock the rows,
// guard with the state machine, update the jobs, write their attempts, append their events.
// One statement is one implicit transaction, so a batch commits (or fails) as a whole, with
// no BEGIN/COMMIT round trips. The text is built once per trigger from the transition table.
import { Prisma } from "../generated/prisma/client.js";
import { isTerminal, type JobStatus, sourcesOf, targetOf } from "./state-machine.js";

/**
 * The Job columns the statements return, named one by one (from the generated client, so they
 * follow the schema): a prepared `RETURNING *` would fail once a migration adds a column.
 */
const jobColumns = (table: string) =>
  Object.values(Prisma.JobScalarFieldEnum)
    .map((column) => `${table}."${column}"`)
    .join(", ");

/** The triggers written in batches; the others go through JobTransitions.apply. */
export const BATCHED_TRIGGERS = ["assign", "start", "succeed", "fail", "retry", "requeue"] as const;
export type BatchedTrigger = (typeof BATCHED_TRIGGERS)[number];

/**
 * What each row of a batch carries ($1, a JSON array of objects with these keys). Every trigger
 * has ord (its place in the batch), job_id, actor, cause and detail.
 */
const INPUT_COLUMNS: Record<BatchedTrigger, string[]> = {
  assign: ["attempt_id text", "attempt int", "node_id text"],
  start: ["attempt_id text"],
  succeed: ["attempt_id text", "output jsonb", "retention_ms float8"],
  fail: ["attempt_id text", "error text", "error_type text", "attempt_status text", "retention_ms float8"],
  retry: ["attempt_id text", "attempt_status text"],
  requeue: [],
};

const ms = (interval: string) => `round(extract(epoch from (${interval})) * 1000)::int`;
const AT = `$2::timestamp(3)`;
const finishTimes = [
  `"runTimeMs" = CASE WHEN j."startedAt" IS NULL THEN NULL ELSE ${ms(`${AT} - j."startedAt"`)} END`,
  `"totalTimeMs" = ${ms(`${AT} - j."createdAt"`)}`,
  `"retentionUntil" = ${AT} + l.retention_ms * interval '1 millisecond'`,
];

/** Columns set besides status, updatedAt and (for terminal targets) finishedAt. `j` is the row before. */
const SET: Record<BatchedTrigger, string[]> = {
  assign: [`"attemptCount" = l.attempt`, `"currentAttemptId" = l.attempt_id`],
  start: [
    `"startedAt" = COALESCE(j."startedAt", ${AT})`,
    `"queueWaitMs" = COALESCE(j."queueWaitMs", ${ms(`${AT} - j."createdAt"`)})`,
  ],
  succeed: [`"output" = l.output`, ...finishTimes],
  fail: [`"error" = l.error`, `"errorType" = l.error_type`, `"cause" = l.cause`, ...finishTimes],
  retry: [`"cause" = l.cause`],
  requeue: [],
};

/** Which rows a trigger may touch besides the status guard: the fencing. */
const FENCE: Record<BatchedTrigger, string> = {
  // A claim of attempt n applies only while fewer than n attempts are recorded.
  assign: `j."attemptCount" < i.attempt`,
  start: `j."currentAttemptId" = i.attempt_id`,
  succeed: `j."currentAttemptId" = i.attempt_id`,
  fail: `j."currentAttemptId" = i.attempt_id`,
  retry: `j."currentAttemptId" = i.attempt_id`,
  requeue: "true",
};

/** The attempt row's part of the transition (a CTE), if any. */
const ATTEMPT: Record<BatchedTrigger, string | null> = {
  assign: `INSERT INTO "JobAttempt" ("id", "jobId", "number", "nodeId", "status", "assignedAt")
    SELECT u."currentAttemptId", u."id", u."attemptCount", u."_nodeId", 'ASSIGNED', ${AT} FROM updated u`,
  start: `UPDATE "JobAttempt" a SET "status" = 'RUNNING', "startedAt" = ${AT} FROM updated u WHERE a."id" = u."currentAttemptId"`,
  succeed: `UPDATE "JobAttempt" a SET "status" = 'SUCCEEDED', "finishedAt" = ${AT} FROM updated u WHERE a."id" = u."currentAttemptId"`,
  fail: `UPDATE "JobAttempt" a SET "status" = u."_attemptStatus"::"AttemptStatus", "cause" = u."_cause", "finishedAt" = ${AT}
    FROM updated u WHERE a."id" = u."currentAttemptId"`,
  retry: `UPDATE "JobAttempt" a SET "status" = u."_attemptStatus"::"AttemptStatus", "cause" = u."_cause", "finishedAt" = ${AT}
    FROM updated u WHERE a."id" = u."currentAttemptId"`,
  requeue: null,
};

/** Extra input values the later CTEs need, carried through RETURNING under `_` names. */
const CARRIED: Record<BatchedTrigger, string[]> = {
  assign: [`l.node_id AS "_nodeId"`],
  start: [],
  succeed: [],
  fail: [`l.attempt_status AS "_attemptStatus"`],
  retry: [`l.attempt_status AS "_attemptStatus"`],
  requeue: [],
};

const quoteStatuses = (statuses: JobStatus[]) => statuses.map((status) => `'${status}'`).join(", ");

/**
 * One statement for a batch of `trigger` transitions. $1: the rows (JSON), $2: the time.
 * Returns the changed jobs (every Job column) with `_from` (the status before) and `_ord`, in
 * batch order; rows the guard refused are simply absent. Assign also returns `_runner`, the
 * version's runner, so that RunJob needs no second read.
 */
export function transitionStatement(trigger: BatchedTrigger): string {
  const to = targetOf(trigger);
  const inputs = ["ord int", "job_id text", "actor text", "cause text", "detail jsonb", ...INPUT_COLUMNS[trigger]].join(
    ", ",
  );
  const set = [
    `"status" = '${to}'`,
    `"updatedAt" = ${AT}`,
    ...(isTerminal(to) ? [`"finishedAt" = ${AT}`] : []),
    ...SET[trigger],
  ];
  const attempt = ATTEMPT[trigger];
  const result =
    trigger === "assign"
      ? `SELECT u.*, v."runner" AS "_runner" FROM updated u JOIN "ModelVersion" v ON v."id" = u."modelVersionId" ORDER BY u."_ord"`
      : `SELECT * FROM updated ORDER BY "_ord"`;
  return `WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(${inputs})
), locked AS (
  -- Rows are locked in id order, so concurrent batches (other replicas) cannot deadlock.
  SELECT j."id", j."status" AS from_status, i.* FROM input i JOIN "Job" j ON j."id" = i.job_id
  WHERE j."status" IN (${quoteStatuses(sourcesOf(trigger))}) AND ${FENCE[trigger]}
  ORDER BY j."id" FOR UPDATE OF j
), updated AS (
  UPDATE "Job" j SET ${set.join(", ")}
  FROM locked l WHERE j."id" = l."id"
  RETURNING ${jobColumns("j")}, l.from_status AS "_from", l.ord AS "_ord", l.cause AS "_cause", l.actor AS "_actor", l.detail AS "_detail"${CARRIED[trigger].map((c) => `, ${c}`).join("")}
)${attempt ? `, attempt AS (\n  ${attempt}\n)` : ""}, event AS (
  INSERT INTO "JobEvent" ("jobId", "attemptId", "type", "fromStatus", "toStatus", "cause", "actor", "detail", "at")
  SELECT u."id", u."currentAttemptId", '${trigger}', u."_from", '${to}', u."_cause", u."_actor", u."_detail", ${AT}
  FROM updated u ORDER BY u."_ord"
)
${result}`;
}

/**
 * Inserts a batch of new jobs and their submit events in one statement. $1: the jobs (JSON,
 * keyed by column name). Returns the inserted rows. An idempotency key taken meanwhile fails
 * the whole statement with a unique violation (the caller resolves it and tries again).
 */
export const INSERT_SUBMITTED = `WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
    "id" text, "modelId" text, "modelVersionId" text, "priority" int, "input" jsonb, "route" text,
    "idempotencyKey" text, "maxAttempts" int, "startDeadlineAt" timestamp(3), "timeoutMs" int,
    "submittedBy" text, "createdAt" timestamp(3), ord int)
), inserted AS (
  INSERT INTO "Job" ("id", "modelId", "modelVersionId", "status", "priority", "input", "route", "idempotencyKey",
    "maxAttempts", "startDeadlineAt", "timeoutMs", "submittedBy", "createdAt", "updatedAt")
  SELECT "id", "modelId", "modelVersionId", 'QUEUED', "priority", "input", "route", "idempotencyKey",
    "maxAttempts", "startDeadlineAt", "timeoutMs", "submittedBy", "createdAt", "createdAt"
  FROM input ORDER BY ord
  RETURNING ${jobColumns(`"Job"`)}
), event AS (
  INSERT INTO "JobEvent" ("jobId", "type", "toStatus", "actor", "at")
  SELECT i."id", 'submit', 'QUEUED', i."submittedBy", i."createdAt" FROM input i ORDER BY i.ord
)
SELECT * FROM inserted`;
