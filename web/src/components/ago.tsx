import { useSyncExternalStore } from "react";
import { formatAgo, formatDuration, formatTime } from "./format";

// One clock for every relative time on the page, ticking every 5 s while anything shows one.
const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(listener: () => void) {
  listeners.add(listener);
  timer ??= setInterval(() => {
    now = Date.now();
    for (const l of listeners) l();
  }, 5_000);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
}

export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}

/** "12 s ago", kept current; the exact time on hover. */
export function Ago({ at }: { at: string | null | undefined }) {
  useNow();
  if (!at) return <>—</>;
  return (
    <time dateTime={at} title={formatTime(at)}>
      {formatAgo(at)}
    </time>
  );
}

/** How long since `since` by this browser's clock, kept current (queue waits). */
export function Since({ since }: { since: string | null | undefined }) {
  useNow();
  if (!since) return <>—</>;
  return <>{formatDuration(Math.max(0, Date.now() - Date.parse(since)))}</>;
}
