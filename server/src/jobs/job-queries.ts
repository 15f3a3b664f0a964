import type { SqlClient } from "../db/sql-client.js";
import type { JobStatus, Prisma, PrismaClient } from "../generated/prisma/client.js";

/**
 * Read-only views of jobs for transports that poll (the fal shim): each one indexed read that
 * selects only the columns it needs, so status polls stay cheap and never load input or output.
 * The per-poll reads go through plain SQL (a Prisma query costs ~0.6 ms of client CPU, which
 * caps a replica at a few thousand polls per second); listing stays on Prisma.
 */

const STATUS_SELECT = {
  id: true,
  modelId: true,
  status: true,
  error: true,
  errorType: true,
  cause: true,
  attemptCount: true,
  maxAttempts: true,
  queueWaitMs: true,
  runTimeMs: true,
  totalTimeMs: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
} as const satisfies Prisma.JobSelect;

const STATUS_COLUMNS = Object.keys(STATUS_SELECT)
  .map((column) => `"${column}"`)
  .join(", ");

const RESULT_SELECT = {
  id: true,
  modelId: true,
  status: true,
  output: true,
  error: true,
  errorType: true,
  cause: true,
} as const satisfies Prisma.JobSelect;

export type JobStatusView = Prisma.JobGetPayload<{ select: typeof STATUS_SELECT }>;
export type JobResultView = Prisma.JobGetPayload<{ select: typeof RESULT_SELECT }>;

export interface JobLogView {
  id: bigint;
  attemptId: string;
  seq: number;
  level: string;
  message: string;
  at: Date;
}

export interface JobPage {
  jobs: JobStatusView[];
  /** Opaque; pass it back to get the next (older) page. Null on the last page. */
  nextCursor: string | null;
}

export const MAX_PAGE = 100;
const MAX_LOG_LINES = 10_000;

export class JobQueries {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: SqlClient,
  ) {}

  async statusOf(jobId: string): Promise<JobStatusView | null> {
    const rows = await this.sql.query<JobStatusView>(`SELECT ${STATUS_COLUMNS} FROM "Job" WHERE "id" = $1`, [jobId]);
    return rows[0] ?? null;
  }

  resultOf(jobId: string): Promise<JobResultView | null> {
    return this.prisma.job.findUnique({ where: { id: jobId }, select: RESULT_SELECT });
  }

  /** Log lines in the order they were stored, after `afterId` when given (streams read only new ones). */
  async logsOf(jobId: string, afterId?: bigint): Promise<JobLogView[]> {
    const rows = await this.sql.query<Omit<JobLogView, "id"> & { id: string }>(
      `SELECT "id"::text AS "id", "attemptId", "seq", "level", "message", "at" FROM "JobLog"
       WHERE "jobId" = $1 AND "id" > $2::bigint ORDER BY "id" LIMIT ${MAX_LOG_LINES}`,
      [jobId, (afterId ?? -1n).toString()],
    );
    return rows.map((row) => ({ ...row, id: BigInt(row.id) }));
  }

  /** A model's jobs, newest first, by keyset pagination on (createdAt, id). */
  async listByModel(
    modelId: string,
    opts: { limit?: number; cursor?: string | null; statuses?: JobStatus[] } = {},
  ): Promise<JobPage> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), MAX_PAGE);
    const after = opts.cursor ? decodeCursor(opts.cursor) : null;
    const jobs = await this.prisma.job.findMany({
      where: {
        modelId,
        ...(opts.statuses?.length ? { status: { in: opts.statuses } } : {}),
        ...(after
          ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
      select: STATUS_SELECT,
    });
    const page = jobs.slice(0, limit);
    const last = page[page.length - 1];
    return { jobs: page, nextCursor: jobs.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }
}

export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.getTime()}:${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const colon = text.indexOf(":");
  const ms = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isFinite(ms)) throw new InvalidCursorError("cursor is not one this server gave out");
  return { createdAt: new Date(ms), id: text.slice(colon + 1) };
}
