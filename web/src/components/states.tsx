import type { ReactNode } from "react";
import type { CombinedError } from "urql";
import { errorCode, errorMessage } from "./errors";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state loading" role="status">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

export function ErrorState({ error, retry }: { error: CombinedError; retry?: () => void }) {
  const forbidden = errorCode(error) === "FORBIDDEN";
  return (
    <div className="state error" role="alert">
      <p>{forbidden ? "You do not have permission to see this." : errorMessage(error)}</p>
      {retry && !forbidden ? (
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/**
 * The usual trio: an error (with retry), loading before the first data, then the content.
 * Data that is already there stays on screen while a refetch runs.
 */
export function QueryState<T>({
  result,
  retry,
  what,
  children,
}: {
  result: { data?: T; fetching: boolean; error?: CombinedError | undefined };
  retry?: () => void;
  what?: string;
  children: (data: T) => ReactNode;
}) {
  if (result.data !== undefined) {
    return (
      <>
        {result.error ? <ErrorState error={result.error} {...(retry ? { retry } : {})} /> : null}
        {children(result.data)}
      </>
    );
  }
  if (result.error) return <ErrorState error={result.error} {...(retry ? { retry } : {})} />;
  return <Loading {...(what ? { what } : {})} />;
}
