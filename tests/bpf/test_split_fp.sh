#!/bin/bash
# A known CPU split (hot_a:hot_b = 3:1, frame pointers everywhere) profiled by pid for 5 s:
# >= 90% of the expected samples arrive, the split is within +-5 points, stacks reach main.
. "$(dirname "$0")/../lib.sh"
need_root

bg "$WL/split" 8 3 1
wl=$BG_PID
sleep 0.3
f=$ARTIFACTS/split.folded
profile_pid "$wl" 5 "$f"

total=$(folded_sum "$f" '^split;')
other=$(folded_sum "$f" '^')
a=$(folded_sum "$f" ';hot_a(;|$)')
b=$(folded_sum "$f" ';hot_b(;|$)')
main=$(folded_sum "$f" '^split;(.*;)?main(;|$)')
expected=500 # 5 s at 100 Hz, one busy CPU
share=$(ratio "$a" "$((a + b))")
log "samples=$total (expected $expected) hot_a=$a hot_b=$b share_a=$share reach_main=$main"

check '[ "$other" -eq "$total" ]' "only the filtered pid was recorded ($other == $total)"
check '[ "$total" -ge $((expected * 90 / 100)) ]' ">= 90% of expected samples arrived ($total/$expected)"
check '[ "$total" -le $((expected * 105 / 100)) ]' "no more samples than possible ($total <= 105%)"
check 'float_between "$share" 0.70 0.80' "split hot_a/(hot_a+hot_b) = $share within 0.75 +- 0.05"
check '[ $((a + b)) -ge $((total * 90 / 100)) ]' "hot functions carry >= 90% of samples"
check '[ "$main" -ge $((total * 95 / 100)) ]' ">= 95% of stacks reach main ($main/$total)"
# the agent's own accounting: nothing dropped in the kernel or in user space
grep -q 'dropped_ringbuf=0 ' "$f.log" || fail "ring buffer drops: $(grep stopped "$f.log")"
log "ok: no ring buffer drops"
