-- finish.lua: ends a held attempt for good and forgets the job. Fenced: a stale attempt id
-- (reaped, retried, cancelled away, or never issued) changes nothing.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 jobId, 3 attemptId
-- Returns: "ok" | "stale"

local jobId = ARGV[2]
local job = loadJob(jobId)
if not holdsAttempt(job, ARGV[3]) then return "stale" end
releaseLease(jobId, job)
forgetJob(jobId, job)
return "ok"
