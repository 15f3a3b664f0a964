/** What a RunJob command carries about its job, besides the attempt. */
export interface RunSpec {
  jobId: string;
  modelId: string;
  modelVersionId: string;
  route: string | null;
  input: unknown;
  runner: unknown;
  timeoutMs: number | null;
}

export interface RunSpecCacheLimits {
  maxEntries: number;
  /** Roughly the JSON size of the inputs held. */
  maxBytes: number;
}

/**
 * The run specs of jobs this replica queued recently, so that dispatch can send RunJob the
 * moment Redis grants a claim instead of first reading the job back from Postgres. A miss
 * (another replica queued it, a retry, or it was evicted) only means the slower path. Bounded:
 * the oldest entries go first.
 */
export class RunSpecCache {
  private readonly specs = new Map<string, { spec: RunSpec; bytes: number }>();
  private bytes = 0;

  constructor(private readonly limits: RunSpecCacheLimits = { maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 }) {}

  put(spec: RunSpec, inputBytes: number): void {
    this.delete(spec.jobId);
    const bytes = inputBytes + 256;
    if (bytes > this.limits.maxBytes) return;
    this.specs.set(spec.jobId, { spec, bytes });
    this.bytes += bytes;
    for (const [jobId] of this.specs) {
      if (this.specs.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.delete(jobId); // Map iterates in insertion order: oldest first
    }
  }

  /** Returns the spec and forgets it: a claim uses it once. */
  take(jobId: string): RunSpec | undefined {
    const entry = this.specs.get(jobId);
    if (entry) this.delete(jobId);
    return entry?.spec;
  }

  delete(jobId: string): void {
    const entry = this.specs.get(jobId);
    if (!entry) return;
    this.specs.delete(jobId);
    this.bytes -= entry.bytes;
  }

  get size(): number {
    return this.specs.size;
  }
}
