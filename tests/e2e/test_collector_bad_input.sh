#!/bin/bash
# Hostile and wrong requests get a clear answer and cost nothing: each gets the right HTTP
# status with a google.rpc.Status saying what is wrong, nothing of it is stored, and the
# collector goes on serving good requests. Covers malformed protobuf, out-of-range indices,
# oversized bodies (declared, chunked, gzip bombs, decoding amplification), wrong media types,
# wrong methods and paths, tenants and tokens, and a full disk.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd protoc

PROTO=(--proto_path=proto opentelemetry/proto/collector/profiles/v1development/profiles_service.proto)
REQ_TYPE=opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest

# a real request, as the agent sends it
bg "$WL/split" 10 3 1
wl=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl" --duration 1 --format otlp --output "$ARTIFACTS/good.pb" 2> "$ARTIFACTS/agent.log" ||
	fail "agent failed: $(tail -3 "$ARTIFACTS/agent.log")"
kill "$wl"
good_samples=$(otlp count "$ARTIFACTS/good.pb" | awk 'END { print $2 }')
protoc "${PROTO[@]}" --decode=$REQ_TYPE < "$ARTIFACTS/good.pb" > "$ARTIFACTS/good.txt"

# expect STATUS REGEX FILE [CURL ARGS...]: POST FILE; the answer must have STATUS and, for
# OTLP answers, a google.rpc.Status message matching REGEX
expect() {
	local want=$1 re=$2 f=$3 got msg
	shift 3
	# a refusal may come before the whole body is sent: curl then fails to send the rest (and
	# exits non-zero) after it has the answer, which is what counts here
	got=$(post_otlp "$f" "$@" || true)
	msg=$(rpc_message 2> /dev/null || true)
	[ "$got" = "$want" ] || fail "$(basename "$f") $*: HTTP $got, wanted $want (message: $msg)"
	matches "$msg" "$re" || fail "$(basename "$f") $*: HTTP $got with message '$msg', wanted /$re/"
	log "ok: $(basename "$f") ${*:+($*) }-> $got: $msg"
}

store=$ARTIFACTS/store
start_collector "$store" --segment-max-age 100ms --max-body-size 256K

# malformed protobuf
head -c 200 "$ARTIFACTS/good.pb" > "$ARTIFACTS/truncated.pb"
expect 400 'not a valid ExportProfilesServiceRequest' "$ARTIFACTS/truncated.pb"
head -c 5000 /dev/urandom > "$ARTIFACTS/garbage.pb"
expect 400 'not a valid' "$ARTIFACTS/garbage.pb"

# indices out of range, made by editing the real request as text
sed '0,/stack_index: [0-9]*/s//stack_index: 99999/' "$ARTIFACTS/good.txt" |
	protoc "${PROTO[@]}" --encode=$REQ_TYPE > "$ARTIFACTS/bad_stack.pb"
expect 400 'samples\[[0-9]+\]\.stack_index 99999 out of range \(stack_table has [0-9]+ entries\)' "$ARTIFACTS/bad_stack.pb"
sed '0,/mapping_index: [0-9]*/s//mapping_index: 7777/' "$ARTIFACTS/good.txt" |
	protoc "${PROTO[@]}" --encode=$REQ_TYPE > "$ARTIFACTS/bad_mapping.pb"
expect 400 'location_table\[[0-9]+\]\.mapping_index 7777 out of range' "$ARTIFACTS/bad_mapping.pb"
sed '0,/function_index: [0-9]*/s//function_index: -3/' "$ARTIFACTS/good.txt" |
	protoc "${PROTO[@]}" --encode=$REQ_TYPE > "$ARTIFACTS/bad_function.pb"
expect 400 'function_index.*-3 out of range' "$ARTIFACTS/bad_function.pb"

# oversized: declared, chunked, inflated, decoded
head -c 300000 /dev/zero > "$ARTIFACTS/big.pb"
expect 413 'over the limit of 262144' "$ARTIFACTS/big.pb"
expect 413 'over the limit of 262144' "$ARTIFACTS/big.pb" -H 'Transfer-Encoding: chunked'
head -c 50000000 /dev/zero | gzip -9 > "$ARTIFACTS/bomb.gz"
log "gzip bomb: $(stat -c %s "$ARTIFACTS/bomb.gz") bytes inflating to 50 MB"
expect 413 'inflates to over 262144' "$ARTIFACTS/bomb.gz" -H 'Content-Encoding: gzip'
# 120,000 empty locations: 2 bytes each on the wire, far more decoded
python3 - "$ARTIFACTS/amplify.pb" <<'PY'
import sys

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

