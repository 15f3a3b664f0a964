import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { type EventBus, topics } from "../events/event-bus.js";
import type { AttemptService, Dispatch, Failure, LogLine, ReportVerdict } from "../jobs/attempt-service.js";
import type { GpuStats, NodePresence, RunnerState } from "../nodes/node-presence.js";
import type { AttemptRef, QueuePort } from "../queue/port.js";
import { CommandChannel } from "./command-channel.js";
import type { AgentCommand } from "./commands.js";

export interface AgentIntervals {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  logFlushIntervalMs: number;
}

export interface ConnectRequest {
  nodeId: string;
  capacity: number;
  models: string[] | null;
  running: AttemptRef[];
  agentVersion?: string | null;
}

export interface HeartbeatReport {
  freeSlots: number;
  running: AttemptRef[];
  gpus: GpuStats[];
  runners?: RunnerState[];
  agentVersion?: string | null;
}

export interface AgentReport {
  acks?: {
    commandId: string;
    step: string;
    detail?: string | null;
    jobId?: string | null;
    attemptId?: string | null;
  }[];
  started?: AttemptRef[];
  logs?: LogLine[];
  progress?: (AttemptRef & { progress: number; message?: string | null })[];
  completed?: (AttemptRef & { output: unknown })[];
  failed?: (AttemptRef & Failure)[];
  cancelled?: AttemptRef[];
}

export interface ReportResult {
  accepted: number;
  rejected: { attemptId: string; reason: string }[];
}

/** One connected agent on this replica. */
class AgentSession {
  /** Attempts this node holds, as far as this replica knows (assigned and not yet reported done). */
  readonly inflight = new Set<string>();
  /** Names this socket to node presence, so that a late close of a replaced socket changes nothing. */
  readonly connectionId = randomUUID();
  dispatching = false;
  dispatchAgain = false;

  constructor(
    readonly nodeId: string,
    readonly capacity: number,
    readonly models: string[] | null,
    readonly channel: CommandChannel<AgentCommand>,
  ) {}

  get freeSlots(): number {
    return Math.max(0, this.capacity - this.inflight.size);
  }

  serves(modelId: string): boolean {
    return modelId === "*" || this.models === null || this.models.includes(modelId);
  }
}

/**
 * The server side of the agent protocol (agent/PROTOCOL.md): holds this replica's agent
 * sockets, dispatches queued work to them, and turns their reports into attempt changes.
 * Commands for an agent on another replica travel over the event bus.
 */
export class AgentGateway {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly stopWork: () => void;

  constructor(
    private readonly queue: QueuePort,
    private readonly attempts: AttemptService,
    private readonly nodes: NodePresence,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly intervals: AgentIntervals,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    this.stopWork = this.listen<string>(topics.workAvailable, (modelId) => this.dispatchFor(modelId));
  }

  /** Opens the command stream of a node that just connected (R5–R7). */
  async connect(req: ConnectRequest): Promise<AsyncIterableIterator<AgentCommand[]>> {
    this.sessions.get(req.nodeId)?.channel.close(); // a reconnect replaces the old socket
    let stopCommands = () => {};
    const channel = new CommandChannel<AgentCommand>(() => {
      stopCommands();
      if (this.sessions.get(req.nodeId) === session) {
        this.sessions.delete(req.nodeId);
        this.nodes
          .disconnected(req.nodeId, session.connectionId)
          .catch((error) => this.onError(error, "node disconnect"));
      }
    });
    const session = new AgentSession(req.nodeId, Math.max(0, req.capacity), req.models, channel);
    this.sessions.set(req.nodeId, session);
    channel.push([{ __typename: "HelloCommand", commandId: randomUUID(), nodeId: req.nodeId, ...this.intervals }]);
    stopCommands = this.listen<AgentCommand[]>(topics.agentCommands(req.nodeId), (commands) => {
      for (const command of commands)
        if (command.__typename === "CancelJobCommand") session.inflight.delete(command.attemptId);
      channel.push(commands);
    });
    await this.nodes.connected(req.nodeId, {
      connectionId: session.connectionId,
      capacity: req.capacity,
      agentVersion: req.agentVersion ?? null,
    });
    if (req.running.length > 0) {
      const { renewed, lost } = await this.queue.renew(
        req.nodeId,
        req.running,
        this.intervals.leaseTtlMs,
        this.clock.now(),
      );
      for (const ref of renewed) session.inflight.add(ref.attemptId);
      channel.push(lost.map((ref) => cancelCommand(ref, "lease lost")));
    }
    this.dispatch(session);
    return channel;
  }

  async heartbeat(nodeId: string, report: HeartbeatReport): Promise<{ lostAttemptIds: string[] }> {
    const { renewed, lost } = await this.queue.renew(
      nodeId,
      report.running,
      this.intervals.leaseTtlMs,
      this.clock.now(),
    );
    const session = this.sessions.get(nodeId);
    if (session) {
      // Only drop what is known lost: work assigned after the agent took its snapshot is still in flight.
      for (const ref of lost) session.inflight.delete(ref.attemptId);
      for (const ref of renewed) session.inflight.add(ref.attemptId);
      this.dispatch(session);
    }
    await this.nodes.heartbeat(nodeId, {
      ...(session ? { connectionId: session.connectionId } : {}),
      freeSlots: report.freeSlots,
      gpus: report.gpus,
      runners: report.runners ?? [],
      agentVersion: report.agentVersion ?? null,
    });
    return { lostAttemptIds: lost.map((ref) => ref.attemptId) };
  }

