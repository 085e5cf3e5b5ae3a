#!/bin/bash
# `make run`: the whole product on this machine. Starts the collector (file storage in
# build/run/data), the agent profiling every CPU and shipping to it, shows the first results and
# the web UI's address, and runs until Ctrl-C.
#   SONDE_PORT=4040 (the collector's port), SONDE_DURATION=SECONDS (stop by itself after that)
set -euo pipefail
BUILD=${1:-build}
port=${SONDE_PORT:-4040}
out=$BUILD/run
url=http://127.0.0.1:$port
mkdir -p "$out"
if [ "$(id -u)" != 0 ]; then
	echo "make run needs root (the agent loads BPF programs): sudo make run" >&2
	exit 1
fi
if (echo > "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
	echo "port $port is taken: SONDE_PORT=4041 make run" >&2
	exit 1
fi

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "Stopping (the agent sends what it has, the collector stores it)..."
	for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
	wait 2> /dev/null || true
	echo "Profiles stay in $out/data: $BUILD/sonde inspect $out/data"
}
trap stop INT TERM EXIT

"$BUILD/sonde-collector" --listen "127.0.0.1:$port" --storage "$out/data" --log-level warn \
	2> "$out/collector.log" &
pids+=($!)
for _ in $(seq 50); do
	curl -sf -o /dev/null "$url/ready" && break
	sleep 0.1
done
curl -sf -o /dev/null "$url/ready" || { echo "the collector did not start: $(tail -3 "$out/collector.log")" >&2; exit 1; }
"$BUILD/sonde-agent" --collector "$url" --upload-interval 10s --log-level warn \
	2> "$out/agent.log" &
pids+=($!)
start=$(date +%s)
echo "Profiling every CPU of $(hostname) at 100 Hz into the collector at $url"
echo "Web UI: $url/   (from another machine: ssh -L $port:127.0.0.1:$port $(hostname))"
echo "Waiting for the first profiles (10 s)..."
sleep 12
echo
"$BUILD/sonde" top --url "$url" --from "$start" --limit 15 || true
echo
echo "More: $BUILD/sonde flamegraph --url $url   $BUILD/sonde series --url $url --group-by service_name"
echo "Logs: $out/collector.log $out/agent.log. Ctrl-C stops."
if [ -n "${SONDE_DURATION:-}" ]; then
	sleep "$((SONDE_DURATION > 12 ? SONDE_DURATION - 12 : 0))"
else
	wait -n "${pids[@]}" || true
	echo "a process stopped on its own: $(tail -2 "$out/collector.log" "$out/agent.log")" >&2
fi
