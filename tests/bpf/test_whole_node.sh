#!/bin/bash
# Whole-node mode (no filter) sees several processes at once, each under its own name.
. "$(dirname "$0")/../lib.sh"
need_root

alpha=$(copy_as "$WL/split" wl_alpha)
beta=$(copy_as "$WL/sysload" wl_beta)
bg "$alpha" 6
bg "$beta" 6
sleep 0.3
"$AGENT" --duration 3 --output "$ARTIFACTS/node.folded" 2> "$ARTIFACTS/agent.log" ||
	fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
f=$ARTIFACTS/node.folded
na=$(folded_sum "$f" '^wl_alpha;')
nb=$(folded_sum "$f" '^wl_beta;')
na_main=$(folded_sum "$f" '^wl_alpha;.*main;.*hot_[ab]')
nb_main=$(folded_sum "$f" '^wl_beta;.*main;do_reads')
procs=$(awk '{ split($0, a, ";"); print a[1] }' "$f" | sort -u | wc -l)
log "wl_alpha=$na wl_beta=$nb distinct processes=$procs"
# two busy processes on two CPUs: each should get close to 100 Hz for 3 s
check '[ "$na" -ge 200 ]' "wl_alpha sampled ($na)"
check '[ "$nb" -ge 200 ]' "wl_beta sampled ($nb)"
check '[ "$na_main" -ge $((na * 9 / 10)) ]' "wl_alpha stacks named ($na_main/$na)"
check '[ "$nb_main" -ge $((nb * 9 / 10)) ]' "wl_beta stacks named ($nb_main/$nb)"
check '[ "$procs" -ge 2 ]' "several processes in one profile"
