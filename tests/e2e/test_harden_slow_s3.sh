#!/bin/bash
# A slow query never stalls ingest (issue 14, defect 2). S3 (s3rver) sits behind
# tests/tools/delay_proxy.py, which holds every object GET for DELAY seconds; then:
#  - ingest over 8 connections is acknowledged during a query as it is when quiet (generous),
#    and every request on every connection is answered: queries run on threads of their own;
#  - a query longer than --query-timeout is answered 503 saying so, by the deadline (plus the
#    reads in flight), and its blocks are read several at once (GETs counted at the proxy);
#  - a client that hangs up stops its query's reads.
# Outcomes are asserted; the times only as generous bounds. bench/harden_query.sh measures.
. "$(dirname "$0")/../lib.sh"
need_cmd node
DELAY=${DELAY:-2}
TIMEOUT_S=${TIMEOUT_S:-8}
LOAD_S=${LOAD_S:-7} # the load runs this long, from 1 s before the query (bench/harden_query.sh)

start_s3rver
s3port=$S3_PORT
echo 0 > "$ARTIFACTS/delay"
pport=$(free_port)
BG_LOG=$ARTIFACTS/proxy.err bg python3 tests/tools/delay_proxy.py --port "$pport" \
	--upstream "http://127.0.0.1:$s3port" --delay-file "$ARTIFACTS/delay" --log "$ARTIFACTS/gets.jsonl"
wait_tcp "$pport" "the delay proxy"
url="s3://profiles/sonde?endpoint=http://127.0.0.1:$pport&path_style=true"

"$BUILD/bench/otlp_gen" --stacks 2000 "$ARTIFACTS/req.pb" 2> /dev/null || fail "otlp_gen failed"
start_collector "$url" --segment-max-age 200ms --no-compaction --threads 2 \
	--query-timeout "${TIMEOUT_S}s" --log-level debug
OTLP=$COLL_URL/v1development/profiles

# load NAME SECONDS: 8 connections of ingest; prints "acknowledged failed transport_errors"
load() {
	"$BUILD/bench/otlp_load" --concurrency 8 --duration "$2s" --timeout 15s --unique-services "$1" \
		"$OTLP" "$ARTIFACTS/req.pb" > "$ARTIFACTS/$1.txt" || fail "otlp_load failed"
	sed -n 's/^requests: \([0-9]*\) acknowledged, \([0-9]*\) failed (transport \([0-9]*\).*/\1 \2 \3/p' \
		"$ARTIFACTS/$1.txt"
}
# gets_between T0 T1: object GETs the proxy began in [T0, T1) (Unix seconds)
gets_between() {
	python3 -c 'import json, sys
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
print(sum(1 for l in open(sys.argv[1]) if t0 <= json.loads(l)["t"] < t1))' "$ARTIFACTS/gets.jsonl" "$1" "$2"
}

# data to read: many blocks, each of many services (a GET each)
read -r filled _ _ <<< "$(load fill 4)"
sleep 1
log "stored $filled requests as $(find "$ARTIFACTS/s3data" -name '*.block*' | wc -l) objects"
echo "$DELAY" > "$ARTIFACTS/delay"
: > "$ARTIFACTS/gets.jsonl"

read -r quiet qfail qtrans <<< "$(load quiet "$LOAD_S")"
log "quiet: $quiet requests acknowledged in $LOAD_S s, $(ratio "$quiet" "$LOAD_S")/s ($qfail failed, $qtrans without an answer)"
check '[ "$quiet" -ge 8 ] && [ "$qfail" = 0 ]' "ingest is acknowledged when no query runs"

# a slow query (every GET held ${DELAY}s) while the same load runs, on connections made
# before the query came (as agents keep theirs open)
load busy "$LOAD_S" > "$ARTIFACTS/busy.counts" &
lpid=$!
_children+=("$lpid")
sleep 1
t0=$(date +%s.%N)
curl -s -o "$ARTIFACTS/query.json" -w '%{http_code} %{time_total}\n' --max-time 60 \
	"$COLL_URL/api/v1/top?from=now-1h" > "$ARTIFACTS/query.status" || true
t1=$(date +%s.%N)
wait "$lpid" || fail "the load failed"
read -r busy bfail btrans < "$ARTIFACTS/busy.counts"
read -r qstatus qtime < "$ARTIFACTS/query.status"
log "during the query: $busy requests acknowledged in $LOAD_S s, $(ratio "$busy" "$LOAD_S")/s ($bfail failed, $btrans without an answer)"
log "the query: HTTP $qstatus after ${qtime}s: $(head -c 200 "$ARTIFACTS/query.json")"
check '[ "$btrans" = 0 ] && [ "$bfail" = 0 ]' "every ingest request on all 8 connections was answered during the query"
check '[ "$busy" -ge $((quiet / 3)) ]' "ingest during the query ($busy) stays near the quiet rate ($quiet)"
check '[ "$qstatus" = 503 ] && grep -q "query-timeout" "$ARTIFACTS/query.json"' "the query past its deadline is answered 503, saying why"
check 'float_between "$qtime" 1 $((TIMEOUT_S + 3 * DELAY + 5))' "the query ended by its deadline (${qtime}s for --query-timeout ${TIMEOUT_S}s)"
ngets=$(gets_between "$t0" "$t1")
sequential=$(awk -v t="$qtime" -v d="$DELAY" 'BEGIN { printf "%d", t / d + 1 }')
check '[ "$ngets" -gt $((2 * sequential)) ]' "blocks are read several at once ($ngets GETs in ${qtime}s, one after another would be $sequential at most)"

# a client that hangs up: its query stops reading
sleep $((DELAY + 1))
curl -s -o /dev/null --max-time 3 "$COLL_URL/api/v1/flamegraph?from=now-1h" || true
gone=$(date +%s.%N)
sleep $((3 * DELAY + 1))
late_from=$(awk -v t="$gone" -v d="$DELAY" 'BEGIN { printf "%.3f", t + d + 1 }')
early=$(gets_between "$(awk -v t="$gone" 'BEGIN { printf "%.3f", t - 3 }')" "$gone")
late=$(gets_between "$late_from" "$(date +%s.%N)")
log "GETs: $early in the 3 s before the client hung up, $late from ${DELAY}+1 s after"
check '[ "$early" -ge 1 ] && [ "$late" = 0 ]' "the query of a client that hung up stopped reading blocks"
grep -q 'cancelled' "$ARTIFACTS/collector.log" || log "note: no 'cancelled' in the collector log"

stop_collector
