/**
 * The production queue driver: Redis, with every state change one Lua script (lua/*.lua), so any
 * number of replicas can claim, renew, reap and cancel at once without a leader.
 *
 * Key layout (P is the prefix; model, agent and job ids are appended as they are):
 *   P:seq            STRING  global enqueue sequence (INCR), the FIFO order across every model
 *   P:models         SET     every model id seen (claim with models "*", stats without a filter)
 *   P:paused         SET     paused model ids (claim skips them)
 *   P:q:{model}      ZSET    ready queue; score = readyScore(priority, seq) (port.ts), an exact
 *                            integer < 2^53; ascending order is run order, so ZRANK = position
 *   P:qt:{model}     ZSET    the same ready jobs scored by enqueuedAt (oldest wait in O(log n))
 *   P:qd:{model}     SET     the model's delayed job ids (stats, purge)
 *   P:ql:{model}     SET     the model's leased job ids (stats)
 *   P:delayed        ZSET    delayed jobs of every model by due time (the reaper promotes them)
 *   P:leases         ZSET    leased jobs by lease expiry (the reaper requeues them)
 *   P:agent:{agent}  SET     job ids the agent holds
 *   P:job:{id}       HASH    model, priority, maxAttempts, attempts, enqueuedAt, seq, state
 *                            (ready|delayed|leased), idem?, notBefore?, attemptId?, agent?,
 *                            leaseExpiresAt?
 *   P:idem:{key}     STRING  idempotency key -> job id, deleted with the job
 * A job lives in the queue from enqueue until finish, exhaustion, cancel, expiry or purge; after
 * that Postgres alone remembers it. Numbers are integer milliseconds.
 *
 * The scripts name no KEYS: claim and reap reach keys that depend on what they read, so every
 * key derives from the prefix (ARGV[1]). That is fine on a single Redis (or a replicated one);
 * Redis Cluster would need every key in one slot, i.e. a hash-tagged prefix such as "{vyvo}".
 */
import { readFileSync } from "node:fs";
import type { ChainableCommander, Redis } from "ioredis";
import type {
  AttemptRef,
  BackoffPolicy,
  CancelResult,
  Claim,
  ClaimRequest,
  EnqueueInput,
  EnqueueResult,
  FinishResult,
  QueuedJob,
  QueuePort,
  QueueStats,
  ReapedLease,
  ReapResult,
  RenewResult,
  RetryResult,
} from "./port.js";
import { normalizeEnqueue, normalizeRestore, requireBackoff, requireId, requireInteger } from "./queue-input.js";

const SCRIPT_NAMES = [
  "enqueue",
  "claim",
  "renew",
  "finish",
  "retry",
  "reap",
  "remove-waiting",
  "purge",
  "set-paused",
  "restore",
] as const;
type ScriptName = (typeof SCRIPT_NAMES)[number];

function loadLua(file: string): string {
  return readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), "utf8");
}

const COMMON_LUA = loadLua("common");
const SCRIPTS: Record<ScriptName, string> = Object.fromEntries(
  SCRIPT_NAMES.map((name) => [name, `${COMMON_LUA}\n${loadLua(name)}`]),
) as Record<ScriptName, string>;

/** The ioredis command that defineCommand adds for a script (the same on every client). */
function commandName(name: ScriptName): string {
  return `vyvoQueue_${name.replaceAll("-", "_")}`;
}

type ScriptArg = string | number;

/** Jobs per enqueue script run. */
const ENQUEUE_CHUNK = 100;
type ScriptCommand = (...args: ScriptArg[]) => unknown;

export interface RedisQueueOptions {
  /** Every key starts with it; one prefix per deployment (or per test). */
  prefix: string;
}

/** The key names that the TypeScript reads use; the Lua scripts derive the same ones (common.lua). */
export class RedisQueueKeys {
  readonly models: string;
  readonly paused: string;
  readonly delayed: string;
  readonly leases: string;

  constructor(readonly prefix: string) {
    this.models = `${prefix}:models`;
    this.paused = `${prefix}:paused`;
    this.delayed = `${prefix}:delayed`;
    this.leases = `${prefix}:leases`;
  }

