import { Link, useSearch } from "@tanstack/react-router";
import { useQuery } from "urql";
import { formatDuration, formatMb, formatTime } from "../../components/format";
import { JsonView } from "../../components/json-view";
import { PageHeader } from "../../components/layout";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { ModelsQuery } from "../../gql/graphql";
import { useRefetchOnReconnect } from "../../live/use-live";
import { useCan } from "../../session/session";
import { SubmitJobForm } from "./submit-job";

const ModelsDocument = graphql(`
  query Models {
    models {
      id
      name
      description
      createdAt
      versions {
        id
        version
        createdAt
        gpuCount
        gpuMemoryMb
        timeoutMs
        maxAttempts
        inputSchema
        runner
      }
    }
  }
`);

type Model = ModelsQuery["models"][number];

export function parseModelsSearch(search: Record<string, unknown>): { model?: string } {
  return typeof search.model === "string" && search.model ? { model: search.model } : {};
}

export function ModelsPage() {
  const search = useSearch({ from: "/models" });
  const [result, reexecute] = useQuery({ query: ModelsDocument });
  useRefetchOnReconnect(reexecute);
  return (
    <div className="page">
      <PageHeader title="Models" />
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading models">
        {(data) => {
          if (data.models.length === 0) return <Empty>No models registered yet.</Empty>;
          const selected = data.models.find((m) => m.id === search.model) ?? data.models[0];
          return (
            <div className="split">
              <nav aria-label="Models" className="side-list">
                <ul>
                  {data.models.map((model) => (
                    <li key={model.id}>
                      <Link
                        to="/models"
                        search={{ model: model.id }}
                        className="side-link"
                        aria-current={model.id === selected?.id ? "page" : undefined}
                      >
                        <span className="mono">{model.id}</span>
                        <span className="muted small">
                          {model.versions.length} version{model.versions.length === 1 ? "" : "s"}
                        </span>
                      </Link>
                    </li>
                  ))}
                </ul>
              </nav>
              {selected ? <ModelDetail key={selected.id} model={selected} /> : null}
            </div>
          );
        }}
      </QueryState>
    </div>
  );
}

function ModelDetail({ model }: { model: Model }) {
  const canSubmit = useCan("jobs:submit");
  const latest = [...model.versions].sort((a, b) => b.version - a.version)[0];
  return (
    <div className="detail">
      <h2 className="mono">{model.id}</h2>
      <p>
        {model.name !== model.id ? <strong>{model.name}. </strong> : null}
        {model.description ?? <span className="muted">No description.</span>}
      </p>
      <p>
        <Link to="/jobs" search={{ model: model.id }}>
          Jobs of this model →
        </Link>
      </p>
      <section className="panel" aria-labelledby="submit-title">
        <h3 id="submit-title">Submit a job{latest ? ` (version ${latest.version})` : ""}</h3>
        {!latest ? (
          <Empty>This model has no version to run yet.</Empty>
        ) : canSubmit ? (
          <SubmitJobForm key={latest.id} modelId={model.id} inputSchema={latest.inputSchema} />
        ) : (
          <p className="muted">Your role cannot submit jobs.</p>
        )}
      </section>
      <section className="panel" aria-labelledby="versions-title">
        <h3 id="versions-title">Versions</h3>
        {model.versions.length === 0 ? (
          <Empty>No versions.</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Created</th>
                  <th scope="col">Runner</th>
                  <th scope="col">GPUs</th>
                  <th scope="col">Timeout</th>
                  <th scope="col" className="num">
                    Max attempts
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...model.versions]
                  .sort((a, b) => b.version - a.version)
                  .map((version) => (
                    <tr key={version.id}>
                      <td>v{version.version}</td>
                      <td>{formatTime(version.createdAt)}</td>
                      <td>{runnerKind(version.runner)}</td>
                      <td>
                        {version.gpuCount}
                        {version.gpuMemoryMb ? ` × ${formatMb(version.gpuMemoryMb)}` : ""}
                      </td>
                      <td>{formatDuration(version.timeoutMs)}</td>
                      <td className="num">{version.maxAttempts}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {latest?.inputSchema ? (
        <details className="panel">
          <summary>Input schema (version {latest.version})</summary>
          <JsonView value={latest.inputSchema} />
        </details>
      ) : null}
    </div>
  );
}

function runnerKind(runner: unknown): string {
  if (typeof runner !== "object" || runner === null) return "—";
  const spec = runner as { kind?: unknown; image?: unknown; command?: unknown };
  if (spec.kind === "container" && typeof spec.image === "string") return `container ${spec.image}`;
  if (spec.kind === "process") return "process";
  return typeof spec.kind === "string" ? spec.kind : "—";
}
