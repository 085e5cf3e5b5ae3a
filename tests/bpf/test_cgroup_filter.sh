#!/bin/bash
# In-kernel cgroup filtering: only processes in the given cgroup v2 (or below it) are sampled.
. "$(dirname "$0")/../lib.sh"
need_root

root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$root" ] || skip "no cgroup v2 hierarchy mounted"
cg=$root/sonde-test-$$
child=$cg/inner
mkdir -p "$child"
remove_cg() {
	for d in "$child" "$cg"; do
		if [ -d "$d" ]; then
			while read -r p; do echo "$p" > "$root/cgroup.procs" 2>/dev/null || true; done < "$d/cgroup.procs"
			rmdir "$d" 2>/dev/null || true
		fi
	done
}
trap 'cleanup_children; remove_cg' EXIT

inside=$(copy_as "$WL/split" wl_inside)
outside=$(copy_as "$WL/split" wl_outside)
# start the inside one already in the child cgroup (a descendant of the filter)
bg sh -c "echo \$\$ > $child/cgroup.procs && exec $inside 6"
pin=$BG_PID
bg "$outside" 6
sleep 0.3
sampled "$pin" "$ARTIFACTS/agent.log" "$AGENT" --cgroup "$cg" --duration 3 --output "$ARTIFACTS/cg.folded" ||
	fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
ni=$(folded_sum "$ARTIFACTS/cg.folded" '^wl_inside;')
no=$(folded_sum "$ARTIFACTS/cg.folded" '^wl_outside;')
all=$(folded_sum "$ARTIFACTS/cg.folded" '^')
log "inside=$ni outside=$no all=$all"
check 'enough_samples "$ni" "$TICKS"' "the process in the cgroup is sampled ($ni for $TICKS ticks)"
check '[ "$no" -eq 0 ]' "the process outside is not ($no)"
check '[ "$all" -eq "$ni" ]' "nothing else is ($all)"
grep -q 'filtered=[1-9]' "$ARTIFACTS/agent.log" || fail "filtered samples not counted"
log "ok: filtered samples counted in the kernel"
