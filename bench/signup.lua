-- POST /api/auth/signup with a new address each time.
local counter = 0
local tag = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"email":"bench-%s-%s-%d@example.com","password":"correct horse battery staple","name":"Bench"}',
    tag, tid or "0", counter)
  return wrk.format(nil, nil, nil, body)
end
