-- purge.lua: forgets every ready and delayed job of one model; leased jobs run on.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 modelId
-- Returns: the removed job ids, ready ones in queue order, then delayed ones

local modelId = ARGV[2]
local removed = redis.call("ZRANGE", readyKey(modelId), 0, -1)
local delayedIds = redis.call("SMEMBERS", modelDelayedKey(modelId))
for _, jobId in ipairs(delayedIds) do
  redis.call("ZREM", delayedKey, jobId)
  removed[#removed + 1] = jobId
end
redis.call("DEL", readyKey(modelId), readySinceKey(modelId), modelDelayedKey(modelId))
for _, jobId in ipairs(removed) do
  local job = loadJob(jobId)
  if job then forgetJob(jobId, job) end
end
return removed
