#!/bin/bash
# Many collectors on one bucket (docs/storage.md): three collectors share one s3rver bucket,
# each taking ingest, answering queries, compacting (levels of 2 s, 10 s and 30 s here) and
# applying retention. A load generator per collector and two real agents send to them; one
# collector is killed with -9 in the middle of a merge and restarted.
#  - every instance answers the same totals per service, equal to the samples acknowledged
#    (each load request has its own service name: checked request by request);
#  - what each agent recorded is what every instance exports, stack for stack;
#  - a tenant with a short retention (--tenant-retention) is deleted, the others are not;
#  - `sonde compact` three at a time on the bucket, round after round on fresh blocks of one
#    window, beside the collectors' own compactions: never a sample counted twice or lost;
#  - `sonde inspect`: every block readable, no contradiction between blocks.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd node
start_s3rver
s3port=$S3_PORT
url="s3://profiles/fleet?endpoint=http://127.0.0.1:$s3port&path_style=true"
LEVELS=2s,10s:10ms,30s:100ms
common=(--segment-max-age 200ms --compact-interval 300ms --compact-delay 1s --compaction-levels "$LEVELS"
	--deletion-grace 3s --tenant-retention brief=6s --query-max-range 1d)

# requests as the agent sends them, to replay
bg "$WL/split" 10 3 1
wl=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl" --duration 1 --format otlp --output "$ARTIFACTS/req.pb" 2> "$ARTIFACTS/agent0.log" ||
	fail "agent failed: $(tail -3 "$ARTIFACTS/agent0.log")"
wait "$wl" 2> /dev/null || true

declare -a PORT PID URL
start_one() { # N
	COLL_PORT_WANTED=${PORT[$1]:-$(free_port)} COLL_LOG=$ARTIFACTS/collector$1.log start_collector "$url" "${common[@]}"
	PORT[$1]=$COLL_PORT PID[$1]=$COLL_PID URL[$1]=$COLL_URL
}
for n in 1 2 3; do start_one $n; done
log "three collectors on one bucket: ${URL[*]}"

# load: one generator per collector (services r1-*, r2-*, r3-*), one for tenant brief
for n in 1 2 3; do
	BG_LOG=$ARTIFACTS/load$n.log bg "$BUILD/bench/otlp_load" --concurrency 3 --duration 10s --now \
		--unique-services "r$n" --acked "$ARTIFACTS/acked$n.txt" --timeout 5s \
		"${URL[$n]}/v1development/profiles" "$ARTIFACTS/req.pb"
	LOAD[$n]=$BG_PID
done
BG_LOG=$ARTIFACTS/load-brief.log bg "$BUILD/bench/otlp_load" --concurrency 1 --duration 4s --now \
	--header "X-Scope-OrgID: brief" "${URL[3]}/v1development/profiles" "$ARTIFACTS/req.pb"
loadb=$BG_PID
# two agents on their own workloads and tenants: one ships to the collector that is killed
declare -A W AG
for a in a b; do
	bg "$WL/split" 14 3 1
	W[$a]=$BG_PID
done
sleep 0.3
BG_LOG=$ARTIFACTS/agent-a.log bg "$AGENT" --pid "${W[a]}" --collector "${URL[2]}" --tenant agents-a \
	--upload-interval 1s --duration 12 --output "$ARTIFACTS/agent-a.folded" --max-retry-backoff 1s --shutdown-timeout 30s
AG[a]=$BG_PID
BG_LOG=$ARTIFACTS/agent-b.log bg "$AGENT" --pid "${W[b]}" --collector "${URL[3]}" --tenant agents-b \
	--upload-interval 1s --duration 12 --output "$ARTIFACTS/agent-b.folded" --max-retry-backoff 1s --shutdown-timeout 30s
AG[b]=$BG_PID

# kill -9 collector 2 while one of its merges runs
sleep 2
merging() { curl -s "${URL[2]}/metrics" | awk '$1 == "sonde_collector_compaction_merges_running" { exit !($2 > 0) }'; }
caught=0
for _ in $(seq 1500); do
	if merging; then
		kill -KILL "${PID[2]}"
		caught=1
		break
	fi
	sleep 0.005
