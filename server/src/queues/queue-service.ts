import { type EventBus, topics } from "../events/event-bus.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { JobTransitions } from "../jobs/job-transitions.js";
import type { QueuePort, QueueStats } from "../queue/port.js";

/** Queue administration per model: what is waiting, and pause / resume / purge. */
export class QueueService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: QueuePort,
    private readonly events: EventBus,
    private readonly transitions: JobTransitions,
  ) {}

  /** Stats for every registered model (a model with nothing queued still shows, with zeros). */
  async list(modelIds?: string[]): Promise<QueueStats[]> {
    const models =
      modelIds ?? (await this.prisma.model.findMany({ select: { id: true }, orderBy: { id: "asc" } })).map((m) => m.id);
    const stats = await this.queue.stats(models);
    const byModel = new Map(stats.map((s) => [s.modelId, s]));
    return models.map(
      (modelId) =>
        byModel.get(modelId) ?? { modelId, depth: 0, running: 0, delayed: 0, oldestEnqueuedAt: null, paused: false },
    );
  }

  async pause(modelId: string): Promise<QueueStats> {
    await this.queue.pause(modelId);
    return this.changed(modelId);
  }

  async resume(modelId: string): Promise<QueueStats> {
    await this.queue.resume(modelId);
    this.events.publish(topics.workAvailable, modelId);
    return this.changed(modelId);
  }

  /** Cancels every job of a model that is waiting (running ones go on). Returns how many. */
  async purge(modelId: string, actor: string): Promise<number> {
    const removed = await this.queue.purge(modelId);
    const cause = `queue purged by ${actor}`;
    for (const jobId of removed) {
      await this.transitions.apply({
        jobId,
        trigger: "cancel",
        actor,
        cause,
        data: () => ({ error: "Request was cancelled", errorType: "cancelled", cause }),
      });
    }
    await this.changed(modelId);
    return removed.length;
  }

  private async changed(modelId: string): Promise<QueueStats> {
    const [stats] = await this.list([modelId]);
    this.events.publish(topics.queueUpdated, { models: [modelId] });
    return stats as QueueStats;
  }
}
