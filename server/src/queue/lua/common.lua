-- common.lua: prepended to every queue script (Lua has no include).
-- ARGV[1] is always the key prefix; every key derives from it (layout in redis-queue.ts), because
-- claim and reap reach keys that depend on the data they read and cannot be named up front.
-- Numbers are integers (ms); int() writes them as exact decimals, never in exponent form.

local prefix = ARGV[1]
local SEQUENCE_SPAN = 4398046511104 -- 2^42, as SEQUENCE_SPAN in port.ts
local MAX_PRIORITY = 1000
local GOLDEN_STEP = 0.6180339887

local leasesKey = prefix .. ":leases"
local delayedKey = prefix .. ":delayed"
local modelsKey = prefix .. ":models"
local pausedKey = prefix .. ":paused"
local sequenceKey = prefix .. ":seq"
local function jobKey(jobId) return prefix .. ":job:" .. jobId end
local function readyKey(modelId) return prefix .. ":q:" .. modelId end
local function readySinceKey(modelId) return prefix .. ":qt:" .. modelId end
local function modelDelayedKey(modelId) return prefix .. ":qd:" .. modelId end
local function modelLeasedKey(modelId) return prefix .. ":ql:" .. modelId end
local function agentKey(agentId) return prefix .. ":agent:" .. agentId end
local function idempotencyKey(key) return prefix .. ":idem:" .. key end

local function int(n) return string.format("%.0f", n) end

-- As readyScore in port.ts: higher priority takes a lower band, the sequence orders within it.
local function readyScore(priority, sequence)
  return (MAX_PRIORITY - priority) * SEQUENCE_SPAN + sequence
end

-- As backoffDelay and jitterFor in port.ts, operation for operation, so both drivers agree.
local function backoffDelay(attempt, baseMs, maxMs, random, index)
  local jitter = (random + index * GOLDEN_STEP) % 1
  local ceiling = math.min(maxMs, baseMs * 2 ^ math.max(0, attempt - 1))
  return math.floor(ceiling / 2 + (ceiling / 2) * jitter)
end

-- The job hash as a table of strings, or nil when the job is unknown.
local function loadJob(jobId)
  local flat = redis.call("HGETALL", jobKey(jobId))
  if #flat == 0 then return nil end
  local job = {}
  for i = 1, #flat, 2 do job[flat[i]] = flat[i + 1] end
  return job
end

local function makeReady(jobId, job)
  redis.call("ZADD", readyKey(job.model), int(readyScore(tonumber(job.priority), tonumber(job.seq))), jobId)
  redis.call("ZADD", readySinceKey(job.model), job.enqueuedAt, jobId)
  redis.call("HSET", jobKey(jobId), "state", "ready")
  redis.call("HDEL", jobKey(jobId), "notBefore")
end

local function makeDelayed(jobId, job, dueAt)
  redis.call("ZADD", delayedKey, int(dueAt), jobId)
  redis.call("SADD", modelDelayedKey(job.model), jobId)
  redis.call("HSET", jobKey(jobId), "state", "delayed", "notBefore", int(dueAt))
end

local function leaveReady(jobId, job)
  redis.call("ZREM", readyKey(job.model), jobId)
  redis.call("ZREM", readySinceKey(job.model), jobId)
end

local function leaveDelayed(jobId, job)
  redis.call("ZREM", delayedKey, jobId)
  redis.call("SREM", modelDelayedKey(job.model), jobId)
end

local function releaseLease(jobId, job)
  redis.call("ZREM", leasesKey, jobId)
  redis.call("SREM", modelLeasedKey(job.model), jobId)
  redis.call("SREM", agentKey(job.agent), jobId)
  redis.call("HDEL", jobKey(jobId), "attemptId", "agent", "leaseExpiresAt")
end

-- Drops the job hash and its idempotency key (only while that key still names this job).
local function forgetJob(jobId, job)
  if job.idem then
    local idemKey = idempotencyKey(job.idem)
    if redis.call("GET", idemKey) == jobId then redis.call("DEL", idemKey) end
  end
  redis.call("DEL", jobKey(jobId))
end

-- True when the job is leased under exactly this attempt (the fencing check).
local function holdsAttempt(job, attemptId)
  return job ~= nil and job.state == "leased" and job.attemptId == attemptId
end

-- A held attempt failed: back to the delayed set with backoff, or gone when attempts ran out.
-- Returns the retry time, or nil when exhausted.
local function retryOrExhaust(jobId, job, now, baseMs, maxMs, random, index)
  releaseLease(jobId, job)
  local attempts = tonumber(job.attempts)
  if attempts >= tonumber(job.maxAttempts) then
    forgetJob(jobId, job)
    return nil
  end
  local retryAt = now + backoffDelay(attempts, baseMs, maxMs, random, index)
  makeDelayed(jobId, job, retryAt)
  return retryAt
end

