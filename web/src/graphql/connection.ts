import { useSyncExternalStore } from "react";

/**
 * The state of the live connection (the graphql-ws socket), for the "reconnecting" banner and
 * for views that refresh their queries after a reconnect. `epoch` counts reconnections.
 */
export interface ConnectionState {
  status: "connecting" | "connected" | "reconnecting";
  epoch: number;
}

export interface ConnectionStore {
  get(): ConnectionState;
  subscribe(listener: () => void): () => void;
  connecting(): void;
  connected(): void;
  closed(): void;
}

export function createConnectionStore(): ConnectionStore {
  let state: ConnectionState = { status: "connecting", epoch: 0 };
  let everConnected = false;
  const listeners = new Set<() => void>();
  const set = (next: ConnectionState) => {
    if (next.status === state.status && next.epoch === state.epoch) return;
    state = next;
    for (const listener of listeners) listener();
  };
  return {
    get: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connecting() {
      set({ ...state, status: everConnected ? "reconnecting" : "connecting" });
    },
    connected() {
      set({ status: "connected", epoch: everConnected ? state.epoch + 1 : state.epoch });
      everConnected = true;
    },
    closed() {
      set({ ...state, status: everConnected ? "reconnecting" : "connecting" });
    },
  };
}

export function useConnectionState(store: ConnectionStore): ConnectionState {
  return useSyncExternalStore(store.subscribe, store.get);
}
