import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { useQuery, useSubscription } from "urql";
import { Ago } from "../../components/ago";
import { isTerminal, JobStatusBadge } from "../../components/badges";
import { formatDuration, shortId } from "../../components/format";
import { PageHeader } from "../../components/layout";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { JobStatus } from "../../gql/graphql";
import { useQueueUpdates } from "../../live/queue-updates";
import { usePolling, useRefetchOn, useRefetchOnReconnect } from "../../live/use-live";
import { useCan } from "../../session/session";
import { ModelsForFilterDocument } from "../models/models-query";

export const JOB_STATUSES: JobStatus[] = [
  "QUEUED",
  "ASSIGNED",
  "RUNNING",
  "RETRY_WAIT",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "TIMED_OUT",
];
const ACTIVE: JobStatus[] = ["QUEUED", "ASSIGNED", "RUNNING", "RETRY_WAIT"];

export interface JobsSearch {
  status?: string;
  model?: string;
  after?: string;
}

/** Keeps only what the page understands, so a hand-edited URL cannot break it. */
export function parseJobsSearch(search: Record<string, unknown>): JobsSearch {
  const out: JobsSearch = {};
  if (
    typeof search.status === "string" &&
    (search.status === "active" || JOB_STATUSES.includes(search.status as JobStatus))
  ) {
    out.status = search.status;
  }
  if (typeof search.model === "string" && search.model) out.model = search.model;
  if (typeof search.after === "string" && search.after) out.after = search.after;
  return out;
}

export function statusFilter(status: string | undefined): JobStatus[] | null {
  if (!status) return null;
  return status === "active" ? ACTIVE : [status as JobStatus];
}

export const JobRowFields = graphql(`
  fragment JobRowFields on Job {
    id
    modelId
    status
    createdAt
    finishedAt
    queueWaitMs
    runTimeMs
    attemptCount
    cause
    queuePosition
  }
`);

const JobsDocument = graphql(`
  query Jobs($status: [JobStatus!], $modelId: String, $first: Int, $after: String) {
    jobs(status: $status, modelId: $modelId, first: $first, after: $after) {
      edges {
        node {
          ...JobRowFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const JobRowUpdatedDocument = graphql(`
  subscription JobRowUpdated($id: ID!) {
    jobUpdated(id: $id) {
      ...JobRowFields
    }
  }
`);

const PAGE_SIZE = 50;

export function JobsPage() {
  const search = useSearch({ from: "/jobs" });
  const navigate = useNavigate({ from: "/jobs" });
  const [models] = useQuery({ query: ModelsForFilterDocument });
  const [result, reexecute] = useQuery({
    query: JobsDocument,
    variables: {
      status: statusFilter(search.status),
      modelId: search.model ?? null,
      first: PAGE_SIZE,
      after: search.after ?? null,
    },
  });
  // New jobs and finished ones move the queues: refetch the page on each queue update.
  const { tick } = useQueueUpdates(!useCan("queues:read"));
  useRefetchOn(tick, reexecute, 1_000);
  useRefetchOnReconnect(reexecute);
  usePolling(reexecute, 15_000);

  const setFilter = (patch: Partial<JobsSearch>) =>
    void navigate({ search: (previous: JobsSearch) => clean({ ...previous, ...patch, after: undefined }) });

  return (
    <div className="page">
      <PageHeader title="Jobs" />
      <form className="filters" aria-label="Filter jobs" onSubmit={(event) => event.preventDefault()}>
        <label className="field inline">
          <span>Status</span>
          <select value={search.status ?? ""} onChange={(e) => setFilter({ status: e.target.value || undefined })}>
            <option value="">All</option>
            <option value="active">Active (queued or running)</option>
            {JOB_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status.replace("_", " ").toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Model</span>
          <select value={search.model ?? ""} onChange={(e) => setFilter({ model: e.target.value || undefined })}>
            <option value="">All models</option>
            {(models.data?.models ?? []).map((model) => (
              <option key={model.id} value={model.id}>
                {model.id}
              </option>
            ))}
          </select>
        </label>
      </form>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading jobs">
        {(data) =>
          data.jobs.edges.length === 0 ? (
            <Empty>
              {search.status || search.model
                ? "No jobs match these filters."
                : "No jobs yet. Submit one from a model's page."}
            </Empty>
          ) : (
            <>
              <JobsTable jobs={data.jobs.edges.map((edge) => edge.node)} />
              <div className="pager">
                {search.after ? (
                  <button
                    type="button"
                    className="button"
                    onClick={() => void navigate({ search: (p: JobsSearch) => clean({ ...p, after: undefined }) })}
                  >
                    ← Newest
                  </button>
                ) : null}
                {data.jobs.pageInfo.hasNextPage && data.jobs.pageInfo.endCursor ? (
                  <button
                    type="button"
                    className="button"
                    onClick={() =>
                      void navigate({
                        search: (p: JobsSearch) => ({ ...p, after: data.jobs.pageInfo.endCursor ?? undefined }),
                      })
                    }
                  >
                    Older →
                  </button>
                ) : null}
              </div>
            </>
          )
        }
      </QueryState>
    </div>
  );
}

type Row = {
  id: string;
  modelId: string;
  status: string;
  createdAt: string;
  queueWaitMs?: number | null;
  runTimeMs?: number | null;
  attemptCount: number;
  cause?: string | null;
  queuePosition?: number | null;
};

export function JobsTable({ jobs, compact = false }: { jobs: Row[]; compact?: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Model</th>
            <th scope="col">Status</th>
            <th scope="col">Submitted</th>
            {compact ? null : <th scope="col">Queue wait</th>}
            <th scope="col">Run time</th>
            {compact ? null : <th scope="col">Attempts</th>}
            {compact ? null : <th scope="col">Cause</th>}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} data-job-id={job.id}>
              <td>
                <Link to="/jobs/$jobId" params={{ jobId: job.id }} className="mono">
                  {shortId(job.id)}
                </Link>
                {isTerminal(job.status) ? null : <JobRowLive id={job.id} />}
              </td>
              <td>{job.modelId}</td>
              <td>
                <JobStatusBadge status={job.status} />
                {job.status === "QUEUED" && typeof job.queuePosition === "number" ? (
                  <span className="muted small"> #{job.queuePosition + 1}</span>
                ) : null}
              </td>
              <td>
                <Ago at={job.createdAt} />
              </td>
              {compact ? null : <td>{formatDuration(job.queueWaitMs)}</td>}
              <td>{formatDuration(job.runTimeMs)}</td>
              {compact ? null : <td>{job.attemptCount}</td>}
              {compact ? null : <td className="cause">{job.cause ?? ""}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Follows one unfinished job; the cache then updates its row wherever it is shown. */
function JobRowLive({ id }: { id: string }) {
  useSubscription({ query: JobRowUpdatedDocument, variables: { id } });
  return null;
}

function clean(search: JobsSearch): JobsSearch {
  const out: JobsSearch = {};
  if (search.status) out.status = search.status;
  if (search.model) out.model = search.model;
  if (search.after) out.after = search.after;
  return out;
}
