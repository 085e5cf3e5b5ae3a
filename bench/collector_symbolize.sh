#!/bin/bash
# Figures for symbolization in the collector (issue 17, docs/symbolization.md):
#  1. the agent's CPU and peak RSS with --symbolize agent against --symbolize collector, on the
#     same whole-node load (C, C++, Rust, Go, syscalls), 20 s of sampling each;
#  2. what the collector pays to name a cold flame graph of a large binary: libLLVM-15 (117 MB,
#     45,000 functions in .dynsym) and libc with its DWARF (libc6-dbg), 20,000 distinct frames
#     each: the first query after the upload (fetch from the store, load, look up) and the next
#     ones (loaded), against the same query with --no-symbolize; frames per second; the memory
#     and disk kept per binary;
#  3. what naming at compaction instead would change: the bytes per sample stored with names
#     (the agent's) against without (the same load, --symbolize collector);
#  4. ingest's acknowledgement latency with and without uploads of a 112 MB file back to back.
# usage: bench/collector_symbolize.sh   (`make` and `make tests` first; root, for the agent)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup collsym
export DEBUGINFOD_URLS=
LLVM=/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1
LIBC=$(ldd "$W/inline_cpp" | awk '/libc\.so/ { print $3 }')
LIBC_BID=$(readelf -n "$LIBC" | awk '/Build ID/ { print $3 }')
LIBC_DBG=/usr/lib/debug/.build-id/${LIBC_BID:0:2}/${LIBC_BID:2}.debug

