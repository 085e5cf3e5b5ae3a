#!/bin/bash
# Figures for DWARF unwinding (issue 3). For each workload with a known split, at 1000 Hz:
#  - the agent: samples, completeness (stacks reaching the thread entry), BPF cost per sample
#    (kernel.bpf_stats_enabled), user-space unwinding cost per sample and per frame;
#  - perf record --call-graph dwarf with 8 KB and 64 KB dumps: completeness;
#  - agent CPU and peak RSS against perf record + perf script on the same load;
#  - memory of unwind tables, for the workloads' binaries and for every binary on this machine.
# usage: bench/unwind.sh [SECONDS]   (root; `make tests` first)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
T=${1:-5}
BUILD=${BUILD:-build}
W=$BUILD/workloads
out=$(mktemp -d /tmp/sonde-bench-unwind.XXXXXX)
prev=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled=$prev; kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
[ -x "$W/split_nofp" ] && [ -x "$BUILD/bench/unwind_tables" ] || { echo "run 'make tests' first" >&2; exit 1; }
sysctl -qw kernel.bpf_stats_enabled=1

# name|binary args|--a|--b|--entry
cases=(
	"c_deep|$W/split_nofp 60 3 1 160|hot_a|hot_b|main"
	"cpp|$W/split_cpp 60|hot_a|hot_b|main"
	"rust|$W/split_rust 60|hot_a|hot_b|main"
	"go|$W/split_go 60|main\.workerA|main\.workerB|main\.worker[AB]"
	"shlib|$W/shlib 60|lib_hot_a|lib_hot_b|main"
	"qsort|$W/qsort 60|cmp_a|cmp_b|main"
)
stats() { python3 tests/tools/stacks.py "$@"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

printf "%-7s | %-60s | %-18s | %-18s\n" "" "sonde-agent (DWARF in user space)" "perf dwarf,8192" "perf dwarf,65528"
printf "%-7s | %7s %8s %8s %8s %8s %7s %8s | %8s %9s | %8s %9s\n" workload samples complete "bpf/run" "bpf/smp" "copy KB" "us/smp" "ns/frame" complete "MB/s" complete "MB/s"
for c in "${cases[@]}"; do
	IFS='|' read -r name cmd a b entry <<< "$c"
	comm=$(basename "${cmd%% *}" | cut -c1-15)
	$cmd & wl=$!
	sleep 0.5
	bpf_cost "$out/$name.bpf" "$BUILD/sonde-agent" -F 1000 --pid "$wl" --duration "$T" \
		--output "$out/$name.folded" 2> "$out/$name.log"
	for sz in 8192 65528; do
		perf record -q -F 1000 -p "$wl" --call-graph dwarf,$sz -o "$out/$name.$sz.data" -- sleep "$T" 2>/dev/null
		perf script --no-inline --max-stack 1024 -i "$out/$name.$sz.data" -F comm,tid,ip,sym,dso > "$out/$name.$sz.txt" 2>/dev/null
		echo $(( $(stat -c %s "$out/$name.$sz.data") / T / 1048576 )) > "$out/$name.$sz.mbs"
		rm -f "$out/$name.$sz.data"
		stats perf "$out/$name.$sz.txt" --comm "$comm" --a "$a" --b "$b" --entry "$entry" > "$out/$name.$sz.json"
	done
	kill "$wl"; wait "$wl" 2>/dev/null || true
	stats folded "$out/$name.folded" --comm "$comm" --a "$a" --b "$b" --entry "$entry" > "$out/$name.json"
	read -r bpf _ bpf_total < "$out/$name.bpf"
	sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$out/$name.log")
	read -r calls uns frames copied < <(sed -n 's/.*user_frames=\([0-9]*\).*unwind_calls=\([0-9]*\) unwind_ns=\([0-9]*\) stack_copy_bytes=\([0-9]*\).*/\2 \3 \1 \4/p' "$out/$name.log")
	printf "%-7s | %7d %7.2f%% %8d %8d %8.1f %7.2f %8.1f | %7.2f%% %9d | %7.2f%% %9d\n" "$name" \
		"$(field "$out/$name.json" samples)" "$(python3 -c "print(100*$(field "$out/$name.json" entry_share))")" \
		"$bpf" "$(python3 -c "print($bpf_total//max(${sent:-0},1))")" "$(python3 -c "print($copied/1024/max($calls,1))")" \
		"$(python3 -c "print($uns/1000/max($calls,1))")" "$(python3 -c "print($uns/max($frames,1))")" \
		"$(python3 -c "print(100*$(field "$out/$name.8192.json" entry_share))")" "$(cat "$out/$name.8192.mbs")" \
		"$(python3 -c "print(100*$(field "$out/$name.65528.json" entry_share))")" "$(cat "$out/$name.65528.mbs")"
done
echo "(bpf/run = the sampler program's run_time_ns / run_cnt (bpf_stats), over every CPU-clock"
echo " tick, most filtered out at once as another process's; bpf/smp = its run_time_ns per sample"
echo " delivered to the agent; complete = share of samples whose stack reaches the thread entry; Go: perf's DWARF"
echo " unwinder cannot unwind Go, hence its 0%; MB/s = perf.data written per second)"

echo
echo "In-kernel stack walking, for comparison (frame pointers, 120 frames deep, bpf_stats):"
"$W/split" 60 3 1 120 2>/dev/null & wl=$!
sleep 0.5
for mode in never always; do
	bpf_cost "$out/fp.$mode.bpf" "$BUILD/sonde-agent" -F 1000 --pid "$wl" --duration "$T" \
		--stack-bytes 0 --fp-stack $mode --output "$out/fp.$mode.folded" 2> "$out/fp.$mode.log"
done
kill "$wl"; wait "$wl" 2>/dev/null || true
read -r nofp _ < "$out/fp.never.bpf"
read -r withfp _ < "$out/fp.always.bpf"
frames=$(awk '{ n = split($0, a, ";"); if (n > m) m = n } END { print m - 1 }' "$out/fp.always.folded")
python3 - "$nofp" "$withfp" "$frames" <<'PY'
import sys
nofp, withfp, frames = map(int, sys.argv[1:])
print(f"  BPF program without a user stack: {nofp} ns; with the kernel walking {frames} frames: "
      f"{withfp} ns; {(withfp - nofp) / max(frames, 1):.1f} ns per frame")
PY

echo
echo "CPU and memory for the same ${T}s at 1000 Hz of the C++ workload:"
rus() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.3f} {r.ru_maxrss}")
PY
}
"$W/split_cpp" 60 & wl=$!
sleep 0.5
read -r acpu arss < <(rus "$BUILD/sonde-agent" -F 1000 --pid "$wl" --duration "$T" --output "$out/cpu.folded")
read -r rcpu rrss < <(rus perf record -q -F 1000 -p "$wl" --call-graph dwarf,65528 -o "$out/cpu.data" -- sleep "$T")
read -r scpu srss < <(rus perf script --no-inline -i "$out/cpu.data" -F comm,tid,ip,sym,dso)
kill "$wl"; wait "$wl" 2>/dev/null || true
python3 - "$acpu" "$arss" "$rcpu" "$rrss" "$scpu" "$srss" <<'PY'
import sys
a, ar, r, rr, s, sr = map(float, sys.argv[1:])
print(f"  sonde-agent (sampling, unwinding, symbolizing, writing): {a:.2f} s CPU, {ar/1024:.1f} MiB peak RSS")
print(f"  perf record + perf script:                           {r+s:.2f} s CPU ({r:.2f} + {s:.2f}), {max(rr, sr)/1024:.1f} MiB peak RSS")
print(f"  ratio agent / perf: CPU {a/(r+s):.2f}, peak RSS {ar/max(rr, sr):.2f}")
PY

echo
echo "Unwind tables for the workloads' binaries:"
# libc and libstdc++ as this system's loader resolves them for the C++ workload
libs=$(ldd "$W/split_cpp" | awk '$1 ~ /^lib(c|stdc\+\+)\.so/ && $3 ~ /^\// { print $3 }')
ls "$W"/split_nofp "$W"/split_cpp "$W"/split_rust "$W"/split_go "$W"/libhot.so $libs |
	"$BUILD/bench/unwind_tables" | head -2
echo "Unwind tables for every ELF file under /usr:"
find /usr/bin /usr/sbin /usr/lib /usr/libexec -xdev -type f 2>/dev/null | "$BUILD/bench/unwind_tables"
