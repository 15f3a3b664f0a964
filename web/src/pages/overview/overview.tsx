import { Link } from "@tanstack/react-router";
import { useQuery } from "urql";
import { Since } from "../../components/ago";
import { Badge, NodeStateBadge } from "../../components/badges";
import { formatDuration } from "../../components/format";
import { PageHeader } from "../../components/layout";
import { Meter } from "../../components/meter";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { NodeFieldsFragment, OverviewJobsQuery, QueueFieldsFragment } from "../../gql/graphql";
import { useLiveNodes } from "../../live/nodes";
import { useQueueUpdates } from "../../live/queue-updates";
import { usePolling, useRefetchOn, useRefetchOnReconnect } from "../../live/use-live";
import { useCan } from "../../session/session";
import { JobsTable } from "../jobs/jobs-list";
import { meanUtilization } from "../nodes/gpus";
import { useQueues } from "../queues/queues";
import { failuresByCause, finishedPerMinute, windowStart } from "./overview-stats";

const OverviewJobsDocument = graphql(`
  query OverviewJobs($since: DateTime!, $recentFirst: Int, $runningFirst: Int) {
    recent: jobs(createdAfter: $since, first: $recentFirst) {
      edges {
        node {
          id
          status
          createdAt
          finishedAt
          cause
        }
      }
      pageInfo {
        hasNextPage
      }
    }
    running: jobs(status: [ASSIGNED, RUNNING], first: $runningFirst) {
      edges {
        node {
          ...JobRowFields
        }
      }
    }
  }
`);

export function OverviewPage() {
  const can = { jobs: useCan("jobs:read"), queues: useCan("queues:read"), nodes: useCan("nodes:read") };
  return (
    <div className="page">
      <PageHeader title="Overview" />
      {can.queues ? <QueueSection /> : null}
      <div className="grid two">
        {can.nodes ? <NodeSection /> : null}
        {can.jobs ? <JobsSection /> : null}
      </div>
      {!can.jobs && !can.queues && !can.nodes ? <Empty>Your role sees nothing here.</Empty> : null}
    </div>
  );
}

