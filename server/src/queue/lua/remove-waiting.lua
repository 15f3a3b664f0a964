-- remove-waiting.lua: cancel and expireUnstarted. Forgets a ready or delayed job; a leased one
-- stays leased and the holder is reported (the caller sends CancelJob to that agent).
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 jobId
-- Returns: {"removed"} | {"leased", agentId, attemptId} | {"absent"}

local jobId = ARGV[2]
local job = loadJob(jobId)
if job == nil then return { "absent" } end
if job.state == "leased" then return { "leased", job.agent, job.attemptId } end
if job.state == "ready" then leaveReady(jobId, job) else leaveDelayed(jobId, job) end
forgetJob(jobId, job)
return { "removed" }
