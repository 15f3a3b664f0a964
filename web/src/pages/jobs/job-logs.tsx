import { useEffect, useRef } from "react";
import { useSubscription } from "urql";
import { ErrorState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { JobLogsSubscription } from "../../gql/graphql";

const JobLogsDocument = graphql(`
  subscription JobLogs($id: ID!) {
    jobLogs(id: $id) {
      attemptId
      seq
      level
      message
      at
    }
  }
`);

type Line = JobLogsSubscription["jobLogs"][number];

interface LogState {
  lines: Line[];
  seen: Set<string>;
}

/** Appends a batch, once per (attempt, seq): after a reconnect the server sends the history again. */
export function mergeLogLines(previous: LogState | undefined, batch: Line[]): LogState {
  const seen = new Set(previous?.seen);
  const lines = [...(previous?.lines ?? [])];
  for (const line of batch) {
    const key = `${line.attemptId}:${line.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(line);
  }
  return { lines, seen };
}

/** The job's log, live: history first, then each batch as the agent reports it. */
export function JobLogs({ jobId, finished }: { jobId: string; finished: boolean }) {
  const [result] = useSubscription(
    { query: JobLogsDocument, variables: { id: jobId } },
    (previous: LogState | undefined, data) => mergeLogLines(previous, data.jobLogs),
  );
  const box = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const lines = result.data?.lines ?? [];

  // Follow the tail unless the reader scrolled up.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when lines arrive
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);

  if (result.error && lines.length === 0) return <ErrorState error={result.error} />;
  if (lines.length === 0) {
    return (
      <p className="muted" role="status">
        {result.data === undefined
          ? "Connecting to the log stream…"
          : finished
            ? "This job wrote no logs."
            : "Waiting for logs…"}
      </p>
    );
  }
  return (
    <ol
      ref={box}
      className="logs"
      aria-label="Job log"
      aria-live="polite"
      onScroll={(event) => {
        const el = event.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {lines.map((line) => (
        <li key={`${line.attemptId}:${line.seq}`} className={`log-line ${line.level}`}>
          <time dateTime={line.at}>{new Date(line.at).toLocaleTimeString()}</time>
          <span className="log-level">{line.level}</span>
          <span className="log-message">{line.message}</span>
        </li>
      ))}
    </ol>
  );
}
