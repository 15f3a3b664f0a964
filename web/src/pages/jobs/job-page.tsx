import { Link, useParams } from "@tanstack/react-router";
import { useMutation, useQuery, useSubscription } from "urql";
import { isTerminal, JobStatusBadge } from "../../components/badges";
import { ConfirmButton } from "../../components/dialog";
import { failureOf } from "../../components/errors";
import { Fact } from "../../components/facts";
import { formatDuration, formatTime } from "../../components/format";
import { JsonView } from "../../components/json-view";
import { Empty, QueryState } from "../../components/states";
import { Timeline } from "../../components/timeline";
import { graphql } from "../../gql/gql";
import type { JobDetailFieldsFragment } from "../../gql/graphql";
import { useRefetchOnReconnect } from "../../live/use-live";
import { useCan } from "../../session/session";
import { JobLogs } from "./job-logs";
import { JobOutput } from "./job-output";

export const JobDetailFields = graphql(`
  fragment JobDetailFields on Job {
    id
    modelId
    modelVersionId
    status
    priority
    input
    output
    error
    errorType
    cause
    route
    attemptCount
    maxAttempts
    currentAttemptId
    submittedBy
    createdAt
    startedAt
    finishedAt
    queueWaitMs
    runTimeMs
    totalTimeMs
    queuePosition
    attempts {
      id
      number
      nodeId
      status
      cause
      assignedAt
      startedAt
      finishedAt
    }
    events {
      id
      type
      fromStatus
      toStatus
      cause
      actor
      attemptId
      detail
      at
    }
    artifacts {
      id
      fileName
      contentType
      sizeBytes
      url
    }
  }
`);

const JobDocument = graphql(`
  query Job($id: ID!) {
    job(id: $id) {
      ...JobDetailFields
    }
  }
`);

const JobUpdatedDocument = graphql(`
  subscription JobUpdated($id: ID!) {
    jobUpdated(id: $id) {
      ...JobDetailFields
    }
  }
`);

const CancelJobDocument = graphql(`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      ...JobDetailFields
    }
  }
`);

const RetryJobDocument = graphql(`
  mutation RetryJob($id: ID!) {
    retryJob(id: $id) {
      ...JobDetailFields
    }
  }
`);

export function JobPage() {
  const { jobId } = useParams({ from: "/jobs/$jobId" });
  const [result, reexecute] = useQuery({ query: JobDocument, variables: { id: jobId } });
  // The job as it changes: the cache merges each update into the query above.
  useSubscription({ query: JobUpdatedDocument, variables: { id: jobId } });
  useRefetchOnReconnect(reexecute);
  return (
    <div className="page">
      <p className="crumbs">
        <Link to="/jobs">Jobs</Link> / <span className="mono">{jobId}</span>
      </p>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading the job">
        {(data) =>
          data.job ? <JobView job={data.job} /> : <Empty>No job has the id {jobId}; it may have expired.</Empty>
        }
      </QueryState>
    </div>
  );
}

