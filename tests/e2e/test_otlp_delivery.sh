#!/bin/bash
# Delivery when the collector misbehaves:
#  - 503 with Retry-After (seconds, then an HTTP-date), then 200: the same request is retried
#    after the wait, and nothing is lost;
#  - a collector down for 30 s: with a big enough queue everything from that window arrives
#    after it returns; with a small queue the drops are counted exactly;
#  - 400: no retry, and one error line however many requests it refuses;
#  - a partial success: counted, logged once, not retried.
. "$(dirname "$0")/../lib.sh"
need_root

# samples_accepted DIR: samples in the requests the receiver answered 200
samples_accepted() {
	python3 - "$1" <<'PY'
import json, subprocess, sys, os
d = sys.argv[1]
ok = [f"{d}/{json.loads(l)['i']:04d}.pb" for l in open(f"{d}/requests.jsonl") if json.loads(l)["status"] == 200]
print(subprocess.run(["python3", "tests/tools/otlp.py", "count"] + ok, capture_output=True, text=True).stdout.split()[-1] if ok else 0)
PY
}
# logged KEY FILE: the value of key=VALUE in the agent's log
logged() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

bg "$WL/split" 200 3 1
wl=$BG_PID
sleep 0.3

# --- 503 + Retry-After: 2 (twice), then 200
rx=$ARTIFACTS/rx503
start_receiver "$rx" "503r2x2,200"
"$AGENT" --pid "$wl" --collector "http://127.0.0.1:$RX_PORT" --upload-interval 1s --duration 3 \
	--shutdown-timeout 20s 2> "$ARTIFACTS/503.log" || fail "agent failed"
python3 - "$rx" <<'PY' || fail "Retry-After not honoured"
import json, sys
r = [json.loads(l) for l in open(f"{sys.argv[1]}/requests.jsonl")]
assert [x["status"] for x in r[:3]] == [503, 503, 200], [x["status"] for x in r]
# the same request, waited for each time
b = [open(f"{sys.argv[1]}/{i:04d}.pb", "rb").read() for i in range(3)]
assert b[0] == b[1] == b[2], "the retried body differs"
for i in (1, 2):
    gap = r[i]["t"] - r[i - 1]["t"]
    assert gap >= 1.9, f"retry {i} after {gap:.2f}s, Retry-After said 2"
print("retried after", [round(r[i]["t"] - r[i - 1]["t"], 2) for i in (1, 2)])
PY
kept=$(logged kept "$ARTIFACTS/503.log")
got=$(samples_accepted "$rx")
log "503: kept=$kept accepted=$got retries=$(logged retries "$ARTIFACTS/503.log")"
check '[ "$got" = "$kept" ]' "nothing lost through 503s ($got == $kept)"
check '[ "$(logged retries "$ARTIFACTS/503.log")" = 2 ]' "two retries counted"
kill "$RX_PID"

# --- Retry-After as an HTTP-date
rx=$ARTIFACTS/rxdate
start_receiver "$rx" "503rD,200"
"$AGENT" --pid "$wl" --collector "http://127.0.0.1:$RX_PORT" --upload-interval 1s --duration 1.5 \
	--shutdown-timeout 20s 2> "$ARTIFACTS/date.log" || fail "agent failed"
python3 - "$rx" <<'PY' || fail "HTTP-date Retry-After not honoured"
import json, sys
r = [json.loads(l) for l in open(f"{sys.argv[1]}/requests.jsonl")]
assert r[0]["status"] == 503 and r[1]["status"] == 200
assert r[1]["t"] - r[0]["t"] >= 0.9, r[1]["t"] - r[0]["t"]
PY
log "ok: a Retry-After HTTP-date is honoured"
kill "$RX_PID"

# --- down for 30 s: a big queue keeps everything, a small one drops and counts exactly
big_port=$(free_port)
small_port=$(free_port)
BG_LOG=$ARTIFACTS/big.log bg "$AGENT" --pid "$wl" --collector "http://127.0.0.1:$big_port" \
	--upload-interval 2s --max-retry-backoff 2s
