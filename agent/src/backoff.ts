/** Delays for reconnects and for runners that keep crashing. Pure: the clock and the dice come from outside. */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** `baseMs * 2^attempt`, capped at `maxMs`. `attempt` counts from 0. */
export function exponentialDelay(attempt: number, policy: BackoffPolicy): number {
  const n = Math.max(0, Math.floor(attempt));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** n);
}

/**
 * Reconnect delay with "equal jitter": half of the exponential delay is fixed, half is random, so agents that lost
 * the server at the same moment spread out and none of them retries sooner than half the nominal delay.
 */
export function jitteredBackoff(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const delay = exponentialDelay(attempt, policy);
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/** Back-off after the n-th consecutive crash (n >= 1): base, 2·base, 4·base, … capped. 0 when there was none. */
export function crashLoopDelay(consecutiveCrashes: number, policy: BackoffPolicy): number {
  if (consecutiveCrashes <= 0) return 0;
  return exponentialDelay(consecutiveCrashes - 1, policy);
}

export interface CrashLoopPolicy extends BackoffPolicy {
  /** A runner that stayed healthy this long before it crashed starts a fresh count. */
  stableAfterMs: number;
}

interface CrashState {
  consecutive: number;
  blockedUntil: number;
}

/** Per model version: how many times in a row its runner crashed, and until when new starts are refused. */
export class CrashLoopTracker {
  private readonly states = new Map<string, CrashState>();

  constructor(
    private readonly policy: CrashLoopPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records a crash (an unexpected exit, or a failed health check). `healthySince` is when that runner passed its
   * health check (undefined if it never did); if it stayed up for `stableAfterMs`, the count starts over.
   */
  recordCrash(key: string, healthySince?: number): { consecutive: number; delayMs: number } {
    const now = this.now();
    const state = this.states.get(key) ?? { consecutive: 0, blockedUntil: 0 };
    if (healthySince !== undefined && now - healthySince >= this.policy.stableAfterMs) state.consecutive = 0;
    state.consecutive += 1;
    const delayMs = crashLoopDelay(state.consecutive, this.policy);
    state.blockedUntil = now + delayMs;
    this.states.set(key, state);
    return { consecutive: state.consecutive, delayMs };
  }

  /** Milliseconds until a runner for `key` may start again; 0 when it may start now. */
  blockedFor(key: string): number {
    const state = this.states.get(key);
    if (!state) return 0;
    return Math.max(0, state.blockedUntil - this.now());
  }

  consecutive(key: string): number {
    return this.states.get(key)?.consecutive ?? 0;
  }

  reset(key: string): void {
    this.states.delete(key);
  }
}
