#!/bin/bash
# Figures for the collector (issue 6):
#  1. storage: the agent profiles this whole machine (plus a mixed C/C++/Rust/Go load) into a
#     collector for DURATION seconds; stored bytes per sample, L0 and after compaction, against
#     the gzipped OTLP the agent sent, and which part of a block holds what;
#  2. ingest: a whole-node request replayed at several concurrencies, as one service per node
#     and as a new service every request (the worst case for deduplication): requests/s,
#     samples/s, MB/s, samples per collector CPU-second, acknowledgement latency, peak RSS.
# usage: bench/collector.sh [DURATION_SECONDS]   (root; `make` first; 600 for the 10 min figure)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-120}
BUILD=${BUILD:-build}
W=$BUILD/workloads
out=$(mktemp -d /tmp/sonde-bench-collector.XXXXXX)
trap 'kill $(jobs -p) 2> /dev/null || true; wait 2> /dev/null; rm -rf "$out"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
url=http://127.0.0.1:$port

# collector_cpu PID: user+system CPU seconds so far
collector_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
# the load generator is one address with up to 128 connections: no per-client limit here
start_collector() {
	"$BUILD/sonde-collector" --listen "127.0.0.1:$port" --storage "$1" --log-level warn \
		--max-connections-per-client 0 "${@:2}" &
	coll=$!
	for _ in $(seq 100); do curl -sf -o /dev/null "$url/ready" && return 0; sleep 0.1; done
	echo "collector bench: the collector did not start" >&2
	exit 1
}

for w in "split_nofp $((D + 60)) 3 1 40" "split_cpp $((D + 60))" "split_rust $((D + 60))" "split_go $((D + 60))" \
	"sysload $((D + 60))" "qsort $((D + 60))"; do
	# shellcheck disable=SC2086
	$W/$w > /dev/null 2>&1 &
done
sleep 1

# 1. storage
start_collector "$out/store"
"$BUILD/sonde-agent" --collector "$url" --upload-interval 10s --duration "$D" --log-level info \
	2> "$out/agent.log" > /dev/null
bytes_sent=$(sed -n 's/.* bytes_sent=\([0-9]*\) .*/\1/p' "$out/agent.log")
cpu_storage=$(collector_cpu "$coll")
kill -TERM "$coll"
wait "$coll"
"$BUILD/sonde" inspect --json "$out/store" > "$out/l0.json"
# each level's resolution, the whole capture in one block: 1 ms (level 1), 1 s (2), 10 s (3);
# then the collector's default levels
for r in 1ms 1s 10s; do
	cp -a "$out/store" "$out/store-$r"
	"$BUILD/sonde" compact --force --deletion-grace 0 --compaction-levels "1d:$r" "$out/store-$r" > /dev/null
	"$BUILD/sonde" inspect --json "$out/store-$r" > "$out/level-$r.json"
done
"$BUILD/sonde" compact --force --deletion-grace 0 "$out/store" > /dev/null
"$BUILD/sonde" inspect --json "$out/store" > "$out/compacted.json"

# 2. ingest: one whole-node request, replayed
"$BUILD/sonde-agent" --duration 10 --format otlp --output "$out/node.pb" 2> /dev/null
: > "$out/ingest.txt"
for mode in same unique; do
	for c in 1 16 128; do
		rm -rf "$out/store2"
		start_collector "$out/store2"
		cpu0=$(collector_cpu "$coll")
		extra=()
		[ "$mode" = unique ] && extra=(--unique-services svc)
		"$BUILD/bench/otlp_load" --concurrency "$c" --duration 10s "${extra[@]}" "$url/v1development/profiles" \
			"$out/node.pb" > "$out/load.txt"
		cpu1=$(collector_cpu "$coll")
		rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$coll/status")
		kill -TERM "$coll"
		wait "$coll"
		echo "$mode $c $cpu0 $cpu1 $rss $(tr '\n' '|' < "$out/load.txt")" >> "$out/ingest.txt"
	done
