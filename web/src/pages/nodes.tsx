import { useQuery } from "urql";
import { NodeStateBadge } from "../components/badges";
import { formatAgo, formatMb } from "../components/format";
import { PageHeader } from "../components/layout";
import { Meter } from "../components/meter";
import { Empty, QueryState } from "../components/states";
import type { NodesQuery } from "../gql/graphql";
import { usePolling, useRefetchOnReconnect } from "../live/use-live";
import { useCan } from "../session/session";
import { EnrollNodeButton } from "./enroll-node";
import { type Gpu, labelPairs, parseGpus } from "./gpus";
import { NODE_POLL_MS, NodesDocument } from "./nodes-query";

type Node = NodesQuery["nodes"][number];

export function NodesPage() {
  const [result, reexecute] = useQuery({ query: NodesDocument });
  usePolling(reexecute, NODE_POLL_MS);
  useRefetchOnReconnect(reexecute);
  const canEnroll = useCan("nodes:enroll");
  return (
    <div className="page">
      <PageHeader title="Nodes">{canEnroll ? <EnrollNodeButton /> : null}</PageHeader>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading nodes">
        {(data) =>
          data.nodes.length === 0 ? (
            <Empty>
              No nodes yet. {canEnroll ? "Add one: its agent dials this server, no inbound port needed." : ""}
            </Empty>
          ) : (
            <div className="cards">
              {data.nodes.map((node) => (
                <NodeCard key={node.id} node={node} />
              ))}
            </div>
          )
        }
      </QueryState>
    </div>
  );
}

function NodeCard({ node }: { node: Node }) {
  const gpus = parseGpus(node.gpus);
  const labels = labelPairs(node.labels);
  return (
    <article className="card node" aria-labelledby={`node-${node.id}`} data-node={node.name}>
      <header className="card-head">
        <h2 id={`node-${node.id}`}>{node.name}</h2>
        <NodeStateBadge state={node.state} />
      </header>
      <dl className="facts compact">
        <div className="fact">
          <dt>Pool</dt>
          <dd>{node.pool ?? "—"}</dd>
        </div>
        <div className="fact">
          <dt>Slots</dt>
          <dd>{node.capacity}</dd>
        </div>
        <div className="fact">
          <dt>Heartbeat</dt>
          <dd>{formatAgo(node.lastHeartbeatAt)}</dd>
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
      {gpus.length === 0 ? <p className="muted small">No GPUs reported.</p> : <GpuTable gpus={gpus} />}
    </article>
  );
}

function GpuTable({ gpus }: { gpus: Gpu[] }) {
  return (
    <table className="table gpus">
      <caption className="visually-hidden">GPUs</caption>
      <thead>
        <tr>
          <th scope="col">GPU</th>
          <th scope="col">Utilisation</th>
          <th scope="col">Memory</th>
          <th scope="col" className="num">
            Temp
          </th>
          <th scope="col" className="num">
            Power
          </th>
        </tr>
      </thead>
      <tbody>
        {gpus.map((gpu) => (
          <tr key={gpu.uuid} data-gpu={gpu.index}>
            <th scope="row">
              <span className="mono">{gpu.index}</span> {gpu.name}
            </th>
            <td>
              {gpu.utilizationPct === null ? (
                "—"
              ) : (
                <Meter
                  value={gpu.utilizationPct}
                  label={`GPU ${gpu.index} utilisation`}
                  text={`${Math.round(gpu.utilizationPct)}%`}
                />
              )}
            </td>
            <td>
              <Meter
                value={gpu.memoryUsedMb}
                max={gpu.memoryTotalMb}
                label={`GPU ${gpu.index} memory`}
                text={`${formatMb(gpu.memoryUsedMb)} / ${formatMb(gpu.memoryTotalMb)}`}
              />
            </td>
            <td className="num">{gpu.temperatureC === null ? "—" : `${Math.round(gpu.temperatureC)} °C`}</td>
            <td className="num">{gpu.powerW === null ? "—" : `${Math.round(gpu.powerW)} W`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
