-- restore.lua: puts back a job that Postgres knows and the queue lost (a flushed Redis), in the
-- state Postgres says, keeping its attempt count so the next attempt id continues the series.
-- A job the queue still knows is left exactly as it is.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 jobId, 3 modelId, 4 priority (clamped), 5 maxAttempts, 6 attempts used,
--       7 enqueuedAt, 8 state "ready"|"delayed"|"leased", 9 notBefore (delayed), 10 attemptId,
--       11 agentId, 12 leaseExpiresAt (the last three when leased)
-- Returns: "restored" | "exists"

local jobId, state = ARGV[2], ARGV[8]
if redis.call("EXISTS", jobKey(jobId)) == 1 then return "exists" end

local job = {
  model = ARGV[3],
  priority = ARGV[4],
  maxAttempts = ARGV[5],
  attempts = ARGV[6],
  enqueuedAt = ARGV[7],
  seq = int(redis.call("INCR", sequenceKey)),
}
redis.call("HSET", jobKey(jobId), "model", job.model, "priority", job.priority, "maxAttempts", job.maxAttempts,
  "attempts", job.attempts, "enqueuedAt", job.enqueuedAt, "seq", job.seq, "state", state)
redis.call("SADD", modelsKey, job.model)

if state == "ready" then
  makeReady(jobId, job)
elseif state == "delayed" then
  makeDelayed(jobId, job, tonumber(ARGV[9]))
else
  local attemptId, agentId, leaseExpiresAt = ARGV[10], ARGV[11], ARGV[12]
  redis.call("HSET", jobKey(jobId), "attemptId", attemptId, "agent", agentId, "leaseExpiresAt", leaseExpiresAt)
  redis.call("ZADD", leasesKey, leaseExpiresAt, jobId)
  redis.call("SADD", modelLeasedKey(job.model), jobId)
  redis.call("SADD", agentKey(agentId), jobId)
end
return "restored"
