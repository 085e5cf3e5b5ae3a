#!/bin/bash
# Figures for the query engine (issue 7): flame graph latency for one service over 1 hour,
# 24 hours and 7 days of 10-second profiles, generated from a captured whole-node request
# (this machine running a mixed C/C++/Rust/Go load), with a cold cache (a fresh collector and
# the OS page cache dropped) and a warm one; and the bytes read from storage per query.
# usage: bench/query.sh [DAYS]   (root; `make tests` first; DAYS defaults to 7)
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${1:-7}
. bench/lib.sh
bench_setup query
capture_node "$out/node.pb"
t0=$(date +%s.%N)
"$BUILD/bench/query_gen" "$out/store" "$DAYS" "$out/node.pb"
echo "generated in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
svc=split_nofp

read_bytes() { curl -s "$url/metrics" | awk '$1 == "sonde_collector_storage_bytes_total{direction=\"read\"}" { print $2 }'; }
start() {
	"$BUILD/sonde-collector" --listen "127.0.0.1:$port" --storage "$out/store" --no-compaction --log-level warn \
		--query-cache-size 1G &
	coll=$!
	for _ in $(seq 100); do curl -sf -o /dev/null "$url/ready" && return; sleep 0.1; done
	exit 1
}
query() { # RANGE -> "seconds bytes_read samples"
	local b0 b1 t
	b0=$(read_bytes)
	t=$(curl -s -o "$out/fg.json" -w '%{time_total}' -G "$url/api/v1/flamegraph" \
		--data-urlencode "query={service_name=\"$svc\"}" --data-urlencode "from=now-$1" --data-urlencode "to=now")
	b1=$(read_bytes)
	echo "$t $(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.0f", b - a }') $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["flamegraph"]["total"])' "$out/fg.json")"
}
printf '%-8s %10s %12s %14s %10s %14s\n' range samples cold_ms cold_read_MB warm_ms warm_read_MB
for r in 1h 24h $((DAYS * 24))h; do
	start
	sync
	echo 3 > /proc/sys/vm/drop_caches
	read -r tc bc n < <(query "$r")
	read -r tw bw _ < <(query "$r")
	kill -TERM "$coll"
	wait "$coll" || true
	printf '%-8s %10s %12.0f %14.2f %10.0f %14.2f\n' "$r" "$n" "$(awk -v t="$tc" 'BEGIN { print t * 1000 }')" \
		"$(awk -v b="$bc" 'BEGIN { print b / 1e6 }')" "$(awk -v t="$tw" 'BEGIN { print t * 1000 }')" \
		"$(awk -v b="$bw" 'BEGIN { print b / 1e6 }')"
done
echo "store: $(du -sh "$out/store" | cut -f1) for $DAYS days; queries read only the blocks in range and, of each, the footer and the one service's sections"
