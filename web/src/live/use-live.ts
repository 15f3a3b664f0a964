import { useEffect, useRef } from "react";
import type { OperationContext } from "urql";
import { useConnectionState } from "../graphql/connection";
import { useSession } from "../session/session";

type Reexecute = (opts?: Partial<OperationContext>) => void;

const fresh: Partial<OperationContext> = { requestPolicy: "network-only" };

/** Queries miss what happened while the socket was down: run them again after each reconnect. */
export function useRefetchOnReconnect(reexecute: Reexecute): void {
  const { connection } = useSession();
  const { epoch } = useConnectionState(connection);
  const last = useRef(epoch);
  useEffect(() => {
    if (epoch === last.current) return;
    last.current = epoch;
    reexecute(fresh);
  }, [epoch, reexecute]);
}

/** Runs the query again every `ms` while the page is visible (for data without a subscription yet). */
export function usePolling(reexecute: Reexecute, ms: number): void {
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") reexecute(fresh);
    }, ms);
    return () => clearInterval(timer);
  }, [reexecute, ms]);
}

/** Calls `reexecute` when `signal` changes, at most once per `ms`. */
export function useRefetchOn(signal: unknown, reexecute: Reexecute, ms = 1_000): void {
  const first = useRef(true);
  const lastRun = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `signal` is the trigger, not an input
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const wait = Math.max(0, lastRun.current + ms - Date.now());
    const timer = setTimeout(() => {
      lastRun.current = Date.now();
      reexecute(fresh);
    }, wait);
    return () => clearTimeout(timer);
  }, [signal, reexecute, ms]);
}
