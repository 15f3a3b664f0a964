import { randomUUID } from "node:crypto";
import type { AgentCommand } from "../agents/commands.js";
import type { EventBus } from "../events/event-bus.js";
import { topics } from "../events/event-bus.js";
import type { Failure, ReportVerdict } from "../jobs/attempt-service.js";
import type { AttemptRef, QueuePort } from "../queue/port.js";

/** Ends attempts as the node's retryable failures (the attempt service's fenced path; main.ts wires it). */
export type FailAttempts = (nodeId: string, items: (AttemptRef & Failure)[]) => Promise<ReportVerdict[]>;

/** Why a node's attempts go back to the queue (the job's event log shows `cause`). */
export interface ReleaseReason {
  cause: string;
  error: string;
  errorType: string;
  /** Also tell the agent to stop them, with this CancelJob reason (it may still be running them). */
  cancelReason?: string;
}

/**
 * Gives back the attempts a node holds. Every path is fenced by the queue's atomic scripts, so
 * whoever acts first wins and the lease reaper, another replica or a late report of the agent
 * finds the attempt superseded instead of requeueing it twice.
 */
export class NodeWork {
  constructor(
    private readonly queue: QueuePort,
    private readonly failAttempts: FailAttempts,
    /** The lease reaper's pass (attempts.reapExpiredLeases). */
    private readonly reap: () => Promise<unknown>,
    private readonly events: EventBus,
  ) {}

  /**
   * A lost node's attempts: their leases end now (a renewal that expires at once) and the lease
   * reaper requeues them, so lost work has one path back to the queue whoever notices first
   * (attempt LOST, cause "agent lost: …", the queue's atomic reap deciding). Returns how many it ended.
   */
  async releaseLost(nodeId: string, now: number): Promise<number> {
    const held = await this.queue.leasedBy(nodeId);
    if (held.length === 0) return 0;
    const { renewed } = await this.queue.renew(nodeId, held, 1, now - 1);
    await this.reap();
    return renewed.length;
  }

  /** A node that is still there but must let go (drain deadline, removal): its attempts fail, retryably, with `reason`. */
  async requeueHeld(nodeId: string, reason: ReleaseReason): Promise<number> {
    const held = await this.queue.leasedBy(nodeId);
    if (held.length === 0) return 0;
    const failure = { error: reason.error, errorType: reason.errorType, cause: reason.cause, retryable: true };
    const verdicts = await this.failAttempts(
      nodeId,
      held.map((ref) => ({ jobId: ref.jobId, attemptId: ref.attemptId, ...failure })),
    );
    if (reason.cancelReason) {
      const cancels: AgentCommand[] = held.map((ref) => ({
        __typename: "CancelJobCommand",
        commandId: randomUUID(),
        jobId: ref.jobId,
        attemptId: ref.attemptId,
        reason: reason.cancelReason as string,
      }));
      this.events.publish(topics.agentCommands(nodeId), cancels);
    }
    return verdicts.filter((verdict) => verdict.ok).length;
  }

  async heldCount(nodeId: string): Promise<number> {
    return (await this.queue.leasedBy(nodeId)).length;
  }
}
