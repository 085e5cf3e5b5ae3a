#!/bin/bash
# A process that exits during the run keeps its samples, correctly named; short-lived
# processes (>= 50 ms) still appear, with symbols (their mappings are read while they live).
. "$(dirname "$0")/../lib.sh"
need_root

short=$(copy_as "$WL/split" wl_exits)
tiny=$(copy_as "$WL/split" wl_tiny)
bg "$AGENT" --duration 4 --output "$ARTIFACTS/exit.folded"
agent=$BG_PID
sleep 1
"$short" 1.0 3 1 # exits after 1 s, mid-run
for _ in $(seq 8); do "$tiny" 0.05 3 1; done # eight 50 ms processes
wait "$agent" || fail "agent exited with $?"
f=$ARTIFACTS/exit.folded
n=$(folded_sum "$f" '^wl_exits;')
n_named=$(folded_sum "$f" '^wl_exits;.*main;.*hot_[ab]')
t=$(folded_sum "$f" '^wl_tiny;')
t_named=$(folded_sum "$f" '^wl_tiny;.*main;')
log "wl_exits=$n (named $n_named) wl_tiny=$t (named $t_named)"
check '[ "$n" -ge 80 ]' "the exited process kept its samples ($n of ~100)"
check '[ "$n_named" -ge $((n * 9 / 10)) ]' "and they are symbolized after it exited ($n_named/$n)"
check '[ "$t" -ge 20 ]' "50 ms processes appear ($t samples of ~40)"
check '[ "$t_named" -ge $((t * 8 / 10)) ]' "with symbols ($t_named/$t)"
