#!/bin/bash
# Figures for the sampler (issue 2), while every CPU is busy at 100 Hz:
#  - agent CPU: fixed (start + output) and marginal per second and per sample, from a short and
#    a long run; peak RSS; the same for `perf record -F 100 -a -g` over the same load;
#  - samples delivered / expected;
#  - the BPF program's own cost per sample (kernel.bpf_stats_enabled).
# usage: bench/sampling.sh [SECONDS]   (root; run `make tests` first)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
T=${1:-20}
T0=2
BUILD=${BUILD:-build}
out=$(mktemp -d /tmp/sonde-bench.XXXXXX)
prev_stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled=$prev_stats; kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
ncpu=$(nproc)
[ -x "$BUILD/workloads/split" ] || { echo "run 'make tests' first" >&2; exit 1; }

# measure SECONDS CMD...: runs CMD under a busy machine; prints "cpu_seconds maxrss_kb"
measure() {
	local secs=$1
	shift
	for _ in $(seq "$ncpu"); do "$BUILD/workloads/split" $((secs + 3)) 3 1 & done
	sleep 0.5
	python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open("/dev/null", "w"))
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.4f} {r.ru_maxrss}")
PY
	wait
}
samples() { awk '{ t += $NF } END { print t + 0 }' "$1"; }
perf_samples() { perf script -i "$1" -F pid 2>/dev/null | wc -l; }

echo "load: $ncpu busy processes (one per CPU), 100 Hz; runs of ${T0}s and ${T}s"
read -r a0 _ < <(measure $T0 "$BUILD/sonde-agent" --duration $T0 --output "$out/a0.folded")
read -r a1 arss < <(measure "$T" "$BUILD/sonde-agent" --duration "$T" --output "$out/a1.folded")
read -r p0 _ < <(measure $T0 perf record -q -F 100 -a -g -o "$out/p0.data" -- sleep $T0)
read -r p1 prss < <(measure "$T" perf record -q -F 100 -a -g -o "$out/p1.data" -- sleep "$T")
n0=$(samples "$out/a0.folded") n1=$(samples "$out/a1.folded")
m0=$(perf_samples "$out/p0.data") m1=$(perf_samples "$out/p1.data")

sysctl -qw kernel.bpf_stats_enabled=1
for _ in $(seq "$ncpu"); do "$BUILD/workloads/split" 8 3 1 & done
sleep 0.5
bpf_cost "$out/s.bpf" "$BUILD/sonde-agent" --duration 5 --output "$out/s.folded" 2> "$out/stats.log"
wait
read -r bpf_ns _ < "$out/s.bpf"

awk -v a0="$a0" -v a1="$a1" -v p0="$p0" -v p1="$p1" -v arss="$arss" -v prss="$prss" \
	-v n0="$n0" -v n1="$n1" -v m0="$m0" -v m1="$m1" -v T0="$T0" -v T="$T" -v ncpu="$ncpu" \
	-v bpf="$bpf_ns" 'BEGIN {
	fa = a0 - (a1 - a0) / (T - T0) * T0; fp = p0 - (p1 - p0) / (T - T0) * T0
	ma = (a1 - a0) / (T - T0); mp = (p1 - p0) / (T - T0)
	sa = (a1 - a0) / (n1 - n0); sp = (p1 - p0) / (m1 - m0)
	printf "%-40s %12s %12s %8s\n", "", "sonde-agent", "perf record", "ratio"
	printf "%-40s %12.1f %12.1f %8.2f\n", "CPU ms per second (" T "s run, all in)", a1 * 1e3 / T, p1 * 1e3 / T, a1 / p1
	printf "%-40s %12.1f %12.1f %8.2f\n", "CPU us per sample (" T "s run, all in)", a1 * 1e6 / n1, p1 * 1e6 / m1, (a1 / n1) / (p1 / m1)
	printf "%-40s %12.1f %12.1f %8.2f\n", "peak RSS MiB", arss / 1024, prss / 1024, arss / prss
	printf "%-40s %12.1f %12.1f %8.2f\n", "fixed CPU ms (start-up and output)", fa * 1e3, fp * 1e3, fa / fp
	printf "sonde-agent steady state: %.2f CPU ms per second, %.2f us per sample\n", ma * 1e3, sa * 1e6
	printf "(perf record has no steady-state cost of its own: its callchain work is charged to the sampled tasks)\n"
	printf "samples delivered / expected (%ds run): %d / %d = %.1f%% (perf: %d)\n", T, n1, ncpu * 100 * T, 100 * n1 / (ncpu * 100 * T), m1
	if (bpf != "") printf "BPF program cost: %d ns per sample (bpf_stats)\n", bpf
}'