  job(jobId: string): string {
    return `${this.prefix}:job:${jobId}`;
  }
  ready(modelId: string): string {
    return `${this.prefix}:q:${modelId}`;
  }
  readySince(modelId: string): string {
    return `${this.prefix}:qt:${modelId}`;
  }
  modelDelayed(modelId: string): string {
    return `${this.prefix}:qd:${modelId}`;
  }
  modelLeased(modelId: string): string {
    return `${this.prefix}:ql:${modelId}`;
  }
  agent(agentId: string): string {
    return `${this.prefix}:agent:${agentId}`;
  }
}

export class RedisQueue implements QueuePort {
  readonly keys: RedisQueueKeys;
  readonly #redis: Redis;

  constructor(redis: Redis, options: RedisQueueOptions) {
    if (redis.options.keyPrefix) {
      // Plain commands would get the client's prefix while keys built inside Lua would not.
      throw new Error("RedisQueue: use a client without keyPrefix; pass the prefix in the options");
    }
    this.#redis = redis;
    this.keys = new RedisQueueKeys(requireId("prefix", options.prefix));
    for (const name of SCRIPT_NAMES) {
      redis.defineCommand(commandName(name), { numberOfKeys: 0, lua: SCRIPTS[name] });
    }
  }

  async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    const [result] = parseEnqueueReplies(await this.#run(this.#redis, "enqueue", enqueueArgs(input)));
    if (!result) throw new Error("RedisQueue: empty enqueue reply");
    return result;
  }

  /** Many jobs per script run (a batch submit is one or a few runs), in one round trip. */
  async enqueueMany(inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
    if (inputs.length === 0) return [];
    const argLists = inputs.map(enqueueArgs);
    const pipeline = this.#redis.pipeline();
    // Chunks keep each script run short: Redis serves nobody else while one runs.
    for (let first = 0; first < argLists.length; first += ENQUEUE_CHUNK) {
      this.#run(pipeline, "enqueue", argLists.slice(first, first + ENQUEUE_CHUNK).flat());
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([error, reply]) => {
      if (error) throw error;
      return parseEnqueueReplies(reply);
    });
  }

