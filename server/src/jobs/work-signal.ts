/**
 * "A model has queued work", said on this replica to its own dispatcher: it claims at once,
 * instead of a round trip through Redis later when the same news comes back over the event
 * bus (which still tells the other replicas; a second dispatch attempt finds nothing and stops).
 */
export class WorkSignal {
  private readonly listeners = new Set<(modelId: string) => void>();

  listen(listener: (modelId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(modelIds: Iterable<string>): void {
    for (const modelId of modelIds) for (const listener of this.listeners) listener(modelId);
  }
}
