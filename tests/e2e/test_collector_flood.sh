#!/bin/bash
# One client cannot stall the collector by holding connections (issue 14, defect 1):
#  - 1,100 sockets from one address (127.0.0.2), each sending a partial request head and one
#    more header line every 2 s: that address gets --max-connections-per-client of them, those
#    are cut at --header-timeout, and OTLP requests from another address (127.0.0.1) keep being
#    acknowledged, every one;
#  - the same flood spread over eleven addresses, each under the per-client limit, fills the
#    total limit: connections waiting over a second for a head are cut while 7/8 of the limit
#    is in use, and new connections of a real client get in and are acknowledged;
#  - a body sent slowly is cut near --body-timeout.
# Before, the 30 s idle timeout restarted at each byte and nothing limited one address: every
# POST timed out while the flood ran, and no flood connection was ever cut.
. "$(dirname "$0")/../lib.sh"
need_root

flood() { python3 tests/tools/slow_flood.py "$@"; }
metric() { curl -s "$COLL_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

bg "$WL/split" 10 3 1
wl=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl" --duration 1 --format otlp --output "$ARTIFACTS/req.pb" 2> "$ARTIFACTS/agent.log" ||
	fail "agent failed: $(tail -3 "$ARTIFACTS/agent.log")"
kill "$wl"

HEAD_S=3
start_collector "$ARTIFACTS/store" --segment-max-age 100ms --header-timeout ${HEAD_S}s --body-timeout 3s \
	--max-connections 1024 --max-connections-per-client 128
target=127.0.0.1:$COLL_PORT

# 1. one address, 1,100 sockets
BG_LOG=$ARTIFACTS/flood1.json bg python3 tests/tools/slow_flood.py heads --target "$target" \
	--sockets 1100 --sources 127.0.0.2 --interval 2 --duration 16
flood1=$BG_PID
sleep 3
"$BUILD/bench/otlp_load" --concurrency 2 --duration 8s "$COLL_URL/v1development/profiles" \
	"$ARTIFACTS/req.pb" > "$ARTIFACTS/load1.txt"
wait "$flood1" || fail "the flood tool failed: $(cat "$ARTIFACTS/flood1.json")"
log "legit client during a one-address flood: $(head -1 "$ARTIFACTS/load1.txt")"
log "flood: $(cat "$ARTIFACTS/flood1.json")"
acked=$(awk 'NR == 1 { print $2 }' "$ARTIFACTS/load1.txt")
failed=$(awk 'NR == 1 { print $4 }' "$ARTIFACTS/load1.txt")
check '[ "$acked" -ge 4 ] && [ "$failed" = 0 ]' "OTLP requests acknowledged during the flood, none failed ($acked)"
check '[ "$(json_field "$ARTIFACTS/flood1.json" refused)" -gt 0 ]' \
	"the flood's address was refused connections past its limit"
check '[ "$(json_field "$ARTIFACTS/flood1.json" cut)" -gt 0 ]' "flood connections were cut"
# the flood sends a line every 2 s, so only the head deadline can cut it; 16 s if nothing did
life=$(json_field "$ARTIFACTS/flood1.json" max_lifetime_s)
check 'float_between "$life" 0 $((HEAD_S + 7))' "no flood connection outlived the head deadline by much (${life} s)"
cut_head=$(metric 'sonde_collector_connections_cut_total{reason="head"}')
check '[ "$cut_head" -gt 0 ]' "the cuts are counted in /metrics ($cut_head)"

# 2. eleven addresses, 100 sockets each: the total limit is full until the deadline frees it
sources=$(seq -s, -f '127.0.0.%g' 2 12)
BG_LOG=$ARTIFACTS/flood2.json bg python3 tests/tools/slow_flood.py heads --target "$target" \
	--sockets 1100 --sources "$sources" --interval 1 --duration 16
flood2=$BG_PID
sleep 4
for i in 1 2 3 4 5; do
	# a new connection each time, which waits for room
	code=$(post_otlp "$ARTIFACTS/req.pb" --max-time 30 || true)
	[ "$code" = 200 ] || fail "request $i on a new connection during the spread flood: HTTP $code"
done
log "ok: 5 requests on new connections acknowledged while the flood filled --max-connections"
wait "$flood2" || fail "the flood tool failed: $(cat "$ARTIFACTS/flood2.json")"
log "spread flood: $(cat "$ARTIFACTS/flood2.json")"
cut_crowded=$(metric 'sonde_collector_connections_cut_total{reason="crowded"}')
check '[ "$cut_crowded" -gt 0 ]' "when crowded, heads waiting over a second gave their place ($cut_crowded)"

# 3. a body sent at 500 bytes/s is cut near --body-timeout (3 s), not left to run 15 s
flood body --target "$target" --source 127.0.0.1 --rate 500 --duration 15 > "$ARTIFACTS/body.json"
log "slow body: $(cat "$ARTIFACTS/body.json")"
after=$(json_field "$ARTIFACTS/body.json" closed_after_s)
check '[ "$after" != None ] && float_between "$after" 2.5 10' "the slow body was cut near the deadline (${after} s)"
cut_body=$(metric 'sonde_collector_connections_cut_total{reason="body"}')
check '[ "$cut_body" -ge 1 ]' "the body cut is counted in /metrics"

code=$(post_otlp "$ARTIFACTS/req.pb" --max-time 30)
check '[ "$code" = 200 ]' "a request after it all is acknowledged"
stop_collector
