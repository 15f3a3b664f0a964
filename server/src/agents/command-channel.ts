/**
 * An unbounded async queue of command batches for one agent socket: the gateway pushes,
 * the agentCommands subscription pulls. Closing it ends the subscription.
 */
export class CommandChannel<T> implements AsyncIterableIterator<T[]> {
  private readonly pending: T[][] = [];
  private waiter: ((result: IteratorResult<T[]>) => void) | null = null;
  private closed = false;

  constructor(private readonly onClose: () => void = () => {}) {}

  push(batch: T[]): void {
    if (this.closed || batch.length === 0) return;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve({ value: batch, done: false });
    } else {
      // Batches that pile up while the socket is busy go out as one.
      const last = this.pending[this.pending.length - 1];
      if (last && this.pending.length > 0) last.push(...batch);
      else this.pending.push(batch);
    }
  }

  next(): Promise<IteratorResult<T[]>> {
    const batch = this.pending.shift();
    if (batch) return Promise.resolve({ value: batch, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T[]>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    this.waiter?.({ value: undefined, done: true });
    this.waiter = null;
    this.onClose();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T[]> {
    return this;
  }
}
