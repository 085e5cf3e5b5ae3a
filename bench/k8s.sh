#!/bin/bash
# Figures for pod metadata (issue 8): applying a node's pod list and watch events, and looking
# up a process's pod, against Python's json module (C-accelerated) parsing the same list into
# objects, as a reference for parsing speed.
# usage: bench/k8s.sh [PODS...]   (`make tests` first; default 110 and 1000 pods)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$(mktemp -d /tmp/sonde-bench-k8s.XXXXXX)
trap 'rm -rf "$out"' EXIT
[ $# -gt 0 ] || set -- 110 1000
for n in "$@"; do
	echo "== $n pods"
	"$BUILD/bench/k8s_bench" "$n" "$out/list.json"
	python3 - "$out/list.json" <<'PY'
import json, sys, time
data = open(sys.argv[1], "rb").read()
rounds = max(1, 200000 // len(json.loads(data)["items"]))
t = time.perf_counter()
for _ in range(rounds):
    json.loads(data)
dt = (time.perf_counter() - t) / rounds
print(f"reference: python json.loads {dt * 1e3:.3f} ms ({len(data) / dt / 1e6:.0f} MB/s)")
PY
done