function QueueSection() {
  const { result, reexecute } = useQueues();
  return (
    <section className="panel" aria-labelledby="ov-queues">
      <h2 id="ov-queues">Queues</h2>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading queues">
        {(data) => (
          <>
            <QueueTiles queues={data.queues} />
            {data.queues.length === 0 ? (
              <Empty>No queues yet.</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Model</th>
                      <th scope="col" className="num">
                        Waiting
                      </th>
                      <th scope="col" className="num">
                        Running
                      </th>
                      <th scope="col">Oldest wait</th>
                      <th scope="col">State</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.queues.map((queue) => (
                      <tr key={queue.modelId}>
                        <td>
                          <Link to="/jobs" search={{ model: queue.modelId }}>
                            {queue.modelId}
                          </Link>
                        </td>
                        <td className="num">{queue.depth + queue.delayed}</td>
                        <td className="num">{queue.running}</td>
                        <td>
                          <Since since={queue.oldestEnqueuedAt} />
                        </td>
                        <td>{queue.paused ? <Badge tone="warn">paused</Badge> : <Badge tone="ok">active</Badge>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </QueryState>
    </section>
  );
}

function QueueTiles({ queues }: { queues: QueueFieldsFragment[] }) {
  const waiting = queues.reduce((sum, q) => sum + q.depth + q.delayed, 0);
  const running = queues.reduce((sum, q) => sum + q.running, 0);
  const oldest = Math.max(0, ...queues.map((q) => q.oldestWaitMs ?? 0));
  return (
    <div className="tiles">
      <Tile label="Waiting" value={String(waiting)} />
      <Tile label="Running" value={String(running)} />
      <Tile label="Longest wait" value={oldest ? formatDuration(oldest) : "—"} />
      <Tile label="Paused queues" value={String(queues.filter((q) => q.paused).length)} />
    </div>
  );
}

function Tile({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="tile">
      <div className="tile-value">{value}</div>
      <div className="tile-label">{label}</div>
      {hint ? <div className="tile-hint">{hint}</div> : null}
    </div>
  );
}

function NodeSection() {
  const { result, reexecute, nodes } = useLiveNodes();
  return (
    <section className="panel" aria-labelledby="ov-nodes">
      <h2 id="ov-nodes">Nodes</h2>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading nodes">
        {() => <NodeSummary nodes={nodes ?? []} />}
      </QueryState>
    </section>
  );
}

function NodeSummary({ nodes }: { nodes: NodeFieldsFragment[] }) {
  if (nodes.length === 0) return <Empty>No nodes have joined yet.</Empty>;
  const online = nodes.filter((n) => n.state === "ONLINE");
  const gpus = nodes.flatMap((n) => n.gpus);
  const mean = meanUtilization(gpus);
  return (
    <>
      <div className="tiles">
        <Tile label="Nodes online" value={`${online.length} / ${nodes.length}`} />
        <Tile label="GPUs" value={String(gpus.length)} />
        <Tile label="Mean GPU use" value={mean === null ? "—" : `${Math.round(mean)}%`} />
      </div>
      <ul className="node-list">
        {nodes.map((node) => {
          const util = meanUtilization(node.gpus);
          return (
            <li key={node.id} className="node-row">
              <Link to="/nodes/$nodeId" params={{ nodeId: node.id }} className="node-name">
                {node.name}
              </Link>
              <NodeStateBadge state={node.state} />
              <span className="muted small">
                {node.gpus.length} GPU{node.gpus.length === 1 ? "" : "s"}
              </span>
              {util === null ? (
                <span className="muted small">—</span>
              ) : (
                <Meter value={util} label={`${node.name} GPU utilisation`} text={`${Math.round(util)}%`} />
              )}
            </li>
          );
        })}
      </ul>
    </>
  );
}

function JobsSection() {
  const now = Date.now();
  const [result, reexecute] = useQuery({
    query: OverviewJobsDocument,
    variables: { since: windowStart(now, 60), recentFirst: 100, runningFirst: 10 },
  });
  // Jobs start and finish as the queues move: refetch on queue updates (when the viewer may see them).
  const { tick } = useQueueUpdates(!useCan("queues:read"));
  useRefetchOn(tick, reexecute, 2_000);
  usePolling(reexecute, 10_000);
  useRefetchOnReconnect(reexecute);
  return (
    <section className="panel" aria-labelledby="ov-jobs">
      <h2 id="ov-jobs">Jobs</h2>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading jobs">
        {(data) => <JobsSummary data={data} now={now} />}
      </QueryState>
    </section>
  );
}

function JobsSummary({ data, now }: { data: OverviewJobsQuery; now: number }) {
  const recent = data.recent.edges.map((edge) => edge.node);
  const perMinute = finishedPerMinute(recent, now, 10);
  const peak = Math.max(1, ...perMinute.map((b) => b.count));
  const lastMinute = perMinute[perMinute.length - 1]?.count ?? 0;
  const failures = failuresByCause(recent);
  const capped = data.recent.pageInfo.hasNextPage;
  return (
    <>
      <h3 className="subhead">Finished per minute</h3>
      <div
        className="bars"
        role="img"
        aria-label={`Jobs finished per minute over the last 10 minutes: ${perMinute.map((b) => b.count).join(", ")}`}
      >
        {perMinute.map((bucket) => (
          <div
            key={bucket.minute}
            className="bar"
            title={`${new Date(bucket.minute).toLocaleTimeString()}: ${bucket.count}`}
          >
            <div className="bar-fill" style={{ height: `${(bucket.count / peak) * 100}%` }} />
          </div>
        ))}
      </div>
      <div className="bars-axis" aria-hidden="true">
        <span>10 min ago</span>
        <span>now</span>
      </div>
      <p className="muted small">
        {lastMinute} this minute{capped ? " · counted over the newest 100 jobs of the hour" : ""}
      </p>
      <h3 className="subhead">Failures by cause (last hour)</h3>
      {failures.length === 0 ? (
        <p className="muted">No failures.</p>
      ) : (
        <ul className="cause-list">
          {failures.map((failure) => (
            <li key={failure.cause}>
              <span className="cause">{failure.cause}</span> <strong>{failure.count}</strong>
            </li>
          ))}
        </ul>
      )}
      <h3 className="subhead">Running now</h3>
      {data.running.edges.length === 0 ? (
        <p className="muted">Nothing is running.</p>
      ) : (
        <JobsTable jobs={data.running.edges.map((edge) => edge.node)} compact />
      )}
    </>
  );
}
