#!/bin/bash
# Sonde as a Grafana Pyroscope backend, checked with real clients nobody here wrote:
#  - a Connect client generated from proto/ with the official tooling (protoc-gen-es,
#    @connectrpc/connect-node) calls every query method in the binary and the JSON codec: the
#    agent's 3:1 split workload has the right split, its total in ns is /api/v1's sample count x
#    period, SelectSeries and the merged pprof add up to the same, other tenants see nothing;
#  - the same client pushes pprof profiles (Alloy's Push) and reads them back;
#  - @pyroscope/nodejs profiles a Node program with a known hot function into /ingest: its
#    wall and heap profiles come back with the SDK's tags, the hot function on top;
#  - @perses-dev/pyroscope-plugin's own client lists types, labels, services and draws the
#    flame graph through /pyroscope/render;
#  - /ingest takes pprof (raw, gzipped, multipart) and folded lines; bad requests get the right
#    Connect or HTTP error and the server keeps serving; bearer tokens guard every endpoint.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd node
need_cmd protoc

TOOLS=$SONDE_ROOT/tests/tools
CPU=process_cpu:cpu:nanoseconds:cpu:nanoseconds
TENANT=team-a

# the Connect client, generated from Sonde's own .proto files
GEN=$(cd "$ARTIFACTS" && pwd)/gen
mkdir -p "$GEN"
ln -sfn "$SONDE_ROOT/tests/node_modules" "$ARTIFACTS/node_modules"
echo '{"type":"module"}' > "$GEN/package.json"
protoc --plugin=protoc-gen-es="$SONDE_ROOT/tests/node_modules/.bin/protoc-gen-es" --es_out="$GEN" \
	--es_opt=target=js,import_extension=js -I"$SONDE_ROOT/proto" querier/v1/querier.proto \
	types/v1/types.proto push/v1/push.proto pprof/profile.proto settings/v1/setting.proto ||
	fail "protoc-gen-es could not generate the client"

rm -rf "$ARTIFACTS/store"
start_collector "$ARTIFACTS/store" --segment-max-age 200ms
API=$COLL_URL/api/v1

# the agent's 3:1 workload, into the tenant
t0=$(date +%s)
bg "$WL/split" 7 3 1
wl=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl" --collector "$COLL_URL" --tenant "$TENANT" --upload-interval 1s --duration 5 \
	--output "$ARTIFACTS/split.folded" 2> "$ARTIFACTS/agent.log" ||
	fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
kill "$wl" 2> /dev/null || true
sleep 1
t1=$(($(date +%s) + 1))

# what Sonde's own API says: the sample count and period; the agent's own share of hot_a
curl -sf -H "X-Scope-OrgID: $TENANT" "$API/flamegraph?query=%7Bservice_name%3D%22split%22%7D&from=$t0&to=$t1" \
	> "$ARTIFACTS/fg.json" || fail "/api/v1/flamegraph failed"
read -r total_ns share < <(python3 - "$ARTIFACTS/fg.json" "$ARTIFACTS/split.folded" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def agent(fn):
    return sum(int(l.rsplit(" ", 1)[1]) for l in open(sys.argv[2]) if f";{fn};" in l.rsplit(" ", 1)[0] + ";")
assert d["sample_unit"] == "count" and d["period"] > 0
print(d["flamegraph"]["total"] * d["period"], agent("hot_a") / (agent("hot_a") + agent("hot_b")))
PY
)
[ -n "$total_ns" ] && [ "$total_ns" -gt 0 ] || fail "no samples of the split workload"
log "the split workload: $total_ns ns, hot_a $share"


node "$TOOLS/pyro_clients.mjs" connect "$GEN" "$COLL_URL" "$TENANT" "$((t0 * 1000))" "$((t1 * 1000))" \
	"$total_ns" "$share" || fail "the Connect client's checks failed"
log "ok: every query method through the generated Connect client, both codecs"
node "$TOOLS/pyro_clients.mjs" errors "$GEN" "$COLL_URL" "$TENANT" || fail "error checks failed"
node "$TOOLS/pyro_clients.mjs" push "$GEN" "$COLL_URL" "$TENANT" || fail "Push checks failed"
log "ok: Push in both codecs, read back exactly"
node "$TOOLS/pyro_clients.mjs" perses "$COLL_URL" "$TENANT" split "$t0" "$t1" || fail "the Perses client failed"
log "ok: the Perses plugin's client"

