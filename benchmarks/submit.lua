-- Posts questionnaire answers; every request carries its own signed form token.
local bodies = {}
local position = 0
local step = tonumber(os.getenv("TORI_BENCH_THREADS") or "2")
local csrf = os.getenv("TORI_BENCH_CSRF")
local counter = 0

function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end

function init(args)
  for line in io.lines(os.getenv("TORI_BENCH_BODIES")) do
    local bar = line:find("|", 1, true)
    bodies[#bodies + 1] = { line:sub(1, bar - 1), line:sub(bar + 1) }
  end
  position = first
end

function request()
  local item = bodies[(position % #bodies) + 1]
  position = position + step
  return wrk.format("POST", item[1], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "tori_csrf=" .. csrf,
  }, item[2])
end

-- Paced runs: each connection waits this long before its next request (TORI_BENCH_DELAY_MS).
local pause = tonumber(os.getenv("TORI_BENCH_DELAY_MS") or "0")
if pause > 0 then
  function delay()
    return pause
  end
end
