import { useNavigate, useSearch } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { Badge } from "../../components/badges";
import { formatTime } from "../../components/format";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { AuditFilter } from "../../gql/graphql";
import { useRefetchOnReconnect } from "../../live/use-live";

const AuditEventsDocument = graphql(`
  query AuditEvents($filter: AuditFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      edges {
        node {
          id
          at
          actor
          action
          targetType
          targetId
          outcome
          errorCode
          sourceIp
          args
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const AuditEventAddedDocument = graphql(`
  subscription AuditEventAdded($filter: AuditFilter) {
    auditEventAdded(filter: $filter) {
      id
      at
      actor
      action
      targetType
      targetId
      outcome
      errorCode
      args
    }
  }
`);

export interface AuditSearch {
  actor?: string;
  action?: string;
  outcome?: string;
  after?: string;
}

export function parseAuditSearch(search: Record<string, unknown>): AuditSearch {
  const out: AuditSearch = {};
  for (const key of ["actor", "action", "outcome", "after"] as const) {
    const value = search[key];
    if (typeof value === "string" && value) out[key] = value;
  }
  return out;
}

interface Row {
  id: string;
  at: string;
  actor: string;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  outcome: string;
  errorCode?: string | null;
  sourceIp?: string | null;
  args?: unknown;
}

const OUTCOME_TONE: Record<string, "ok" | "bad" | "warn"> = { ok: "ok", denied: "warn", error: "bad" };

export function AuditLogPage() {
  const search = useSearch({ from: "/settings/audit" });
  const navigate = useNavigate({ from: "/settings/audit" });
  const [draft, setDraft] = useState({
    actor: search.actor ?? "",
    action: search.action ?? "",
    outcome: search.outcome ?? "",
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    void navigate({ search: parseAuditSearch(draft) });
  };
  const filter: AuditFilter = {
    ...(search.actor ? { actor: search.actor } : {}),
    ...(search.action ? { action: search.action } : {}),
    ...(search.outcome ? { outcome: search.outcome } : {}),
  };

  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <label className="field inline">
          <span>Actor</span>
          <input
            value={draft.actor}
            onChange={(e) => setDraft((d) => ({ ...d, actor: e.target.value }))}
            placeholder="user:… or key:…"
          />
        </label>
        <label className="field inline">
          <span>Action</span>
          <input
            value={draft.action}
            onChange={(e) => setDraft((d) => ({ ...d, action: e.target.value }))}
            placeholder="submitJob"
          />
        </label>
        <label className="field inline">
          <span>Outcome</span>
          <select value={draft.outcome} onChange={(e) => setDraft((d) => ({ ...d, outcome: e.target.value }))}>
            <option value="">Any</option>
            <option value="ok">ok</option>
            <option value="denied">denied</option>
            <option value="error">error</option>
          </select>
        </label>
        <button type="submit" className="button">
          Apply
        </button>
      </form>
      {/* Keyed by the filter: events that arrived live under another filter must not linger. */}
      <AuditResults key={JSON.stringify(filter)} filter={filter} search={search} />
    </section>
  );
}

function AuditResults({ filter, search }: { filter: AuditFilter; search: AuditSearch }) {
  const navigate = useNavigate({ from: "/settings/audit" });
  const [result, reexecute] = useQuery({
    query: AuditEventsDocument,
    variables: { filter, first: 50, after: search.after ?? null },
  });
  useRefetchOnReconnect(reexecute);
  // New events arrive live on the first page.
  const [live] = useSubscription(
    { query: AuditEventAddedDocument, variables: { filter }, pause: !!search.after },
    (previous: Row[] | undefined, data) => [data.auditEventAdded, ...(previous ?? [])].slice(0, 200),
  );
  return (
    <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading the audit log">
      {(data) => {
        const loaded = data.auditEvents.edges.map((edge) => edge.node as Row);
        const known = new Set(loaded.map((row) => row.id));
        const rows = [...(live.data ?? []).filter((row) => !known.has(row.id)), ...loaded];
        if (rows.length === 0) return <Empty>No audit events match.</Empty>;
        return (
          <>
            <AuditTable rows={rows} />
            <div className="pager">
              {search.after ? (
                <button
                  type="button"
                  className="button"
                  onClick={() => void navigate({ search: { ...search, after: undefined } })}
                >
                  ← Newest
                </button>
              ) : null}
              {data.auditEvents.pageInfo.hasNextPage && data.auditEvents.pageInfo.endCursor ? (
                <button
                  type="button"
                  className="button"
                  onClick={() =>
                    void navigate({ search: { ...search, after: data.auditEvents.pageInfo.endCursor ?? undefined } })
                  }
                >
                  Older →
                </button>
              ) : null}
            </div>
          </>
        );
      }}
    </QueryState>
  );
}

function AuditTable({ rows }: { rows: Row[] }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Outcome</th>
            <th scope="col">Arguments</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} data-audit-action={row.action}>
              <td>{formatTime(row.at)}</td>
              <td className="mono">{row.actor}</td>
              <td className="mono">{row.action}</td>
              <td className="mono">{row.targetId ? `${row.targetType ?? ""} ${row.targetId}` : "—"}</td>
              <td>
                <Badge tone={OUTCOME_TONE[row.outcome] ?? "muted"}>{row.outcome}</Badge>
                {row.errorCode ? <span className="muted small"> {row.errorCode}</span> : null}
              </td>
              <td>
                {row.args && typeof row.args === "object" && Object.keys(row.args).length ? (
                  <details>
                    <summary>show</summary>
                    <pre className="json small">{JSON.stringify(row.args, null, 2)}</pre>
                  </details>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