# the Node SDK: wall and heap profiles of a program whose time is in hotFn
DEBUG=pyroscope node "$SONDE_ROOT/tests/workloads/node/pyro_sdk_app.js" "$COLL_URL" nodeapp 6 "$TENANT" \
	> "$ARTIFACTS/sdk.log" 2>&1 || fail "the SDK program failed: $(tail -n 5 "$ARTIFACTS/sdk.log")"
grep -q "/ingest" "$ARTIFACTS/collector.log" 2> /dev/null || true
node "$TOOLS/pyro_clients.mjs" sdk "$GEN" "$COLL_URL" "$TENANT" nodeapp ||
	fail "the SDK's profiles are not right: $(grep -i error "$ARTIFACTS/sdk.log" | tail -n 3)"
log "ok: @pyroscope/nodejs's wall and heap profiles, tags as labels, hotFn on top"

# the same types through Sonde's own command line: listed, and one picked with --type
types=$("$SONDE" labels --url "$COLL_URL" --tenant "$TENANT" --from "$t0" --name __profile_type__ '{service_name="nodeapp"}')
for t in wall:wall:nanoseconds:wall:nanoseconds memory:inuse_space:bytes:inuse_space:bytes; do
	grep -qx "$t" <<< "$types" || fail "sonde labels --name __profile_type__ lacks $t: $types"
done
"$SONDE" top --url "$COLL_URL" --tenant "$TENANT" --from "$t0" --type memory:inuse_space:bytes:inuse_space:bytes \
	--limit 1 '{service_name="nodeapp"}' > "$ARTIFACTS/top_mem.txt" || fail "sonde top --type failed"
grep -q retainMemory "$ARTIFACTS/top_mem.txt" && grep -q '^total [0-9]* bytes$' "$ARTIFACTS/top_mem.txt" ||
	fail "sonde top of the heap: $(cat "$ARTIFACTS/top_mem.txt")"
"$SONDE" top --url "$COLL_URL" --tenant "$TENANT" --from "$t0" --type wall:wall:nanoseconds:wall:nanoseconds \
	--limit 1 '{__name__="wall",service_name="nodeapp"}' > "$ARTIFACTS/top_wall.txt" || fail "sonde top of wall failed"
grep -q hotFn "$ARTIFACTS/top_wall.txt" && grep -q '^total [0-9]* nanoseconds$' "$ARTIFACTS/top_wall.txt" ||
	fail "sonde top of wall: $(cat "$ARTIFACTS/top_wall.txt")"
log "ok: sonde lists the SDK's types and shows each with --type (retainMemory, hotFn on top)"

# ---- /ingest: pprof (raw, gzipped, multipart) and folded lines ----
connect() { # connect METHOD JSON [TENANT]: prints the answer
	curl -s -H "X-Scope-OrgID: ${3:-$TENANT}" -H 'Content-Type: application/json' -d "$2" \
		"$COLL_URL/querier.v1.QuerierService/$1"
}
fg_total() { # fg_total TYPE SELECTOR: the flame graph's total
	connect SelectMergeStacktraces "{\"profileTypeID\":\"$1\",\"labelSelector\":\"$2\",\"start\":$((t0 * 1000)),\"end\":$(($(date +%s) * 1000 + 1000))}" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("flamegraph",{}).get("total","0"))'
}
ingest() { # ingest QUERY [CURL ARGS]: prints the status
	curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' -H "X-Scope-OrgID: $TENANT" "$@" "$COLL_URL/ingest?$Q"
}
curl -sf -H "X-Scope-OrgID: $TENANT" "$API/export?query=%7Bservice_name%3D%22split%22%7D&from=$t0&to=$t1&format=pprof" \
	-o "$ARTIFACTS/split.pb.gz" || fail "export failed"
