-- wrk script: POST /api/v1/authorize, each request with the next token of the file named by
-- LATCHKEY_TOKENS (one a line), each wrk thread starting at its own place in the rotation.
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
local body = '{"permission":"jobs:write","project_id":1}'
setup = function(thread) end
init = function(args) i = math.random(#tokens) end
request = function()
  i = i % #tokens + 1
  return wrk.format("POST", "/api/v1/authorize",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Token " .. tokens[i] }, body)
end
