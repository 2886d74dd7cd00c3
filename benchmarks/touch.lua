-- wrk script: POST one touch per request to /api/v1/touches.
-- Every request has a new external id; the person is drawn from a pool, so early
-- requests mostly create contacts and later ones mostly add touches to known people.
local token = os.getenv("SMK_TOKEN") or ""
local pool = tonumber(os.getenv("SMK_POOL") or "20000")
local run = os.getenv("SMK_RUN") or "wrk"
local types = {"page_view", "page_view", "page_view", "email_open", "email_click", "form_submission"}
local threads = 0
local counter = 0
local prefix = run

function setup(thread)
  threads = threads + 1
  thread:set("prefix", run .. "-t" .. threads)
end

function init(args)
  math.randomseed(os.time() + #prefix)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"visitor%d@bench.example","type":"%s","external_id":"%s-%d",' ..
    '"url":"https://www.brightpath.example/pricing","channel":"organic_search"}',
    math.random(pool), types[math.random(#types)], prefix, counter)
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
