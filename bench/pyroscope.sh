#!/bin/bash
# Figures for the Pyroscope API (issue 15):
#  1. the Connect layer's cost: SelectMergeStacktraces and SelectSeries (binary protobuf, as
#     Grafana calls them) against /api/v1/flamegraph and /api/v1/series for the same data, range,
#     node limit and step, median of REPS warm runs each, over HOURS of generated 10-second
#     profiles of a captured whole-node request;
#  2. ingest: the same captured data sent N times as OTLP (gzipped, as the agent sends it) and as
#     gzipped pprof to /ingest (as the SDKs send it), 8 clients at once: MB/s of bodies, and
#     samples stored per collector CPU-second.
# usage: bench/pyroscope.sh [HOURS] [REPS] [N]   (root; `make tests` first; defaults 24 7 200)
set -euo pipefail
cd "$(dirname "$0")/.."
HOURS=${1:-24}
REPS=${2:-7}
N=${3:-200}
. bench/lib.sh
bench_setup pyroscope
start() {
	"$BUILD/sonde-collector" --listen "127.0.0.1:$port" --storage "$1" --log-level error \
		--max-connections-per-client 0 "${@:2}" &
	coll=$!
	for _ in $(seq 100); do curl -sf -o /dev/null "$url/ready" && return; sleep 0.1; done
	exit 1
}
stop() { kill -TERM "$coll"; wait "$coll" || true; }

capture_node "$out/node.pb"
days=$(((HOURS + 23) / 24))
"$BUILD/bench/query_gen" "$out/store" "$days" "$out/node.pb" > /dev/null

# ---- 1. query latency: Connect against /api/v1 ----
start "$out/store" --no-compaction --query-cache-size 1G
python3 - "$url" "$HOURS" "$REPS" <<'PY'
import json, statistics, sys, time, urllib.request
url, hours, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CPU = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
svc = "split_nofp"
end_ms = int(time.time() * 1000)
start_ms = end_ms - hours * 3600 * 1000

def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out
def field(n, wt, payload):
    return varint(n << 3 | wt) + payload
def s(n, text):
    b = text.encode()
    return field(n, 2, varint(len(b)) + b)
def i(n, v):
    return field(n, 0, varint(v))
def d(n, v):
    import struct
    return field(n, 1, struct.pack("<d", v))

sel = '{service_name="%s"}' % svc
step = max(hours * 3600 // 120, 1)
fg_req = s(1, CPU) + s(2, sel) + i(3, start_ms) + i(4, end_ms) + i(5, 8192)
ss_req = s(1, CPU) + s(2, sel) + i(3, start_ms) + i(4, end_ms) + d(6, float(step))
q = "query=%s&from=%dms&to=%dms" % (urllib.parse.quote(sel), start_ms, end_ms)

def timed(req):
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        body = r.read()
    return time.perf_counter() - t, len(body)
def connect(method, body):
    return urllib.request.Request(f"{url}/querier.v1.QuerierService/{method}", data=body,
                                  headers={"Content-Type": "application/proto"})
cases = [
    ("flame graph", urllib.request.Request(f"{url}/api/v1/flamegraph?{q}&max_nodes=8192&type={CPU}"),
     connect("SelectMergeStacktraces", fg_req)),
    ("time series", urllib.request.Request(f"{url}/api/v1/series?{q}&step={step}s&type={CPU}"),
     connect("SelectSeries", ss_req)),
]
print(f"{hours} h of one service, median of {reps} warm runs (one cold run first):")
print(f"{'query':<12} {'/api/v1 ms':>11} {'Connect ms':>11} {'Connect/api':>12} {'api bytes':>10} {'Connect bytes':>14}")
for name, api, con in cases:
    timed(api); timed(con)  # warm the cache
    a, c = [], []
    for _ in range(reps):
        ta, ba = timed(api); a.append(ta)
        tc, bc = timed(con); c.append(tc)
    ma, mc = statistics.median(a), statistics.median(c)
    print(f"{name:<12} {ma*1000:>11.1f} {mc*1000:>11.1f} {mc/ma:>12.3f} {ba:>10} {bc:>14}")
PY
stop

# ---- 2. ingest: OTLP against /ingest pprof ----
gzip -c "$out/node.pb" > "$out/node.pb.gz"
start "$out/store2"
# the same samples as pprof: stored, then exported (gzipped, as the SDKs send pprof)
curl -sf -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' --data-binary "@$out/node.pb.gz" \
	"$url/v1development/profiles" -o /dev/null
sleep 1.5
curl -sf "$url/api/v1/export?from=now-1h&to=now&format=pprof" -o "$out/node.pprof.gz"
stop
samples_total() { curl -s "$url/metrics" | awk '$1 == "sonde_collector_samples_total" { print $2 }'; }
load() { # NAME URL_PATH FILE CURL_ARGS...
	local name=$1 path=$2 file=$3 c0 s0 t0 t1 c1 s1 bytes
	shift 3
	rm -rf "$out/store3"
	start "$out/store3" --segment-max-age 100ms
	s0=$(samples_total)
	c0=$(collector_cpu "$coll")
	t0=$(date +%s.%N)
	seq "$N" | xargs -P 8 -I{} curl -sf -o /dev/null "$@" --data-binary "@$file" "$url$path"
	t1=$(date +%s.%N)
	c1=$(collector_cpu "$coll")
	s1=$(samples_total)
	bytes=$(stat -c %s "$file")
	awk -v n="$name" -v N="$N" -v b="$bytes" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		-v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" -v s="$((${s1%.*} - ${s0%.*}))" \
		'BEGIN { printf "%-22s %8d %10.0f %10.2f %12.0f %16.0f %10.2f\n", n, N, b, N * b / t / 1e6, s, s / (c > 0 ? c : 1e-9), c }'
	stop
}
echo
echo "ingest: $N requests, 8 at once, each acknowledged once stored"
printf '%-22s %8s %10s %10s %12s %16s %10s\n' format requests bytes MB/s samples samples/cpu_s cpu_s
load "OTLP (gzip)" /v1development/profiles "$out/node.pb.gz" -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip'
load "/ingest pprof (gzip)" "/ingest?name=bench&format=pprof&spyName=bench" "$out/node.pprof.gz"