  async claim(req: ClaimRequest): Promise<Claim[]> {
    const slots = requireInteger("slots", req.slots, 0);
    if (slots === 0 || (req.models !== "*" && req.models.length === 0)) return [];
    const now = requireInteger("now", req.now);
    const leaseMs = requireInteger("leaseMs", req.leaseMs, 1);
    const modelArgs = req.models === "*" ? ["*"] : ["list", ...req.models];
    const reply = await this.#run(this.#redis, "claim", [
      requireId("agentId", req.agentId),
      slots,
      leaseMs,
      now,
      ...modelArgs,
    ]);
    const flat = asStrings(reply);
    const claims: Claim[] = [];
    for (let i = 0; i + 5 < flat.length; i += 6) {
      claims.push({
        jobId: at(flat, i),
        modelId: at(flat, i + 1),
        attemptId: at(flat, i + 2),
        attempt: Number(at(flat, i + 3)),
        enqueuedAt: Number(at(flat, i + 4)),
        leaseExpiresAt: Number(at(flat, i + 5)),
      });
    }
    return claims;
  }

  async renew(agentId: string, attempts: AttemptRef[], leaseMs: number, now: number): Promise<RenewResult> {
    if (attempts.length === 0) return { renewed: [], lost: [] };
    const refs = attempts.flatMap((ref) => [ref.jobId, ref.attemptId]);
    const reply = await this.#run(this.#redis, "renew", [
      requireId("agentId", agentId),
      requireInteger("leaseMs", leaseMs, 1),
      requireInteger("now", now),
      ...refs,
    ]);
    const [renewed, lost] = asArray(reply);
    return { renewed: pairsToRefs(asStrings(renewed)), lost: pairsToRefs(asStrings(lost)) };
  }

  async finish(ref: AttemptRef, _now: number): Promise<FinishResult> {
    const reply = await this.#run(this.#redis, "finish", [ref.jobId, ref.attemptId]);
    return reply === "ok" ? "ok" : "stale";
  }

  async retry(ref: AttemptRef, now: number, backoff: BackoffPolicy): Promise<RetryResult> {
    const policy = requireBackoff(backoff);
    const reply = asArray(
      await this.#run(this.#redis, "retry", [
        ref.jobId,
        ref.attemptId,
        requireInteger("now", now),
        policy.baseMs,
        policy.maxMs,
        policy.random,
      ]),
    );
    const outcome = reply[0];
    if (outcome === "retry" || outcome === "exhausted" || outcome === "stale") return outcome;
    throw new Error(`RedisQueue: unexpected retry reply ${String(outcome)}`);
  }

  async reap(now: number, limit: number, backoff: BackoffPolicy): Promise<ReapResult> {
    const policy = requireBackoff(backoff);
    const reply = await this.#run(this.#redis, "reap", [
      requireInteger("now", now),
      requireInteger("limit", limit, 1),
      policy.baseMs,
      policy.maxMs,
      policy.random,
    ]);
    const [expiredFlat, promoted] = asArray(reply);
    const flat = asArray(expiredFlat);
    const expired: ReapedLease[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      const outcome = flat[i + 3] === "retry" ? "retry" : "exhausted";
      const lease: ReapedLease = {
        jobId: String(flat[i]),
        attemptId: String(flat[i + 1]),
        agentId: String(flat[i + 2]),
        outcome,
      };
      if (outcome === "retry") lease.retryAt = Number(flat[i + 4]);
      expired.push(lease);
    }
    return { expired, promoted: asStrings(promoted) };
  }

  async cancel(jobId: string): Promise<CancelResult> {
    const reply = asStrings(await this.#run(this.#redis, "remove-waiting", [jobId]));
    if (reply[0] === "removed") return { state: "removed" };
    if (reply[0] === "leased") return { state: "leased", agentId: at(reply, 1), attemptId: at(reply, 2) };
    return { state: "absent" };
  }

  /** Removes a ready or delayed job; the start deadline covers queue wait and retries, not a running attempt. */
  async expireUnstarted(jobId: string): Promise<boolean> {
    const reply = asStrings(await this.#run(this.#redis, "remove-waiting", [jobId]));
    return reply[0] === "removed";
  }

  async position(jobId: string): Promise<number | null> {
    const [modelId, state] = await this.#redis.hmget(this.keys.job(jobId), "model", "state");
    if (modelId == null || state !== "ready") return null;
    // Between the two reads the job may have been claimed: ZRANK then answers null, which is right.
    return this.#redis.zrank(this.keys.ready(modelId), jobId);
  }

  async get(jobId: string): Promise<QueuedJob | null> {
    const hash = await this.#redis.hgetall(this.keys.job(jobId));
    return hash.model === undefined ? null : hashToJob(jobId, hash);
  }

  async leasedBy(agentId: string): Promise<AttemptRef[]> {
    const jobIds = (await this.#redis.smembers(this.keys.agent(agentId))).sort();
    if (jobIds.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const jobId of jobIds) pipeline.hmget(this.keys.job(jobId), "state", "agent", "attemptId");
    const replies = (await pipeline.exec()) ?? [];
    const refs: AttemptRef[] = [];
    replies.forEach(([error, fields], index) => {
      if (error) throw error;
      const [state, holder, attemptId] = fields as (string | null)[];
      const jobId = jobIds[index];
      if (state === "leased" && holder === agentId && attemptId && jobId) refs.push({ jobId, attemptId });
    });
    return refs;
  }

  async stats(modelIds?: string[]): Promise<QueueStats[]> {
    const models = modelIds ?? (await this.#redis.smembers(this.keys.models)).sort();
    if (models.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const modelId of models) {
      pipeline
        .zcard(this.keys.ready(modelId))
        .scard(this.keys.modelLeased(modelId))
        .scard(this.keys.modelDelayed(modelId))
        .zrange(this.keys.readySince(modelId), 0, 0, "WITHSCORES")
        .sismember(this.keys.paused, modelId);
    }
    const replies = ((await pipeline.exec()) ?? []).map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
    return models.map((modelId, index) => {
      const [depth, running, delayed, oldest, paused] = replies.slice(index * 5, index * 5 + 5);
      const oldestScore = asStrings(oldest)[1];
      return {
        modelId,
        depth: Number(depth),
        running: Number(running),
        delayed: Number(delayed),
        oldestEnqueuedAt: oldestScore === undefined ? null : Number(oldestScore),
        paused: Number(paused) === 1,
      };
    });
  }

  async pause(modelId: string): Promise<void> {
    await this.#run(this.#redis, "set-paused", [requireId("modelId", modelId), "1"]);
  }

  async resume(modelId: string): Promise<void> {
    await this.#run(this.#redis, "set-paused", [requireId("modelId", modelId), "0"]);
  }

  async purge(modelId: string): Promise<string[]> {
    return asStrings(await this.#run(this.#redis, "purge", [requireId("modelId", modelId)]));
  }

  async restore(job: QueuedJob): Promise<"restored" | "exists"> {
    const restore = normalizeRestore(job);
    const reply = await this.#run(this.#redis, "restore", [
      restore.jobId,
      restore.modelId,
      restore.priority,
      restore.maxAttempts,
      restore.attempts,
      restore.enqueuedAt,
      restore.state,
      restore.state === "delayed" ? restore.notBefore : "",
      restore.state === "leased" ? restore.attemptId : "",
      restore.state === "leased" ? restore.agentId : "",
      restore.state === "leased" ? restore.leaseExpiresAt : "",
    ]);
    return reply === "exists" ? "exists" : "restored";
  }

  /** The caller owns the Redis client and closes it; the queue holds nothing else. */
  async close(): Promise<void> {}

  /** Calls a script with the prefix as ARGV[1]; on a pipeline it queues the call and returns nothing useful. */
  #run(target: Redis | ChainableCommander, name: ScriptName, args: ScriptArg[]): Promise<unknown> {
    const command = (target as unknown as Record<string, ScriptCommand>)[commandName(name)];
    if (!command) throw new Error(`RedisQueue: script ${name} is not defined on this client`);
    return command.call(target, this.keys.prefix, ...args) as Promise<unknown>;
  }
}

function enqueueArgs(input: EnqueueInput): ScriptArg[] {
  const job = normalizeEnqueue(input);
  return [
    job.jobId,
    job.modelId,
    job.priority,
    job.maxAttempts,
    job.attempts,
    job.now,
    job.notBefore ?? "",
    job.idempotencyKey ?? "",
  ];
}

function parseEnqueueReplies(reply: unknown): EnqueueResult[] {
  const flat = asStrings(reply);
  const results: EnqueueResult[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [status, jobId] = [flat[i], flat[i + 1]];
    if ((status !== "enqueued" && status !== "duplicate") || jobId === undefined) {
      throw new Error(`RedisQueue: unexpected enqueue reply ${JSON.stringify(reply)}`);
    }
    results.push({ status, jobId });
  }
  return results;
}

function hashToJob(jobId: string, hash: Record<string, string>): QueuedJob {
  const state = hash.state as QueuedJob["state"];
  const job: QueuedJob = {
    jobId,
    modelId: hash.model ?? "",
    priority: Number(hash.priority),
    maxAttempts: Number(hash.maxAttempts),
    attempts: Number(hash.attempts),
    enqueuedAt: Number(hash.enqueuedAt),
    state,
  };
  if (state === "delayed" && hash.notBefore !== undefined) job.notBefore = Number(hash.notBefore);
  if (state === "leased") {
    if (hash.attemptId !== undefined) job.attemptId = hash.attemptId;
    if (hash.agent !== undefined) job.agentId = hash.agent;
    if (hash.leaseExpiresAt !== undefined) job.leaseExpiresAt = Number(hash.leaseExpiresAt);
  }
  return job;
}

function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`RedisQueue: expected an array reply, got ${JSON.stringify(reply)}`);
  return reply;
}

function asStrings(reply: unknown): string[] {
  return asArray(reply).map((item) => String(item));
}

function at(values: string[], index: number): string {
  const value = values[index];
  if (value === undefined) throw new Error(`RedisQueue: reply too short (no item ${index})`);
  return value;
}

function pairsToRefs(flat: string[]): AttemptRef[] {
  const refs: AttemptRef[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) refs.push({ jobId: at(flat, i), attemptId: at(flat, i + 1) });
  return refs;
}
