#!/bin/bash
# --metrics-addr: /metrics parses as Prometheus text, has the counters an operator needs, and
# they move as the workload runs; /healthz answers; bad addresses are refused clearly.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd curl

rx=$ARTIFACTS/rx
start_receiver "$rx" "503r1,200"
bg "$WL/split" 30 3 1
wl=$BG_PID
port=$(free_port)
BG_LOG=$ARTIFACTS/agent.log bg "$AGENT" --pid "$wl" --collector "http://127.0.0.1:$RX_PORT" \
	--upload-interval 1s --metrics-addr "127.0.0.1:$port"
agent=$BG_PID
wait_http "http://127.0.0.1:$port/healthz" 10 || fail "no /healthz"
sleep 2
curl -sf "http://127.0.0.1:$port/metrics" > "$ARTIFACTS/m1.txt" || fail "no /metrics"
sleep 3
curl -sf "http://127.0.0.1:$port/metrics" > "$ARTIFACTS/m2.txt" || fail "no /metrics"
python3 tests/tools/promcheck.py "$ARTIFACTS/m1.txt" > "$ARTIFACTS/m1.json" || fail "m1 is not Prometheus text"
python3 tests/tools/promcheck.py "$ARTIFACTS/m2.txt" > "$ARTIFACTS/m2.json" || fail "m2 is not Prometheus text"
log "ok: /metrics parses as Prometheus text"
python3 - "$ARTIFACTS/m1.json" "$ARTIFACTS/m2.json" <<'PY' || fail "metrics"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
need = ["sonde_agent_samples_total", "sonde_agent_samples_recorded_total",
        'sonde_agent_samples_dropped_total{reason="ring_buffer_full"}',
        'sonde_agent_stacks_total{status="complete"}', 'sonde_agent_stacks_total{status="truncated_stack_copy"}',
        "sonde_agent_profiles_sent_total", "sonde_agent_bytes_sent_total",
        'sonde_agent_export_errors_total{code="503"}', "sonde_agent_queue_requests",
        "sonde_agent_queue_bytes", "sonde_agent_processes_tracked", "sonde_agent_resident_memory_bytes",
        'sonde_agent_bpf_events_total{event="sent"}', "sonde_agent_unwind_table_bytes"]
missing = [m for m in need if m not in b]
assert not missing, f"missing: {missing}"
for m in ["sonde_agent_samples_total", 'sonde_agent_stacks_total{status="complete"}',
          "sonde_agent_profiles_sent_total", "sonde_agent_bytes_sent_total"]:
    assert b[m] > a.get(m, 0), f"{m} did not move: {a.get(m)} -> {b[m]}"
assert b['sonde_agent_export_errors_total{code="503"}'] == 1, b['sonde_agent_export_errors_total{code="503"}']
assert b["sonde_agent_resident_memory_bytes"] > 1e6
assert b["sonde_agent_processes_tracked"] >= 1
print("samples", a["sonde_agent_samples_total"], "->", b["sonde_agent_samples_total"])
PY
log "ok: counters present and moving (samples, stacks, profiles and bytes sent, export errors by code, queue, processes, RSS)"
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/nothing")" = 404 ]' "unknown path: 404"
check '[ "$(curl -s -o /dev/null -w "%{http_code}" -X POST "http://127.0.0.1:$port/metrics")" = 405 ]' "POST: 405"
kill -TERM "$agent"
wait "$agent" || fail "agent exited with $?"

# bad addresses
check '! "$AGENT" --pid "$wl" --output /dev/null --duration 1 --metrics-addr nonsense 2> "$ARTIFACTS/bad.err"' "a malformed --metrics-addr is refused"
check 'grep -q "invalid listen address.*flag=--metrics-addr" "$ARTIFACTS/bad.err"' "clearly: $(cat "$ARTIFACTS/bad.err")"
busy=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); time.sleep(10)" &
_children+=($!)
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$busy") 2>/dev/null && break; sleep 0.1; done
check '! "$AGENT" --pid "$wl" --output /dev/null --duration 1 --metrics-addr "127.0.0.1:$busy" 2> "$ARTIFACTS/busy.err"' "a port in use is refused"
check 'grep -q "cannot listen" "$ARTIFACTS/busy.err"' "clearly: $(cat "$ARTIFACTS/busy.err")"
no_sonde_bpf
