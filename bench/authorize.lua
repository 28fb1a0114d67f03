-- wrk script: POST /api/v1/authorize with the token from the LATCHKEY_TOKEN environment variable.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token " .. os.getenv("LATCHKEY_TOKEN")
wrk.body = '{"permission":"jobs:write","project_id":1}'
