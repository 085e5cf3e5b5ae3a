#!/bin/bash
# Figures for OTLP export (issue 5), for whole-node intervals of this machine under a mixed load
# (C, C++, Rust, Go, a system-call-heavy process, plus whatever else runs):
#  - bytes per profile and per sample on the wire (gzipped), and the compression ratio;
#  - CPU spent naming frames, encoding, compressing and sending per interval;
#  - bytes per sample against perf.data of `perf record -a -g` (fp and dwarf) on the same load.
# usage: bench/otlp.sh [INTERVAL_SECONDS [INTERVALS]]   (root; `make tests` first)
set -euo pipefail
cd "$(dirname "$0")/.."
I=${1:-10}
N=${2:-3}
BUILD=${BUILD:-build}
W=$BUILD/workloads
out=$(mktemp -d /tmp/sonde-bench-otlp.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 tests/tools/otlp_receiver.py --port "$port" --dir "$out/rx" > "$out/rx.log" 2>&1 &
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
T=$((I * (N + 3) + 10))
for w in "split_nofp $T 3 1 40" "split_cpp $T" "split_rust $T" "split_go $T" "sysload $T" "qsort $T"; do
	$W/$w > /dev/null 2>&1 &
done
sleep 1
"$BUILD/sonde-agent" --collector "http://127.0.0.1:$port" --upload-interval "${I}s" \
	--metrics-addr "127.0.0.1:$mport" --log-level warn &
agent=$!
# the metrics after the first interval (cold: symbols load) and after N more (steady state)
sent=0
for _ in $(seq $((I * (N + 1) * 2 + 60))); do
	sleep 0.5
	curl -s "http://127.0.0.1:$mport/metrics" > "$out/metrics.txt" || continue
	sent=$(awk '$1 == "sonde_agent_requests_sent_total" { print $2 }' "$out/metrics.txt")
	[ "${sent:-0}" -ge 1 ] && [ ! -e "$out/metrics1.txt" ] && cp "$out/metrics.txt" "$out/metrics1.txt"
	[ "${sent:-0}" -ge $((N + 1)) ] && break
done
kill -TERM "$agent"
wait "$agent" || true
[ "${sent:-0}" -ge $((N + 1)) ] || { echo "otlp bench: only ${sent:-0} of $((N + 1)) requests were sent" >&2; exit 1; }
# the peer, on the same load: perf.data of one interval, frame pointers and DWARF (what
# frame-pointer-less code needs), unsymbolized like an agent's raw output
for mode in fp dwarf; do
	perf record -q -a -F 100 --call-graph "$mode" -o "$out/perf-$mode.data" -- sleep "$I" > /dev/null 2>&1 || true
	n=$(perf report -D -i "$out/perf-$mode.data" 2> /dev/null | grep -c 'PERF_RECORD_SAMPLE(' || true)
	echo "$mode $(stat -c %s "$out/perf-$mode.data" 2> /dev/null || echo 0) ${n:-0}" >> "$out/perf.txt"
done
python3 - "$out" "$I" <<'PY'
import glob, json, subprocess, sys
d, interval = sys.argv[1], int(sys.argv[2])


def metrics(path):
    m = {}
    for line in open(path):
        if not line.startswith("#") and line.strip():
            k, v = line.rsplit(" ", 1)
            m[k] = float(v)
    return m


def step_cpu(m):
    def g(step):
        return m.get(f'sonde_agent_encode_cpu_seconds_total{{step="{step}"}}', 0)
    return [g("name_frames"), g("encode"), g("gzip"), m.get("sonde_agent_export_cpu_seconds_total", 0)]


m1, m = metrics(f"{d}/metrics1.txt"), metrics(f"{d}/metrics.txt")
n1, n = int(m1["sonde_agent_requests_sent_total"]), int(m["sonde_agent_requests_sent_total"])
reqs = [json.loads(l) for l in open(f"{d}/rx/requests.jsonl")]
files = sorted(glob.glob(f"{d}/rx/*.pb"))


def figures(lo, hi, cpu):
    wire = sum(r["bytes"] for r in reqs[lo:hi])
    fs = files[lo:hi]
    raw = sum(len(open(f, "rb").read()) for f in fs)
    samples = int(subprocess.run(["python3", "tests/tools/otlp.py", "count"] + fs,
                                 capture_output=True, text=True).stdout.split()[-1])
    profiles = sum(len(json.loads(subprocess.run(["python3", "tests/tools/otlp.py", "attrs", f],
                                                 capture_output=True, text=True).stdout)["resources"])
                   for f in fs)
    k = hi - lo
    name, enc, gz, send = (c / k * 1000 for c in cpu)
    print(f"  {k} request(s): {samples / k:.0f} samples and {profiles / k:.1f} profiles (processes) per interval")
    print(f"  on the wire (gzip): {wire / k / 1024:.1f} KiB per request, {wire / profiles:.0f} bytes per profile, "
          f"{wire / samples:.1f} bytes per sample; uncompressed {raw / samples:.1f} bytes per sample (gzip {raw / wire:.1f}x)")
    print(f"  CPU per interval: naming frames {name:.2f} ms, encoding {enc:.2f} ms, gzip {gz:.2f} ms, "
          f"sending {send:.2f} ms ({(name + enc + gz + send) * 1000 / (samples / k):.2f} us per sample)")
    return wire / samples


print(f"OTLP export of {interval} s whole-node intervals (this machine plus C, C++, Rust, Go, syscall and qsort workloads)")
print("first interval (cold: symbol tables load):")
figures(0, n1, step_cpu(m1))
print("steady state:")
steady = figures(n1, n, [b - a for a, b in zip(step_cpu(m1), step_cpu(m))])
for line in open(f"{d}/perf.txt"):
    mode, size, count = line.split()
    if int(count):
        per = int(size) / int(count)
        print(f"perf record -a --call-graph {mode} on the same load: {per:.0f} bytes per sample in perf.data "
              f"({per / steady:.0f}x Sonde's OTLP on the wire)")
PY
