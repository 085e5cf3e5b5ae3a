#!/bin/bash
# A process that exits during the run keeps its samples, correctly named; short-lived
# processes (>= 50 ms) still appear, with symbols (their mappings are read while they live).
# Counts are compared with the CPU time the processes had (bash's `time`), not with the seconds
# they ran: on a loaded machine a busy process gets less than a CPU, and so fewer samples.
. "$(dirname "$0")/../lib.sh"
need_root

short=$(copy_as "$WL/split" wl_exits)
tiny=$(copy_as "$WL/split" wl_tiny)
BG_LOG=$ARTIFACTS/agent.log bg "$AGENT" --duration 6 --output "$ARTIFACTS/exit.folded"
agent=$BG_PID
wait_sampling "$ARTIFACTS/agent.log"

# cpu_time CMD...: runs CMD, prints the CPU ticks (1/100 s) it used, user and system
cpu_time() {
	local TIMEFORMAT='%3U %3S' out
	out=$({ time "$@" > /dev/null 2>&1; } 2>&1)
	awk '{ printf "%d\n", ($1 + $2) * 100 }' <<< "$out"
}
short_ticks=$(cpu_time "$short" 1.0 3 1) # exits after 1 s, mid-run
tiny_ticks=0
for _ in $(seq 8); do tiny_ticks=$((tiny_ticks + $(cpu_time "$tiny" 0.05 3 1))); done # eight 50 ms processes
wait "$agent" || fail "agent exited with $?"
f=$ARTIFACTS/exit.folded
n=$(folded_sum "$f" '^wl_exits;')
n_named=$(folded_sum "$f" '^wl_exits;.*main;.*hot_[ab]')
t=$(folded_sum "$f" '^wl_tiny;')
t_named=$(folded_sum "$f" '^wl_tiny;.*main;')
log "wl_exits=$n (named $n_named) for $short_ticks ticks of CPU; wl_tiny=$t (named $t_named) for $tiny_ticks"
check 'enough_samples "$n" "$short_ticks"' "the exited process kept its samples ($n for $short_ticks ticks)"
check '[ "$n_named" -ge $((n * 9 / 10)) ]' "and they are symbolized after it exited ($n_named/$n)"
if [ "$tiny_ticks" -ge 30 ]; then
	check 'enough_samples "$t" "$tiny_ticks"' "50 ms processes appear ($t samples for $tiny_ticks ticks)"
else # too loaded to say how many: they must still appear
	check '[ "$t" -ge 1 ]' "50 ms processes appear ($t samples for $tiny_ticks ticks)"
fi
check '[ "$t_named" -ge $((t * 8 / 10)) ]' "with symbols ($t_named/$t)"
