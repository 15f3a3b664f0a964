/**
 * Expected failures of the domain, each with a stable code. Transports map them to their own
 * shape (GraphQL `extensions.code`, HTTP status for the fal shim); anything else is a bug and
 * is masked in production.
 */
export type ErrorCode =
  | "NOT_FOUND"
  | "INVALID_INPUT"
  | "PAYLOAD_TOO_LARGE"
  | "ALREADY_COMPLETED"
  | "INVALID_STATE"
  | "ENROLLMENT_TOKEN_INVALID"
  | "FORBIDDEN"
  | "UNAUTHENTICATED"
  | "RATE_LIMITED"
  | "INVALID_CREDENTIALS"
  | "SETUP_TOKEN_INVALID"
  | "CONFLICT";

export interface FieldIssue {
  /** Path to the offending value, fal style: ["body", "width"]. */
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = "DomainError";
  }

  /** Read by graphql-js when it wraps this error, so GraphQL clients get the code and field issues. */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...(this.issues.length ? { issues: this.issues } : {}) };
  }
}

export const notFound = (what: string, id: string) => new DomainError("NOT_FOUND", `${what} ${id} not found`);
