-- retry.lua: a held attempt failed. The job waits in the delayed set for its backoff, or is
-- forgotten when its attempts are used up. Fenced like finish.
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 jobId, 3 attemptId, 4 now, 5 backoff baseMs, 6 backoff maxMs, 7 random in [0, 1)
-- Returns: {"retry", retryAt} | {"exhausted"} | {"stale"}

local jobId = ARGV[2]
local job = loadJob(jobId)
if not holdsAttempt(job, ARGV[3]) then return { "stale" } end
local retryAt = retryOrExhaust(jobId, job, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7]), 0)
if retryAt == nil then return { "exhausted" } end
return { "retry", retryAt }
