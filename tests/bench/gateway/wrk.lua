-- tests/bench/gateway/wrk.lua: requests for bench_gateway.sh.
--   wrk -s wrk.lua URL -- paths FILE          GET a random path of FILE (one a line)
--   wrk -s wrk.lua URL -- range FILE SIZE LEN GET the first path of FILE with a
--                                             random Range of LEN bytes in SIZE
--   wrk -s wrk.lua URL -- blocks FILE BS      GET a random line "PATH INDEX" of FILE
--                                             with the Range of block INDEX (BS bytes)
--   wrk -s wrk.lua URL -- zipf FILE S         GET path k of FILE (k = 1, 2, ...) with
--                                             probability proportional to 1 / k^S
-- done() prints one line: "wrk requests=N seconds=S bytes=B p50_us=.. p99_us=..
-- max_us=.. status_errors=N socket_errors=N" for the script to parse.
local mode, paths, size, len, bs, cdf
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("seed", counter * 7919 + os.time())
end

function init(args)
    math.randomseed(seed or os.time())
    mode = args[1]
    paths = {}
    for line in io.lines(args[2]) do
        paths[#paths + 1] = line
    end
    if mode == "range" then
        size = tonumber(args[3])
        len = tonumber(args[4])
    elseif mode == "blocks" then
        bs = tonumber(args[3])
    elseif mode == "zipf" then
        local s, total = tonumber(args[3]), 0
        cdf = {}
        for k = 1, #paths do
            total = total + 1 / k ^ s
            cdf[k] = total
        end
        for k = 1, #paths do
            cdf[k] = cdf[k] / total
        end
    end
end

-- the first k with cdf[k] >= u
local function zipf_pick(u)
    local lo, hi = 1, #cdf
    while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        if cdf[mid] < u then lo = mid + 1 else hi = mid end
    end
    return lo
end

function request()
    if mode == "range" then
        local off = math.random(0, size - len)
        return wrk.format("GET", paths[1], { Range = "bytes=" .. off .. "-" .. (off + len - 1) })
    end
    if mode == "blocks" then
        local path, idx = paths[math.random(1, #paths)]:match("^(%S+) (%d+)$")
        local off = tonumber(idx) * bs
        return wrk.format("GET", path, { Range = "bytes=" .. off .. "-" .. (off + bs - 1) })
    end
    if mode == "zipf" then
        return wrk.format("GET", paths[zipf_pick(math.random())])
    end
    return wrk.format("GET", paths[math.random(1, #paths)])
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk requests=%d seconds=%.3f bytes=%d p50_us=%d p99_us=%d max_us=%d "
            .. "status_errors=%d socket_errors=%d\n",
        summary.requests, summary.duration / 1e6, summary.bytes, latency:percentile(50),
        latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
