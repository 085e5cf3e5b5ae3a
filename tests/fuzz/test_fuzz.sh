#!/bin/bash
# Runs every fuzz target for FUZZ_SECONDS (default 20) each, from a seed corpus of real files,
# and fails on the first crash, leak or sanitizer report (undefined behaviour included: the
# targets are built with -fno-sanitize-recover=all). Crashing inputs are kept in
# $ARTIFACTS/<target>/ for reproduction (build/fuzz/fuzz_<target> FILE); once fixed, add them
# to tests/fuzz/regressions/<target>-NAME so every run replays them.
# The long run (make fuzz-long) sets FUZZ_RUNS (executions per target, instead of a time),
# FUZZ_MAX_SECONDS (a cap on each target's time), FUZZ_ONLY (targets, space-separated) and
# FUZZ_JOBS (targets run at once), and each target's executions and executions per second are
# printed.
. "$(dirname "$0")/../lib.sh"
secs=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:-}
only=${FUZZ_ONLY:-}
if [ -n "$runs" ]; then
	budget=(-runs="$runs")
	[ -n "${FUZZ_MAX_SECONDS:-}" ] && budget+=(-max_total_time="$FUZZ_MAX_SECONDS")
else
	budget=(-max_total_time="$secs")
fi
FUZZ=$BUILD/fuzz
[ -x "$FUZZ/fuzz_elf" ] || skip "fuzz targets not built (make tests builds them with clang)"

seed() {
	local dir=$1
	shift
	mkdir -p "$dir"
	for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(basename "$f").seed"; done
}
corpus=$ARTIFACTS/corpus
# real ELF files, small to large: executables, libraries, a debug file. Not a Go binary: the
# smallest is over 1 MiB, past -max_len, and cut short it has no section headers, so it only
# slowed every execution; Go's tables are fuzzed by fuzz_gopclntab
seed "$corpus/elf" "$WL/inline" "$WL/inline.debug" "$WL/inline_stripped" "$WL/split" "$WL/libhot.so" \
	/usr/lib/x86_64-linux-gnu/libz.so.1
# CFI: the .eh_frame sections of those files, with the layout byte in front
for f in "$WL/inline" "$WL/split_nofp" "$WL/libhot.so"; do
	objcopy -O binary --only-section=.eh_frame "$f" "$ARTIFACTS/eh" 2>/dev/null || continue
	mkdir -p "$corpus/cfi"
	{ printf '\001'; cat "$ARTIFACTS/eh"; } > "$corpus/cfi/$(basename "$f").seed"
done
# uploads of debug files: as sent (gzip), plain, and with compressed sections
seed "$corpus/debuginfo" "$WL/inline.debug" "$WL/inline_cpp.debug" "$WL/inline_cpp"
gzip -c "$WL/inline_cpp.debug" > "$corpus/debuginfo/inline_cpp.debug.gz.seed"
objcopy --compress-debug-sections=zlib "$WL/inline.debug" "$corpus/debuginfo/inline.zdebug.seed" 2>/dev/null || true
mkdir -p "$corpus/gopclntab"
objcopy -O binary --only-section=.gopclntab "$WL/split_go_stripped" "$corpus/gopclntab/go.seed" 2>/dev/null || true

# OTLP requests as the agent sends them (gzipped too), and the blocks the collector makes of them
mkdir -p "$corpus/otlp" "$corpus/block" "$corpus/pprof"
bg "$WL/split_nofp" 3 3 1 40
wl=$BG_PID
sleep 0.2
if "$AGENT" --pid "$wl" --duration 1 --format otlp --output "$corpus/otlp/agent.seed" 2> "$ARTIFACTS/agent.log"; then
	gzip -c "$corpus/otlp/agent.seed" > "$corpus/otlp/agent-gz.seed"
	"$SONDE" import "$ARTIFACTS/store" "$corpus/otlp/agent.seed" > /dev/null
	find "$ARTIFACTS/store" -name '*.block' -exec cp {} "$corpus/block/agent.seed" \;
	# and the pprof export of them (gzipped and not)
	"$SONDE" export "$ARTIFACTS/store" --service split_nofp --format pprof \
		--output "$corpus/pprof/export.seed" > /dev/null 2>&1 &&
		gzip -dc "$corpus/pprof/export.seed" > "$corpus/pprof/export-raw.seed"
else
	log "no agent seed (the agent could not run): the targets start from nothing"
