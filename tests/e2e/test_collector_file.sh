#!/bin/bash
# Agent -> collector -> file storage, for a workload with a known split:
#  - the folded export from storage equals what the agent itself recorded (same stacks, same
#    counts), and shows the split;
#  - the pprof export decodes with an independent decoder (pprof-format) to the same stacks;
#  - sonde inspect reads and checks every block; /metrics counts what was acknowledged;
#  - a second collector, or a compaction, on a storage in use is refused; compaction merges
#    the blocks and the export stays the same; restart keeps everything.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd node

store=$ARTIFACTS/store
start_collector "$store" --segment-max-age 300ms
bg "$WL/split" 30 3 1
wl=$BG_PID
sleep 0.3
sampled "$wl" "$ARTIFACTS/agent.log" "$AGENT" --pid "$wl" --collector "$COLL_URL" \
	--upload-interval 1s --duration 5 --output "$ARTIFACTS/agent.folded" || fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
sent=$(sed -n 's/.* requests_sent=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
dropped=$(sed -n 's/.* dropped_requests=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
check '[ "$sent" -ge 4 ] && [ "$dropped" = 0 ]' "the agent's requests were acknowledged ($sent sent, $dropped dropped)"

# what the storage gives back is what the agent recorded
"$SONDE" export "$store" --service split > "$ARTIFACTS/export.folded" || fail "export failed"
if ! diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/export.folded" > "$ARTIFACTS/diff.txt"; then
	head -20 "$ARTIFACTS/diff.txt" >&2
	fail "the export differs from what the agent recorded"
fi
total=$(folded_sum "$ARTIFACTS/export.folded" '^split;')
a=$(folded_sum "$ARTIFACTS/export.folded" ';hot_a(;|$)')
b=$(folded_sum "$ARTIFACTS/export.folded" ';hot_b(;|$)')
share=$(ratio "$a" "$((a + b))")
log "export: $total samples in $(wc -l < "$ARTIFACTS/export.folded") stacks, hot_a share $share"
check 'enough_samples "$total" "$TICKS"' "the export has the run's samples ($total for $TICKS ticks)"
log "ok: the folded export equals the agent's own record, stack for stack and count for count"
# storage is checked exactly above; the split only shows what was stored is the workload's. Its
# window is wider than the sampler tests' (0.70..0.80): 5 s of one workload on this shared VM
# once gave 0.68 (hypervisor steal lands on whichever function runs), with the diff still equal
check 'float_between "$share" 0.65 0.85' "the known split from storage ($share)"

# pprof, through an independent decoder
"$SONDE" export "$store" --service split --format pprof -o "$ARTIFACTS/split.pb.gz" || fail "pprof export failed"
node tests/tools/pprof_folded.js "$ARTIFACTS/split.pb.gz" > "$ARTIFACTS/pprof.txt" || fail "pprof-format cannot decode the export"
head -1 "$ARTIFACTS/pprof.txt" > "$ARTIFACTS/pprof.json"
tail -n +2 "$ARTIFACTS/pprof.txt" > "$ARTIFACTS/pprof.folded"
python3 - "$ARTIFACTS/pprof.json" "$total" <<'PY' || fail "pprof summary: $(cat "$ARTIFACTS/pprof.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["sampleTypes"] == ["samples/count", "cpu/nanoseconds"], s
assert s["periodType"] == "cpu/nanoseconds" and s["period"] == 10000000, s
assert s["total"] == int(sys.argv[2]), (s["total"], sys.argv[2])
PY
diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/pprof.folded" > "$ARTIFACTS/pprof-diff.txt" ||
	fail "pprof stacks differ from the agent's: $(head -5 "$ARTIFACTS/pprof-diff.txt")"
log "ok: pprof-format decodes the pprof export to the same stacks and counts"

# time ranges: nothing before the run, everything in it
"$SONDE" export "$store" --service split --to "$(($(date +%s) - 3600))" > /dev/null 2> "$ARTIFACTS/empty.err" && fail "an empty range should exit 1"
check 'grep -q "no samples" "$ARTIFACTS/empty.err"' "an empty time range says so (exit 1)"
"$SONDE" export "$store" --service nosuch > /dev/null 2>&1 && fail "an unknown service should exit 1"
"$SONDE" export "$store" > /dev/null 2>&1 && fail "export without --service should be refused"

# inspect
"$SONDE" inspect "$store" > "$ARTIFACTS/inspect.txt" || fail "inspect found a problem: $(tail -3 "$ARTIFACTS/inspect.txt")"
check 'grep -q "service split:" "$ARTIFACTS/inspect.txt"' "inspect lists the service"
check 'grep -q "every section of every block read and checked" "$ARTIFACTS/inspect.txt"' "inspect checks every block"
"$SONDE" inspect --json "$store" > "$ARTIFACTS/inspect.json"
python3 - "$ARTIFACTS/inspect.json" "$total" <<'PY' || fail "inspect --json"
import json, sys
d = json.load(open(sys.argv[1]))
samples = sum(s["total"] for t in d["tenants"] for b in t["blocks"] if b["visible"] for s in b["services"] if s["name"] == "split")
assert samples == int(sys.argv[2]), (samples, sys.argv[2])
assert d["tenants"][0]["name"] == "anonymous"
PY
log "ok: inspect --json counts the same samples"

# metrics
curl -s "$COLL_URL/metrics" > "$ARTIFACTS/metrics.txt"
python3 tests/tools/promcheck.py "$ARTIFACTS/metrics.txt" > /dev/null || fail "/metrics is not valid Prometheus text"
acked=$(awk '$1 == "sonde_collector_acknowledged_requests_total" { print $2 }' "$ARTIFACTS/metrics.txt")
check '[ "$acked" = "$sent" ]' "/metrics: every request acknowledged ($acked)"

# one writer per storage directory
"$COLLECTOR" --listen "127.0.0.1:$(free_port)" --storage "$store" 2> "$ARTIFACTS/second.log" &&
	fail "a second collector on the same storage should be refused"
check 'grep -q "another collector" "$ARTIFACTS/second.log"' "a second collector on the same directory is refused"
"$SONDE" compact --force "$store" > "$ARTIFACTS/compact-busy.txt" 2>&1 && fail "compact should be refused while a collector runs"
log "ok: compaction by hand is refused while the collector owns the storage"
stop_collector
log "ok: the collector stops cleanly on SIGTERM"

# compaction: fewer blocks, the same profile
before=$(find "$store" -name '*.block' | wc -l)
"$SONDE" compact --force "$store" > "$ARTIFACTS/compact.txt" || fail "compaction failed: $(cat "$ARTIFACTS/compact.txt")"
after=$(find "$store" -name '*.block' | wc -l)
log "compaction: $before blocks -> $after ($(cat "$ARTIFACTS/compact.txt"))"
check '[ "$before" -ge 3 ] && [ "$after" = 1 ]' "the blocks of the window are merged into one"
"$SONDE" export "$store" --service split > "$ARTIFACTS/compacted.folded"
diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/compacted.folded" > /dev/null || fail "the compacted export differs"
"$SONDE" inspect "$store" > "$ARTIFACTS/inspect2.txt" || fail "inspect after compaction"
bytes_before=$(awk '/^total:/ { print $6 }' "$ARTIFACTS/inspect.txt")
bytes_after=$(awk '/^total:/ { print $6 }' "$ARTIFACTS/inspect2.txt")
log "stored bytes: $bytes_before before compaction, $bytes_after after"
check '[ "$bytes_after" -lt "$bytes_before" ]' "compaction stores the same samples in fewer bytes"

# restart: the data is there, and the collector serves on
start_collector "$store"
"$SONDE" export "$store" --service split > "$ARTIFACTS/restart.folded"
diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/restart.folded" > /dev/null || fail "data changed over a restart"
stop_collector
log "ok: a restart keeps everything"
