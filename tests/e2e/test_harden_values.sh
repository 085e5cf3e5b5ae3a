#!/bin/bash
# Hostile values cannot corrupt a tenant (issue 14, defects 4-6): sample values that no profiler
# measured (INT64_MAX, a thousand of 10^9, negative), timestamps no query can find (-1, 2^64-1,
# outside the profile's window, profile times and durations past any horizon) and tenant names
# that would hide in the storage are refused with 400 naming the field, and nothing of them is
# stored; a good request next to each one is taken. Strings that are not UTF-8 are stored with
# U+FFFD, and every JSON answer (the API, sonde inspect --json) is valid JSON in valid UTF-8.
. "$(dirname "$0")/../lib.sh"
need_cmd protoc

store=$ARTIFACTS/store
start_collector "$store" --segment-max-age 100ms

now=$(date +%s%N)
t0=$((now - 20000000000)) # the profiles' window: 10 s, ending 10 s ago
win=(time=$t0 duration=10000000000 period=10000000)
n=0
# req NAME KEY=VALUE...: a request of service hv-NAME in the window above, options overriding
req() {
	local name=$1
	shift
	otlp make "$ARTIFACTS/$name.pb" service="hv-$name" "${win[@]}" "$@"
	echo "$ARTIFACTS/$name.pb"
}
# expect STATUS REGEX FILE [CURL ARGS...]: the answer's status, and its google.rpc.Status message
expect() {
	local want=$1 re=$2 f=$3 got msg
	shift 3
	got=$(post_otlp "$f" "$@" || true)
	msg=$(rpc_message 2> /dev/null || true)
	[ "$got" = "$want" ] || fail "$(basename "$f"): HTTP $got, wanted $want (message: $msg)"
	matches "$msg" "$re" || fail "$(basename "$f"): message '$msg', wanted /$re/"
	log "ok: $(basename "$f") ${*:+($*) }-> $got${msg:+: $msg}"
}
# refused NAME REGEX KEY=VALUE...: a hostile request is refused with 400 naming the field, and
# a good one right after it is taken
refused() {
	local name=$1 re=$2
	shift 2
	expect 400 "$re" "$(req "$name" "$@")"
	n=$((n + 1))
	expect 200 '^$' "$(req good values=1,1 timestamps=$((t0 + n * 1000000)),$((t0 + n * 1000000 + 1)))"
}

# values (defect 4)
refused int64max 'samples\[0\]\.values\[0\] = 9223372036854775807: .*more than its duration allows' \
	values=9223372036854775807
refused thousand-1e9 'samples\[0\]\.values\[0\] = 1000000000: .*at most 4100096 samples' \
	values='1000*1000000000'
refused sum-of-many 'samples\[0\]\.values\[4100\] = 1000: .*at most 4100096 samples' values='5000*1000'
refused negative 'samples\[0\]\.values\[1\] = -5: a sample value cannot be negative' values=3,-5
refused cpu-ns 'values\[0\] = 50000000000000: .*41000960000000 ns of CPU time' type=cpu/nanoseconds \
	values=50000000000000
refused period-overflow 'values\[0\] = 1000000: .*value x period' type=bytes/bytes period=9223372036854775807 \
	values=1000000
refused negative-period 'period -1 is negative' period=-1
# timestamps (defect 5): -1 as the fixed64 it is on the wire, 2^64-1, and past the window
refused ts-minus-1 'timestamps_unix_nano\[0\] = 18446744073709551615 is outside the profile' \
	values=1 timestamps=-1
refused ts-max 'timestamps_unix_nano\[1\] = 18446744073709551615 is outside' values=1,1 \
	timestamps=$t0,18446744073709551615
refused ts-late 'timestamps_unix_nano\[0\] = [0-9]+ is outside the profile.+s time' values=1 \
	timestamps=$((t0 + 3600000000000))
refused time-max 'time_unix_nano 18446744073709551615 is not a time this collector stores' \
	time=18446744073709551615
refused time-1970 'time_unix_nano 1000 is not a time' time=1000
refused time-future 'time_unix_nano [0-9]+ is not a time' time=$((now + 7 * 86400000000000))
refused duration 'duration_nano 9223372036854775808 is over a day' duration=9223372036854775808
# tenant names that would hide in the storage or escape it (defect 6)
good=$(req good values=1,1 timestamps=$t0,$((t0 + 1)))
for t in .hidden .. . 'a/b'; do
	expect 400 'invalid X-Scope-OrgID' "$good" -H "X-Scope-OrgID: $t"
done

# strings that are not UTF-8 are stored with U+FFFD (defect 6), and answers stay valid JSON
otlp make "$ARTIFACTS/utf8.pb" 'service=hv-bad\xff\xfe\xc0\x80' 'function=f\xc3' "${win[@]}" values=7
expect 200 '^$' "$ARTIFACTS/utf8.pb"

# the API's answers: strict UTF-8, valid JSON, the right totals (no value above got in)
API=$COLL_URL/api/v1
range="from=$((t0 / 1000000000 - 60))&to=$((now / 1000000000 + 60))"
curl -sf "$API/label_values?name=service_name&$range" > "$ARTIFACTS/services.json" || fail "label_values failed"
curl -sf "$API/top?$range&limit=50" > "$ARTIFACTS/top.json" || fail "top failed"
curl -sf "$API/flamegraph?$range" > "$ARTIFACTS/flame.json" || fail "flamegraph failed"
curl -sf "$API/labels?$range" > "$ARTIFACTS/labels.json" || fail "labels failed"
stop_collector
"$SONDE" inspect --json "$store" > "$ARTIFACTS/inspect.json" || fail "inspect failed"
python3 - "$ARTIFACTS" "$n" <<'PY' || fail "the answers are not valid JSON, or hold more than the good requests"
import json, sys
art, n = sys.argv[1], int(sys.argv[2])
def load(name):
    raw = open(f"{art}/{name}", "rb").read()
    return json.loads(raw.decode("utf-8", errors="strict"))  # strict: invalid UTF-8 fails
services = load("services.json")
assert sorted(services) == ["hv-bad\ufffd\ufffd\ufffd\ufffd", "hv-good"], services
good = 2 * n  # each good request next to a refusal: 2 samples
top, flame = load("top.json"), load("flame.json")
assert top["total"] == flame["flamegraph"]["total"] == good + 7, (top["total"], good)
names = {f["name"] for f in top["functions"]}
assert names == {"main", "f\ufffd"}, names
load("labels.json")
per_service = {}
for t in load("inspect.json")["tenants"]:
    for b in t["blocks"]:
        for s in b["services"] if b["visible"] else []:
            per_service[s["name"]] = per_service.get(s["name"], 0) + s["total"]
assert per_service == {"hv-good": good, "hv-bad\ufffd\ufffd\ufffd\ufffd": 7}, per_service
tenants = {t["name"] for t in load("inspect.json")["tenants"]}
assert tenants == {"anonymous"}, tenants
PY
log "ok: label_values, top, flamegraph, labels and inspect --json are valid UTF-8 JSON; only the good requests are stored"
