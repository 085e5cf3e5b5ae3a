#!/bin/bash
# Figures for the query engine over stored days (issues 7 and 16): flame graph latency for one
# service over 1 hour, 24 hours, 7 days and 30 days of 10-second profiles, generated from a
# captured whole-node request (this machine under a mixed C/C++/Rust/Go load), in two layouts:
#   - previous: the 10-minute blocks only (the previous release's one level of compaction);
#   - levels:   the same store compacted by `sonde compact` (hourly blocks to the second,
#               daily ones to 10 s: the collector's default levels);
# each cold (a fresh collector, the OS page cache dropped) and warm (the same query again), with
# one read/decode thread per query and with the default (--query-parallel); MB read from
# storage and the collector's peak RSS. Also the compaction itself: time and peak RSS.
# usage: bench/query.sh [DAYS]   (root; `make tests` first; DAYS defaults to 30)
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${1:-30}
. bench/lib.sh
bench_setup query
capture_node "$out/node.pb"
t0=$(date +%s.%N)
"$BUILD/bench/query_gen" "$out/previous" "$DAYS" "$out/node.pb"
end=$(date +%s) # the newest block ends here: every range below ends at it
echo "generated in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
cp -a "$out/previous" "$out/levels"
/usr/bin/time -f "%e %M" -o "$out/compact.time" "$BUILD/sonde" compact --force --deletion-grace 0 "$out/levels" > "$out/compact.txt"
read -r csec ckb < "$out/compact.time"
echo "compaction of $DAYS days into levels: $csec s, peak RSS $((ckb / 1024)) MB; $(cat "$out/compact.txt")"
for l in previous levels; do
	echo "$l: $(find "$out/$l" -name '*.block' | wc -l) blocks, $(du -sh "$out/$l" | cut -f1)"
done
svc=split_nofp

read_bytes() { curl -s "$url/metrics" | awk '$1 == "sonde_collector_storage_bytes_total{direction=\"read\"}" { print $2 }'; }
start() { # STORE PARALLEL
	"$BUILD/sonde-collector" --listen "127.0.0.1:$port" --storage "$1" --target query --log-level error \
		--query-cache-size 1G --query-parallel "$2" 2> /dev/null &
	coll=$!
	for _ in $(seq 100); do curl -sf -o /dev/null "$url/ready" && return; sleep 0.1; done
	exit 1
}
query() { # HOURS -> "seconds bytes_read samples"
	local b0 b1 t
	b0=$(read_bytes)
	t=$(curl -s -o "$out/fg.json" -w '%{time_total}' -G "$url/api/v1/flamegraph" \
		--data-urlencode "query={service_name=\"$svc\"}" --data-urlencode "from=$((end - $1 * 3600))" --data-urlencode "to=$end")
	b1=$(read_bytes)
	echo "$t $(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.0f", b - a }') $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["flamegraph"]["total"])' "$out/fg.json")"
}
ranges="1 24"
[ "$DAYS" -ge 7 ] && ranges="$ranges 168"
[ "$DAYS" -ge 30 ] && ranges="$ranges 720"
cpus=$(nproc)
printf '%-9s %-6s %-7s %11s %9s %10s %9s %10s %8s\n' layout hours threads samples cold_ms cold_MB warm_ms warm_MB rss_MB
for l in previous levels; do
	for r in $ranges; do
		for p in 1 "$cpus"; do
			start "$out/$l" "$p"
			sync
			echo 3 > /proc/sys/vm/drop_caches
			read -r tc bc n < <(query "$r")
			read -r tw bw _ < <(query "$r")
			rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$coll/status")
			kill -TERM "$coll"
			wait "$coll" || true
			printf '%-9s %-6s %-7s %11s %9.0f %10.2f %9.0f %10.2f %8.0f\n' "$l" "$r" "$p" "$n" \
				"$(awk -v t="$tc" 'BEGIN { print t * 1000 }')" "$(awk -v b="$bc" 'BEGIN { print b / 1e6 }')" \
				"$(awk -v t="$tw" 'BEGIN { print t * 1000 }')" "$(awk -v b="$bw" 'BEGIN { print b / 1e6 }')" \
				"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
		done
	done
done
echo "queries read only the blocks in range and, of each, the footer and the one service's sections;"
echo "'samples' is the flame graph's total: levels keep every sample; a range's ends fall inside the daily"
echo "blocks' 10 s resolution, so a range may gain or lose the profiles of one step at each end"
