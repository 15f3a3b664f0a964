import { DomainError } from "../errors.js";
import { topics } from "../events/event-bus.js";
import type { Job } from "../generated/prisma/client.js";
import { InvalidCursorError, type JobPage, type JobStatusView } from "../jobs/job-queries.js";
import type { JobStatus } from "../jobs/state-machine.js";
import { type AppRef, type QueueRoute, routeOf } from "./app-path.js";
import { actor, type FalCall, type FalDeps, queueBase, requirePermission } from "./fal-context.js";
import { FalHttpError } from "./fal-errors.js";
import { onClientGone, readJsonBody, sendJson } from "./http-io.js";
import { parseLogsFlag, parseSubmitOptions } from "./request-options.js";
import { ChangeSignal, openSse } from "./sse.js";
import { type FalStatus, falLogOf, falResultOf, falStatusOf, falStatusPayload, requestUrls } from "./status-mapping.js";
import { offloadDataUris } from "./stored-files.js";

/** The queue API (fal-api.md §1.2): submit, status, status stream, result, cancel, plus list, stats and retry. */
export async function handleQueueRoute(deps: FalDeps, call: FalCall, route: QueueRoute): Promise<void> {
  switch (route.kind) {
    case "submit":
      return submit(deps, call, route.app);
    case "status":
      return status(deps, call, route.app, route.requestId);
    case "statusStream":
      return statusStream(deps, call, route.app, route.requestId);
    case "result":
      return result(deps, call, route.app, route.requestId);
    case "cancel":
      return cancel(deps, call, route.app, route.requestId);
    case "retry":
      return retry(deps, call, route.app, route.requestId);
    case "list":
      return list(deps, call, route.app);
    case "stats":
      return stats(deps, call, route.app);
  }
}

const requestIdHeader = (id: string) => ({ "x-fal-request-id": id });

