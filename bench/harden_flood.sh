#!/bin/bash
# Figures for issue 14, defect 1: OTLP requests acknowledged per second by a collector, quiet
# and while a slow-header flood holds connections (tests/tools/slow_flood.py: 1,100 sockets each
# sending a partial head and one more header line every 5 s):
#   quiet            no flood
#   flood, 1 addr    the flood from 127.0.0.2 (the per-client limit applies)
#   flood, 11 addrs  the flood over 127.0.0.2-12, 100 sockets each (the total limit fills; the
#                    head deadline frees it)
#   guards off       the one-address flood against --max-connections-per-client 0
#                    --header-timeout 0 (what the collector did before): requests wait for a
#                    connection until otlp_load's 60 s timeout
# The load: bench/otlp_load, 8 keep-alive connections from 127.0.0.1, for D seconds, replaying
# one request captured from the agent (needs root for the agent).
# usage: bench/harden_flood.sh [SECONDS] [--no-guards-off]   (`make tests` first)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10}
BUILD=${BUILD:-build}
out=$(mktemp -d /tmp/sonde-bench-flood.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; wait 2> /dev/null; rm -rf "$out"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$BUILD/workloads/split" 10 3 1 &
wl=$!
sleep 0.3
"$BUILD/sonde-agent" --pid "$wl" --duration 1 --format otlp --output "$out/req.pb" 2> "$out/agent.log"
kill "$wl"

start() {
	rm -rf "$out/store"
	"$BUILD/sonde-collector" --listen "127.0.0.1:$port" --storage "$out/store" --segment-max-age 100ms \
		--log-level warn "$@" > "$out/collector.log" 2>&1 &
	coll=$!
	pids+=("$coll")
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/ready" && return; sleep 0.1; done
	echo "the collector did not start" >&2
	exit 1
}
stop() { kill -TERM "$coll"; wait "$coll" || true; }

# run NAME [FLOOD SOURCES]: the load for D seconds, with the flood started 3 s before
run() {
	local name=$1 sources=${2:-} fl=""
	if [ -n "$sources" ]; then
		python3 tests/tools/slow_flood.py heads --target "127.0.0.1:$port" --sockets 1100 \
			--sources "$sources" --interval 5 --duration $((D + 6)) > "$out/flood.json" &
		fl=$!
		pids+=("$fl")
		sleep 3
	fi
	"$BUILD/bench/otlp_load" --concurrency 8 --duration "${D}s" "http://127.0.0.1:$port/v1development/profiles" \
		"$out/req.pb" > "$out/load.txt"
	[ -n "$fl" ] && wait "$fl"
	printf '%-16s %s\n' "$name" "$(awk 'NR == 2 { print $2 " acknowledged/s" } NR == 1 { line = $0 } END { }' "$out/load.txt")"
	printf '%-16s   %s\n' "" "$(head -1 "$out/load.txt")"
	[ -n "$sources" ] && printf '%-16s   flood: %s\n' "" "$(cat "$out/flood.json")"
	return 0
}

echo "collector defaults: --max-connections 1024 --max-connections-per-client 128 --header-timeout 10s"
start
run "quiet"
run "flood, 1 addr" 127.0.0.2
run "flood, 11 addrs" "$(seq -s, -f '127.0.0.%g' 2 12)"
stop
if [ "${2:-}" != --no-guards-off ]; then
	start --max-connections-per-client 0 --header-timeout 0 --body-timeout 0
	run "guards off" 127.0.0.2
	stop
fi
