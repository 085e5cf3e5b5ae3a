#!/bin/bash
# One profile, every format, every path: what the agent writes itself (--output, folded and
# pprof) and what the collector gives back for the same samples (the HTTP API's /export and
# `sonde export`, folded and pprof) agree exactly: the same stacks, values, sample types,
# function names, system names, files, lines and labels. pprof is decoded by an independent
# decoder (pprof-format, tests/tools/pprof_content.js). The agent ships and writes its copy of
# the same samples at once (daemon mode with --output); each format gets a run and a tenant.
# Also: `sonde export --format pprof` goes through a pipe and a redirection, and refuses only a
# terminal (it refused both before).
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd node

store=$ARTIFACTS/store
start_collector "$store" --segment-max-age 200ms
API=$COLL_URL/api/v1
SEL='query=%7Bservice_name%3D%22split%22%7D'
content() { node tests/tools/pprof_content.js "$1"; }

# run TENANT FORMAT OUT: the split workload (a 3:1 split) profiled into the collector
run() {
	bg "$WL/split" 6 3 1
	local wl=$BG_PID
	sleep 0.3
	"$AGENT" --pid "$wl" --collector "$COLL_URL" --tenant "$1" --upload-interval 1s --duration 3 \
		--format "$2" --output "$3" 2> "$3.log" || fail "agent failed: $(tail -n 3 "$3.log")"
	kill "$wl" 2> /dev/null || true
	grep -q ' dropped_requests=0 ' "$3.log" || fail "the agent dropped requests: $(grep -o 'dropped_requests=[0-9]*' "$3.log")"
}
t0=$(date +%s)
run fold folded "$ARTIFACTS/agent.folded"
run pprof pprof "$ARTIFACTS/agent.pb.gz"
t1=$(($(date +%s) + 1))
sleep 0.5 # the collector's segments are stored within 200 ms
R="from=$t0&to=$t1"
[ "$(grep -c . "$ARTIFACTS/agent.folded")" -ge 2 ] || fail "the agent recorded too little: $(cat "$ARTIFACTS/agent.folded")"

# folded: agent = API = sonde export, byte for byte
curl -sf -H 'X-Scope-OrgID: fold' "$API/export?$SEL&$R&format=folded" > "$ARTIFACTS/api.folded" ||
	fail "the API's folded export failed"
"$SONDE" export "$store" --tenant fold --service split --from "$t0" --to "$t1" > "$ARTIFACTS/cli.folded" ||
	fail "sonde export (folded) failed"
for f in api cli; do
	diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/$f.folded" > "$ARTIFACTS/$f.folded.diff" ||
		fail "the $f folded export differs from the agent's: $(head -5 "$ARTIFACTS/$f.folded.diff")"
done
log "ok: folded: agent, API and sonde export agree ($(wc -l < "$ARTIFACTS/agent.folded") stacks)"

# pprof: agent = API = sonde export (through a pipe), decoded independently
curl -sf -H 'X-Scope-OrgID: pprof' -o "$ARTIFACTS/api.pb.gz" "$API/export?$SEL&$R&format=pprof" ||
	fail "the API's pprof export failed"
"$SONDE" export "$store" --tenant pprof --service split --from "$t0" --to "$t1" --format pprof |
	content - > "$ARTIFACTS/cli.pprof.txt" || fail "sonde export --format pprof | decoder failed"
"$SONDE" export --url "$COLL_URL" --tenant pprof --from "$t0" --to "$t1" '{service_name="split"}' --format pprof |
	content - > "$ARTIFACTS/url.pprof.txt" || fail "sonde export --url --format pprof | decoder failed"
content "$ARTIFACTS/agent.pb.gz" > "$ARTIFACTS/agent.pprof.txt" || fail "pprof-format cannot decode the agent's pprof"
content "$ARTIFACTS/api.pb.gz" > "$ARTIFACTS/api.pprof.txt" || fail "pprof-format cannot decode the API's pprof"
check 'head -1 "$ARTIFACTS/agent.pprof.txt" | grep -qx "types samples/count cpu/nanoseconds period cpu/nanoseconds [0-9]*"' \
	"sample types samples/count and cpu/nanoseconds ($(head -1 "$ARTIFACTS/agent.pprof.txt"))"
check 'grep -q "hot_a|hot_a|" "$ARTIFACTS/agent.pprof.txt" && grep -q "libc-start.c:[0-9]" "$ARTIFACTS/agent.pprof.txt"' \
	"functions are named, with files and lines where DWARF has them"
check 'grep -q "process.executable.name=split,.*thread.id=" "$ARTIFACTS/agent.pprof.txt"' "samples carry the labels"
for f in api cli url; do
	diff "$ARTIFACTS/agent.pprof.txt" "$ARTIFACTS/$f.pprof.txt" > "$ARTIFACTS/$f.pprof.diff" ||
		fail "the $f pprof export differs from the agent's: $(head -5 "$ARTIFACTS/$f.pprof.diff")"
done
log "ok: pprof: agent, API, sonde export and sonde export --url agree ($(($(wc -l < "$ARTIFACTS/agent.pprof.txt") - 1)) samples)"

# folded and pprof of the same samples: the collector's folded export of the pprof run is the
# pprof's first column, folded (names and process as folded writes them)
"$SONDE" export "$store" --tenant pprof --service split --from "$t0" --to "$t1" > "$ARTIFACTS/pprof_run.folded" ||
	fail "sonde export (folded, pprof run) failed"
node tests/tools/pprof_folded.js "$ARTIFACTS/agent.pb.gz" | tail -n +2 > "$ARTIFACTS/agent.pb.folded" ||
	fail "pprof_folded.js failed"
diff "$ARTIFACTS/pprof_run.folded" "$ARTIFACTS/agent.pb.folded" > "$ARTIFACTS/cross.diff" ||
	fail "folded and pprof of the same samples differ: $(head -5 "$ARTIFACTS/cross.diff")"
log "ok: the folded export and the agent's pprof hold the same stacks and counts"

# a redirected standard output is a file go tool pprof reads (this go's pprof reads no pipe at
# all, /dev/stdin or <(...); the pipe above goes to pprof-format); a terminal is refused
if command -v go > /dev/null; then
	"$SONDE" export "$store" --tenant pprof --service split --from "$t0" --to "$t1" --format pprof \
		> "$ARTIFACTS/redirected.pb.gz" || fail "sonde export --format pprof > FILE failed"
	go tool pprof -top "$ARTIFACTS/redirected.pb.gz" > "$ARTIFACTS/top.txt" 2>&1 ||
		fail "go tool pprof cannot read it: $(tail -3 "$ARTIFACTS/top.txt")"
	check 'grep -q hot_a "$ARTIFACTS/top.txt"' "go tool pprof -top reads sonde export's redirected output"
fi
if command -v script > /dev/null; then
	rc=0
	script -qec "$SONDE export $store --tenant pprof --service split --format pprof" /dev/null \
		> "$ARTIFACTS/tty.txt" 2>&1 < /dev/null || rc=$?
	check '[ "$rc" = 2 ] && grep -q "standard output is a terminal" "$ARTIFACTS/tty.txt"' \
		"pprof to a terminal is refused (exit $rc)"
fi