  /** Applies a batch of reports in the order of R11. */
  async report(nodeId: string, report: AgentReport): Promise<ReportResult> {
    const result: ReportResult = { accepted: 0, rejected: [] };
    const tally = (attemptId: string, verdict: ReportVerdict) => {
      if (verdict.ok) result.accepted++;
      else result.rejected.push({ attemptId, reason: verdict.reason });
    };
    for (const ack of report.acks ?? []) {
      result.accepted++;
      if (ack.jobId && ack.attemptId) {
        await this.attempts.acknowledged(
          nodeId,
          { jobId: ack.jobId, attemptId: ack.attemptId },
          ack.step,
          ack.detail ?? null,
        );
      } else {
        // Node commands (ConfigureEnv, Drain, …): their steps go to the node's event log.
        await this.nodes.acknowledged(nodeId, { commandId: ack.commandId, step: ack.step, detail: ack.detail ?? null });
      }
    }
    const tallyAll = (refs: AttemptRef[], verdicts: ReportVerdict[]) => {
      for (const [i, ref] of refs.entries())
        tally(ref.attemptId, verdicts[i] ?? { ok: false, reason: "unknown attempt" });
    };
    const started = report.started ?? [];
    const completed = report.completed ?? [];
    const failed = report.failed ?? [];
    const session = this.sessions.get(nodeId);
    for (const item of [...completed, ...failed]) session?.inflight.delete(item.attemptId);
    // The agent has those slots free now: new work goes out while these results are recorded.
    if (session && completed.length + failed.length > 0) this.dispatch(session);
    // Starts and results go together, all of them at once (one fencing round trip, one commit);
    // the batcher still writes each job's transitions in the order of R11. Logs meanwhile.
    const lives =
      started.length + completed.length + failed.length > 0
        ? this.attempts.report(nodeId, { started, completed, failed })
        : null;
    lives?.catch(() => undefined); // awaited below, after logs and progress
    if (report.logs?.length) {
      const verdicts = await this.attempts.logs(nodeId, report.logs);
      for (const [attemptId, verdict] of verdicts) tally(attemptId, verdict);
    }
    for (const item of report.progress ?? []) {
      tally(item.attemptId, await this.attempts.progress(nodeId, item, item.progress, item.message ?? null));
    }
    if (lives) {
      const verdicts = await lives;
      tallyAll(started, verdicts.started);
      tallyAll(completed, verdicts.completed);
      tallyAll(failed, verdicts.failed);
      // Once more: a heartbeat renewed before the queue let them go may have put them back.
      for (const item of [...completed, ...failed]) session?.inflight.delete(item.attemptId);
    }
    for (const ref of report.cancelled ?? []) {
      session?.inflight.delete(ref.attemptId);
      tally(ref.attemptId, await this.attempts.cancelledByAgent(nodeId, ref));
    }
    if (session) this.dispatch(session);
    return result;
  }

  /** Tries to give queued work of a model (or of any model, "*") to this replica's agents. */
  dispatchFor(modelId: string): void {
    for (const session of this.sessions.values()) {
      if (session.freeSlots > 0 && session.serves(modelId)) this.dispatch(session);
    }
  }

  /** Re-runs dispatch for every local agent: a safety net for a missed notification. */
  dispatchAll(): void {
    for (const session of this.sessions.values()) this.dispatch(session);
  }

  get connectedNodeIds(): string[] {
    return [...this.sessions.keys()];
  }

  close(): void {
    this.stopWork();
    for (const session of this.sessions.values()) session.channel.close();
  }

  /** Single-flight per session: a dispatch asked for while one runs loops once more after it. */
  private dispatch(session: AgentSession): void {
    if (session.dispatching) {
      session.dispatchAgain = true;
      return;
    }
    session.dispatching = true;
    void (async () => {
      try {
        do {
          session.dispatchAgain = false;
          // Cordoned, draining and removed nodes get no new work (node presence decides).
          if (session.channel.isClosed || session.freeSlots === 0 || !this.nodes.canDispatch(session.nodeId)) break;
          const claims = await this.queue.claim({
            agentId: session.nodeId,
            models: session.models ?? "*",
            slots: session.freeSlots,
            leaseMs: this.intervals.leaseTtlMs,
            now: this.clock.now(),
          });
          // Nothing now; loop once more only if work was announced while the claim ran.
          if (claims.length === 0) continue;
          for (const claim of claims) session.inflight.add(claim.attemptId);
          // Not awaited: the write of these assignments must not hold up the next claim.
          this.attempts
            .assign(session.nodeId, claims, this.dispatchTo(session))
            .catch((error) => this.onError(error, `recording assignments of node ${session.nodeId}`));
          session.dispatchAgain = true;
        } while (session.dispatchAgain);
      } catch (error) {
        this.onError(error, `dispatch to node ${session.nodeId}`);
      } finally {
        session.dispatching = false;
      }
    })();
  }

  private dispatchTo(session: AgentSession): Dispatch {
    return {
      run: (payloads) =>
        session.channel.push(payloads.map((p) => ({ __typename: "RunJobCommand", commandId: randomUUID(), ...p }))),
      drop: (refs, sent) => {
        for (const ref of refs) session.inflight.delete(ref.attemptId);
        if (sent) session.channel.push(refs.map((ref) => cancelCommand(ref, "the job ended before it was assigned")));
        this.dispatch(session); // the slots are free again
      },
    };
  }

  private listen<T>(topic: string, handle: (payload: T) => void): () => void {
    const iterator = this.events.subscribe<T>(topic);
    void (async () => {
      try {
        for await (const payload of iterator) handle(payload);
      } catch (error) {
        this.onError(error, `listening on ${topic}`);
      }
    })();
    return () => void iterator.return?.();
  }
}

function cancelCommand(ref: AttemptRef, reason: string): AgentCommand {
  return {
    __typename: "CancelJobCommand",
    commandId: randomUUID(),
    jobId: ref.jobId,
    attemptId: ref.attemptId,
    reason,
  };
}
