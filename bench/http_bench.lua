-- http_bench.lua: wrk script of bench/http_bench.sh.  Sends the benchmark
-- queries to polysearchd's GET /search, round-robin, each URL-encoded as
-- /search?q=...&limit=LIMIT; counts every response whose status is not 200
-- as an error; at the end prints one JSON line (the keys of ps-loadgen's:
-- requests, duration_s, qps, p50_us, p95_us, p99_us, max_us, errors, plus
-- non_200 and wrk's socket errors) on stdout after wrk's own summary.
--
--   wrk -t2 -c8 -d20s -s bench/http_bench.lua http://127.0.0.1:PORT -- QUERIES [LIMIT] [EXTRA]
--
-- QUERIES: one query per line (empty lines and lines starting with '#'
-- skipped, a trailing CR removed, as ps-loadgen reads them); LIMIT: hits
-- asked (default 10); EXTRA: more query-string parameters appended as they
-- are, e.g. "snippet=false".  Each thread starts at another point of the
-- list (thread k at the fraction k * 0.618 mod 1 of it).

local threads = {}
local nthreads = 0

function setup(thread)
    thread:set("tid", nthreads)
    nthreads = nthreads + 1
    table.insert(threads, thread)
end

-- RFC 3986 percent-encoding: everything but the unreserved characters.
local function urlencode(s)
    return (s:gsub("[^%w%-%._~]", function(c)
        return string.format("%%%02X", string.byte(c))
    end))
end

local requests = {}
local n = 0
local i = 0
non_200 = 0
responses = 0

function init(args)
    local path = args[1]
    if not path then
        io.stderr:write("http_bench.lua: usage: wrk ... -s http_bench.lua URL -- QUERIES [LIMIT] [EXTRA]\n")
        os.exit(64)
    end
    local limit = args[2] or "10"
    local extra = args[3] and args[3] ~= "" and ("&" .. args[3]) or ""
    local f = io.open(path, "r")
    if not f then
        io.stderr:write("http_bench.lua: cannot open " .. path .. "\n")
        os.exit(66)
    end
    for line in f:lines() do
        line = line:gsub("\r$", "")
        if line ~= "" and line:sub(1, 1) ~= "#" then
            n = n + 1
            requests[n] = wrk.format("GET", "/search?q=" .. urlencode(line)
                                     .. "&limit=" .. limit .. extra)
        end
    end
    f:close()
    if n == 0 then
        io.stderr:write("http_bench.lua: no query in " .. path .. "\n")
        os.exit(66)
    end
    -- Spread the threads' starting points over the list (init does not
    -- know wrk's thread count: thread k starts at frac(k * 0.618) of it).
    local k = tid or 0
    i = math.floor((k * 0.6180339887 % 1) * n)
end

function request()
    i = i + 1
    if i > n then i = 1 end
    return requests[i]
end

function response(status, headers, body)
    responses = responses + 1
    if status ~= 200 then
        non_200 = non_200 + 1
    end
end

function done(summary, latency, reqs)
    local bad, total = 0, 0
    for _, t in ipairs(threads) do
        bad = bad + (t:get("non_200") or 0)
        total = total + (t:get("responses") or 0)
    end
    local e = summary.errors
    local sock = e.connect + e.read + e.write + e.timeout
    local secs = summary.duration / 1e6
    io.write(string.format(
        '{"protocol":"http","requests":%d,"responses":%d,"duration_s":%.3f,"qps":%.1f,'
        .. '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"non_200":%d,'
        .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
        summary.requests, total, secs, secs > 0 and summary.requests / secs or 0,
        latency:percentile(50), latency:percentile(95), latency:percentile(99),
        latency.max, bad + sock, bad, e.connect, e.read, e.write, e.timeout))
end
