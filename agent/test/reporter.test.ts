import { describe, expect, it } from "vitest";
import { silentLogger } from "../src/log.js";
import type { AgentReportInput, AgentReportResult } from "../src/protocol.js";
import { Reporter, type Timers } from "../src/reporter.js";

const A = { jobId: "job-a", attemptId: "att-a" };
const B = { jobId: "job-b", attemptId: "att-b" };

class ManualTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Runs the timers due within `ms` (0: only immediate ones). */
  run(ms = 0): void {
    for (const [id, timer] of [...this.pending]) {
      if (timer.ms <= ms) {
        this.pending.delete(id);
        timer.fn();
      }
    }
  }
}

class FakeTransport {
  readonly sent: AgentReportInput[] = [];
  isReady = true;
  failures: Error[] = [];
  rejected: { attemptId: string; reason: string }[] = [];
  ready(): boolean {
    return this.isReady;
  }
  async send(input: AgentReportInput): Promise<AgentReportResult> {
    this.sent.push(JSON.parse(JSON.stringify(input)));
    const failure = this.failures.shift();
    if (failure) throw failure;
    return { agentReport: { accepted: 1, rejected: this.rejected.splice(0) } };
  }
}

function setup(options: Partial<ConstructorParameters<typeof Reporter>[0]> = {}) {
  const transport = new FakeTransport();
  const timers = new ManualTimers();
  const reporter = new Reporter({
    transport,
    timers,
    log: silentLogger,
    flushIntervalMs: 1000,
    now: () => new Date("2025-01-01T00:00:00Z"),
    ...options,
  });
  return { transport, timers, reporter };
}

const graphQLError = (message: string) => Object.assign(new Error(message), { graphQLErrors: [{ message }] });

