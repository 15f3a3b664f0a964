import { describe, expect, it } from "vitest";
import {
  acceptsWork,
  connectedState,
  type NodeStatus,
  NodeTransitionError,
  nextStatus,
  operatorTransition,
} from "./node-states.js";

const status = (state: NodeStatus["state"], extra: Partial<NodeStatus> = {}): NodeStatus => ({
  state,
  cordoned: false,
  drainDeadlineAt: null,
  everConnected: true,
  ...extra,
});
const deadline = new Date("2030-01-01T00:00:00Z");

describe("node states", () => {
  it("a connected node shows the operator's decision", () => {
    expect(connectedState({ cordoned: false, drainDeadlineAt: null })).toBe("ONLINE");
    expect(connectedState({ cordoned: true, drainDeadlineAt: null })).toBe("CORDONED");
    expect(connectedState({ cordoned: true, drainDeadlineAt: deadline })).toBe("DRAINING");
  });

  it("connect, disconnect, lose, come back", () => {
    const pending = status("PENDING", { everConnected: false });
    const online = nextStatus(pending, { kind: "connected" });
    expect(online).toMatchObject({ state: "ONLINE", everConnected: true });
    const offline = nextStatus(online, { kind: "disconnected" });
    expect(offline.state).toBe("OFFLINE");
    const lost = nextStatus(offline, { kind: "lost" });
    expect(lost.state).toBe("LOST");
    expect(nextStatus(lost, { kind: "connected" }).state).toBe("ONLINE");
    // a node that never connected, or is being provisioned, is not lost
    expect(nextStatus(pending, { kind: "lost" })).toBe(pending);
    expect(nextStatus(status("PROVISIONING"), { kind: "lost" }).state).toBe("PROVISIONING");
  });

  it("a cordon survives disconnects, loss and reconnects", () => {
    const cordoned = nextStatus(status("ONLINE"), { kind: "cordon" });
    expect(cordoned).toMatchObject({ state: "CORDONED", cordoned: true });
    const lost = nextStatus(nextStatus(cordoned, { kind: "disconnected" }), { kind: "lost" });
    expect(lost).toMatchObject({ state: "LOST", cordoned: true });
    expect(nextStatus(lost, { kind: "connected" }).state).toBe("CORDONED");
    expect(acceptsWork(nextStatus(lost, { kind: "connected" }))).toBe(false);
  });

  it("drain: DRAINING until drained, then CORDONED; uncordon makes it schedulable", () => {
    const draining = nextStatus(status("ONLINE"), { kind: "drain", deadlineAt: deadline });
    expect(draining).toMatchObject({ state: "DRAINING", cordoned: true, drainDeadlineAt: deadline });
    const drained = nextStatus(draining, { kind: "drained" });
    expect(drained).toMatchObject({ state: "CORDONED", cordoned: true, drainDeadlineAt: null });
    expect(nextStatus(drained, { kind: "drained" })).toBe(drained);
    const back = nextStatus(drained, { kind: "uncordon" });
    expect(back).toMatchObject({ state: "ONLINE", cordoned: false });
    expect(acceptsWork(back)).toBe(true);
  });

  it("draining a node that is not connected only cordons it (nothing runs there to wait for)", () => {
    expect(nextStatus(status("OFFLINE"), { kind: "drain", deadlineAt: deadline })).toMatchObject({
      state: "OFFLINE",
      cordoned: true,
      drainDeadlineAt: null,
    });
  });

  it("provisioning: a connected node is repaired in place; a failed run goes back to where it was", () => {
    expect(nextStatus(status("ONLINE"), { kind: "provisioning" }).state).toBe("ONLINE");
    const fresh = nextStatus(status("PENDING", { everConnected: false }), { kind: "provisioning" });
    expect(fresh.state).toBe("PROVISIONING");
    expect(nextStatus(fresh, { kind: "provisioning_failed" }).state).toBe("PENDING");
    const known = nextStatus(status("LOST"), { kind: "provisioning" });
    expect(nextStatus(known, { kind: "provisioning_failed" }).state).toBe("OFFLINE");
  });

  it("removal cordons and takes the node offline", () => {
    expect(nextStatus(status("ONLINE"), { kind: "removed" })).toMatchObject({ state: "OFFLINE", cordoned: true });
  });

  it("operator actions that change nothing are refused, except a repeated cordon", () => {
    expect(() => operatorTransition(status("ONLINE"), { kind: "uncordon" })).toThrow(NodeTransitionError);
    expect(() => operatorTransition(status("ONLINE"), { kind: "uncordon" })).toThrow("cannot be uncordon");
    const cordoned = status("CORDONED", { cordoned: true });
    expect(operatorTransition(cordoned, { kind: "cordon" })).toBe(cordoned);
  });
});
