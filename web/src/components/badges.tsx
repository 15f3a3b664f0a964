const JOB_TONE: Record<string, string> = {
  QUEUED: "info",
  ASSIGNED: "info",
  RUNNING: "active",
  RETRY_WAIT: "warn",
  SUCCEEDED: "ok",
  FAILED: "bad",
  TIMED_OUT: "bad",
  CANCELLED: "muted",
};

const NODE_TONE: Record<string, string> = {
  ONLINE: "ok",
  PENDING: "info",
  PROVISIONING: "info",
  CORDONED: "warn",
  DRAINING: "warn",
  LOST: "bad",
  OFFLINE: "muted",
};

export const TERMINAL_JOB_STATUSES = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"] as const;

export function isTerminal(status: string): boolean {
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(status);
}

export function JobStatusBadge({ status }: { status: string }) {
  return <span className={`badge ${JOB_TONE[status] ?? "muted"}`}>{status.replace("_", " ")}</span>;
}

export function NodeStateBadge({ state }: { state: string }) {
  return <span className={`badge ${NODE_TONE[state] ?? "muted"}`}>{state}</span>;
}

export function Badge({
  tone,
  children,
}: {
  tone: "ok" | "bad" | "warn" | "info" | "muted" | "active";
  children: string;
}) {
  return <span className={`badge ${tone}`}>{children}</span>;
}
