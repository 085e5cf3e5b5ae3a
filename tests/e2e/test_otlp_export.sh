#!/bin/bash
# The agent as a daemon shipping OTLP profiles to a test receiver:
#  - every request decodes with protoc --decode against proto/, and every dictionary table
#    starts with its zero entry (checked by an independent decoder, tests/tools/otlp.py);
#  - a workload with a known split shows it when the captured profiles are summed, and every
#    sample the agent recorded arrived;
#  - resource, sample, location and mapping attributes; tenant and extra headers; gzip;
#  - --symbolize=collector sends native frames as mapping + address;
#  - OTEL_EXPORTER_OTLP_ENDPOINT, a YAML --config, and the one-shot --format otlp.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd protoc

rx=$ARTIFACTS/rx
start_receiver "$rx" 200
bg "$WL/split" 30 3 1
wl=$BG_PID
sleep 0.3
BG_LOG=$ARTIFACTS/agent.log bg "$AGENT" --pid "$wl" --collector "http://127.0.0.1:$RX_PORT" \
	--upload-interval 2s --tenant team-a --header "Authorization: Bearer s3cret"
agent=$BG_PID
sleep 7
kill -TERM "$agent"
wait "$agent" || fail "agent exited with $?"
n=$(ls "$rx"/*.pb | wc -l)
check '[ "$n" -ge 3 ]' "requests every 2 s arrived ($n)"
for f in "$rx"/*.pb; do
	protoc --proto_path=proto --decode=opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest \
		opentelemetry/proto/collector/profiles/v1development/profiles_service.proto < "$f" > "$f.txt" ||
		fail "protoc cannot decode $f"
done
log "ok: every request decodes with protoc --decode against proto/"
otlp check "$rx"/*.pb > "$ARTIFACTS/check.txt" || fail "structure: $(cat "$ARTIFACTS/check.txt")"
log "ok: every dictionary table starts with its zero entry; indices in range; no duplicate strings"
otlp folded "$rx"/*.pb > "$ARTIFACTS/summed.folded"
total=$(folded_sum "$ARTIFACTS/summed.folded" '^split;')
a=$(folded_sum "$ARTIFACTS/summed.folded" ';hot_a(;|$)')
b=$(folded_sum "$ARTIFACTS/summed.folded" ';hot_b(;|$)')
share=$(ratio "$a" "$((a + b))")
kept=$(sed -n 's/.* kept=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
log "summed: samples=$total (agent recorded $kept) hot_a=$a hot_b=$b share=$share"
check '[ "$total" = "$kept" ]' "every recorded sample arrived ($total == $kept)"
# the split shows what was captured is the workload's; its window is test_collector_file's (0.67
# seen on this shared machine with every profile captured)
check 'float_between "$share" 0.65 0.85' "the known split, summed over the captured profiles ($share)"

# attributes, headers
otlp attrs "$rx/0001.pb" > "$ARTIFACTS/attrs.json"
python3 - "$ARTIFACTS/attrs.json" "$wl" <<'PY' || fail "attributes"
import json, sys
a = json.load(open(sys.argv[1])); pid = int(sys.argv[2])
r = a["resources"][0]
assert r["service.name"] == "split", r
assert r["process.pid"] == pid, r
assert r["process.executable.name"] == "split" and r["process.executable.path"].endswith("/split"), r
assert r["host.name"], r
s = a["sample"][0]
assert s["thread.name"] == "split" and s["thread.id"] == pid, s
assert "('profile.frame.type', 'native')" in a["location"], a["location"]
assert all(len(m.get("process.executable.build_id.gnu", "")) == 40 for m in a["mapping"]), a["mapping"]
assert a["timestamps_ok"], "a timestamp per sample"
print("attributes ok")
PY
log "ok: resource (service.name, process.*, host.name), sample (thread.*), location and mapping attributes"
python3 - "$rx/requests.jsonl" <<'PY' || fail "request headers"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    h = r["headers"]
    assert r["path"] == "/v1development/profiles", r["path"]
    assert h["Content-Type"] == "application/x-protobuf", h
    assert h["Content-Encoding"] == "gzip", h
    assert h["X-Scope-OrgID"] == "team-a", h
    assert h["Authorization"] == "Bearer s3cret", h
print("headers ok")
PY
log "ok: POST /v1development/profiles, protobuf, gzip, tenant and extra headers"

# kernel frames, and --symbolize=collector: native frames unnamed, kernel still named
rx2=$ARTIFACTS/rx-collector
kill "$RX_PID"
start_receiver "$rx2" 200
bg "$WL/sysload" 8
wl2=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl2" --collector "http://127.0.0.1:$RX_PORT" --upload-interval 1s --duration 3 \
	--symbolize collector 2> "$ARTIFACTS/agent2.log" || fail "agent (--symbolize collector) failed"
otlp folded "$rx2"/*.pb > "$ARTIFACTS/collector.folded"
otlp attrs "$rx2/0000.pb" > "$ARTIFACTS/attrs2.json"
check '[ "$(folded_sum "$ARTIFACTS/collector.folded" "read_zero_\\[k\\]")" -gt 0 ]' "kernel frames still named"
check '! grep -qE ";do_reads|;main" "$ARTIFACTS/collector.folded"' "native frames not named by the agent"
check 'grep -qE "\[sysload\+0x[0-9a-f]+\]" "$ARTIFACTS/collector.folded"' "native frames as mapping + address"
check 'grep -q "kernel" "$ARTIFACTS/attrs2.json"' "kernel frames typed kernel"

# the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, options from a YAML file
rx3=$ARTIFACTS/rx-config
kill "$RX_PID"
start_receiver "$rx3" 200
cat > "$ARTIFACTS/agent.yaml" <<YAML
# options are the long flag names
upload-interval: 1s
tenant: from-config
header:
  - "X-One: 1"
  - "X-Two: 2"
duration: 5
pid: [$wl]
no-debuginfod: true
YAML
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RX_PORT" "$AGENT" --config "$ARTIFACTS/agent.yaml" \
	--duration 2 2> "$ARTIFACTS/agent3.log" || fail "agent with --config failed: $(tail -n 3 "$ARTIFACTS/agent3.log")"
python3 - "$rx3/requests.jsonl" <<'PY' || fail "config file options"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert 1 <= len(reqs) <= 3, f"{len(reqs)} requests: --duration 2 on the command line wins over 5"
h = reqs[0]["headers"]
assert h["X-Scope-OrgID"] == "from-config" and h["X-One"] == "1" and h["X-Two"] == "2", h
print("config ok")
PY
log "ok: OTEL_EXPORTER_OTLP_ENDPOINT; --config YAML (lists, booleans), the command line wins"

# one-shot OTLP output, of a workload of its own (on a loaded machine the first may be over)
bg "$WL/split" 10 3 1
wl=$BG_PID
sleep 0.3
sampled "$wl" "$ARTIFACTS/oneshot.log" "$AGENT" --pid "$wl" --duration 2 --format otlp --output "$ARTIFACTS/oneshot.pb" ||
	fail "--format otlp failed"
otlp check "$ARTIFACTS/oneshot.pb" > /dev/null || fail "--format otlp output malformed"
n=$(otlp count "$ARTIFACTS/oneshot.pb" | tail -n 1 | cut -d" " -f2)
check 'enough_samples "$n" "$TICKS"' "--format otlp writes the run as one request ($n samples for $TICKS ticks)"

# bad config
printf 'frequency: [1, 2\n' > "$ARTIFACTS/bad.yaml"
check '! "$AGENT" --config "$ARTIFACTS/bad.yaml" 2> "$ARTIFACTS/bad.err"' "malformed YAML refused"
check 'grep -q "YAML error" "$ARTIFACTS/bad.err"' "with a clear message: $(cat "$ARTIFACTS/bad.err")"
printf 'no-such-option: 3\n' > "$ARTIFACTS/bad2.yaml"
check '! "$AGENT" --config "$ARTIFACTS/bad2.yaml" 2> "$ARTIFACTS/bad2.err"' "unknown key refused"
check 'grep -q "unknown key .no-such-option." "$ARTIFACTS/bad2.err"' "naming the key: $(cat "$ARTIFACTS/bad2.err")"
