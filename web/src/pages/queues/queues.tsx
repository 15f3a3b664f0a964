import { Link } from "@tanstack/react-router";
import { type CombinedError, useMutation, useQuery } from "urql";
import { Since } from "../../components/ago";
import { Badge } from "../../components/badges";
import { ConfirmButton } from "../../components/dialog";
import { failureOf } from "../../components/errors";
import { PageHeader } from "../../components/layout";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { QueueFieldsFragment } from "../../gql/graphql";
import { useQueueUpdates } from "../../live/queue-updates";
import { useRefetchOnReconnect } from "../../live/use-live";
import { useCan } from "../../session/session";

export const QueuesDocument = graphql(`
  query Queues {
    queues {
      ...QueueFields
    }
  }
`);

const PauseQueueDocument = graphql(`
  mutation PauseQueue($modelId: String!) {
    pauseQueue(modelId: $modelId) {
      ...QueueFields
    }
  }
`);

const ResumeQueueDocument = graphql(`
  mutation ResumeQueue($modelId: String!) {
    resumeQueue(modelId: $modelId) {
      ...QueueFields
    }
  }
`);

const PurgeQueueDocument = graphql(`
  mutation PurgeQueue($modelId: String!) {
    purgeQueue(modelId: $modelId)
  }
`);

/** The queues now: the live list once the socket delivered it, the query's until then. */
export function useQueues() {
  const [result, reexecute] = useQuery({ query: QueuesDocument });
  const live = useQueueUpdates();
  useRefetchOnReconnect(reexecute);
  return { result: live.queues ? { ...result, data: { queues: live.queues } } : result, reexecute };
}

export function QueuesPage() {
  const { result, reexecute } = useQueues();
  return (
    <div className="page">
      <PageHeader title="Queues" />
      <p className="muted">One queue per model. Depth and wait update live.</p>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading queues">
        {(data) =>
          data.queues.length === 0 ? (
            <Empty>No queues yet: a model gets one with its first job.</Empty>
          ) : (
            <QueueTable queues={data.queues} />
          )
        }
      </QueryState>
    </div>
  );
}

function QueueTable({ queues }: { queues: QueueFieldsFragment[] }) {
  const canManage = useCan("queues:manage");
  return (
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
            <th scope="col" className="num">
              Retry wait
            </th>
            <th scope="col">Oldest wait</th>
            <th scope="col">State</th>
            {canManage ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.modelId} data-queue={queue.modelId}>
              <td>
                <Link to="/jobs" search={{ model: queue.modelId }}>
                  {queue.modelId}
                </Link>
              </td>
              <td className="num">{queue.depth}</td>
              <td className="num">{queue.running}</td>
              <td className="num">{queue.delayed}</td>
              <td>
                <Since since={queue.oldestEnqueuedAt} />
              </td>
              <td>{queue.paused ? <Badge tone="warn">paused</Badge> : <Badge tone="ok">active</Badge>}</td>
              {canManage ? (
                <td>
                  <div className="row-actions">
                    <QueueActions queue={queue} />
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QueueActions({ queue }: { queue: QueueFieldsFragment }) {
  const [, pause] = useMutation(PauseQueueDocument);
  const [, resume] = useMutation(ResumeQueueDocument);
  const [, purge] = useMutation(PurgeQueueDocument);
  const run = async (mutation: Promise<{ error?: CombinedError | undefined }>) => failureOf(await mutation);
  const model = <strong>{queue.modelId}</strong>;
  return (
    <>
      {queue.paused ? (
        <ConfirmButton
          label="Resume"
          className="button small"
          title="Resume this queue?"
          message={<>Nodes start taking jobs of {model} again.</>}
          confirmLabel="Resume"
          onConfirm={() => run(resume({ modelId: queue.modelId }))}
        />
      ) : (
        <ConfirmButton
          label="Pause"
          className="button small"
          title="Pause this queue?"
          message={<>Jobs of {model} keep queueing but no node starts them until you resume. Running jobs finish.</>}
          confirmLabel="Pause"
          onConfirm={() => run(pause({ modelId: queue.modelId }))}
        />
      )}
      <ConfirmButton
        label="Purge"
        className="button small"
        danger
        disabled={queue.depth + queue.delayed === 0}
        title="Purge this queue?"
        message={
          <>
            Cancels every waiting job of {model} ({queue.depth + queue.delayed}). Running jobs are not touched. This
            cannot be undone.
          </>
        }
        confirmLabel="Purge queue"
        onConfirm={() => run(purge({ modelId: queue.modelId }))}
      />
    </>
  );
}