done

python3 - "$out" "$D" "$bytes_sent" "$cpu_storage" <<'PY'
import collections, json, re, sys
d, dur, sent, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])


def summary(path):
    j = json.load(open(f"{d}/{path}"))
    size = samples = blocks = 0
    sections = collections.Counter()
    services = set()
    for t in j["tenants"]:
        for b in t["blocks"]:
            if not b["visible"]:
                continue
            blocks += 1
            size += b["size"]
            for s in b["services"]:
                samples += s["total"]  # the sum of the values: samples (rows merge at coarser resolutions)
                services.add(s["name"])
                sections.update(s["bytes"])
    return size, samples, blocks, sections, len(services)


l0, samples, nl0, _, nsvc = summary("l0.json")
comp, samples2, nc, sections, _ = summary("compacted.json")
assert samples == samples2, (samples, samples2)
print(f"storage: {dur} s of this whole machine, {samples} samples of {nsvc} services, gzipped OTLP sent {sent} bytes "
      f"({sent / samples:.1f} B/sample)")
print(f"  as written (L0): {nl0} blocks, {l0} bytes, {l0 / samples:.2f} B/sample, {sent / l0:.1f}x smaller than the OTLP")
print(f"  compacted (default levels): {nc} block(s), {comp} bytes, {comp / samples:.2f} B/sample, {sent / comp:.1f}x smaller than the OTLP")
for r, level in (("1ms", 1), ("1s", 2), ("10s", 3)):
    size, n, nb, _, _ = summary(f"level-{r}.json")
    rows = sum(s["samples"] for t in json.load(open(f"{d}/level-{r}.json"))["tenants"] for b in t["blocks"]
               for s in b["services"] if b["visible"])
    print(f"  at level {level}'s resolution ({r}): {nb} block, {size} bytes, {size / samples:.2f} B/sample "
          f"({rows} rows after samples of a series and stack within {r} are summed)")
total = sum(sections.values())
groups = {"symbols (strings, mappings, functions, locations)": ["strings", "mappings", "functions", "locations"],
          "stacks": ["stacks"], "series (labels)": ["series"],
          "samples (series, time, stack, value columns)": ["col_series", "col_time", "col_stack", "col_value"]}
print("  where the compacted bytes go (sections, compressed): " +
      ", ".join(f"{g} {sum(sections[s] for s in ss) * 100 / total:.0f}%" for g, ss in groups.items()))
print(f"  collector CPU while storing: {cpu:.2f} s for {dur} s ({cpu / dur * 100:.2f}% of a CPU)")
print("ingest: a whole-node request replayed for 10 s (same: one service per node; unique: a new service every request)")
for line in open(f"{d}/ingest.txt"):
    mode, conc, c0, c1, rss, load = line.split(" ", 5)
    cpu = float(c1) - float(c0)
    m = re.search(r"requests: (\d+) acknowledged, (\d+) failed.*?throughput: ([\d.]+) requests/s, ([\d.]+) MB/s on the wire "
                  r"\(gzip\), ([\d.]+) MB/s of OTLP, (\d+) samples/s.*?p50 ([\d.]+) ms, p90 ([\d.]+) ms, p99 ([\d.]+) ms", load)
    ok, failed, rps, mbz, mb, sps, p50, p90, p99 = m.groups()
    per_cpu = float(sps) * 10 / cpu if cpu else 0
    print(f"  {mode:6} x{conc:>3}: {float(rps):7.1f} req/s, {float(mbz):5.2f} MB/s gzip ({float(mb):5.2f} MB/s OTLP), "
          f"{int(sps):8d} samples/s, {per_cpu / 1e6:.2f} M samples per collector CPU-second, "
          f"ack p50/p99 {p50}/{p99} ms, failed {failed}, peak RSS {int(rss) / 1024:.0f} MiB")
PY
