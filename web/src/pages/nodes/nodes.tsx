import { Link } from "@tanstack/react-router";
import { Ago } from "../../components/ago";
import { NodeStateBadge } from "../../components/badges";
import { PageHeader } from "../../components/layout";
import { Empty, QueryState } from "../../components/states";
import type { NodeFieldsFragment } from "../../gql/graphql";
import { useLiveNodes } from "../../live/nodes";
import { useCan } from "../../session/session";
import { EnrollNodeButton } from "./enroll-node";
import { GpuTable } from "./gpu-table";
import { labelPairs } from "./gpus";
import { NodeActions } from "./node-actions";
import { RegisterHostButton } from "./register-host";

export function NodesPage() {
  const { result, reexecute, nodes } = useLiveNodes();
  const canEnroll = useCan("nodes:enroll");
  return (
    <div className="page">
      <PageHeader title="Nodes">
        {canEnroll ? (
          <>
            <RegisterHostButton />
            <EnrollNodeButton />
          </>
        ) : null}
      </PageHeader>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading nodes">
        {(data) =>
          !nodes || nodes.length === 0 ? (
            <Empty>
              No nodes yet.{" "}
              {canEnroll
                ? "Register an SSH host to provision, or add a node whose agent you start yourself (it dials in: no inbound port)."
                : ""}
            </Empty>
          ) : (
            <div className="cards">
              {nodes.map((node) => (
                <NodeCard
                  key={node.id}
                  node={node}
                  sshHost={!!data.nodes.edges.find((edge) => edge.node.id === node.id)?.node.sshHost}
                />
              ))}
            </div>
          )
        }
      </QueryState>
    </div>
  );
}

function NodeCard({ node, sshHost }: { node: NodeFieldsFragment; sshHost: boolean }) {
  const labels = labelPairs(node.labels);
  return (
    <article className="card node" aria-labelledby={`node-${node.id}`} data-node={node.name}>
      <header className="card-head">
        <h2 id={`node-${node.id}`}>
          <Link to="/nodes/$nodeId" params={{ nodeId: node.id }}>
            {node.name}
          </Link>
        </h2>
        <span className="card-badges">
          {node.cordoned && node.state !== "CORDONED" ? <span className="badge warn">cordoned</span> : null}
          <NodeStateBadge state={node.state} />
        </span>
      </header>
      <dl className="facts compact">
        <div className="fact">
          <dt>Pool</dt>
          <dd>{node.pool ?? "—"}</dd>
        </div>
        <div className="fact">
          <dt>Slots free</dt>
          <dd>
            {node.freeSlots} of {node.capacity}
          </dd>
        </div>
        <div className="fact">
          <dt>Heartbeat</dt>
          <dd>
            <Ago at={node.lastHeartbeatAt} />
          </dd>
        </div>
        <div className="fact">
          <dt>Agent</dt>
          <dd>{node.agentVersion ?? "—"}</dd>
        </div>
      </dl>
      {labels.length ? (
        <ul className="chips" aria-label="Labels">
          {labels.map(([key, value]) => (
            <li key={key} className="chip">
              {key}={value}
            </li>
          ))}
        </ul>
      ) : null}
      {node.gpus.length === 0 ? <p className="muted small">No GPUs reported.</p> : <GpuTable gpus={node.gpus} />}
      <div className="card-actions">
        {/* A connected node is reprovisioned from its page; here Provision is for hosts whose agent is not up. */}
        <NodeActions node={node} sshHost={sshHost && !node.connected} />
      </div>
    </article>
  );
}
