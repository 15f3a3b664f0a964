import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { Provider } from "urql";
import { errorMessage } from "../components/errors";
import { graphql } from "../gql/gql";
import type { ViewerQuery } from "../gql/graphql";
import { createAnonymousClient, createSessionClient, type SessionClient } from "../graphql/client";
import type { ConnectionStore } from "../graphql/connection";
import { LoginPage } from "./login-page";

const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      kind
      id
      name
      permissions
      csrfToken
    }
  }
`);

const LoginDocument = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      expiresAt
    }
  }
`);

const LogoutDocument = graphql(`
  mutation Logout {
    logout
  }
`);

export type Viewer = ViewerQuery["viewer"];

export interface Session {
  viewer: Viewer;
  /** Whether the viewer holds the permission; the server enforces it either way. */
  can(permission: string): boolean;
  connection: ConnectionStore;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

export function useCan(permission: string): boolean {
  return useSession().can(permission);
}

type Phase =
  | { kind: "loading" }
  | { kind: "unreachable"; message: string }
  | { kind: "signed-out"; notice?: string }
  | { kind: "signed-in"; viewer: Viewer; live: SessionClient };

/**
 * Who is signed in. Asks the server (`viewer`) on load; anonymous callers get the login page;
 * a signed-in session gets its own urql client and socket, disposed when the session ends
 * (logout, or a revoked or expired session that the server refuses).
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const anonymous = useMemo(createAnonymousClient, []);
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  const live = useRef<SessionClient | null>(null);

  const endLive = useCallback(() => {
    live.current?.dispose();
    live.current = null;
  }, []);

  const load = useCallback(
    async (notice?: string) => {
      const result = await anonymous.query(ViewerDocument, {}).toPromise();
      endLive();
      if (result.error && !result.error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
        setPhase({ kind: "unreachable", message: errorMessage(result.error) });
        return;
      }
      const viewer = result.data?.viewer;
      if (!viewer || viewer.kind === "anonymous") {
        setPhase({ kind: "signed-out", ...(notice ? { notice } : {}) });
        return;
      }
      const client = createSessionClient({
        csrfToken: viewer.csrfToken ?? null,
        onSessionEnded: () => void load("Your session ended. Sign in again."),
      });
      live.current = client;
      setPhase({ kind: "signed-in", viewer, live: client });
    },
    [anonymous, endLive],
  );

  useEffect(() => {
    void load();
    return endLive;
  }, [load, endLive]);

  // While the server cannot be reached, keep asking.
  useEffect(() => {
    if (phase.kind !== "unreachable") return;
    const timer = setTimeout(() => void load(), 3_000);
    return () => clearTimeout(timer);
  }, [phase, load]);

  const signIn = useCallback(
    async (email: string, password: string): Promise<string | null> => {
      const result = await anonymous.mutation(LoginDocument, { email, password }).toPromise();
      if (result.error) return errorMessage(result.error);
      await load();
      return null;
    },
    [anonymous, load],
  );

  const session = useMemo<Session | null>(() => {
    if (phase.kind !== "signed-in") return null;
    const permissions = new Set(phase.viewer.permissions);
    return {
      viewer: phase.viewer,
      can: (permission) => permissions.has(permission),
      connection: phase.live.connection,
      signOut: async () => {
        await phase.live.client.mutation(LogoutDocument, {}).toPromise();
        endLive();
        setPhase({ kind: "signed-out", notice: "You signed out." });
      },
    };
  }, [phase, endLive]);

  if (phase.kind === "loading") {
    return (
      <div className="splash" role="status">
        Loading…
      </div>
    );
  }
  if (phase.kind === "unreachable") {
    return (
      <div className="splash" role="alert">
        <p>The server cannot be reached: {phase.message}</p>
        <p className="muted">Retrying every few seconds.</p>
        <button type="button" className="button" onClick={() => void load()}>
          Retry now
        </button>
      </div>
    );
  }
  if (phase.kind === "signed-out" || !session) {
    return (
      <LoginPage onSignIn={signIn} {...(phase.kind === "signed-out" && phase.notice ? { notice: phase.notice } : {})} />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Provider value={phase.live.client}>{children}</Provider>
    </SessionContext.Provider>
  );
}