/** Reads the body and headers of a submit (queue or run) and creates the job. */
export async function submitFromRequest(
  deps: FalDeps,
  call: FalCall,
  app: AppRef,
  mode: "queue" | "run",
): Promise<Job> {
  requirePermission(call, "jobs:submit");
  const options = parseSubmitOptions(call.req.headers, call.url.searchParams);
  const body = await readJsonBody(call.req, deps.maxBodyBytes);
  const input = await offloadDataUris(body, {
    threshold: deps.dataUriOffloadBytes,
    store: deps.files,
    origin: call.origin,
  });
  if (options.maxQueueLength !== undefined) {
    const [queue] = await deps.queues.list([app.appId]);
    if (queue && queue.depth >= options.maxQueueLength) {
      throw FalHttpError.detail(
        429,
        `the queue of ${app.appId} holds ${queue.depth} requests (fal_max_queue_length ${options.maxQueueLength})`,
      );
    }
  }
  const route = routeOf(app.subpath);
  const who = actor(call);
  const { job, created } = await deps.jobs.submit({
    modelId: app.appId,
    input,
    actor: who,
    ...(route ? { route } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
    // fal's sync API does not retry on the server; the queue does unless told not to.
    ...(options.retry === false || mode === "run" ? { retry: false } : {}),
    // Keys are per caller, so nobody can fetch another caller's request by guessing their key.
    ...(options.idempotencyKey ? { idempotencyKey: `fal:${who}:${options.idempotencyKey}` } : {}),
  });
  if (created && options.webhookUrl && mode === "queue") await deps.webhooks.register(job.id, options.webhookUrl, who);
  return job;
}

async function submit(deps: FalDeps, call: FalCall, app: AppRef): Promise<void> {
  const job = await submitFromRequest(deps, call, app, "queue");
  const position = await deps.jobs.position(job.id);
  sendJson(
    call.res,
    200,
    {
      status: "IN_QUEUE",
      request_id: job.id,
      gateway_request_id: job.id,
      ...requestUrls(queueBase(call), job.modelId, job.id),
      queue_position: position ?? 0,
    },
    requestIdHeader(job.id),
  );
}

/** The job behind a request id, if it belongs to the app in the path (else it does not exist here). */
async function findJob(deps: FalDeps, app: AppRef, requestId: string): Promise<JobStatusView | null> {
  const job = await deps.queries.statusOf(requestId);
  return job && job.modelId === app.appId ? job : null;
}

const notFoundReply = (requestId: string) => FalHttpError.detail(404, `Request ${requestId} not found`);

async function status(deps: FalDeps, call: FalCall, app: AppRef, requestId: string): Promise<void> {
  requirePermission(call, "jobs:read");
  const job = await findJob(deps, app, requestId);
  if (!job) throw notFoundReply(requestId);
  const falStatus = falStatusOf(job.status);
  const withLogs = parseLogsFlag(call.url.searchParams.get("logs"));
  const [position, logs] = await Promise.all([
    falStatus === "IN_QUEUE" ? deps.jobs.position(job.id) : null,
    withLogs && falStatus !== "IN_QUEUE" ? deps.queries.logsOf(job.id) : null,
  ]);
  const body = falStatusPayload(job, {
    urls: requestUrls(queueBase(call), job.modelId, job.id),
    queuePosition: position,
    logs: logs ? logs.map(falLogOf) : null,
  });
  sendJson(call.res, falStatus === "COMPLETED" ? 200 : 202, body, requestIdHeader(job.id));
}

/** Re-reads at most this often while events pour in. */
const STREAM_MIN_GAP_MS = 100;
/**
 * Queue positions change with every job of the model; rather than waking every stream on every
 * queue event, a waiting stream re-reads on this tick (so positions are at most this stale).
 */
const STREAM_TICK_MS = 500;

/**
 * SSE: one status event per change, each carrying only the log lines that are new since the
 * last event (the JS client concatenates them); closed by us only after COMPLETED.
 */
async function statusStream(deps: FalDeps, call: FalCall, app: AppRef, requestId: string): Promise<void> {
  requirePermission(call, "jobs:read");
  const withLogs = parseLogsFlag(call.url.searchParams.get("logs"));
  const first = await findJob(deps, app, requestId);
  if (!first) throw notFoundReply(requestId);
  const signal = new ChangeSignal(
    deps.events,
    [topics.jobUpdated(requestId), ...(withLogs ? [topics.jobLogs(requestId)] : [])],
    STREAM_TICK_MS,
  );
  const sse = openSse(call.res, requestIdHeader(requestId));
  onClientGone(call.res, () => signal.close());
  const urls = requestUrls(queueBase(call), first.modelId, requestId);
  let lastLogId: bigint | undefined;
  let lastSent = "";
  try {
    while (!sse.closed && !signal.closed) {
      await signal.wait();
      if (sse.closed || signal.closed) break;
      const job = await deps.queries.statusOf(requestId);
      if (!job) break; // purged while we watched: nothing more will come
      const falStatus: FalStatus = falStatusOf(job.status);
      const [position, fresh] = await Promise.all([
        falStatus === "IN_QUEUE" ? deps.jobs.position(requestId) : null,
        withLogs && falStatus !== "IN_QUEUE" ? deps.queries.logsOf(requestId, lastLogId) : [],
      ]);
      const last = fresh[fresh.length - 1];
      if (last) lastLogId = last.id;
      const fingerprint = `${job.status}:${position}`;
      if (fingerprint !== lastSent || fresh.length > 0 || falStatus === "COMPLETED") {
        sse.send(falStatusPayload(job, { urls, queuePosition: position, logs: withLogs ? fresh.map(falLogOf) : null }));
        lastSent = fingerprint;
      }
      if (falStatus === "COMPLETED") break;
      await new Promise((resolve) => setTimeout(resolve, STREAM_MIN_GAP_MS));
    }
  } finally {
    signal.close();
    sse.close();
  }
}

async function result(deps: FalDeps, call: FalCall, app: AppRef, requestId: string): Promise<void> {
  requirePermission(call, "jobs:read");
  const job = await deps.queries.resultOf(requestId);
  if (!job || job.modelId !== app.appId) throw notFoundReply(requestId);
  const reply = falResultOf(job);
  sendJson(call.res, reply.statusCode, reply.body, { ...requestIdHeader(job.id), ...reply.headers });
}

/**
 * 200 OK: it was queued and is removed. 202 CANCELLATION_REQUESTED: it was running; the agent
 * is told to stop the runner. 400 ALREADY_COMPLETED: it had ended (its result stays). 404.
 */
async function cancel(deps: FalDeps, call: FalCall, app: AppRef, requestId: string): Promise<void> {
  requirePermission(call, "jobs:cancel");
  const headers = requestIdHeader(requestId);
  const job = await findJob(deps, app, requestId);
  if (!job) return sendJson(call.res, 404, { status: "NOT_FOUND" }, headers);
  const before = falStatusOf(job.status);
  if (before === "COMPLETED") return sendJson(call.res, 400, { status: "ALREADY_COMPLETED" }, headers);
  try {
    await deps.jobs.cancel(requestId, actor(call));
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (error.code === "NOT_FOUND") return sendJson(call.res, 404, { status: "NOT_FOUND" }, headers);
    // Lost the race to its completion (or another cancel): the job's own end stands.
    return sendJson(call.res, 400, { status: "ALREADY_COMPLETED" }, headers);
  }
  if (before === "IN_QUEUE") return sendJson(call.res, 200, { status: "OK" }, headers);
  sendJson(call.res, 202, { status: "CANCELLATION_REQUESTED" }, headers);
}

/** Beyond fal: runs a failed, cancelled or timed-out request again under the same id. */
async function retry(deps: FalDeps, call: FalCall, app: AppRef, requestId: string): Promise<void> {
  requirePermission(call, "jobs:retry");
  if (!(await findJob(deps, app, requestId))) throw notFoundReply(requestId);
  const job = await deps.jobs.resubmit(requestId, actor(call));
  const position = await deps.jobs.position(job.id);
  sendJson(
    call.res,
    202,
    {
      status: "IN_QUEUE",
      request_id: job.id,
      ...requestUrls(queueBase(call), job.modelId, job.id),
      queue_position: position ?? 0,
    },
    requestIdHeader(job.id),
  );
}

const FAL_TO_OURS: Record<FalStatus, JobStatus[]> = {
  IN_QUEUE: ["QUEUED", "RETRY_WAIT"],
  IN_PROGRESS: ["ASSIGNED", "RUNNING"],
  COMPLETED: ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"],
};
const OUR_STATUSES = new Set<string>(Object.values(FAL_TO_OURS).flat());

/** Beyond fal: GET /{app}/requests?limit=&cursor=&status= — the app's requests, newest first. */
async function list(deps: FalDeps, call: FalCall, app: AppRef): Promise<void> {
  requirePermission(call, "jobs:read");
  const params = call.url.searchParams;
  const statuses = params
    .getAll("status")
    .flatMap((value) => value.split(","))
    .filter(Boolean)
    .flatMap((value): JobStatus[] => {
      const upper = value.trim().toUpperCase();
      if (upper in FAL_TO_OURS) return FAL_TO_OURS[upper as FalStatus];
      if (OUR_STATUSES.has(upper)) return [upper as JobStatus];
      throw FalHttpError.detail(400, `unknown status "${value}"`);
    });
  const limit = params.has("limit") ? Number(params.get("limit")) : undefined;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw FalHttpError.detail(400, "limit must be a positive whole number");
  let page: JobPage;
  try {
    page = await deps.queries.listByModel(app.appId, { limit, cursor: params.get("cursor"), statuses });
  } catch (error) {
    if (error instanceof InvalidCursorError) throw FalHttpError.detail(400, error.message);
    throw error;
  }
  const base = queueBase(call);
  sendJson(call.res, 200, {
    requests: page.jobs.map((job) => ({
      request_id: job.id,
      status: falStatusOf(job.status),
      job_status: job.status,
      created_at: job.createdAt.toISOString(),
      finished_at: job.finishedAt?.toISOString() ?? null,
      ...(job.errorType ? { error_type: job.errorType } : {}),
      ...requestUrls(base, job.modelId, job.id),
    })),
    next_cursor: page.nextCursor,
  });
}

/** Beyond fal: GET /{app}/stats — queue depth and what is running. */
async function stats(deps: FalDeps, call: FalCall, app: AppRef): Promise<void> {
  requirePermission(call, "queues:read");
  await deps.models.currentVersion(app.appId); // 404 for an app that does not exist
  const [queue] = await deps.queues.list([app.appId]);
  sendJson(call.res, 200, {
    app_id: app.appId,
    queue_depth: queue?.depth ?? 0,
    running: queue?.running ?? 0,
    retrying: queue?.delayed ?? 0,
    paused: queue?.paused ?? false,
    oldest_wait_ms: queue?.oldestEnqueuedAt ? Math.max(0, Date.now() - queue.oldestEnqueuedAt) : null,
  });
}
