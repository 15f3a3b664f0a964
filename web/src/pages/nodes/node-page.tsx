import { Link, useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { Ago } from "../../components/ago";
import { NodeStateBadge } from "../../components/badges";
import { ConfirmButton, Dialog } from "../../components/dialog";
import { errorMessage, failureOf } from "../../components/errors";
import { Fact } from "../../components/facts";
import { formatTime } from "../../components/format";
import { Empty, QueryState } from "../../components/states";
import { Timeline } from "../../components/timeline";
import { graphql } from "../../gql/gql";
import type { NodeDetailQuery } from "../../gql/graphql";
import { useNodeUpdates } from "../../live/nodes";
import { useRefetchOnReconnect } from "../../live/use-live";
import { useCan } from "../../session/session";
import { GpuTable } from "./gpu-table";
import { labelPairs, labelsText, parseLabels } from "./gpus";
import { NodeActions, ProvisionButton } from "./node-actions";
import { ProvisioningRunView } from "./provisioning-run";

const NodeDetailDocument = graphql(`
  query NodeDetail($id: ID!) {
    node(id: $id) {
      ...NodeFields
      runners {
        modelVersionId
        state
        runs
        pid
      }
      sshHost {
        address
        port
        user
        installDir
        hostKeyFingerprint
        offeredHostKeyFingerprint
      }
      provisioningRuns(last: 10) {
        id
        status
        actor
        error
        tries
        startedAt
        finishedAt
      }
      events(last: 50) {
        id
        type
        fromState
        toState
        message
        actor
        at
      }
    }
  }
`);

const NodeEventsDocument = graphql(`
  subscription NodeEvents($nodeId: ID!) {
    nodeEvents(nodeId: $nodeId) {
      id
      type
      fromState
      toState
      message
      actor
      at
    }
  }
`);

const SetNodeLabelsDocument = graphql(`
  mutation SetNodeLabels($id: ID!, $labels: JSON!, $pool: String) {
    setNodeLabels(id: $id, labels: $labels, pool: $pool) {
      ...NodeFields
    }
  }
`);

const RestartAgentDocument = graphql(`
  mutation RestartAgent($id: ID!) {
    restartAgent(id: $id, reason: "restarted from the admin console") {
      commandId
    }
  }
`);

type Node = NonNullable<NodeDetailQuery["node"]>;
type NodeEvent = Node["events"][number];

export function parseNodeSearch(search: Record<string, unknown>): { run?: string } {
  return typeof search.run === "string" && search.run ? { run: search.run } : {};
}

export function NodePage() {
  const { nodeId } = useParams({ from: "/nodes/$nodeId" });
  const [result, reexecute] = useQuery({ query: NodeDetailDocument, variables: { id: nodeId } });
  useNodeUpdates(nodeId);
  useRefetchOnReconnect(reexecute);
  // New events show at once; a provisioning event also means new runs or a new offered host key.
  const [live] = useSubscription(
    { query: NodeEventsDocument, variables: { nodeId } },
    (previous: NodeEvent[] | undefined, data) => {
      if (data.nodeEvents.type.startsWith("provisioning")) reexecute({ requestPolicy: "network-only" });
      return [data.nodeEvents, ...(previous ?? [])].slice(0, 100);
    },
  );
  return (
    <div className="page">
      <p className="crumbs">
        <Link to="/nodes">Nodes</Link> / <span>{result.data?.node?.name ?? nodeId}</span>
      </p>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading the node">
        {(data) =>
          data.node ? (
            <NodeView
              node={data.node}
              liveEvents={live.data ?? []}
              refresh={() => reexecute({ requestPolicy: "network-only" })}
            />
          ) : (
            <Empty>No node has the id {nodeId}.</Empty>
          )
        }
      </QueryState>
    </div>
  );
}

function NodeView({ node, liveEvents, refresh }: { node: Node; liveEvents: NodeEvent[]; refresh: () => void }) {
  const search = useSearch({ from: "/nodes/$nodeId" });
  const navigate = useNavigate();
  const canProvision = useCan("nodes:provision");
  const canConfigure = useCan("nodes:configure");
  const runId = search.run ?? node.provisioningRuns[0]?.id;
  const known = new Set(node.events.map((e) => e.id));
  const events = [...liveEvents.filter((e) => !known.has(e.id)), ...node.events];
  return (
    <>
      <div className="page-header">
        <h1>
          {node.name} <NodeStateBadge state={node.state} />
          {node.removedAt ? <span className="badge muted">removed</span> : null}
        </h1>
        {node.removedAt ? null : (
          <div className="page-actions">
            {canProvision && node.sshHost && node.provisioningRuns.length ? (
              <ProvisionButton node={node} repair />
            ) : null}
            {canConfigure && node.connected ? <RestartAgentButton node={node} /> : null}
            {canConfigure ? <EditLabelsButton node={node} /> : null}
            <NodeActions
              node={node}
              sshHost={!!node.sshHost && node.provisioningRuns.length === 0}
              afterRemove={() => void navigate({ to: "/nodes" })}
            />
          </div>
        )}
      </div>
      <dl className="facts">
        <Fact term="Address">{node.address ?? "—"}</Fact>
        <Fact term="Pool">{node.pool ?? "—"}</Fact>
        <Fact term="Labels">
          {labelPairs(node.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "—"}
        </Fact>
        <Fact term="Slots free">
          {node.freeSlots} of {node.capacity}
        </Fact>
        <Fact term="Connected">{node.connected ? "yes" : "no"}</Fact>
        <Fact term="Takes work">{node.schedulable ? "yes" : "no"}</Fact>
        <Fact term="Heartbeat">
          <Ago at={node.lastHeartbeatAt} />
        </Fact>
        <Fact term="Agent">{node.agentVersion ?? "—"}</Fact>
        {node.drainDeadlineAt ? <Fact term="Drain deadline">{formatTime(node.drainDeadlineAt)}</Fact> : null}
      </dl>
      <div className="grid two">
        <section className="panel" aria-labelledby="gpus-title">
          <h2 id="gpus-title">GPUs</h2>
          {node.gpus.length ? <GpuTable gpus={node.gpus} /> : <Empty>No GPUs reported.</Empty>}
          <h3 className="subhead">Resident runners</h3>
          {node.runners.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul className="plain-list">
              {node.runners.map((runner) => (
                <li key={`${runner.modelVersionId}:${runner.pid ?? ""}`}>
                  <span className="mono">{runner.modelVersionId.slice(0, 8)}</span> {runner.state}, {runner.runs} runs
                  {runner.pid ? <span className="muted"> (pid {runner.pid})</span> : null}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="panel" aria-labelledby="events-title">
          <h2 id="events-title">Events</h2>
          {events.length === 0 ? (
            <Empty>No events yet.</Empty>
          ) : (
            <Timeline
              items={events.map((event) => ({
                ...event,
                from: event.fromState,
                to: event.toState,
                meta: [event.message ?? "", `by ${event.actor}`].filter(Boolean),
              }))}
            />
          )}
        </section>
      </div>
      {node.sshHost ? (
        <section className="panel" aria-labelledby="provisioning-title">
          <h2 id="provisioning-title">Provisioning</h2>
          <p className="muted small">
            SSH {node.sshHost.user}@{node.sshHost.address}:{node.sshHost.port} · agent in {node.sshHost.installDir} ·
            host key{" "}
            {node.sshHost.hostKeyFingerprint ? <code>{node.sshHost.hostKeyFingerprint}</code> : "not pinned yet"}
          </p>
          {node.provisioningRuns.length > 1 ? (
            <nav aria-label="Provisioning runs" className="tabs">
              {node.provisioningRuns.map((run) => (
                <Link
                  key={run.id}
                  to="/nodes/$nodeId"
                  params={{ nodeId: node.id }}
                  search={{ run: run.id }}
                  className="tab"
                  aria-current={run.id === runId ? "page" : undefined}
                >
                  {formatTime(run.startedAt)} · {run.status.toLowerCase().replaceAll("_", " ")}
                </Link>
              ))}
            </nav>
          ) : null}
          {runId ? (
            <ProvisioningRunView
              key={runId}
              runId={runId}
              nodeId={node.id}
              offeredFingerprint={node.sshHost.offeredHostKeyFingerprint}
              onStatus={refresh}
            />
          ) : canProvision ? (
            <Empty>Not provisioned yet: Provision installs and starts the agent over SSH.</Empty>
          ) : (
            <Empty>Not provisioned yet.</Empty>
          )}
        </section>
      ) : null}
    </>
  );
}

function RestartAgentButton({ node }: { node: Pick<Node, "id" | "name"> }) {
  const [, restart] = useMutation(RestartAgentDocument);
  return (
    <ConfirmButton
      label="Restart agent"
      className="button small"
      title={`Restart the agent on ${node.name}?`}
      message="The agent drains (running jobs finish) and exits; its service starts it again."
      confirmLabel="Restart agent"
      onConfirm={async () => {
        return failureOf(await restart({ id: node.id }));
      }}
    />
  );
}

function EditLabelsButton({ node }: { node: Pick<Node, "id" | "name" | "labels" | "pool"> }) {
  const [open, setOpen] = useState(false);
  const [labels, setLabels] = useState(() => labelsText(node.labels));
  const [pool, setPool] = useState(node.pool ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  const [state, save] = useMutation(SetNodeLabelsDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseLabels(labels);
    if ("error" in parsed) return setProblem(parsed.error);
    const result = await save({ id: node.id, labels: parsed.labels, pool: pool.trim() || null });
    if (result.error) setProblem(errorMessage(result.error));
    else setOpen(false);
  };
  return (
    <>
      <button type="button" className="button small" onClick={() => setOpen(true)}>
        Labels
      </button>
      {open ? (
        <Dialog title={`Labels of ${node.name}`} onClose={() => setOpen(false)}>
          <form className="form" onSubmit={submit}>
            <label className="field">
              <span>Labels, one key=value per line</span>
              <textarea className="mono" rows={5} value={labels} onChange={(e) => setLabels(e.target.value)} />
            </label>
            <label className="field">
              <span>Pool</span>
              <input value={pool} onChange={(e) => setPool(e.target.value)} />
            </label>
            {problem ? (
              <p className="form-error" role="alert">
                {problem}
              </p>
            ) : null}
            <div className="dialog-actions">
              <button type="button" className="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="button primary" disabled={state.fetching}>
                Save labels
              </button>
            </div>
          </form>
        </Dialog>
      ) : null}
    </>
  );
}
