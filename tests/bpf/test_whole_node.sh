#!/bin/bash
# Whole-node mode (no filter) sees several processes at once, each under its own name.
. "$(dirname "$0")/../lib.sh"
need_root

alpha=$(copy_as "$WL/split" wl_alpha)
beta=$(copy_as "$WL/sysload" wl_beta)
bg "$alpha" 6
pa=$BG_PID
bg "$beta" 6
pb=$BG_PID
sleep 0.3
sampled "$pa $pb" "$ARTIFACTS/agent.log" "$AGENT" --duration 3 --output "$ARTIFACTS/node.folded" ||
	fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
f=$ARTIFACTS/node.folded
na=$(folded_sum "$f" '^wl_alpha;')
nb=$(folded_sum "$f" '^wl_beta;')
na_main=$(folded_sum "$f" '^wl_alpha;.*main;.*hot_[ab]')
nb_main=$(folded_sum "$f" '^wl_beta;.*main;do_reads')
procs=$(awk '{ split($0, a, ";"); print a[1] }' "$f" | sort -u | wc -l)
log "wl_alpha=$na wl_beta=$nb distinct processes=$procs; CPU ticks while sampled ${TICKS_OF[$pa]} ${TICKS_OF[$pb]}"
# two busy processes: each is sampled once per 10 ms of CPU it got (3 s each on an idle machine)
check 'enough_samples "$na" "${TICKS_OF[$pa]}"' "wl_alpha sampled ($na for ${TICKS_OF[$pa]} ticks)"
check 'enough_samples "$nb" "${TICKS_OF[$pb]}"' "wl_beta sampled ($nb for ${TICKS_OF[$pb]} ticks)"
check '[ "$na_main" -ge $((na * 9 / 10)) ]' "wl_alpha stacks named ($na_main/$na)"
check '[ "$nb_main" -ge $((nb * 9 / 10)) ]' "wl_beta stacks named ($nb_main/$nb)"
check '[ "$procs" -ge 2 ]' "several processes in one profile"