start_collector() { # STORE [FLAGS]: sets cpid, curl (the URL)
	local store=$1 p
	shift
	p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$BUILD/sonde-collector" --listen "127.0.0.1:$p" --storage "$store" --segment-max-age 1s "$@" \
		> "$out/collector-$p.log" 2>&1 &
	cpid=$!
	curl="http://127.0.0.1:$p"
	for _ in $(seq 100); do curl -sf "$curl/ready" > /dev/null && return; sleep 0.1; done
	echo "the collector did not start" >&2
	exit 1
}
metric() { curl -s "$curl/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
seconds() { python3 -c 'import subprocess, sys, time
t = time.time(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); print(f"{time.time() - t:.3f}")' "$@"; }

echo "== 1. the agent, whole node, 20 s: names on the host against names in the collector"
start_collector "$out/store-agent"
for w in "split_nofp 60 3 1 40" "split_cpp 60" "split_rust 60" "split_go 60" "sysload 60" "qsort 60" "inline_cpp 60"; do
	# shellcheck disable=SC2086
	$W/$w > /dev/null 2>&1 &
done
sleep 1
declare -A cpu rss
for mode in agent collector; do
	read -r cpu[$mode] rss[$mode] < <(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stderr=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.2f} {r.ru_maxrss / 1024:.1f}")' \
		"$BUILD/sonde-agent" --collector "$curl" --tenant "$mode" --upload-interval 5s --duration 20 \
		--symbolize "$mode")
	echo "  --symbolize $mode:     CPU ${cpu[$mode]} s over 20 s ($(awk -v c="${cpu[$mode]}" 'BEGIN { printf "%.2f", c / 20 * 100 / 2 }')% of the node's 2 CPUs), peak RSS ${rss[$mode]} MiB"
done
echo "  collector mode: $(awk -v a="${cpu[agent]}" -v c="${cpu[collector]}" 'BEGIN { printf "%.0f", (1 - c / a) * 100 }')% less agent CPU, $(awk -v a="${rss[agent]}" -v c="${rss[collector]}" 'BEGIN { printf "%.0f", (1 - c / a) * 100 }')% less peak RSS"
kill $(jobs -p | grep -v "^$cpid$") 2> /dev/null || true
sleep 2
echo "== 3. stored bytes per sample, with names (agent) and without (collector), same load"
for mode in agent collector; do
	bytes=$(du -sb "$out/store-agent/$mode" | awk '{ print $1 }')
	n=$("$BUILD/sonde" export -u "$curl" --tenant "$mode" --format folded --from now-10m |
		awk '{ s += $NF } END { print s + 0 }')
	echo "  $mode: $bytes bytes for $n samples: $(awk -v b="$bytes" -v n="$n" 'BEGIN { printf "%.2f", b / n }') bytes/sample (level-0 blocks)"
done
kill "$cpid"
wait "$cpid" 2> /dev/null || true

echo "== 2. naming a cold flame graph of a large binary in the collector"
big() { # NAME BINARY UPLOAD FRAMES
	local name=$1 bin=$2 up=$3 frames=$4 tbase tcold twarm mem disk left ns0 ns1 ns2 n0 n1 n2
	python3 tests/tools/native_frames.py otlp "$out/$name.pb" "$bin" "$(basename "$bin")" "$name" "$frames" > /dev/null
	rm -rf "$out/store-$name"
	start_collector "$out/store-$name" --no-debuginfod
	curl -sf -H "Content-Type: application/x-protobuf" --data-binary "@$out/$name.pb" "$curl/v1development/profiles" > /dev/null
	sleep 1.5
	local q=("$BUILD/sonde" export -u "$curl" --format folded --from now-10m "{service_name=\"$name\"}")
	tbase=$(seconds "${q[@]}") # no debug file yet: lookups find nothing
	"$BUILD/sonde" debuginfo upload -u "$curl" "$up" > /dev/null
	ns0=$(metric sonde_collector_symbolize_seconds_total)
	n0=$(metric 'sonde_collector_symbolized_frames_total{result="named"}')
	tcold=$(seconds "${q[@]}")
	ns1=$(metric sonde_collector_symbolize_seconds_total)
	n1=$(metric 'sonde_collector_symbolized_frames_total{result="named"}')
	twarm=$(python3 -c "print(min($(seconds "${q[@]}"), $(seconds "${q[@]}"), $(seconds "${q[@]}")))")
	ns2=$(metric sonde_collector_symbolize_seconds_total)
	n2=$(metric 'sonde_collector_symbolized_frames_total{result="named"}')
	mem=$(metric sonde_collector_symbolizer_memory_bytes)
	disk=$(metric sonde_collector_debuginfo_cache_bytes)
	left=$("${q[@]}" | grep -c "\[$(basename "$bin")+0x" || true)
	kill "$cpid"
	wait "$cpid" 2> /dev/null || true
	echo "  $name ($(basename "$up"), $(du -h "$up" | cut -f1)): a flame graph of $frames distinct frames: ${tbase}s before the upload, ${tcold}s the first query after, ${twarm}s the next ones"
	python3 -c "
cold_s, cold_n = $ns1 - $ns0, $n1 - $n0
warm_s, warm_n = $ns2 - $ns1, $n2 - $n1
print(f'    naming in the collector: {cold_n:.0f} frames in {cold_s * 1000:.0f} ms cold (fetch from the store, load, look up: {cold_n / cold_s:,.0f} frames/s), {warm_n / 3:.0f} frames in {warm_s / 3 * 1000:.1f} ms warm ({warm_n / warm_s:,.0f} frames/s)')
print(f'    kept for this binary: {$mem / 2**20:.1f} MiB of symbols in memory, {$disk / 2**20:.1f} MiB on disk; {$left} stacks left unnamed')"
}
big llvm "$LLVM" "$LLVM" 20000
big libc "$LIBC" "$LIBC_DBG" 20000

echo "== 4. ingest while debug files are uploaded: acknowledgement latency"
"$W/inline_cpp" 3 > /dev/null 2>&1 &
"$BUILD/sonde-agent" --pid $! --duration 1 --format otlp --output "$out/req.pb" 2> /dev/null
start_collector "$out/store-ingest" --segment-max-age 100ms
load() { "$BUILD/bench/otlp_load" --concurrency 2 --duration 15s --now "$curl/v1development/profiles" "$out/req.pb" |
	sed -n 's/^acknowledgement latency: /    /p'; }
echo "  no uploads:"
load
echo "  libLLVM-15 (112 MB) uploaded, removed, uploaded again, back to back:"
(
	end=$((SECONDS + 15))
	n=0
	while [ $SECONDS -lt $end ]; do
		"$BUILD/sonde" debuginfo upload -u "$curl" "$LLVM" > /dev/null
		"$BUILD/sonde" debuginfo rm -u "$curl" "$(readelf -n "$LLVM" | awk '/Build ID/ { print $3 }')" > /dev/null
		n=$((n + 1))
	done
	echo "    ($n uploads in 15 s, $((n * 112 / 15)) MB/s checked and stored)"
) &
up=$!
load
wait "$up"
kill "$cpid"
