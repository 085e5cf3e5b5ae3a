#!/bin/bash
# kill -9 of the collector in the middle of ingest, then a restart:
#  - every request it acknowledged is readable, whole (each request carries its own service
#    name, so the storage can be checked request by request);
#  - requests it did not acknowledge are either absent or whole, never partial;
#  - no reader sees a partial or corrupt block: sonde inspect reads and checks every section;
#  - what the crash left half-written is cleaned up on restart, and never listed;
#  - a SIGTERM under load stores and answers what it took in, and exits 0.
. "$(dirname "$0")/../lib.sh"
need_root

# requests as the agent sends them, to replay
bg "$WL/split" 10 3 1
wl=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl" --duration 1 --format otlp --output "$ARTIFACTS/req.pb" 2> "$ARTIFACTS/agent.log" ||
	fail "agent failed: $(tail -3 "$ARTIFACTS/agent.log")"

store=$ARTIFACTS/store
COLL_PORT_WANTED=$(free_port)
start_collector "$store" --segment-max-age 100ms --compact-interval 200ms --block-duration 2s --compact-delay 0s
BG_LOG=$ARTIFACTS/load1.log bg "$BUILD/bench/otlp_load" --concurrency 32 --duration 6s --unique-services req \
	--acked "$ARTIFACTS/acked.txt" "$COLL_URL/v1development/profiles" "$ARTIFACTS/req.pb"
load=$BG_PID
sleep 2.5
kill -KILL "$COLL_PID"
wait "$COLL_PID" 2> /dev/null || true
log "collector killed with SIGKILL during ingest ($(wc -l < "$ARTIFACTS/acked.txt") requests acknowledged so far)"
tmp_left=$(find "$store/.tmp" -type f 2> /dev/null | wc -l)
# a kill can land between write and rename; plant such a half-written block so the cleanup
# is checked even when this kill happened to land elsewhere
mkdir -p "$store/.tmp"
head -c 3000 /dev/urandom > "$store/.tmp/planted-half-written.block"
tmp_left=$((tmp_left + 1))
sleep 0.5
start_collector "$store" --segment-max-age 100ms
tmp_after=$(find "$store/.tmp" -type f 2> /dev/null | wc -l)
log "temporary files: $tmp_left left by the crash, $tmp_after after the restart"
check '[ "$tmp_after" = 0 ]' "the restart removed what the crash left half-written"
# and a clean stop under the same load: what it acknowledged is stored, it exits 0
sleep 1
acked_before_stop=$(wc -l < "$ARTIFACTS/acked.txt")
stop_collector
wait "$load"
log "$(head -1 "$ARTIFACTS/load1.log")"
log "SIGTERM under load: exit 0 ($acked_before_stop requests acknowledged before it)"
grep -q 'answers were not sent' "$ARTIFACTS/collector.log" && fail "the stop cut answers off"

"$SONDE" inspect --json "$store" > "$ARTIFACTS/inspect.json" 2> "$ARTIFACTS/inspect.err" ||
	fail "inspect found a corrupt or partial block: $(cat "$ARTIFACTS/inspect.err")"
log "ok: inspect reads and checks every section of every block"
python3 - "$ARTIFACTS/inspect.json" "$ARTIFACTS/acked.txt" <<'PY' || fail "acknowledged data is missing or partial"
import collections, json, sys
d = json.load(open(sys.argv[1]))
stored = collections.Counter()
for t in d["tenants"]:
    for b in t["blocks"]:
        if b["visible"]:
            for s in b["services"]:
                stored[s["name"]] += s["total"]
acked = {}
for line in open(sys.argv[2]):
    name, n = line.split()
    acked[name] = int(n)
per_request = next(iter(acked.values()))
missing = [n for n in acked if stored[n] != acked[n]]
partial = [n for n in stored if stored[n] != per_request]
extra = [n for n in stored if n not in acked]
print(f"{len(acked)} requests acknowledged, {len(stored)} stored ({len(extra)} stored but not acknowledged); "
      f"{per_request} samples each")
assert not missing, f"acknowledged but not stored whole: {missing[:5]}"
assert not partial, f"stored partially: {partial[:5]}"
PY
log "ok: every acknowledged request is stored whole; nothing is stored in part"
