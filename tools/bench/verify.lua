-- wrk script: POST /v1/verify, cycling through the secrets in $KL_SECRETS (one per line).
-- Every request is formatted once per thread before the run (in init, once wrk has set
-- the Host header): wrk's CPU per request stays close to what it spends on a static
-- request (nginx's limit), so the load generator takes as little as it can of the cores
-- the server shares with it.
local requests = {}
local i = 0
init = function(args)
  for line in io.lines(os.getenv("KL_SECRETS")) do
    local body = '{"key":"' .. line .. '","scope":"bench:read","endpoint":"GET /bench"}'
    requests[#requests + 1] = wrk.format("POST", "/v1/verify", { ["Content-Type"] = "application/json" }, body)
  end
end
request = function()
  i = i + 1
  return requests[(i % #requests) + 1]
end
