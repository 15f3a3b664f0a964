import { setTimeout as sleep } from "node:timers/promises";

/**
 * Signals for runner process groups. Runners are spawned with `detached: true`, so each is the leader of its own
 * group (pgid = pid) and `kill(-pid)` reaches the workers it forked too.
 */

/** Sends `signal` to the group `pid` (falls back to the process alone). False when nothing was there to signal. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/**
 * True while any process of the group exists (`kill(-pid, 0)`). The leader itself is tracked by its exit event:
 * once it is reaped its pid may be reused, so it is not probed alone.
 */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Polls `done` every `intervalMs` until it is true or `timeoutMs` passed; returns the last answer. */
export async function waitUntil(done: () => boolean, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

export type StopStep = "sigterm" | "sigkill";

export interface StopResult {
  /** True when SIGKILL was needed. */
  killed: boolean;
  /** False only if even SIGKILL left something behind (a process in uninterruptible sleep). */
  gone: boolean;
}

/**
 * SIGTERM the group, wait up to `graceMs` for it to be gone, SIGKILL it if not, then wait until it is verified gone.
 * `isGone` adds the caller's own knowledge (the leader's exit event): a leader that exited but was not reaped yet
 * still answers `kill(pid, 0)`.
 */
export async function stopProcessGroup(
  pid: number,
  options: { graceMs: number; isGone: () => boolean; onStep?: (step: StopStep) => void; killWaitMs?: number },
): Promise<StopResult> {
  const gone = (): boolean => options.isGone() && !groupAlive(pid);
  if (gone()) return { killed: false, gone: true };
  signalGroup(pid, "SIGTERM");
  options.onStep?.("sigterm");
  if (await waitUntil(gone, options.graceMs)) return { killed: false, gone: true };
  signalGroup(pid, "SIGKILL");
  options.onStep?.("sigkill");
  return { killed: true, gone: await waitUntil(gone, options.killWaitMs ?? 10_000) };
}