big=$BG_PID
BG_LOG=$ARTIFACTS/small.log bg "$AGENT" --pid "$wl" --collector "http://127.0.0.1:$small_port" \
	--upload-interval 2s --max-retry-backoff 2s --queue-size 6K
small=$BG_PID
log "collectors down for 30 s..."
sleep 30
RX_PORT_WANTED=$big_port start_receiver "$ARTIFACTS/rxbig" 200
RX_PORT_WANTED=$small_port start_receiver "$ARTIFACTS/rxsmall" 200
sleep 8
kill -TERM "$big" "$small"
wait "$big" || fail "agent (big queue) exited with $?"
wait "$small" || fail "agent (small queue) exited with $?"
kept=$(logged kept "$ARTIFACTS/big.log")
got=$(samples_accepted "$ARTIFACTS/rxbig")
log "big queue: kept=$kept accepted=$got dropped=$(logged dropped_requests "$ARTIFACTS/big.log")"
check '[ "$got" = "$kept" ]' "after 30 s away, everything arrived ($got == $kept)"
check '[ "$(logged dropped_requests "$ARTIFACTS/big.log")" = 0 ]' "nothing dropped"
q=$(logged requests_queued "$ARTIFACTS/small.log")
sent=$(logged requests_sent "$ARTIFACTS/small.log")
dropped=$(logged dropped_requests "$ARTIFACTS/small.log")
accepted=$(grep -c '"status": 200' "$ARTIFACTS/rxsmall/requests.jsonl")
log "small queue: requests queued=$q sent=$sent dropped=$dropped; receiver accepted $accepted"
check '[ "$dropped" -gt 0 ]' "the small queue dropped requests"
check '[ "$sent" = "$accepted" ]' "sent as counted ($sent == $accepted)"
check '[ $((sent + dropped)) = "$q" ]' "every request sent or counted as dropped ($sent + $dropped == $q)"
check 'grep -qE "exporter_dropped|dropped_profiles=[1-9]" "$ARTIFACTS/small.log"' "dropped profiles counted"

# --- 400: no retry, one error line
rx=$ARTIFACTS/rx400
start_receiver "$rx" 400
"$AGENT" --pid "$wl" --collector "http://127.0.0.1:$RX_PORT" --upload-interval 1s --duration 4 \
	2> "$ARTIFACTS/400.log" || fail "agent failed"
n=$(wc -l < "$rx/requests.jsonl")
q=$(logged requests_queued "$ARTIFACTS/400.log")
errors=$(grep -c "refused a request" "$ARTIFACTS/400.log" || true)
log "400: $n requests for $q intervals, $errors error lines"
check '[ "$n" = "$q" ] && [ "$n" -ge 3 ]' "each request sent once, none retried ($n == $q)"
check '[ "$errors" = 1 ]' "one error line, with the collector's message: $(grep "refused a request" "$ARTIFACTS/400.log" | cut -c1-200)"
check 'grep -q "test receiver refuses this request" "$ARTIFACTS/400.log"' "the google.rpc.Status message is shown"
check '[ "$(logged retries "$ARTIFACTS/400.log")" = 0 ]' "no retries"
kill "$RX_PID"

# --- partial success
rx=$ARTIFACTS/rxpartial
start_receiver "$rx" partial
"$AGENT" --pid "$wl" --collector "http://127.0.0.1:$RX_PORT" --upload-interval 1s --duration 3 \
	2> "$ARTIFACTS/partial.log" || fail "agent failed"
n=$(wc -l < "$rx/requests.jsonl")
check '[ "$n" = "$(logged requests_queued "$ARTIFACTS/partial.log")" ]' "partial success not retried"
check '[ "$(grep -c "rejected part of a request" "$ARTIFACTS/partial.log")" = 1 ]' "logged once"
