-- wrk script: GET /auth/forward as nginx's auth_request sends it (the original method and URI in
-- headers), each request with the next token of the file named by LATCHKEY_TOKENS (one a line),
-- each wrk thread starting at its own place in the rotation.
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
init = function(args) i = math.random(#tokens) end
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/auth/forward", {
    ["Authorization"] = "Token " .. tokens[i],
    ["X-Original-Method"] = "GET",
    ["X-Original-URI"] = "/api/v2/accounts/1/runs/?project_id=1",
  })
end
