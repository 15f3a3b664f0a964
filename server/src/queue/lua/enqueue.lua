-- enqueue.lua: adds one job to its model's ready queue, or to the delayed set when notBefore is
-- in the future. A known job id, or an idempotency key that names a live job, is a duplicate.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 jobId, 3 modelId, 4 priority (clamped), 5 maxAttempts, 6 attempts used,
--       7 now, 8 notBefore ("" = none), 9 idempotency key ("" = none)
-- Returns: {"enqueued", jobId} | {"duplicate", jobId of the first job}

local jobId, modelId = ARGV[2], ARGV[3]
local now, notBefore, idemKeyName = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]

if redis.call("EXISTS", jobKey(jobId)) == 1 then return { "duplicate", jobId } end
if idemKeyName ~= "" then
  local firstJobId = redis.call("GET", idempotencyKey(idemKeyName))
  if firstJobId and redis.call("EXISTS", jobKey(firstJobId)) == 1 then return { "duplicate", firstJobId } end
  redis.call("SET", idempotencyKey(idemKeyName), jobId)
end

local job = {
  model = modelId,
  priority = ARGV[4],
  maxAttempts = ARGV[5],
  attempts = ARGV[6],
  enqueuedAt = ARGV[7],
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
return { "enqueued", jobId }
