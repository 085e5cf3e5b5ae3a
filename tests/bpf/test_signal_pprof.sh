#!/bin/bash
# SIGINT/SIGTERM end a run cleanly: the profile so far is written, links are detached.
# The pprof output is a gzipped profile.proto that standard pprof tools read.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd go

bg "$WL/split" 8 3 1
wl=$BG_PID
sleep 0.2
sampled "$wl" "$ARTIFACTS/agent.log" timeout --preserve-status -s INT 3 \
	"$AGENT" --pid "$wl" --format pprof --output "$ARTIFACTS/cpu.pb.gz" ||
	fail "agent exited with $? after SIGINT"
no_sonde_bpf
check '[ -s "$ARTIFACTS/cpu.pb.gz" ]' "pprof written on SIGINT"
check 'gzip -t "$ARTIFACTS/cpu.pb.gz"' "valid gzip"
export HOME=${HOME:-/root} GOCACHE=$ARTIFACTS/gocache GOFLAGS=-mod=mod
go tool pprof -raw "$ARTIFACTS/cpu.pb.gz" > "$ARTIFACTS/raw.txt" 2> "$ARTIFACTS/pprof.err" ||
	fail "go tool pprof cannot read it: $(cat "$ARTIFACTS/pprof.err")"
go tool pprof -top -nodecount=20 "$ARTIFACTS/cpu.pb.gz" > "$ARTIFACTS/top.txt" 2>&1
grep -q 'PeriodType: cpu nanoseconds' "$ARTIFACTS/raw.txt" || fail "period type"
grep -qE 'samples/count cpu/nanoseconds' "$ARTIFACTS/raw.txt" || fail "sample types"
check 'grep -q "hot_a" "$ARTIFACTS/top.txt"' "pprof top lists hot_a"
check 'grep -q "hot_b" "$ARTIFACTS/top.txt"' "pprof top lists hot_b"
# samples: the sum of the first value column is the CPU time the workload had (~3 s at 100 Hz)
sum=$(awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 } s && /^ *[0-9]+ +[0-9]+:/ { t += $1 } END { print t + 0 }' "$ARTIFACTS/raw.txt")
log "pprof samples=$sum"
check 'enough_samples "$sum" "$TICKS" && [ "$sum" -le $((TICKS * 5 / 4 + 10)) ]' "pprof holds the samples of the run ($sum for $TICKS ticks)"

# SIGTERM with the folded format
sampled "$wl" "$ARTIFACTS/term.log" timeout --preserve-status -s TERM 3 \
	"$AGENT" --pid "$wl" --output "$ARTIFACTS/term.folded" ||
	fail "agent exited with $? after SIGTERM"
n=$(folded_sum "$ARTIFACTS/term.folded" "^split;")
check 'enough_samples "$n" "$TICKS"' "folded written on SIGTERM ($n samples for $TICKS ticks)"
no_sonde_bpf
