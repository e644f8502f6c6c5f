-- wrk script: POST each delivery in a file once, in order (bench/replay.py writes it).
-- File format, per delivery: "<Stripe-Signature>\n<byte length>\n<body>".
-- When the file runs out, the thread stops: wrk never sends a copy.
local path = "/v1/webhooks/stripe"
local requests = {}
local next_index = 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  while true do
    local signature = f:read("*l")
    if not signature then break end
    local length = tonumber(f:read("*l"))
    local body = f:read(length)
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["Stripe-Signature"] = signature,
    }, body)
  end
  f:close()
end

function request()
  next_index = next_index + 1
  if next_index > #requests then
    wrk.thread:stop()
    return requests[#requests]
  end
  return requests[next_index]
end
