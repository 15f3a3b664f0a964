import type { CombinedError } from "urql";

export interface FieldIssue {
  loc: string[];
  msg: string;
}

/** One readable line for an operation's failure: the server's message, or why the network failed. */
export function errorMessage(error: CombinedError): string {
  const first = error.graphQLErrors[0];
  if (first) return first.message;
  if (error.networkError) return `network error: ${error.networkError.message}`;
  return error.message;
}

/** What a ConfirmButton action returns: the failure to show, or null when the operation succeeded. */
export function failureOf(result: { error?: CombinedError | undefined }): string | null {
  return result.error ? errorMessage(result.error) : null;
}

export function errorCode(error: CombinedError | undefined): string | undefined {
  return error?.graphQLErrors[0]?.extensions?.code as string | undefined;
}

/** Field issues of an INVALID_INPUT error (input schema validation), if any. */
export function errorIssues(error: CombinedError | undefined): FieldIssue[] {
  const issues = error?.graphQLErrors[0]?.extensions?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.filter(
    (issue): issue is FieldIssue =>
      typeof issue === "object" && issue !== null && Array.isArray(issue.loc) && typeof issue.msg === "string",
  );
}
