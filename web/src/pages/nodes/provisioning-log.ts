/**
 * The live view of one provisioning run, folded from provisioningLogs batches: the first batch
 * (and any batch of several, which is a snapshot after a reconnect) replaces the state; single
 * entries are appended. An entry with status RUNNING and a line is output; any other entry is a
 * status change of a step (or, with no step, of the run), its line being the error if any.
 */
export interface LogEntry {
  step?: string | null;
  position?: number | null;
  status: string;
  line?: string | null;
  at: string;
}

export interface ProvisioningView {
  lines: { step: string | null; text: string; error: boolean; at: string }[];
  steps: { name: string; position: number; status: string; error: string | null }[];
  run: { status: string; error: string | null } | null;
}

const EMPTY: ProvisioningView = { lines: [], steps: [], run: null };

export function foldProvisioningLog(
  previous: ProvisioningView | undefined,
  batch: readonly LogEntry[],
): ProvisioningView {
  let view = !previous || batch.length > 1 ? EMPTY : previous;
  for (const entry of batch) view = apply(view, entry);
  return view;
}

function apply(view: ProvisioningView, entry: LogEntry): ProvisioningView {
  const step = entry.step ?? null;
  if (entry.status === "RUNNING" && entry.line) {
    const withStep = step ? upsertStep(view.steps, step, entry.position, "RUNNING", null) : view.steps;
    return { ...view, steps: withStep, lines: [...view.lines, { step, text: entry.line, error: false, at: entry.at }] };
  }
  const error = entry.line ?? null;
  const lines = error ? [...view.lines, { step, text: error, error: true, at: entry.at }] : view.lines;
  if (!step) return { ...view, lines, run: { status: entry.status, error } };
  return { ...view, lines, steps: upsertStep(view.steps, step, entry.position, entry.status, error) };
}

function upsertStep(
  steps: ProvisioningView["steps"],
  name: string,
  position: number | null | undefined,
  status: string,
  error: string | null,
) {
  const existing = steps.find((s) => s.name === name);
  if (existing)
    return steps.map((s) =>
      s.name === name ? { ...s, status, error: error ?? (status === "FAILED" ? s.error : null) } : s,
    );
  return [...steps, { name, position: position ?? steps.length, status, error }].sort(
    (a, b) => a.position - b.position,
  );
}
