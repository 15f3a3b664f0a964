-- claim.lua: leases up to `slots` jobs to one agent, always taking the best head among the
-- agent's non-paused models (lowest ready score: priority first, then the global FIFO sequence).
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 agentId, 3 slots, 4 leaseMs, 5 now, 6 "*" for every known model or "list",
--       7.. model ids (when "list")
-- Returns: flat list, 6 per claim: jobId, modelId, attemptId, attempt, enqueuedAt, leaseExpiresAt

local agentId, slots, leaseMs, now = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local leaseExpiresAt = now + leaseMs

local modelIds
if ARGV[6] == "*" then
  modelIds = redis.call("SMEMBERS", modelsKey)
else
  modelIds = {}
  for i = 7, #ARGV do modelIds[#modelIds + 1] = ARGV[i] end
end

local function headOf(modelId)
  local head = redis.call("ZRANGE", readyKey(modelId), 0, 0, "WITHSCORES")
  if head[1] == nil then return false end
  return { jobId = head[1], score = tonumber(head[2]) }
end

-- The head of each candidate queue; after a pop only that queue's head is read again.
local heads = {}
for _, modelId in ipairs(modelIds) do
  if heads[modelId] == nil and redis.call("SISMEMBER", pausedKey, modelId) == 0 then
    heads[modelId] = headOf(modelId)
  end
end

local function leaseTo(jobId, job)
  leaveReady(jobId, job)
  local attempt = tonumber(job.attempts) + 1
  local attemptId = jobId .. "." .. int(attempt)
  redis.call("HSET", jobKey(jobId), "state", "leased", "attempts", int(attempt), "attemptId", attemptId,
    "agent", agentId, "leaseExpiresAt", int(leaseExpiresAt))
  redis.call("ZADD", leasesKey, int(leaseExpiresAt), jobId)
  redis.call("SADD", modelLeasedKey(job.model), jobId)
  redis.call("SADD", agentKey(agentId), jobId)
  return { jobId, job.model, attemptId, int(attempt), job.enqueuedAt, int(leaseExpiresAt) }
end

local claims = {}
local taken = 0
while taken < slots do
  local bestModel, bestHead = nil, nil
  for modelId, head in pairs(heads) do
    if head and (bestHead == nil or head.score < bestHead.score) then bestModel, bestHead = modelId, head end
  end
  if bestHead == nil then break end

  local job = loadJob(bestHead.jobId)
  if job == nil then
    -- An id without its hash (keys lost one by one): drop it rather than fail every claim.
    redis.call("ZREM", readyKey(bestModel), bestHead.jobId)
    redis.call("ZREM", readySinceKey(bestModel), bestHead.jobId)
  else
    for _, value in ipairs(leaseTo(bestHead.jobId, job)) do claims[#claims + 1] = value end
    taken = taken + 1
  end
  heads[bestModel] = headOf(bestModel)
end
return claims
