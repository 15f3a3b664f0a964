import { useEffect, useRef } from "react";
import { useMutation, useSubscription } from "urql";
import { Badge } from "../../components/badges";
import { errorMessage } from "../../components/errors";
import { ErrorState } from "../../components/states";
import { graphql } from "../../gql/gql";
import { useCan } from "../../session/session";
import { foldProvisioningLog, type ProvisioningView } from "./provisioning-log";

const ProvisioningLogsDocument = graphql(`
  subscription ProvisioningLogs($runId: ID!) {
    provisioningLogs(runId: $runId) {
      runId
      step
      position
      status
      line
      at
    }
  }
`);

const RetryProvisioningRunDocument = graphql(`
  mutation RetryProvisioningRun($id: ID!) {
    retryProvisioningRun(id: $id) {
      id
      status
    }
  }
`);

const ConfirmHostKeyDocument = graphql(`
  mutation ConfirmHostKey($id: ID!, $fingerprint: String!) {
    confirmHostKey(id: $id, fingerprint: $fingerprint) {
      nodeId
      fingerprint
      resumedRun {
        id
        status
      }
    }
  }
`);

const STEP_TONE: Record<string, "ok" | "bad" | "warn" | "info" | "muted" | "active"> = {
  PENDING: "muted",
  RUNNING: "active",
  CHANGED: "ok",
  UNCHANGED: "ok",
  SKIPPED: "muted",
  FAILED: "bad",
  SUCCEEDED: "ok",
  AWAITING_HOST_KEY: "warn",
};

/** One provisioning run, live: its steps with their statuses and every line they print. */
export function ProvisioningRunView({
  runId,
  nodeId,
  offeredFingerprint,
  onStatus,
}: {
  runId: string;
  nodeId: string;
  offeredFingerprint: string | null | undefined;
  onStatus?: (status: string) => void;
}) {
  const [result] = useSubscription(
    { query: ProvisioningLogsDocument, variables: { runId } },
    (previous: ProvisioningView | undefined, data) => foldProvisioningLog(previous, data.provisioningLogs),
  );
  const view = result.data;
  const status = view?.run?.status;
  const report = useRef(onStatus);
  report.current = onStatus;
  useEffect(() => {
    if (status) report.current?.(status);
  }, [status]);

  if (result.error && !view) return <ErrorState error={result.error} />;
  if (!view) return <p className="muted">Connecting to the provisioning log…</p>;
  return (
    <div className="provisioning" data-run={runId} data-status={status ?? ""}>
      <div className="run-head">
        <span>
          Run <span className="mono">{runId.slice(0, 8)}</span>
        </span>
        {status ? <Badge tone={STEP_TONE[status] ?? "info"}>{status.replaceAll("_", " ")}</Badge> : null}
        <RunActions runId={runId} nodeId={nodeId} status={status} offeredFingerprint={offeredFingerprint} />
      </div>
      {view.run?.error ? (
        <p className="callout bad" role="alert">
          {view.run.error}
        </p>
      ) : null}
      <ol className="steps" aria-label="Provisioning steps">
        {view.steps.map((step) => (
          <li key={step.name} className="step" data-step={step.name}>
            <span className="mono">{step.name}</span>{" "}
            <Badge tone={STEP_TONE[step.status] ?? "info"}>{step.status}</Badge>
          </li>
        ))}
      </ol>
      <ol className="logs" aria-label="Provisioning log" aria-live="polite">
        {view.lines.map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines only ever append; the index is their identity
          <li key={i} className={`log-line ${line.error ? "error" : "info"}`}>
            <time dateTime={line.at}>{new Date(line.at).toLocaleTimeString()}</time>
            <span className="log-level">{line.step ?? "run"}</span>
            <span className="log-message">{line.text}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function RunActions({
  runId,
  nodeId,
  status,
  offeredFingerprint,
}: {
  runId: string;
  nodeId: string;
  status: string | undefined;
  offeredFingerprint: string | null | undefined;
}) {
  const canProvision = useCan("nodes:provision");
  const [retryState, retry] = useMutation(RetryProvisioningRunDocument);
  const [confirmState, confirm] = useMutation(ConfirmHostKeyDocument);
  if (!canProvision) return null;
  const error = retryState.error ?? confirmState.error;
  return (
    <span className="run-actions">
      {status === "AWAITING_HOST_KEY" && offeredFingerprint ? (
        <span className="host-key">
          The host offered <code>{offeredFingerprint}</code>. Compare it with <code>ssh-keygen -lf</code> on the host.{" "}
          <button
            type="button"
            className="button small primary"
            disabled={confirmState.fetching}
            onClick={() => void confirm({ id: nodeId, fingerprint: offeredFingerprint })}
          >
            Trust this host key
          </button>
        </span>
      ) : null}
      {status === "FAILED" ? (
        <button
          type="button"
          className="button small"
          disabled={retryState.fetching}
          onClick={() => void retry({ id: runId })}
        >
          Retry from the failed step
        </button>
      ) : null}
      {error ? (
        <span className="form-error" role="alert">
          {errorMessage(error)}
        </span>
      ) : null}
    </span>
  );
}
