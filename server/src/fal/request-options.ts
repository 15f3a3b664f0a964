/**
 * fal's request headers and query flags → submit options. Pure (fal-api.md §1.2, §3).
 * A malformed value is the caller's mistake: it becomes a 400 with the header's name.
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface FalSubmitOptions {
  priority?: number;
  /** From x-fal-request-timeout: the job times out unless started by then (queue wait and retries, not run time). */
  startTimeoutMs?: number;
  /** x-fal-no-retry: a failed attempt is not tried again. */
  retry?: false;
  /** x-fal-runner-hint: accepted; scheduling does not use it yet. */
  runnerHint?: string;
  webhookUrl?: string;
  idempotencyKey?: string;
  /** fal_max_queue_length: refuse the request when this many already wait. */
  maxQueueLength?: number;
}

export class BadRequestError extends Error {
  override name = "BadRequestError";
}

/** `low` requests run after every `normal` one (any priority below 0 does). */
export const LOW_PRIORITY = -100;

/** The smallest start timeout fal documents (> 0.1 s). */
const MIN_START_TIMEOUT_S = 0.1;

const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);
const FALSE_VALUES = new Set(["0", "false", "no", "off", ""]);

/** `logs` as JS (1/0), Python (true/false, True/False) and fal's server SDK send it. Absent: false. */
export function parseLogsFlag(value: string | null): boolean {
  if (value === null) return false;
  return TRUE_VALUES.has(value.trim().toLowerCase());
}

export function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function parseSubmitOptions(headers: HeaderBag, query: URLSearchParams): FalSubmitOptions {
  const options: FalSubmitOptions = {};

  const priority = header(headers, "x-fal-queue-priority")?.trim().toLowerCase();
  if (priority !== undefined && priority !== "" && priority !== "normal") {
    if (priority !== "low")
      throw new BadRequestError(`x-fal-queue-priority must be "normal" or "low", got "${priority}"`);
    options.priority = LOW_PRIORITY;
  }

  const timeout = header(headers, "x-fal-request-timeout")?.trim();
  if (timeout !== undefined && timeout !== "") {
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds <= MIN_START_TIMEOUT_S) {
      throw new BadRequestError(
        `x-fal-request-timeout must be a number of seconds above ${MIN_START_TIMEOUT_S}, got "${timeout}"`,
      );
    }
    options.startTimeoutMs = Math.ceil(seconds * 1000);
  }

  const noRetry = header(headers, "x-fal-no-retry")?.trim().toLowerCase();
  if (noRetry !== undefined) {
    if (TRUE_VALUES.has(noRetry)) options.retry = false;
    else if (!FALSE_VALUES.has(noRetry))
      throw new BadRequestError(`x-fal-no-retry must be 1, true or yes (or 0, false, no), got "${noRetry}"`);
  }

  const hint = header(headers, "x-fal-runner-hint")?.trim();
  if (hint) options.runnerHint = hint;

  const idempotencyKey = (header(headers, "idempotency-key") ?? header(headers, "x-idempotency-key"))?.trim();
  if (idempotencyKey) options.idempotencyKey = idempotencyKey;

  const webhook = query.get("fal_webhook");
  if (webhook !== null) options.webhookUrl = parseWebhookUrl(webhook);

  const maxQueue = query.get("fal_max_queue_length");
  if (maxQueue !== null) {
    const n = Number(maxQueue);
    if (!Number.isInteger(n) || n < 0)
      throw new BadRequestError(`fal_max_queue_length must be a whole number ≥ 0, got "${maxQueue}"`);
    options.maxQueueLength = n;
  }
  return options;
}

export function parseWebhookUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BadRequestError(`fal_webhook is not a URL: "${value.slice(0, 200)}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BadRequestError("fal_webhook must be an http or https URL");
  }
  if (value.length > 2048) throw new BadRequestError("fal_webhook is longer than 2048 characters");
  return url.toString();
}

/** `Key <secret>` (fal's scheme) or `Bearer <token>`; null when absent or malformed. */
export function credentialOf(authorization: string | undefined): { scheme: "key" | "bearer"; secret: string } | null {
  const match = authorization?.trim().match(/^(Key|Bearer)\s+(\S+)$/i);
  if (!match) return null;
  return { scheme: (match[1] as string).toLowerCase() as "key" | "bearer", secret: match[2] as string };
}
