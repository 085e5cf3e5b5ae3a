#!/bin/bash
# A known CPU split (hot_a:hot_b = 3:1, frame pointers everywhere) profiled by pid for 5 s:
# the samples the CPU time it had calls for arrive (500 on an idle machine), the split is within
# +-5 points, stacks reach main.
# Twice: with the default DWARF unwinding, and with the in-kernel frame-pointer walk alone
# (--stack-bytes 0), which a binary built with frame pointers must also get right.
. "$(dirname "$0")/../lib.sh"
need_root

bg "$WL/split" 14 3 1
wl=$BG_PID
sleep 0.3
for mode in dwarf fp; do
	f=$ARTIFACTS/split.$mode.folded
	# 97 Hz, not 100: a period that divides the workload's hot_a/hot_b cycle on some CPU
	# would sample it at the same phases each time (0.80 and 0.81 seen at 100 Hz, idle)
	if [ $mode = fp ]; then
		profile_pid "$wl" 5 "$f" -F 97 --stack-bytes 0
	else
		profile_pid "$wl" 5 "$f" -F 97
	fi
	total=$(folded_sum "$f" '^split;')
	other=$(folded_sum "$f" '^')
	a=$(folded_sum "$f" ';hot_a(;|$)')
	b=$(folded_sum "$f" ';hot_b(;|$)')
	main=$(folded_sum "$f" '^split;(.*;)?main(;|$)')
	expected=$((TICKS * 97 / 100)) # per tick of CPU the workload had (500 ticks: 5 s of a CPU)
	share=$(ratio "$a" "$((a + b))")
	log "$mode: samples=$total (expected $expected) hot_a=$a hot_b=$b share_a=$share reach_main=$main"

	check '[ "$other" -eq "$total" ]' "$mode: only the filtered pid was recorded ($other == $total)"
	check 'enough_samples "$total" "$TICKS" 97' "$mode: the expected samples arrived ($total of $expected)"
	check '[ "$total" -le $((expected * 11 / 10 + 10)) ]' "$mode: no more samples than possible ($total of $expected)"
	check 'float_between "$share" 0.70 0.80' "$mode: split hot_a/(hot_a+hot_b) = $share within 0.75 +- 0.05"
	check '[ $((a + b)) -ge $((total * 90 / 100)) ]' "$mode: hot functions carry >= 90% of samples"
	check '[ "$main" -ge $((total * 95 / 100)) ]' "$mode: >= 95% of stacks reach main ($main/$total)"
	# the agent's own accounting: nothing dropped in the kernel or in user space
	grep -q 'dropped_ringbuf=0 ' "$f.log" || fail "$mode: ring buffer drops: $(grep stopped "$f.log")"
	log "ok: $mode: no ring buffer drops"
done
