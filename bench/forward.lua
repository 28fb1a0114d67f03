-- wrk script: GET /auth/forward as nginx's auth_request sends it (the original method and URI in
-- headers), each request with the next token of the file named by LATCHKEY_TOKENS (one a line),
-- each wrk thread starting at its own place in the rotation. The requests are written once, at
-- start (see rotate.lua).
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_TOKENS")) do tokens[#tokens + 1] = line end
local requests = {}
local i = 0
init = function(args)
  for n, token in ipairs(tokens) do
    requests[n] = wrk.format("GET", "/auth/forward", {
      ["Authorization"] = "Token " .. token,
      ["X-Original-Method"] = "GET",
      ["X-Original-URI"] = "/api/v2/accounts/1/runs/?project_id=1",
    })
  end
  i = math.random(#requests)
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
