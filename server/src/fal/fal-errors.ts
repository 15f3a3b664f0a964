import { DomainError } from "../errors.js";
import { BadRequestError } from "./request-options.js";
import type { FalReply } from "./status-mapping.js";

/**
 * Errors → fal's HTTP replies (fal-api.md §2.3). Validation errors are 422 with a `detail`
 * array of {loc, msg, type} (the JS client turns them into ValidationError.fieldErrors); others
 * carry `detail` as text. 5xx replies name their type in X-Fal-Error-Type.
 */

/** An HTTP answer decided inside a handler (bad header, too large, not found…). */
export class FalHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.detail === "string" ? body.detail : `HTTP ${statusCode}`);
    this.name = "FalHttpError";
  }

  static detail(statusCode: number, detail: string, headers: Record<string, string> = {}): FalHttpError {
    return new FalHttpError(statusCode, { detail }, headers);
  }
}

const DOMAIN_STATUS: Partial<Record<string, number>> = {
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  ALREADY_COMPLETED: 400,
  INVALID_STATE: 409,
  CONFLICT: 409,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
};

/** Any error a handler threw → the reply; `unexpected` is told about errors that are bugs. */
export function replyForError(error: unknown, unexpected: (error: unknown) => void): FalReply {
  if (error instanceof FalHttpError) return { statusCode: error.statusCode, body: error.body, headers: error.headers };
  if (error instanceof BadRequestError) {
    return {
      statusCode: 400,
      body: { detail: error.message, error_type: "bad_request" },
      headers: { "x-fal-error-type": "bad_request" },
    };
  }
  if (error instanceof DomainError) {
    if (error.code === "INVALID_INPUT") {
      const detail = error.issues.length ? error.issues : [{ loc: ["body"], msg: error.message, type: "value_error" }];
      return { statusCode: 422, body: { detail, message: error.message }, headers: { "x-fal-retryable": "false" } };
    }
    return { statusCode: DOMAIN_STATUS[error.code] ?? 400, body: { detail: error.message }, headers: {} };
  }
  unexpected(error);
  return {
    statusCode: 500,
    body: { detail: "Internal error", error_type: "internal_error" },
    headers: { "x-fal-error-type": "internal_error", "x-fal-retryable": "true" },
  };
}
