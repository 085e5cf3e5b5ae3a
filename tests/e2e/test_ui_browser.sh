#!/bin/bash
# The web UI in a real browser (Debian's chromium, headless, driven by playwright-core) against
# a collector holding two runs of the split workload (3:1, then 1:3): the flame graph renders
# the known hot functions at the known widths, clicking zooms, search highlights, the top
# table sorts, dragging on the chart narrows the range, the diff view colours the change, and
# the type picker switches between the CPU samples and a memory profile (units in bytes).
# Screenshots are left in the test's artifacts.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd node
[ -x /usr/bin/chromium ] || skip "needs Debian's chromium"
[ -d tests/node_modules/playwright-core ] || skip "needs playwright-core (make deps)"

start_collector "$ARTIFACTS/store" --segment-max-age 200ms
run() {
	bg "$WL/split" $(($1 + 2)) "$2" "$3"
	local wl=$BG_PID
	sleep 0.3
	"$AGENT" --pid "$wl" --collector "$COLL_URL" --upload-interval 1s --duration "$1" 2> "$ARTIFACTS/agent.log" ||
		fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
	kill "$wl" 2> /dev/null || true
}
t0=$(date +%s)
run 4 3 1
t1=$(($(date +%s) + 1))
sleep 1.5
run 4 1 3
t2=$(($(date +%s) + 1))
# a memory profile of the same service in run A's range, for the type picker: 3 MiB in retain
code=$(curl -s -o "$ARTIFACTS/ingest.out" -w '%{http_code}' --data-binary 'main;retain 3145728' \
	"$COLL_URL/ingest?name=split.inuse_space&from=$((t0 + 1))&until=$((t0 + 1))")
[ "$code" = 200 ] || fail "/ingest of the memory profile: $code $(cat "$ARTIFACTS/ingest.out")"
sleep 0.5
NODE_PATH=tests/node_modules timeout 120 node tests/tools/ui_test.js "$COLL_URL" "$t0" "$t1" "$t2" "$(realpath "$ARTIFACTS")" ||
	fail "the browser checks failed"
for f in ui-flamegraph.png ui-search.png ui-diff.png ui-types.png; do
	[ -s "$ARTIFACTS/$f" ] || fail "no screenshot $f"
done
log "ok: screenshots in $ARTIFACTS"
stop_collector
