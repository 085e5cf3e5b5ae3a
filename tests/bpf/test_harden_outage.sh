#!/bin/bash
# The agent loses nothing silently across a collector outage (issue 14, defect 3). A real agent
# profiles a workload of known CPU and ships to a real collector, which is stopped (SIGTERM) for
# OUTAGE_S (60) seconds and started again on the same port and storage. Then:
#  - the first acknowledgement comes soon after the collector is back (a generous bound: the
#    backoff while it cannot be reached is capped at 5 s), and the queue drains;
#  - the collector is stopped again and the agent shut down with requests queued: its log says
#    how many it dropped, and every request queued was either sent or counted as dropped;
#  - samples stored (queried from the collector) + samples counted as dropped == samples the
#    agent recorded (== its --output copy).
# The old tree: first resend 20-30 s after the collector returned, and at shutdown
# "dropped_requests=0 ... queued=24" with those 24 requests lost uncounted.
. "$(dirname "$0")/../lib.sh"
need_root

OUTAGE_S=${OUTAGE_S:-60}
# metric NAME: its value on the agent's /metrics (summed over labels)
metric() {
	curl -s "http://127.0.0.1:$mport/metrics" |
		awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }'
}
# logged KEY: the value of key=VALUE in the agent's log
logged() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$ARTIFACTS/agent.log" | tail -n 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }'; }

store=$ARTIFACTS/store
start_collector "$store"
port=$COLL_PORT
bg "$WL/split" 600 3 1
wl=$BG_PID
mport=$(free_port)
BG_LOG=$ARTIFACTS/agent.log bg "$AGENT" --pid "$wl" --collector "$COLL_URL" --upload-interval 2s \
	--metrics-addr "127.0.0.1:$mport" --output "$ARTIFACTS/recorded.folded" --shutdown-timeout 3s
agent=$BG_PID
wait_http "http://127.0.0.1:$mport/metrics" 20 "$agent" || fail "the agent did not start"
for _ in $(seq 100); do [ "$(metric sonde_agent_requests_sent_total)" -ge 2 ] && break; sleep 0.2; done
check '[ "$(metric sonde_agent_requests_sent_total)" -ge 2 ]' "requests acknowledged before the outage"

stop_collector
log "collector down for $OUTAGE_S s..."
sleep "$OUTAGE_S"
queued_at_return=$(metric sonde_agent_queue_requests)
sent_before=$(metric sonde_agent_requests_sent_total)
COLL_PORT_WANTED=$port COLL_LOG=$ARTIFACTS/collector2.log start_collector "$store"
up=$(now)
first=""
for _ in $(seq 300); do
	if [ -z "$first" ] && [ "$(metric sonde_agent_requests_sent_total)" -gt "$sent_before" ]; then
		first=$(elapsed "$up")
	fi
	[ -n "$first" ] && [ "$(metric sonde_agent_queue_requests)" -le 1 ] && break
	sleep 0.1
done
drained=$(elapsed "$up")
log "back: $queued_at_return requests queued; first acknowledged after ${first:-never} s, queue drained after $drained s"
check '[ "$queued_at_return" -ge $((OUTAGE_S / 2 - 3)) ]' "the outage's requests were queued ($queued_at_return)"
check '[ -n "$first" ] && float_between "$first" 0 15' "the first acknowledgement came soon after the collector returned (${first:-never} s, bound 15 s)"
check '[ "$(metric sonde_agent_queue_requests)" -le 1 ]' "the queue drained ($drained s)"
check '[ "$(metric sonde_agent_export_dropped_requests_total)" = 0 ]' "nothing dropped so far"

# shutdown with a queue: the collector away again, the agent stopped with requests queued
stop_collector
sleep 7
kill -TERM "$agent"
wait "$agent" || fail "agent exited with $?"
queued=$(logged requests_queued)
sent=$(logged requests_sent)
dropped=$(logged dropped_requests)
shutdown=$(logged dropped_shutdown)
log "agent: requests queued=$queued sent=$sent dropped=$dropped (at shutdown: $shutdown)"
check '[ "$shutdown" -ge 3 ] && [ "$dropped" = "$shutdown" ]' "the shutdown reports the requests it dropped ($shutdown)"
check '[ $((sent + dropped)) = "$queued" ]' "every request sent or counted as dropped ($sent + $dropped == $queued)"

# samples: stored + counted as dropped == recorded
COLL_PORT_WANTED=$port COLL_LOG=$ARTIFACTS/collector3.log start_collector "$store"
kept=$(sed -n 's/.* kept=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
recorded=$(folded_sum "$ARTIFACTS/recorded.folded" '.')
dropped_samples=$(logged dropped_samples)
sent_samples=$(logged samples_sent)
stored=$(curl -s "$COLL_URL/api/v1/top?type=samples:count&from=now-1h&limit=1" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])')
log "samples: recorded=$kept (--output $recorded) sent=$sent_samples stored=$stored dropped=$dropped_samples"
check '[ "$recorded" = "$kept" ]' "--output holds every sample recorded ($recorded == $kept)"
check '[ "$stored" = "$sent_samples" ]' "what the agent counts as sent is stored ($stored == $sent_samples)"
check '[ $((stored + dropped_samples)) = "$kept" ]' "stored + counted as dropped == recorded ($stored + $dropped_samples == $kept)"
stop_collector
