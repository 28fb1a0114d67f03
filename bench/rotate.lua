-- wrk script: POST /api/v1/authorize, each request with the next token of the file named by
-- LATCHKEY_TOKENS (one a line), each wrk thread starting at its own place in the rotation.
-- The requests are written once, at start: formatting one per request costs wrk ~2.7 us of
-- Lua on this machine, and wrk, not the server, would then set the pace.
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_TOKENS")) do tokens[#tokens + 1] = line end
local requests = {}
local i = 0
local body = '{"permission":"jobs:write","project_id":1}'
setup = function(thread) end
init = function(args)
  for n, token in ipairs(tokens) do
    requests[n] = wrk.format("POST", "/api/v1/authorize",
      { ["Content-Type"] = "application/json", ["Authorization"] = "Token " .. token }, body)
  end
  i = math.random(#requests)
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