describe("reporter", () => {
  it("R10: log lines carry a per-attempt seq starting at 0", async () => {
    const { transport, reporter } = setup();
    reporter.log(A, "info", "a0");
    reporter.log(B, "info", "b0");
    reporter.log(A, "warn", "a1");
    await reporter.flush();
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]?.logs).toEqual([
      { ...A, seq: 0, level: "info", message: "a0", at: "2025-01-01T00:00:00.000Z" },
      { ...B, seq: 0, level: "info", message: "b0", at: "2025-01-01T00:00:00.000Z" },
      { ...A, seq: 1, level: "warn", message: "a1", at: "2025-01-01T00:00:00.000Z" },
    ]);
  });

  it("R10: resent log batches keep their seq", async () => {
    const { transport, reporter } = setup();
    for (let i = 0; i < 3; i++) reporter.log(A, "info", `line ${i}`);
    transport.failures.push(new Error("connection closed"));
    await reporter.flush();
    expect(reporter.pending).toBe(3);
    reporter.log(A, "info", "line 3");
    await reporter.flush();
    expect(transport.sent).toHaveLength(2);
    expect(transport.sent[0]?.logs?.map((l) => l.seq)).toEqual([0, 1, 2]);
    expect(transport.sent[1]?.logs?.map((l) => l.seq)).toEqual([0, 1, 2, 3]);
    expect(reporter.pending).toBe(0);
  });

  it("R10: buffers while disconnected and flushes after reconnect", async () => {
    const { transport, reporter } = setup();
    transport.isReady = false;
    reporter.started(A);
    reporter.log(A, "info", "while offline");
    await reporter.flush();
    expect(transport.sent).toHaveLength(0);
    transport.isReady = true;
    await reporter.flush();
    expect(transport.sent).toEqual([
      { started: [A], logs: [expect.objectContaining({ seq: 0, message: "while offline" })] },
    ]);
  });

  it("R11: batches at most 200 items, in order, grouped by kind", async () => {
    const { transport, reporter } = setup();
    reporter.started(A);
    for (let i = 0; i < 250; i++) reporter.log(A, "info", `l${i}`);
    const done = reporter.completed(A, { ok: true });
    await reporter.flush();
    await done;
    expect(transport.sent).toHaveLength(2);
    expect(transport.sent[0]?.started).toEqual([A]);
    expect(transport.sent[0]?.logs).toHaveLength(199);
    expect(transport.sent[0]?.completed).toBeUndefined();
    expect(transport.sent[1]?.logs?.[0]?.seq).toBe(199);
    expect(transport.sent[1]?.logs).toHaveLength(51);
    expect(transport.sent[1]?.completed).toEqual([{ ...A, output: { ok: true } }]);
  });

  it("R5: logs wait for the flush interval; acks, starts and results go at once", async () => {
    const { transport, timers, reporter } = setup();
    reporter.start();
    reporter.log(A, "info", "x");
    timers.run(0);
    await Promise.resolve();
    expect(transport.sent).toHaveLength(0);
    timers.run(1000);
    await reporter.flush();
    expect(transport.sent).toHaveLength(1);
    reporter.ack({ commandId: "c1", step: "received" });
    timers.run(0);
    await reporter.flush();
    expect(transport.sent[1]).toEqual({ acks: [{ commandId: "c1", step: "received" }] });
    reporter.setFlushInterval(250);
    expect([...timers.pending.values()].some((t) => t.ms === 250)).toBe(true);
  });

  it("flushes as soon as a full batch of logs is queued", () => {
    const { timers, reporter } = setup({ maxBatch: 5 });
    reporter.start();
    for (let i = 0; i < 4; i++) reporter.log(A, "info", "x");
    expect([...timers.pending.values()].some((t) => t.ms === 0)).toBe(false);
    reporter.log(A, "info", "x");
    expect([...timers.pending.values()].some((t) => t.ms === 0)).toBe(true);
  });

  it("keeps only the latest unsent progress of an attempt", async () => {
    const { transport, reporter } = setup();
    reporter.progress(A, 0.1);
    reporter.progress(B, 0.5, "b");
    reporter.progress(A, 0.3, "later");
    await reporter.flush();
    expect(transport.sent[0]?.progress).toEqual([
      { ...A, progress: 0.3, message: "later" },
      { ...B, progress: 0.5, message: "b" },
    ]);
    reporter.progress(A, 0.9);
    await reporter.flush();
    expect(transport.sent[1]?.progress).toEqual([{ ...A, progress: 0.9, message: null }]);
  });

  it("R9: reports rejected by the server are handed to onRejected", async () => {
    const lost: string[] = [];
    const { transport, reporter } = setup({ onRejected: (id) => lost.push(id) });
    transport.rejected = [{ attemptId: A.attemptId, reason: "not the current attempt" }];
    reporter.started(A);
    await reporter.flush();
    expect(lost).toEqual([A.attemptId]);
  });

  it("R7: forgetting an attempt drops its unsent reports but keeps acks", async () => {
    const { transport, reporter } = setup();
    reporter.ack({ commandId: "c", step: "received" });
    reporter.log(A, "info", "x");
    reporter.log(B, "info", "y");
    const result = reporter.completed(A, {});
    reporter.forget(A.attemptId);
    await result; // settled although never sent
    await reporter.flush();
    expect(transport.sent).toEqual([
      { acks: [{ commandId: "c", step: "received" }], logs: [expect.objectContaining({ attemptId: B.attemptId })] },
    ]);
  });

  it("splits a batch the server refuses and drops only the item that keeps failing", async () => {
    const { transport, reporter } = setup();
    for (let i = 0; i < 4; i++) reporter.log(A, "info", `l${i}`);
    transport.failures.push(
      graphQLError("bad"),
      graphQLError("bad"),
      graphQLError("bad"),
      graphQLError("bad"),
      graphQLError("bad"),
    );
    for (let i = 0; i < 8 && reporter.pending > 0; i++) await reporter.flush();
    const sizes = transport.sent.map((s) => s.logs?.length);
    expect(sizes.slice(0, 3)).toEqual([4, 2, 1]);
    // the first line failed three times alone and was dropped; the rest went through
    const delivered = transport.sent
      .slice(5)
      .flatMap((s) => s.logs ?? [])
      .map((l) => l.seq);
    expect(delivered).toEqual([1, 2, 3]);
    expect(reporter.pending).toBe(0);
  });

  it("bounds the log buffer, dropping the oldest lines and never results", async () => {
    const { transport, reporter } = setup({ maxBufferedLogs: 3 });
    transport.isReady = false;
    reporter.started(A);
    for (let i = 0; i < 6; i++) reporter.log(A, "info", `l${i}`);
    void reporter.failed(A, { error: "e", errorType: "t", cause: "c", retryable: true });
    expect(reporter.dropped).toBe(3);
    transport.isReady = true;
    await reporter.flush();
    expect(transport.sent[0]?.logs?.map((l) => l.seq)).toEqual([3, 4, 5]);
    expect(transport.sent[0]?.started).toEqual([A]);
    expect(transport.sent[0]?.failed).toHaveLength(1);
  });

  it("truncates huge log messages", async () => {
    const { transport, reporter } = setup({ maxMessageChars: 10 });
    reporter.log(A, "info", "0123456789abcdef");
    await reporter.flush();
    expect(transport.sent[0]?.logs?.[0]?.message).toBe("0123456789… [truncated]");
  });
});
