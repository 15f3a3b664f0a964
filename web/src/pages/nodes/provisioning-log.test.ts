import { describe, expect, it } from "vitest";
import { foldProvisioningLog } from "./provisioning-log";

const at = "2030-01-01T00:00:00.000Z";

describe("the provisioning log view", () => {
  it("folds a snapshot, then live lines and statuses", () => {
    let view = foldProvisioningLog(undefined, [
      { step: "connect", position: 0, status: "RUNNING", line: "connected to 127.0.0.1:22", at },
      { step: "connect", position: 0, status: "UNCHANGED", line: null, at },
      { step: null, position: null, status: "RUNNING", line: null, at },
    ]);
    expect(view.steps).toEqual([{ name: "connect", position: 0, status: "UNCHANGED", error: null }]);
    expect(view.run).toEqual({ status: "RUNNING", error: null });

    view = foldProvisioningLog(view, [{ step: "upload-agent", position: 2, status: "RUNNING", line: null, at }]);
    view = foldProvisioningLog(view, [
      { step: "upload-agent", position: 2, status: "RUNNING", line: "uploading 2.1 MiB", at },
    ]);
    view = foldProvisioningLog(view, [{ step: "upload-agent", position: 2, status: "FAILED", line: "disk full", at }]);
    view = foldProvisioningLog(view, [{ step: null, status: "FAILED", line: "upload-agent failed: disk full", at }]);
    expect(view.steps.map((s) => [s.name, s.status, s.error])).toEqual([
      ["connect", "UNCHANGED", null],
      ["upload-agent", "FAILED", "disk full"],
    ]);
    expect(view.lines.map((l) => [l.step, l.text, l.error])).toEqual([
      ["connect", "connected to 127.0.0.1:22", false],
      ["upload-agent", "uploading 2.1 MiB", false],
      ["upload-agent", "disk full", true],
      [null, "upload-agent failed: disk full", true],
    ]);
    expect(view.run).toEqual({ status: "FAILED", error: "upload-agent failed: disk full" });
  });

  it("starts over on a new snapshot (after a reconnect), so nothing shows twice", () => {
    const snapshot = [
      { step: "connect", position: 0, status: "RUNNING", line: "hello", at },
      { step: null, status: "RUNNING", line: null, at },
    ];
    const once = foldProvisioningLog(undefined, snapshot);
    expect(foldProvisioningLog(once, snapshot)).toEqual(once);
  });
});