gunzip -c "$ARTIFACTS/split.pb.gz" > "$ARTIFACTS/split.pb"
now=$(date +%s)
Q="name=reingest.gz%7Bvia%3Dgzip%7D&format=pprof&from=$now&until=$now&spyName=gospy"
[ "$(ingest --data-binary "@$ARTIFACTS/split.pb.gz")" = 200 ] || fail "gzipped pprof: $(cat "$ARTIFACTS/answer")"
Q="name=reingest.raw&format=pprof&from=${now}000&until=${now}000"
[ "$(ingest --data-binary "@$ARTIFACTS/split.pb")" = 200 ] || fail "plain pprof: $(cat "$ARTIFACTS/answer")"
Q="name=reingest.multi&from=$now&until=$now"
[ "$(ingest -F "profile=@$ARTIFACTS/split.pb.gz" -F 'sample_type_config={"cpu":{"units":"samples"}};type=application/json')" = 200 ] ||
	fail "multipart pprof: $(cat "$ARTIFACTS/answer")"
Q="name=folded.cpu%7Benv%3Dtest%7D&from=$now&until=$now&sampleRate=100"
[ "$(ingest --data-binary $'main;a;hot 30\nmain;b 10\n')" = 200 ] || fail "folded: $(cat "$ARTIFACTS/answer")"
Q="name=folded.alloc_space&from=$now&until=$now"
[ "$(ingest --data-binary $'main;alloc 4096\n')" = 200 ] || fail "folded memory: $(cat "$ARTIFACTS/answer")"
sleep 0.5
for app in reingest.gz reingest.raw reingest.multi; do
	got=$(fg_total "$CPU" "{service_name=\\\"$app\\\"}")
	[ "$got" = "$total_ns" ] || fail "$app: $got ns, not the $total_ns ns exported"
done
got=$(fg_total "$CPU" '{service_name=\"folded\",env=\"test\"}')
[ "$got" = 400000000 ] || fail "folded at 100 Hz: $got ns, not 400000000 (40 samples x 10 ms)"
got=$(fg_total memory:alloc_space:bytes:: '{service_name=\"folded\"}')
[ "$got" = 4096 ] || fail "folded alloc_space: $got, not 4096"
connect LabelValues '{"name":"pyroscope_spy","matchers":["{service_name=\"reingest.gz\"}"]}' | grep -q gospy ||
	fail "spyName is not the label pyroscope_spy"
log "ok: /ingest: gzipped, plain and multipart pprof give back the exported total; folded lines x 1e9/sampleRate"

# many at once: 48 uploads from 8 clients while 8 queries run, every one stored exactly once
seq 48 | xargs -P 8 -I{} curl -sf -o /dev/null -H "X-Scope-OrgID: $TENANT" --data-binary 'main;par 3' \
	"$COLL_URL/ingest?name=parallel.cpu&from=$now&until=$now&sampleRate=100" &
uploads=$!
queries=()
for i in $(seq 8); do
	fg_total "$CPU" '{service_name=\"split\"}' > "$ARTIFACTS/par_q.$i" &
	queries+=($!)
done
wait "$uploads" || fail "an upload of the 48 failed"
for p in "${queries[@]}"; do wait "$p" || fail "a query during the uploads failed"; done
for f in "$ARTIFACTS"/par_q.*; do
	[ "$(cat "$f")" = "$total_ns" ] || fail "a query during the uploads answered $(cat "$f"), not $total_ns"
done
sleep 0.5
got=$(fg_total "$CPU" '{service_name=\"parallel\"}')
[ "$got" = $((48 * 3 * 10000000)) ] || fail "48 parallel uploads of 3 samples stored $got ns, not $((48 * 3 * 10000000))"
log "ok: 48 uploads from 8 clients at once, beside 8 queries: each stored exactly once"

