-- renew.lua: one heartbeat. Extends the lease of every attempt the agent still holds; the others
-- (reaped and requeued, finished, cancelled, or held by someone else) come back as lost.
-- A lease past its expiry that no reaper has taken yet is still the agent's, and is renewed.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 agentId, 3 leaseMs, 4 now, 5.. pairs of jobId, attemptId
-- Returns: { renewed: flat jobId, attemptId pairs, lost: flat jobId, attemptId pairs }

local agentId, leaseExpiresAt = ARGV[2], tonumber(ARGV[4]) + tonumber(ARGV[3])
local renewed, lost = {}, {}
for i = 5, #ARGV - 1, 2 do
  local jobId, attemptId = ARGV[i], ARGV[i + 1]
  local job = loadJob(jobId)
  if holdsAttempt(job, attemptId) and job.agent == agentId then
    redis.call("ZADD", leasesKey, int(leaseExpiresAt), jobId)
    redis.call("HSET", jobKey(jobId), "leaseExpiresAt", int(leaseExpiresAt))
    renewed[#renewed + 1] = jobId
    renewed[#renewed + 1] = attemptId
  else
    lost[#lost + 1] = jobId
    lost[#lost + 1] = attemptId
  end
end
return { renewed, lost }