fi
kill "$wl" 2> /dev/null || true
wait "$wl" 2> /dev/null || true # reaped here, so that the wait -n below sees only fuzz targets
# what the Pyroscope clients send: the first byte picks the door (fuzz_pyro.c)
mkdir -p "$corpus/pyro"
for f in "$corpus"/pprof/*.seed; do
	[ -f "$f" ] && { printf '\002'; cat "$f"; } > "$corpus/pyro/ingest-$(basename "$f")"
done
printf '\004app.cpu{env=fuzz,team=a}\nmain;a;hot 30\nmain;b 10\n' > "$corpus/pyro/folded.seed"
printf '\005{"profileTypeID":"process_cpu:cpu:nanoseconds:cpu:nanoseconds","labelSelector":"{a=\\"b\\"}","start":"1","end":2,"groupBy":["x"],"step":15.5,"aggregation":"TIME_SERIES_AGGREGATION_TYPE_AVERAGE"}' \
	> "$corpus/pyro/query.seed"
printf '\001{"series":[{"labels":[{"name":"service_name","value":"s"}],"samples":[{"rawProfile":"AAEC"}]}]}' \
	> "$corpus/pyro/push-json.seed"
{ printf '\003--XyZ\r\nContent-Disposition: form-data; name="profile"; filename="p"\r\n\r\n'
	cat "$corpus/pprof/export-raw.seed" 2> /dev/null || true
	printf '\r\n--XyZ--\r\n'; } > "$corpus/pyro/multipart.seed"

# selectors as people write them
mkdir -p "$corpus/selector"
printf '{service_name="api", k8s_namespace_name=~"prod-.*"}' > "$corpus/selector/a.seed"
printf "{a!='x', b!~\"(x|y)+\"}" > "$corpus/selector/b.seed"

# the API server's answers: a pod list and watch events in its JSON, as the pod test serves them
mkdir -p "$corpus/k8s"
python3 - "$corpus/k8s" <<'PY'
import json, os, sys
def pod(uid, name, kind, owner, labels):
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": "5",
            "labels": labels, "annotations": {"resource.opentelemetry.io/service.name": "svc"},
            "ownerReferences": [{"kind": kind, "name": owner, "controller": True}]},
            "spec": {"nodeName": "node-1"},
            "status": {"containerStatuses": [{"name": "c", "containerID": "containerd://" + "ab" * 32}]}}
a = pod("0a0a0a0a-0000-4000-8000-00000000000a", "web-5f7b9c4d8-k2x9q", "ReplicaSet", "web-5f7b9c4d8",
        {"pod-template-hash": "5f7b9c4d8", "app.kubernetes.io/name": "w\u00e9b"})
b = pod("0b0b0b0b-0000-4000-8000-00000000000b", "backup-28923840-x", "Job", "backup-28923840", {})
lst = {"kind": "PodList", "metadata": {"resourceVersion": "9"}, "items": [a, b]}
open(os.path.join(sys.argv[1], "list.seed"), "w").write(json.dumps(lst))
ev = [{"type": "ADDED", "object": a}, {"type": "MODIFIED", "object": b}, {"type": "DELETED", "object": a},
      {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
      {"type": "ERROR", "object": {"kind": "Status", "code": 410}}]
open(os.path.join(sys.argv[1], "events.seed"), "w").write("\n".join(json.dumps(e) for e in ev))
PY

# one target: its regression inputs into the corpus, then libFuzzer; 1 on a problem found
run_target() {
	local target=$1 out=$ARTIFACTS/$1 n t t0
	mkdir -p "$out" "$corpus/$target"
	# inputs that once found a bug are replayed every time
	for r in tests/fuzz/regressions/"$target"-*; do [ -f "$r" ] && cp "$r" "$corpus/$target/"; done
	log "fuzzing $target (${budget[*]})"
	t0=$(date +%s.%N)
	if ! "$FUZZ/fuzz_$target" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -print_funcs=0 \
		-max_len=1048576 -artifact_prefix="$out/" "$corpus/$target" > "$out/log" 2>&1; then
		echo "[fuzz] FAIL: fuzz_$target found a problem:" >&2
		{ grep -E "ERROR|SUMMARY|runtime error|crash-|leak-|timeout-" "$out/log" || tail -n 5 "$out/log"; } | head -20 >&2
		return 1
	fi
	n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/log" | awk '{ print $2 }')
	t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
	log "ok: fuzz_$target: $n execs in ${t}s ($(awk -v n="$n" -v t="$t" 'BEGIN { r = (t > 0) ? n / t : n; printf "%.0f", r }') execs/s), no problem"
}

# FUZZ_JOBS targets at once (default 1). The slowest per execution go first, so that with
# several jobs the long ones overlap the short ones.
jobs=${FUZZ_JOBS:-1}
status=0
running=0
for target in gopclntab otlp elf debuginfo pyro k8s cfi block pprof selector; do
	[ -n "$only" ] && [[ " $only " != *" $target "* ]] && continue
	if [ "$running" -ge "$jobs" ]; then
		wait -n || status=1
		running=$((running - 1))
	fi
	{ run_target "$target" || exit 1; } & # (run_target's own failures are its return, as before)
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
	wait -n || status=1
	running=$((running - 1))
done
exit $status
