-- wrk script: POST /v1/verify, cycling through the secrets in $KL_SECRETS (one per line).
local secrets = {}
for line in io.lines(os.getenv("KL_SECRETS")) do secrets[#secrets + 1] = line end
local i = 0
request = function()
  i = i + 1
  local body = '{"key":"' .. secrets[(i % #secrets) + 1] .. '","scope":"bench:read","endpoint":"GET /bench"}'
  return wrk.format("POST", "/v1/verify", { ["Content-Type"] = "application/json" }, body)
end