function JobView({ job }: { job: JobDetailFieldsFragment }) {
  return (
    <>
      <div className="page-header">
        <h1>
          Job <span className="mono">{job.id.slice(0, 8)}</span> <JobStatusBadge status={job.status} />
        </h1>
        <div className="page-actions">
          <JobActions job={job} />
        </div>
      </div>
      {job.error ? (
        <div className={`callout ${job.status === "CANCELLED" ? "muted" : "bad"}`} role="note">
          <strong>{job.errorType ?? "Error"}:</strong> {job.error}
          {job.cause ? <span className="muted"> (cause: {job.cause})</span> : null}
        </div>
      ) : null}
      <dl className="facts">
        <Fact term="Model">
          <Link to="/models" search={{ model: job.modelId }}>
            {job.modelId}
          </Link>
        </Fact>
        <Fact term="Submitted">{formatTime(job.createdAt)}</Fact>
        <Fact term="Started">{formatTime(job.startedAt)}</Fact>
        <Fact term="Finished">{formatTime(job.finishedAt)}</Fact>
        <Fact term="Queue wait">{formatDuration(job.queueWaitMs)}</Fact>
        <Fact term="Run time">{formatDuration(job.runTimeMs)}</Fact>
        <Fact term="Attempts">
          {job.attemptCount} of {job.maxAttempts}
        </Fact>
        {job.status === "QUEUED" && typeof job.queuePosition === "number" ? (
          <Fact term="Queue position">{job.queuePosition + 1}</Fact>
        ) : null}
        <Fact term="Priority">{job.priority}</Fact>
        <Fact term="Submitted by">{job.submittedBy ?? "—"}</Fact>
      </dl>
      <div className="grid two">
        <section className="panel" aria-labelledby="logs-title">
          <h2 id="logs-title">Logs</h2>
          <JobLogs jobId={job.id} finished={isTerminal(job.status)} />
        </section>
        <section className="panel" aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          {job.events.length === 0 ? (
            <Empty>No events yet.</Empty>
          ) : (
            <Timeline
              items={job.events.map((event) => ({
                ...event,
                from: event.fromStatus,
                to: event.toStatus,
                meta: [event.cause ? `cause: ${event.cause}` : "", event.actor ? `by ${event.actor}` : ""].filter(
                  Boolean,
                ),
              }))}
            />
          )}
        </section>
      </div>
      <div className="grid two">
        <section className="panel" aria-labelledby="output-title">
          <h2 id="output-title">Output</h2>
          <JobOutput job={job} />
        </section>
        <section className="panel" aria-labelledby="input-title">
          <h2 id="input-title">Input</h2>
          <JsonView value={job.input} />
        </section>
      </div>
      <section className="panel" aria-labelledby="attempts-title">
        <h2 id="attempts-title">Attempts</h2>
        {job.attempts.length === 0 ? (
          <Empty>No attempt yet: the job waits for a node.</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Status</th>
                  <th scope="col">Node</th>
                  <th scope="col">Assigned</th>
                  <th scope="col">Started</th>
                  <th scope="col">Finished</th>
                  <th scope="col">Cause</th>
                </tr>
              </thead>
              <tbody>
                {job.attempts.map((attempt) => (
                  <tr key={attempt.id}>
                    <td>{attempt.number}</td>
                    <td>{attempt.status}</td>
                    <td className="mono">
                      {attempt.nodeId ? (
                        <Link to="/nodes/$nodeId" params={{ nodeId: attempt.nodeId }}>
                          {attempt.nodeId.slice(0, 8)}
                        </Link>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td>{formatTime(attempt.assignedAt)}</td>
                    <td>{formatTime(attempt.startedAt)}</td>
                    <td>{formatTime(attempt.finishedAt)}</td>
                    <td className="cause">{attempt.cause ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

const RETRYABLE = ["FAILED", "CANCELLED", "TIMED_OUT"];

function JobActions({ job }: { job: JobDetailFieldsFragment }) {
  const canCancel = useCan("jobs:cancel");
  const canRetry = useCan("jobs:retry");
  const [, cancel] = useMutation(CancelJobDocument);
  const [, retry] = useMutation(RetryJobDocument);
  return (
    <>
      {canCancel && !isTerminal(job.status) ? (
        <ConfirmButton
          label="Cancel job"
          title="Cancel this job?"
          message={
            job.status === "QUEUED"
              ? "The job leaves the queue at once."
              : "The node is told to stop the runner; the job ends as CANCELLED."
          }
          confirmLabel="Cancel job"
          danger
          onConfirm={async () => {
            return failureOf(await cancel({ id: job.id }));
          }}
        />
      ) : null}
      {canRetry && RETRYABLE.includes(job.status) ? (
        <ConfirmButton
          label="Retry"
          title="Run this job again?"
          message="The job goes back to its model's queue with a fresh budget of attempts."
          confirmLabel="Retry"
          onConfirm={async () => {
            return failureOf(await retry({ id: job.id }));
          }}
        />
      ) : null}
    </>
  );
}
