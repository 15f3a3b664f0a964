-- reap.lua: the lease reaper, safe on every replica at once. Expired leases (expiry <= now) are
-- retried with backoff or exhausted; then delayed jobs that are due go back to their ready queue.
-- The i-th expired lease (0-based) draws its jitter as (random + i * 0.6180339887) % 1.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 now, 3 limit (per kind), 4 backoff baseMs, 5 backoff maxMs, 6 random in [0, 1)
-- Returns: { expired: flat, 5 per lease: jobId, attemptId, agentId, "retry"|"exhausted", retryAt (0
--            when exhausted), promoted: job ids }

local now, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local baseMs, maxMs, random = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local expired = {}
local expiredIds = redis.call("ZRANGEBYSCORE", leasesKey, "-inf", int(now), "LIMIT", 0, limit)
for index, jobId in ipairs(expiredIds) do
  local job = loadJob(jobId)
  if job == nil then
    -- A lease without its hash (keys lost one by one): drop it, nobody can hold it.
    redis.call("ZREM", leasesKey, jobId)
  else
    local attemptId, agentId = job.attemptId, job.agent
    local retryAt = retryOrExhaust(jobId, job, now, baseMs, maxMs, random, index - 1)
    local outcome = retryAt and "retry" or "exhausted"
    for _, value in ipairs({ jobId, attemptId, agentId, outcome, retryAt or 0 }) do expired[#expired + 1] = value end
  end
end

local promoted = redis.call("ZRANGEBYSCORE", delayedKey, "-inf", int(now), "LIMIT", 0, limit)
local promotedIds = {}
for _, jobId in ipairs(promoted) do
  local job = loadJob(jobId)
  if job == nil then
    redis.call("ZREM", delayedKey, jobId)
  else
    leaveDelayed(jobId, job)
    makeReady(jobId, job)
    promotedIds[#promotedIds + 1] = jobId
  end
end
return { expired, promotedIds }