dictionary = b"\x12\x00" * 120000          # ProfilesDictionary.location_table: empty Locations
open(sys.argv[1], "wb").write(b"\x12" + varint(len(dictionary)) + dictionary)
PY
expect 413 'decoded' "$ARTIFACTS/amplify.pb"
head -c 3000 /dev/urandom | { printf '\037\213\010\000\000\000\000\000'; cat; } > "$ARTIFACTS/badgzip.gz"
expect 400 'not valid gzip' "$ARTIFACTS/badgzip.gz" -H 'Content-Encoding: gzip'

# media types and methods
CTYPE=text/plain expect 415 'Content-Type must be application/x-protobuf' "$ARTIFACTS/good.pb"
CTYPE=application/json expect 415 'OTLP/JSON is not supported' "$ARTIFACTS/good.pb"
expect 415 'Content-Encoding .+br.+ is not supported' "$ARTIFACTS/good.pb" -H 'Content-Encoding: br'
expect 405 'sent with POST' "$ARTIFACTS/good.pb" -X PUT
code=$(curl -s -o /dev/null -w '%{http_code}' "$COLL_URL/v1development/profiles")
check '[ "$code" = 405 ]' "GET on the OTLP path is 405"
code=$(curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' "$COLL_URL/v1/traces")
check '[ "$code" = 404 ] && grep -q "POST /v1development/profiles" "$ARTIFACTS/answer"' \
	"an unknown path is 404 and says where profiles go"
expect 400 'invalid X-Scope-OrgID' "$ARTIFACTS/good.pb" -H 'X-Scope-OrgID: ../../etc'

# the collector still serves, and stored none of the above
expect 200 '^$' "$ARTIFACTS/good.pb"
gzip -c "$ARTIFACTS/good.pb" > "$ARTIFACTS/good.pb.gz"
expect 200 '^$' "$ARTIFACTS/good.pb.gz" -H 'Content-Encoding: gzip' -H 'X-Scope-OrgID: team-b'
check '[ "$(curl -s -o /dev/null -w "%{http_code}" "$COLL_URL/ready")" = 200 ]' "the collector is still ready"
curl -s "$COLL_URL/metrics" > "$ARTIFACTS/metrics.txt"
python3 - "$ARTIFACTS/metrics.txt" <<'PY' || fail "metrics do not count the refusals: $(grep requests_total "$ARTIFACTS/metrics.txt")"
import re, sys
m = dict(re.findall(r'^sonde_collector_requests_total\{code="(\d+)"\} (\d+)', open(sys.argv[1]).read(), re.M))
want = {"400": 7, "413": 4, "415": 3, "405": 2, "404": 1}
bad = {k: (m.get(k), v) for k, v in want.items() if int(m.get(k, 0)) != v}
assert not bad, bad
assert int(m["200"]) >= 2, m  # the two good requests, and /ready
PY
log "ok: /metrics counts every refusal by status"
stop_collector
"$SONDE" inspect --json "$store" > "$ARTIFACTS/inspect.json" || fail "inspect failed"
python3 - "$ARTIFACTS/inspect.json" "$good_samples" <<'PY' || fail "the storage holds something else than the two good requests"
import json, sys
d = json.load(open(sys.argv[1]))
per_tenant = {t["name"]: sum(s["total"] for b in t["blocks"] if b["visible"] for s in b["services"])
              for t in d["tenants"]}
want = int(sys.argv[2])
assert per_tenant == {"anonymous": want, "team-b": want}, (per_tenant, want)
PY
log "ok: only the two good requests were stored ($good_samples samples each, tenants anonymous and team-b)"

# tokens
printf '# token tenant\ntoken-for-team-a-0123 team-a\ntoken-for-team-b-4567 team-b\n' > "$ARTIFACTS/tokens"
chmod 600 "$ARTIFACTS/tokens"
start_collector "$ARTIFACTS/store2" --segment-max-age 100ms --auth-token-file "$ARTIFACTS/tokens"
expect 401 'Authorization: Bearer' "$ARTIFACTS/good.pb"
expect 401 'Authorization: Bearer' "$ARTIFACTS/good.pb" -H 'Authorization: Bearer nope'
expect 401 'Authorization: Bearer' "$ARTIFACTS/good.pb" -H 'Authorization: Basic dG9rZW4tZm9yLXRlYW0tYS0wMTIz'
expect 403 'not for tenant .+team-b' "$ARTIFACTS/good.pb" -H 'Authorization: Bearer token-for-team-a-0123' -H 'X-Scope-OrgID: team-b'
expect 200 '^$' "$ARTIFACTS/good.pb" -H 'Authorization: Bearer token-for-team-a-0123'
expect 200 '^$' "$ARTIFACTS/good.pb" -H 'Authorization: Bearer token-for-team-b-4567' -H 'X-Scope-OrgID: team-b'
# queries need a token too, and see only the token's tenant
code=$(curl -s -o "$ARTIFACTS/q.json" -w '%{http_code}' "$COLL_URL/api/v1/label_values?name=service_name&from=now-1h")
check '[ "$code" = 401 ] && grep -q "Bearer" "$ARTIFACTS/q.json"' "a query without a token is 401"
code=$(curl -s -o "$ARTIFACTS/q.json" -w '%{http_code}' -H 'Authorization: Bearer token-for-team-a-0123' \
	"$COLL_URL/api/v1/label_values?name=service_name&from=now-1h")
check '[ "$code" = 200 ] && [ "$(cat "$ARTIFACTS/q.json")" = "[\"split\"]" ]' "a query with team-a's token sees team-a's data"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer token-for-team-a-0123' -H 'X-Scope-OrgID: team-b' \
	"$COLL_URL/api/v1/labels")
check '[ "$code" = 403 ]' "a query for another tenant than the token's is 403"
stop_collector
tenants=$("$SONDE" inspect --json "$ARTIFACTS/store2" | python3 -c 'import json, sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin)["tenants"])))')
check '[ "$tenants" = "team-a team-b" ]' "data lands in the token's tenant ($tenants)"

# a full disk: refused with 503 and Retry-After, nothing half-written, and the same request is
# taken once there is room again. The small file system lives in a private mount namespace,
# so it goes away with the collector.
full=$(realpath "$ARTIFACTS")/full # absolute: nsenter starts in the namespace's root
mkdir -p "$full"
COLL_PORT_WANTED=$(free_port)
COLL_PORT=$COLL_PORT_WANTED
COLL_URL=http://127.0.0.1:$COLL_PORT
BG_LOG=$ARTIFACTS/collector-full.log bg unshare -m --propagation private sh -c \
	'mount -t tmpfs -o size=1M sonde-test "$1" && exec "$2" --listen "127.0.0.1:$3" --storage "$1" --segment-max-age 100ms' \
	sh "$full" "$COLLECTOR" "$COLL_PORT"
COLL_PID=$BG_PID
wait_http "$COLL_URL/ready" 20 "$COLL_PID" || fail "the collector on a small file system did not start: $(tail -3 "$ARTIFACTS/collector-full.log")"
in_ns() { nsenter -t "$COLL_PID" -m "$@"; }
in_ns sh -c "head -c 2M /dev/zero > '$full/filler'" 2> "$ARTIFACTS/filler.err" || true
grep -q "No space left" "$ARTIFACTS/filler.err" || fail "could not fill the small file system: $(cat "$ARTIFACTS/filler.err")"
code=$(post_otlp "$ARTIFACTS/good.pb" -D "$ARTIFACTS/headers")
msg=$(rpc_message)
check '[ "$code" = 503 ] && grep -qi "^retry-after:" "$ARTIFACTS/headers"' "a full disk gives 503 with Retry-After ($msg)"
matches "$msg" 'cannot write to its storage' || fail "the 503 does not say why: $msg"
check '[ -z "$(in_ns find "$full/.tmp" -type f)" ]' "nothing half-written is left on the full disk"
in_ns rm "$full/filler"
expect 200 '^$' "$ARTIFACTS/good.pb"
blocks=$(in_ns find "$full" -name '*.block' | wc -l)
check '[ "$blocks" = 1 ]' "once there is room, the resent request is stored ($blocks block)"
grep -q 'cannot store a block' "$ARTIFACTS/collector-full.log" || fail "the collector did not log the failed write"
stop_collector
log "ok: the collector logged the failed write and exited cleanly"

# a storage it cannot write to stops the collector at its start, saying why
if unshare -m --propagation private sh -c 'mount -t tmpfs -o size=1M sonde-test "$1" && mkdir "$1/d" &&
	mount -o remount,ro "$1" && exec "$2" --storage "$1/d" --listen "127.0.0.1:$3"' \
	sh "$full" "$COLLECTOR" "$(free_port)" > "$ARTIFACTS/ro.log" 2>&1; then
	fail "the collector started on a read-only storage"
fi
check 'grep -q "Read-only file system" "$ARTIFACTS/ro.log"' "a read-only storage is refused at start: $(tail -1 "$ARTIFACTS/ro.log")"
