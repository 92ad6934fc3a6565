-- POST /api/auth/refresh, rotating for real: every response's new refresh token goes back into
-- the thread's pool, so no token is presented twice (no grace-window shortcut). The pool starts
-- with the tokens listed in the file named by TOKENS (one per line), dealt out to the threads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  pool = {}
  local per = tonumber(os.getenv("PER_THREAD") or "64")
  local file = io.open(os.getenv("TOKENS"))
  local i = 0
  for line in file:lines() do
    if i >= (id - 1) * per and i < id * per then pool[#pool + 1] = line end
    i = i + 1
  end
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  local token = table.remove(pool)
  if token == nil then token = "exhausted" end
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then pool[#pool + 1] = token end
end
