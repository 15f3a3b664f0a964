-- set-paused.lua: pause or resume one model's queue (claim skips paused models; enqueue goes on).
-- KEYS: none (every key derives from the prefix, see common.lua)
-- ARGV: 1 prefix, 2 modelId, 3 "1" to pause, "0" to resume
-- Returns: 1

if ARGV[3] == "1" then
  redis.call("SADD", pausedKey, ARGV[2])
  redis.call("SADD", modelsKey, ARGV[2])
else
  redis.call("SREM", pausedKey, ARGV[2])
end
return 1