# tenants: what one sends through /ingest, the other sees nowhere (Connect, render, label-values)
code=$(curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' -H 'X-Scope-OrgID: team-b' --data-binary 'main;secret 10' \
	"$COLL_URL/ingest?name=secret.cpu&from=$now&until=$now")
[ "$code" = 200 ] || fail "/ingest for team-b: $code"
sleep 0.5
a=$(connect LabelValues '{"name":"service_name"}')
b=$(connect LabelValues '{"name":"service_name"}' team-b)
[[ $b == *'"secret"'* && $b != *'"split"'* && $a != *'"secret"'* && $a == *'"split"'* ]] ||
	fail "LabelValues: team-a sees $a, team-b $b"
b=$(curl -s -H 'X-Scope-OrgID: team-b' "$COLL_URL/pyroscope/render?query=$CPU%7Bservice_name%3D%22split%22%7D&from=$t0&until=$(date +%s)")
[[ $b == *'"numTicks":0'* ]] || fail "render shows team-a's data to team-b: ${b:0:200}"
b=$(curl -s -H 'X-Scope-OrgID: team-b' "$COLL_URL/pyroscope/label-values?label=service_name")
[[ $b != *'"split"'* ]] || fail "label-values shows team-a's service to team-b: $b"
log "ok: tenants are kept apart on /ingest, Connect, render and label-values"

# ---- bad requests: the right error, and the server keeps serving ----
status() { curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' "$@"; }
expect() { # expect STATUS CODE-OR-TEXT WHAT [CURL ARGS]
	local want=$1 text=$2 what=$3
	shift 3
	local got
	got=$(status "$@")
	[ "$got" = "$want" ] || fail "$what: HTTP $got, not $want: $(head -c 300 "$ARTIFACTS/answer")"
	grep -q -- "$text" "$ARTIFACTS/answer" || fail "$what: the answer lacks '$text': $(head -c 300 "$ARTIFACTS/answer")"
}
Q_URL=$COLL_URL/querier.v1.QuerierService
expect 400 '"invalid_argument"' "broken protobuf" -H 'Content-Type: application/proto' --data-binary $'\x0a\xff\xff' "$Q_URL/SelectMergeStacktraces"
expect 400 '"invalid_argument"' "broken JSON" -H 'Content-Type: application/json' -d '{"profileTypeID":' "$Q_URL/SelectMergeStacktraces"
expect 400 '"invalid_argument"' "a JSON value of the wrong type" -H 'Content-Type: application/json' -d '{"start":"soon"}' "$Q_URL/ProfileTypes"
expect 415 '"invalid_argument"' "text/plain" -H 'Content-Type: text/plain' -d '{}' "$Q_URL/ProfileTypes"
expect 405 '"code"' "GET" "$Q_URL/ProfileTypes"
expect 501 '"unimplemented"' "an unknown method" -H 'Content-Type: application/json' -d '{}' "$Q_URL/AnalyzeQuery"
expect 501 '"unimplemented"' "another service" -H 'Content-Type: application/json' -d '{}' "$COLL_URL/vcs.v1.VCSService/GetFile"
head -c $((5 << 20)) /dev/zero > "$ARTIFACTS/big"
expect 429 '"resource_exhausted"' "a 5 MiB query" -H 'Content-Type: application/proto' --data-binary "@$ARTIFACTS/big" "$Q_URL/ProfileTypes"
printf '{}' | gzip > "$ARTIFACTS/q.gz"
expect 200 '' "a gzipped query" -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary "@$ARTIFACTS/q.gz" "$Q_URL/ProfileTypes"
# answers over 1 KiB are gzipped for a client that accepts it (Grafana's connect-go does)
hdr=$(curl -s -D - -o "$ARTIFACTS/series.gz" -H "X-Scope-OrgID: $TENANT" -H 'Accept-Encoding: gzip' \
	-H 'Content-Type: application/json' -d '{}' "$Q_URL/Series")
[[ ${hdr,,} == *"content-encoding: gzip"* ]] || fail "Series was not gzipped: $hdr"
[ "$(gunzip -c "$ARTIFACTS/series.gz")" = "$(connect Series '{}')" ] ||
	fail "the gzipped Series does not decode to the plain one"
expect 400 '"invalid_argument"' "a broken PushRequest" -H 'Content-Type: application/proto' --data-binary $'\x0a\x05\x0a' "$COLL_URL/push.v1.PusherService/Push"
expect 415 '"invalid_argument"' "Push as text" -H 'Content-Type: text/plain' -d x "$COLL_URL/push.v1.PusherService/Push"
expect 400 'name: required' "/ingest without a name" --data-binary 'a 1' "$COLL_URL/ingest"
expect 400 'label name' "/ingest with a bad label" --data-binary 'a 1' "$COLL_URL/ingest?name=x%7Bbad-label%3D1%7D"
expect 422 'not a profile type' "/ingest of an unknown type" --data-binary 'a 1' "$COLL_URL/ingest?name=x.nosuchtype"
expect 422 'format' "/ingest of lines" --data-binary 'a' "$COLL_URL/ingest?name=x&format=lines"
expect 400 'pprof' "/ingest of broken pprof" --data-binary 'not pprof' "$COLL_URL/ingest?name=x&format=pprof"
expect 400 'not a count' "/ingest of broken folded" --data-binary 'a;b x' "$COLL_URL/ingest?name=x"
expect 400 'sampleRate' "/ingest at 0 Hz" --data-binary 'a 1' "$COLL_URL/ingest?name=x&sampleRate=0"
head -c $((65 << 20)) /dev/zero > "$ARTIFACTS/huge"
expect 413 'limit' "a 65 MiB /ingest" --data-binary "@$ARTIFACTS/huge" "$COLL_URL/ingest?name=x&format=pprof"
rm -f "$ARTIFACTS/huge" "$ARTIFACTS/big"
expect 400 'error' "render without a query" "$COLL_URL/pyroscope/render"
expect 400 'error' "render of a bad selector" "$COLL_URL/pyroscope/render?query=$CPU%7Bx%3D%7D"
got=$(fg_total "$CPU" '{service_name=\"split\"}')
[ "$got" = "$total_ns" ] || fail "after the bad requests the flame graph is $got, not $total_ns"
log "ok: bad requests get Connect codes (400/415/405/501/429) and HTTP statuses (400/413/422); still serving"

# ---- /pyroscope/render-diff and label-values (Drilldown's compare view, old clients) ----
curl -sf -H "X-Scope-OrgID: $TENANT" "$COLL_URL/pyroscope/render-diff?leftQuery=$CPU%7Bservice_name%3D%22split%22%7D&leftFrom=$t0&leftUntil=$t1&rightQuery=$CPU%7Bservice_name%3D%22split%22%7D&rightFrom=$t0&rightUntil=$t1" |
	python3 -c "
import json,sys; d=json.load(sys.stdin)
assert d['metadata']['format']=='double' and d['leftTicks']==d['rightTicks']==$total_ns, d.get('leftTicks')
assert all(len(l)%7==0 for l in d['flamebearer']['levels'])" || fail "render-diff is wrong"
curl -sf -H "X-Scope-OrgID: $TENANT" "$COLL_URL/pyroscope/label-values?label=service_name" | grep -q '"split"' ||
	fail "label-values lacks split"
log "ok: render-diff and label-values"
stop_collector

# ---- tokens: every new endpoint wants one, and a token's tenant is the only one it sees ----
tok=$ARTIFACTS/tokens
printf 'tok-aaaaaaaaaaaaaaaa team-a\ntok-bbbbbbbbbbbbbbbb team-c\n' > "$tok"
chmod 600 "$tok"
start_collector "$ARTIFACTS/store" --auth-token-file "$tok"
for u in querier.v1.QuerierService/ProfileTypes push.v1.PusherService/Push; do
	expect 401 'unauthenticated' "$u without a token" -H 'Content-Type: application/json' -d '{}' "$COLL_URL/$u"
done
expect 401 'Bearer' "/ingest without a token" --data-binary 'a 1' "$COLL_URL/ingest?name=x"
expect 401 'Bearer' "render without a token" "$COLL_URL/pyroscope/render?query=$CPU"
expect 403 'permission_denied' "a token for another tenant" -H 'Authorization: Bearer tok-bbbbbbbbbbbbbbbb' \
	-H 'X-Scope-OrgID: team-a' -H 'Content-Type: application/json' -d '{}' "$COLL_URL/querier.v1.QuerierService/ProfileTypes"
a=$(curl -s -H 'Authorization: Bearer tok-aaaaaaaaaaaaaaaa' -H 'Content-Type: application/json' -d '{}' "$COLL_URL/querier.v1.QuerierService/GetProfileStats")
b=$(curl -s -H 'Authorization: Bearer tok-bbbbbbbbbbbbbbbb' -H 'Content-Type: application/json' -d '{}' "$COLL_URL/querier.v1.QuerierService/GetProfileStats")
[[ $a == *'"dataIngested":true'* && $b != *dataIngested* ]] || fail "tokens: team-a sees '$a', team-c (no data) '$b'"
log "ok: tokens guard Connect, Push, /ingest and render; each token sees its own tenant"
stop_collector
