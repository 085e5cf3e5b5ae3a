#!/bin/bash
# Figures for many collectors on one bucket (issue 16), on a real S3-compatible server (s3rver):
#  1. ingest scaling: 1, 2 and 3 collectors on one bucket, each fed a captured whole-node
#     request by its own load generator (16 connections, 10 s): samples acknowledged per second
#     in all, per collector CPU-second, acknowledgement latency, PUTs per second;
#  2. a single agent's acknowledgement latency: one request every 2 s (as an agent's upload
#     interval, shortened), 20 of them.
# usage: bench/fleet.sh   (root; `make tests` and `make deps` first)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup fleet
capture_node "$out/node.pb"
S3RVER=tests/node_modules/.bin/s3rver
s3port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$out/s3"
node "$S3RVER" -d "$out/s3" -a 127.0.0.1 -p "$s3port" --configure-bucket profiles --no-vhost-buckets > /dev/null 2>&1 &
s3pid=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$s3port") 2> /dev/null && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
puts() { curl -s "$1/metrics" | awk '$1 == "sonde_collector_storage_operations_total{op=\"put\"}" { print $2 }'; }

printf '%-11s %14s %14s %18s %10s %10s %9s\n' collectors samples/s requests/s samples/CPU-s p50_ms p99_ms PUTs/s
for n in 1 2 3; do
	urls=() pids=() loads=()
	for k in $(seq "$n"); do
		p=$(free)
		"$BUILD/sonde-collector" --listen "127.0.0.1:$p" --log-level error --max-connections-per-client 0 \
			--storage "s3://profiles/scale$n?endpoint=http://127.0.0.1:$s3port&path_style=true" 2> /dev/null &
		pids+=($!)
		urls+=("http://127.0.0.1:$p")
	done
	for u in "${urls[@]}"; do
		for _ in $(seq 100); do curl -sf -o /dev/null "$u/ready" && break; sleep 0.1; done
	done
	cpu0=0
	for p in "${pids[@]}"; do cpu0=$(awk -v a="$cpu0" -v b="$(collector_cpu "$p")" 'BEGIN { print a + b }'); done
	put0=0
	for u in "${urls[@]}"; do put0=$((put0 + $(puts "$u" | cut -d. -f1))); done
	for k in $(seq "$n"); do
		"$BUILD/bench/otlp_load" --concurrency 16 --duration 10s "${urls[$((k - 1))]}/v1development/profiles" \
			"$out/node.pb" > "$out/load$n-$k.txt" &
		loads+=($!)
	done
	for l in "${loads[@]}"; do wait "$l"; done
	cpu1=0
	for p in "${pids[@]}"; do cpu1=$(awk -v a="$cpu1" -v b="$(collector_cpu "$p")" 'BEGIN { print a + b }'); done
	put1=0
	for u in "${urls[@]}"; do put1=$((put1 + $(puts "$u" | cut -d. -f1))); done
	python3 - "$n" "$cpu0" "$cpu1" "$put0" "$put1" "$out"/load"$n"-*.txt <<'PY'
import re, sys
n, cpu0, cpu1, put0, put1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
samples = reqs = secs = 0.0
p50 = p99 = 0.0
for f in sys.argv[6:]:
    t = open(f).read()
    m = re.search(r"requests: (\d+) acknowledged.* in ([\d.]+) s", t)
    reqs += int(m.group(1)); secs = max(secs, float(m.group(2)))
    samples += float(re.search(r"([\d.]+) samples/s", t).group(1)) * float(m.group(2))
    lat = re.search(r"p50 ([\d.]+) ms, p90 [\d.]+ ms, p99 ([\d.]+) ms", t)
    p50 = max(p50, float(lat.group(1))); p99 = max(p99, float(lat.group(2)))
print(f"{n:<11} {samples / secs:14.0f} {reqs / secs:14.1f} {samples / max(cpu1 - cpu0, 1e-9):18.0f} {p50:10.1f} {p99:10.1f} {(put1 - put0) / secs:9.1f}")
PY
	for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
done

# 2. a single agent: one request every 2 s
p=$(free)
"$BUILD/sonde-collector" --listen "127.0.0.1:$p" --log-level error \
	--storage "s3://profiles/single?endpoint=http://127.0.0.1:$s3port&path_style=true" 2> /dev/null &
coll=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$p/ready" && break; sleep 0.1; done
gzip -c "$out/node.pb" > "$out/node.pb.gz"
for _ in $(seq 20); do
	curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' \
		--data-binary "@$out/node.pb.gz" "http://127.0.0.1:$p/v1development/profiles" >> "$out/single.txt"
	sleep 2
done
kill -TERM "$coll"
wait "$coll" || true
sort -n "$out/single.txt" | awk '{ v[NR] = $1 * 1000 } END { printf "a single agent (a request every 2 s, 20 requests): acknowledged in p50 %.0f ms, p90 %.0f ms, max %.0f ms (--segment-max-age 500ms)\n", v[int(NR * 0.5 + 0.5)], v[int(NR * 0.9 + 0.5)], v[NR] }'
kill "$s3pid" 2> /dev/null || true
echo "s3rver is one Node.js process on this 2-core machine, shared with the collectors and the load"
