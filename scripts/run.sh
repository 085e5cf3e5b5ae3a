#!/bin/bash
# `make run`: profile this whole machine with the agent and show what it found.
#   SONDE_DURATION=30 make run     (default 10 seconds)
set -euo pipefail
BUILD=${1:-build}
dur=${SONDE_DURATION:-10}
out=$BUILD/run
mkdir -p "$out"
if [ "$(id -u)" != 0 ]; then
	echo "make run needs root (the agent loads BPF programs): sudo make run" >&2
	exit 1
fi
echo "Profiling every CPU of $(hostname) for ${dur}s at 100 Hz (Ctrl-C stops early)..."
"$BUILD/sonde-agent" --duration "$dur" --output "$out/profile.folded" --log-level warn &
agent=$!
trap 'kill -INT $agent 2>/dev/null || true' INT
wait $agent || wait $agent
f=$out/profile.folded
total=$(awk '{ t += $NF } END { print t + 0 }' "$f")
echo
echo "$total samples of busy CPU time (idle time is not sampled)."
echo
echo "Top processes                          samples   share"
awk -v t="$total" '{ split($0, a, ";"); n[a[1]] += $NF }
	END { for (k in n) printf "  %-34s %9d %6.1f%%\n", k, n[k], 100 * n[k] / (t ? t : 1) }' "$f" |
	sort -k2 -nr | head -10
echo
echo "Top functions (self time)              samples   share"
awk -v t="$total" '{ c = $NF; s = $0; sub(/ [0-9]+$/, "", s); k = split(s, a, ";"); n[a[k]] += c }
	END { for (x in n) printf "  %-34s %9d %6.1f%%\n", substr(x, 1, 34), n[x], 100 * n[x] / (t ? t : 1) }' "$f" |
	sort -k2 -nr | head -15
echo
echo "Full profile (folded stacks, one line per stack): $f"
echo "  flame graph: flamegraph.pl $f > flame.svg   pprof: $BUILD/sonde-agent --format pprof ..."
