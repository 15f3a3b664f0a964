import { createHash } from "node:crypto";

/**
 * Host-key pinning, pure. A fingerprint is what `ssh-keygen -lf` prints: "SHA256:" and the
 * unpadded base64 of the SHA-256 of the key blob the server offers.
 */

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function fingerprintOf(hostKey: Buffer): string {
  return `SHA256:${createHash("sha256").update(hostKey).digest("base64").replace(/=+$/, "")}`;
}

/** Accepts "SHA256:…" with or without padding; null when it is not a SHA-256 fingerprint. */
export function normalizeFingerprint(value: string): string | null {
  const trimmed = value.trim().replace(/=+$/, "");
  return FINGERPRINT.test(trimmed) ? trimmed : null;
}

export type HostKeyVerdict =
  | { accept: true }
  /** No fingerprint pinned yet: record the offered one and wait for an operator to confirm it. */
  | { accept: false; reason: "unconfirmed"; offered: string }
  /** Another key than the pinned one: possibly not the host we think (or it was reinstalled). */
  | { accept: false; reason: "mismatch"; offered: string; expected: string };

/** Decides before anything is sent: only the pinned key is ever accepted. */
export function checkHostKey(pinned: string | null, offered: string): HostKeyVerdict {
  if (pinned === null) return { accept: false, reason: "unconfirmed", offered };
  return pinned === offered ? { accept: true } : { accept: false, reason: "mismatch", offered, expected: pinned };
}

export function describeVerdict(verdict: Exclude<HostKeyVerdict, { accept: true }>): string {
  if (verdict.reason === "unconfirmed") {
    return `host key not confirmed yet: the host offered ${verdict.offered}; check it (ssh-keygen -lf on the host) and confirm it with confirmHostKey`;
  }
  return `host key mismatch: expected ${verdict.expected}, the host offered ${verdict.offered}; refusing to connect (nothing was sent)`;
}
