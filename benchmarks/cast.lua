-- Casts budgeting ballots: each line is "path|cookie|body", one signed-in voter per line.
local items = {}
local position = 0
local step = tonumber(os.getenv("TORI_BENCH_THREADS") or "2")
local counter = 0

function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end

function init(args)
  for line in io.lines(os.getenv("TORI_BENCH_BODIES")) do
    local first_bar = line:find("|", 1, true)
    local second_bar = line:find("|", first_bar + 1, true)
    items[#items + 1] = {
      line:sub(1, first_bar - 1), line:sub(first_bar + 1, second_bar - 1), line:sub(second_bar + 1)
    }
  end
  position = first
end

function request()
  local item = items[(position % #items) + 1]
  position = position + step
  return wrk.format("POST", item[1], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = item[2],
  }, item[3])
end
