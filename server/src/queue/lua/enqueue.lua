-- enqueue.lua: adds jobs to their models' ready queues, or to the delayed set when notBefore is
-- in the future. A known job id, or an idempotency key that names a live job, is a duplicate.
-- Several jobs per call (a batch submit) cost one script run instead of one each; each job is
-- still added whole or not at all, in order, so a later job of the call sees an earlier one.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, then 8 values per job: jobId, modelId, priority (clamped), maxAttempts,
--       attempts used, now, notBefore ("" = none), idempotency key ("" = none)
-- Returns: flat list, 2 per job: "enqueued", jobId | "duplicate", jobId of the first job

local FIELDS = 8

local function enqueueOne(base)
  local jobId, modelId = ARGV[base], ARGV[base + 1]
  local now, notBefore, idemKeyName = tonumber(ARGV[base + 5]), tonumber(ARGV[base + 6]), ARGV[base + 7]

  if redis.call("EXISTS", jobKey(jobId)) == 1 then return "duplicate", jobId end
  if idemKeyName ~= "" then
    local firstJobId = redis.call("GET", idempotencyKey(idemKeyName))
    if firstJobId and redis.call("EXISTS", jobKey(firstJobId)) == 1 then return "duplicate", firstJobId end
    redis.call("SET", idempotencyKey(idemKeyName), jobId)
  end

  local job = {
    model = modelId,
    priority = ARGV[base + 2],
    maxAttempts = ARGV[base + 3],
    attempts = ARGV[base + 4],
    enqueuedAt = ARGV[base + 5],
    seq = int(redis.call("INCR", sequenceKey)),
  }
  redis.call("HSET", jobKey(jobId), "model", job.model, "priority", job.priority, "maxAttempts", job.maxAttempts,
    "attempts", job.attempts, "enqueuedAt", job.enqueuedAt, "seq", job.seq, "state", "ready")
  if idemKeyName ~= "" then redis.call("HSET", jobKey(jobId), "idem", idemKeyName) end
  redis.call("SADD", modelsKey, modelId)

  if notBefore and notBefore > now then
    makeDelayed(jobId, job, notBefore)
  else
    makeReady(jobId, job)
  end
  return "enqueued", jobId
end

local replies = {}
for base = 2, #ARGV, FIELDS do
  local status, jobId = enqueueOne(base)
  replies[#replies + 1] = status
  replies[#replies + 1] = jobId
end
return replies