done
wait "${PID[2]}" 2> /dev/null || true
check '[ "$caught" = 1 ]' "collector 2 killed with -9 in the middle of a merge"
sleep 0.5
start_one 2
log "collector 2 restarted on the same port"

for n in 1 2 3; do wait "${LOAD[$n]}" || fail "load $n failed: $(tail -3 "$ARTIFACTS/load$n.log")"; done
wait "$loadb" || true
for a in a b; do
	wait "${W[$a]}" 2> /dev/null || true
	wait "${AG[$a]}" || fail "agent $a failed: $(tail -3 "$ARTIFACTS/agent-$a.log")"
done
for n in 1 2 3; do log "load $n: $(head -1 "$ARTIFACTS/load$n.log"); $(grep latency "$ARTIFACTS/load$n.log")"; done
cat "$ARTIFACTS"/acked[123].txt > "$ARTIFACTS/acked.txt"

# let the last windows end and every level merge; the grace passes and what was replaced goes
state() { # tenant anonymous: "BLOCKS_BY_LEVEL; W top-level windows; N not counted; settled|merging"
	"$SONDE" inspect --json --no-verify --tenant anonymous "$url" 2> /dev/null | python3 -c '
import collections, json, sys
d = json.load(sys.stdin)
bl = [b for t in d["tenants"] for b in t["blocks"]]
lv = collections.Counter(b["level"] for b in bl)
windows = len({b["min_time_ns"] // 30_000_000_000 for b in bl})
left = sum(b["state"] != "counted" for b in bl)
print(" ".join(f"L{k}:{lv[k]}" for k in sorted(lv)) + ";", windows, "windows;", left, "not counted;",
      "settled" if bl and not left and len(bl) == windows else "merging")'
}
sleep $((32 - $(date +%s) % 30))
for _ in $(seq 180); do
	st=$(state)
	case "$st" in *"; settled") break ;; esac
	sleep 0.5
done
log "blocks of tenant anonymous by level, settled: $st"
check 'case "$st" in *"; settled") true ;; *) false ;; esac' \
	"the load is merged into one block per 30 s window and every replaced block deleted"

# every instance: the same totals per service, equal to what was acknowledged
totals() { # URL TENANT -> "service total" lines (up to 2 min ahead: --now requests start now)
	curl -sf -H "X-Scope-OrgID: $2" -G "$1/api/v1/series" --data-urlencode 'query={}' \
		--data-urlencode group_by=service_name --data-urlencode from=now-1h --data-urlencode "to=$(($(date +%s) + 120))" \
		--data-urlencode step=3600s --data-urlencode format=tsv |
		awk -F'\t' '{ t[$1] += $3 } END { for (s in t) print s, t[s] }' | sort
}
for n in 1 2 3; do totals "${URL[$n]}" anonymous > "$ARTIFACTS/totals$n.txt"; done
check 'cmp -s "$ARTIFACTS/totals1.txt" "$ARTIFACTS/totals2.txt" && cmp -s "$ARTIFACTS/totals1.txt" "$ARTIFACTS/totals3.txt"' \
	"the three instances answer the same totals for $(wc -l < "$ARTIFACTS/totals1.txt") services"
python3 - "$ARTIFACTS/totals1.txt" "$ARTIFACTS/acked.txt" <<'PY' || fail "the totals are not the samples acknowledged"
import sys
stored = {}
for line in open(sys.argv[1]):
    name, n = line.split()
    stored[name] = int(float(n))
acked = {}
for line in open(sys.argv[2]):
    name, n = line.split()
    acked[name] = int(n)
per = next(iter(acked.values()))
missing = [n for n in acked if stored.get(n) != acked[n]]
wrong = [n for n in stored if stored[n] != per]
extra = [n for n in stored if n not in acked]
print(f"{len(acked)} requests acknowledged, {len(stored)} services stored ({len(extra)} stored but "
      f"not acknowledged: sent as the collector died), {per} samples each, {sum(acked.values())} in all")
assert not missing, f"acknowledged but not stored exactly once: {[(n, stored.get(n)) for n in missing[:5]]}"
assert not wrong, f"stored twice or in part: {[(n, stored[n]) for n in wrong[:5]]}"
PY
log "ok: every acknowledged request is counted exactly once, by every instance"

# read-after-write across instances: acknowledged by one, counted by the others at once
for n in 1 2 3; do
	m=$(( n % 3 + 1 ))
	"$BUILD/bench/otlp_load" --requests 1 --now --unique-services "raw$n" --acked "$ARTIFACTS/raw$n.txt" --header "X-Scope-OrgID: raw" \
		"${URL[$n]}/v1development/profiles" "$ARTIFACTS/req.pb" > /dev/null || fail "the request to instance $n failed"
	want=$(awk '{ print $2 }' "$ARTIFACTS/raw$n.txt")
	got=$(totals "${URL[$m]}" raw | awk -v s="raw$n-0" '$1 == s { print $2 }')
	[ -n "$want" ] && [ "$got" = "$want" ] || fail "acknowledged by instance $n, instance $m counts '$got' samples of it, not $want"
done
log "ok: a request acknowledged by one instance is counted by the next one's very next query"

# roles: a query-only instance answers the same and takes no profiles; an ingest-only one
# answers no queries
COLL_LOG=$ARTIFACTS/collector-q.log start_collector "$url" "${common[@]}" --target query
qurl=$COLL_URL qpid=$COLL_PID
totals "$qurl" anonymous > "$ARTIFACTS/totals-q.txt"
check 'cmp -s "$ARTIFACTS/totals1.txt" "$ARTIFACTS/totals-q.txt"' "a --target query instance, started now, answers the same totals"
code=$(curl -s -o "$ARTIFACTS/q-post.txt" -w '%{http_code}' -H 'Content-Type: application/x-protobuf' \
	--data-binary "@$ARTIFACTS/req.pb" "$qurl/v1development/profiles")
check '[ "$code" = 404 ] && grep -q "takes no profiles" "$ARTIFACTS/q-post.txt"' "it refuses profiles with 404 and says why"
COLL_LOG=$ARTIFACTS/collector-i.log start_collector "$url" "${common[@]}" --target ingest
code=$(curl -s -o "$ARTIFACTS/i-get.txt" -w '%{http_code}' "$COLL_URL/api/v1/labels")
check '[ "$code" = 404 ] && grep -q "answers no queries" "$ARTIFACTS/i-get.txt"' "a --target ingest instance refuses queries with 404 and says why"
merges=$(curl -s "$COLL_URL/metrics" | awk '$1 == "sonde_collector_compactions_total" { print $2 }')
check '[ "${merges%.*}" = 0 ] && grep -q "compaction=off" "$ARTIFACTS/collector-i.log"' "and does not compact"
stop_collector
kill -TERM "$qpid"
wait "$qpid" || fail "the query instance exited with $?"

# the agents' records, through every instance
for a in a b; do
	for n in 1 2 3; do
		curl -sf -H "X-Scope-OrgID: agents-$a" -G "${URL[$n]}/api/v1/export" --data-urlencode 'query={service_name="split"}' \
			--data-urlencode from=now-1h --data-urlencode to=now --data-urlencode format=folded \
			> "$ARTIFACTS/export-$a$n.folded" || fail "export from instance $n failed"
		sort "$ARTIFACTS/export-$a$n.folded" > "$ARTIFACTS/export-$a$n.sorted"
		sort "$ARTIFACTS/agent-$a.folded" > "$ARTIFACTS/agent-$a.sorted"
		cmp -s "$ARTIFACTS/agent-$a.sorted" "$ARTIFACTS/export-$a$n.sorted" ||
			fail "agent $a: instance $n exports something else than the agent recorded ($(wc -l < "$ARTIFACTS/export-$a$n.sorted") vs $(wc -l < "$ARTIFACTS/agent-$a.sorted") stacks)"
	done
	log "ok: agent $a ($(awk '{ s += $NF } END { print s }' "$ARTIFACTS/agent-$a.folded") samples): every instance exports what it recorded"
done

# retention: tenant brief (6 s) is gone from the bucket; the others are not
for _ in $(seq 60); do
	left=$(aws --endpoint-url "http://127.0.0.1:$s3port" s3 ls --recursive s3://profiles/fleet/brief/ 2> /dev/null | grep -c '\.block$' || true)
	[ "$left" = 0 ] && break
	sleep 0.5
done
check '[ "$left" = 0 ]' "tenant brief's blocks are deleted past its 6 s retention and the grace"
deleted=0
for n in 1 2 3; do
	d=$(curl -s "${URL[$n]}/metrics" | awk '$1 == "sonde_collector_retention_deleted_blocks_total" { print $2 }')
	deleted=$((deleted + ${d%.*}))
done
check '[ "$deleted" -ge 1 ]' "the collectors count $deleted blocks deleted past retention"

# three `sonde compact` at a time on the bucket, beside the collectors, on fresh blocks
"$SONDE" import --tenant race "file://$ARTIFACTS/one" "$ARTIFACTS/req.pb" > /dev/null
per=$("$SONDE" inspect --json "file://$ARTIFACTS/one" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(s["total"] for t in d["tenants"] for b in t["blocks"] for s in b["services"]))')
rounds=6
for r in $(seq $rounds); do
	for _ in 1 2 3 4; do "$SONDE" import --tenant race "$url" "$ARTIFACTS/req.pb" > /dev/null || fail "import failed"; done
	pids=()
	for k in 1 2 3; do
		"$SONDE" compact --force --compaction-levels "$LEVELS" --deletion-grace 3s --tenant race "$url" \
			> "$ARTIFACTS/compact-$r-$k.txt" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fail "sonde compact failed: $(cat "$ARTIFACTS"/compact-"$r"-*.txt)"; done
	for n in 1 2 3; do
		got=$(totals "${URL[$n]}" race | awk '{ s += $2 } END { print s + 0 }')
		[ "$got" = $((r * 4 * per)) ] || fail "round $r: instance $n counts $got samples of tenant race, not $((r * 4 * per))"
	done
done
log "ok: $rounds rounds of three concurrent compactions (and the collectors'): every instance counts $((rounds * 4 * per)) samples, each once"

# the admin delete: tenant race before now is gone for every instance; the others are not
"$SONDE" delete --tenant race --before now --deletion-grace 3s "$url" > "$ARTIFACTS/delete.txt" || fail "sonde delete failed: $(cat "$ARTIFACTS/delete.txt")"
for n in 1 2 3; do
	got=$(totals "${URL[$n]}" race | awk '{ s += $2 } END { print s + 0 }')
	[ "$got" = 0 ] || fail "instance $n still counts $got samples of tenant race after sonde delete ($(cat "$ARTIFACTS/delete.txt"))"
done
totals "${URL[1]}" anonymous > "$ARTIFACTS/totals-after-delete.txt"
check 'cmp -s "$ARTIFACTS/totals1.txt" "$ARTIFACTS/totals-after-delete.txt"' "sonde delete of tenant race leaves it empty on every instance, and tenant anonymous whole ($(cat "$ARTIFACTS/delete.txt"))"

"$SONDE" inspect --compaction-levels "$LEVELS" "$url" > "$ARTIFACTS/inspect.txt" 2> "$ARTIFACTS/inspect.err" ||
	fail "inspect finds the bucket inconsistent: $(head -5 "$ARTIFACTS/inspect.err")"
check 'grep -q "read and checked, and consistent" "$ARTIFACTS/inspect.txt"' "inspect: every block readable, no contradiction ($(grep '^total:' "$ARTIFACTS/inspect.txt"))"
for n in 1 2 3; do
	c=$(curl -s "${URL[$n]}/metrics" | awk '$1 == "sonde_collector_compactions_total" { print $2 }')
	log "collector $n: ${c%.*} merges"
done
for n in 1 2 3; do kill -TERM "${PID[$n]}"; wait "${PID[$n]}" || fail "collector $n exited with $?"; done
