import type { NodeState } from "../generated/prisma/enums.js";

/**
 * The node state machine, pure. A node's `state` is what people see and filter on; it follows
 * from two things kept apart so that neither overwrites the other: whether the agent is there
 * (connected, gone for a moment, lost) and what an operator decided (cordon, drain).
 */

export interface NodeStatus {
  state: NodeState;
  /** No new work (cordon or drain). Survives disconnects and restarts. */
  cordoned: boolean;
  /** Set while draining: the work still running past it is requeued. */
  drainDeadlineAt: Date | null;
  /** Has an agent ever connected for this node (a failed provisioning goes back to PENDING if not). */
  everConnected: boolean;
}

export type NodeTransition =
  | { kind: "connected" }
  | { kind: "disconnected" }
  | { kind: "lost" }
  | { kind: "cordon" }
  | { kind: "drain"; deadlineAt: Date }
  | { kind: "drained" }
  | { kind: "uncordon" }
  | { kind: "provisioning" }
  | { kind: "provisioning_failed" }
  | { kind: "removed" };

/** States in which the agent holds a socket. */
export const CONNECTED_STATES: readonly NodeState[] = ["ONLINE", "CORDONED", "DRAINING"];

/** States the loss sweep may turn into LOST (heartbeats stopped past the bound). */
export const LOSABLE_STATES: readonly NodeState[] = ["ONLINE", "CORDONED", "DRAINING", "OFFLINE"];

export class NodeTransitionError extends Error {
  constructor(
    readonly from: NodeStatus,
    readonly transition: NodeTransition["kind"],
  ) {
    super(`a ${from.state.toLowerCase()} node cannot be ${describe(transition)}`);
    this.name = "NodeTransitionError";
  }
}

function describe(kind: NodeTransition["kind"]): string {
  return kind === "drained" ? "marked drained" : kind.replace("_", " ");
}

/** What a connected node shows, given the operator's decision. */
export function connectedState(status: Pick<NodeStatus, "cordoned" | "drainDeadlineAt">): NodeState {
  if (!status.cordoned) return "ONLINE";
  return status.drainDeadlineAt ? "DRAINING" : "CORDONED";
}

export function isConnectedState(state: NodeState): boolean {
  return CONNECTED_STATES.includes(state);
}

/**
 * The status after `transition`, or the same object when nothing changes. Throws
 * NodeTransitionError for operator actions that make no sense in the current state.
 */
export function nextStatus(current: NodeStatus, transition: NodeTransition): NodeStatus {
  const connected = isConnectedState(current.state);
  switch (transition.kind) {
    case "connected": {
      const state = connectedState(current);
      return same(current, state) && current.everConnected ? current : { ...current, state, everConnected: true };
    }
    case "disconnected":
      return connected ? { ...current, state: "OFFLINE" } : current;
    case "lost":
      return LOSABLE_STATES.includes(current.state) ? { ...current, state: "LOST" } : current;
    case "cordon": {
      if (current.cordoned && !current.drainDeadlineAt) return current;
      const next = { ...current, cordoned: true, drainDeadlineAt: null };
      return { ...next, state: connected ? connectedState(next) : current.state };
    }
    case "drain": {
      // A node that is not connected runs nothing this server could wait for: it is simply cordoned.
      const next = { ...current, cordoned: true, drainDeadlineAt: connected ? transition.deadlineAt : null };
      return { ...next, state: connected ? connectedState(next) : current.state };
    }
    case "drained": {
      if (!current.drainDeadlineAt) return current;
      const next = { ...current, drainDeadlineAt: null };
      return { ...next, state: connected ? connectedState(next) : current.state };
    }
    case "uncordon": {
      if (!current.cordoned) return current;
      const next = { ...current, cordoned: false, drainDeadlineAt: null };
      return { ...next, state: connected ? connectedState(next) : current.state };
    }
    case "provisioning":
      // A connected node is repaired in place: it keeps serving while its agent is checked.
      return connected ? current : { ...current, state: "PROVISIONING" };
    case "provisioning_failed":
      if (current.state !== "PROVISIONING") return current;
      return { ...current, state: current.everConnected ? "OFFLINE" : "PENDING" };
    case "removed":
      return { ...current, state: "OFFLINE", cordoned: true, drainDeadlineAt: null };
  }
}

/** Like nextStatus, but operator actions that change nothing are refused (e.g. uncordon a schedulable node). */
export function operatorTransition(current: NodeStatus, transition: NodeTransition): NodeStatus {
  const next = nextStatus(current, transition);
  if (next === current && transition.kind !== "cordon") throw new NodeTransitionError(current, transition.kind);
  return next;
}

/** Whether the dispatcher may give this node new work. */
export function acceptsWork(status: Pick<NodeStatus, "state" | "cordoned">): boolean {
  return status.state === "ONLINE" && !status.cordoned;
}

function same(status: NodeStatus, state: NodeState): boolean {
  return status.state === state;
}
