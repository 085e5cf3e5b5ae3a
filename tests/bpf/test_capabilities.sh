#!/bin/bash
# The agent runs with only the capabilities docs/deploy.md documents (those the systemd unit
# grants), without CAP_SYS_ADMIN: under setpriv with exactly that set it loads, samples a
# workload with a known split and exits cleanly; without CAP_BPF it refuses. Once its programs
# are attached it drops all but CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, in every thread, for
# good (no_new_privs; the bounding set too where it may), and still samples at the full rate
# and names kernel frames (read before CAP_SYSLOG goes).
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd setpriv
CAPS=bpf,perfmon,sys_ptrace,dac_read_search,syslog
# the unit file and this test must grant the same set
unit_caps=$(sed -n 's/^AmbientCapabilities=//p' deploy/systemd/sonde-agent.service.in | tr 'A-Z ' 'a-z,' | sed 's/cap_//g')
check '[ "$unit_caps" = "$CAPS" ]' "the unit grants the tested set ($unit_caps)"

# the capability sets of every thread of a running agent, once it samples: "EFF PRM BND NNP"
thread_caps() {
	local pid=$1 t
	for _ in $(seq 100); do
		matches "$(cat "$ARTIFACTS/$2" 2> /dev/null)" 'msg="sampling' && break
		sleep 0.1
	done
	for t in /proc/"$pid"/task/*; do
		awk '/^CapEff/ { e = $2 } /^CapPrm/ { p = $2 } /^CapBnd/ { b = $2 } /^NoNewPrivs/ { n = $2 }
			END { print e, p, b, n }' "$t/status"
	done | sort | uniq -c
}
# SYS_PTRACE (19) and DAC_READ_SEARCH (2); before Linux 6.5, with unprivileged BPF off, reading
# the BPF maps needs CAP_BPF (39) too, and the agent keeps it
bpf_bit=0 kept_bpf=
if [ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled 2> /dev/null || echo 1)" != 0 ] &&
	! printf '%s\n' 6.5 "$(uname -r)" | sort -V -C; then
	bpf_bit=$((1 << 39)) kept_bpf=,bpf
fi
RUNTIME=$(printf %016x $((0x80004 | bpf_bit)))
ROOT_SET=$(printf %016x $((0x80006 | bpf_bit)))

bg "$WL/split" 10 3 1
wl=$BG_PID
bg "$WL/sysload" 10
sys=$BG_PID
sleep 0.3
set_caps=$(echo "$CAPS" | sed 's/\([a-z_]*\)/+\1/g')
ticks_while_sampling "$wl" "$ARTIFACTS/agent.log" > "$ARTIFACTS/agent.ticks" &
watcher=$!
BG_LOG=$ARTIFACTS/agent.log bg setpriv --inh-caps=-all,"$set_caps" --ambient-caps=-all,"$set_caps" \
	--bounding-set=-all,"$set_caps" -- "$AGENT" --pid "$wl" --pid "$sys" --duration 4 \
	--output "$ARTIFACTS/split.folded" --metrics-addr "127.0.0.1:$(free_port)"
agent=$BG_PID
sets=$(thread_caps "$agent" agent.log)
log "threads of the agent (count, CapEff CapPrm CapBnd NoNewPrivs): $(echo $sets)"
wait "$agent" || fail "the agent failed with only $CAPS: $(tail -n 3 "$ARTIFACTS/agent.log")"
touch "$ARTIFACTS/agent.log.done"
wait "$watcher"
read_ticks "$ARTIFACTS/agent.ticks"
nthreads=$(awk '{ n += $1 } END { print n + 0 }' <<< "$sets")
check '[ "$nthreads" -ge 3 ]' "the agent runs threads ($nthreads)"
check '[ "$(wc -l <<< "$sets")" = 1 ] && matches "$sets" " $RUNTIME $RUNTIME [0-9a-f]+ 1\$"' \
	"every thread keeps only sys_ptrace and dac_read_search, with no_new_privs"
check 'matches "$(cat "$ARTIFACTS/agent.log")" "capabilities dropped after BPF setup.* kept=dac_read_search,sys_ptrace$kept_bpf dropped="' \
	"the agent says what it kept"
total=$(folded_sum "$ARTIFACTS/split.folded" '^split;')
a=$(folded_sum "$ARTIFACTS/split.folded" ';hot_a(;|$)')
b=$(folded_sum "$ARTIFACTS/split.folded" ';hot_b(;|$)')
share=$(ratio "$a" "$((a + b))")
# the split only shows the samples are the workload's (test_split_fp measures it): 4 s of ~400
# samples beside a second workload is +-0.05 from sampling noise alone at two sigma (0.81 seen)
check 'float_between "$share" 0.65 0.85' "the known split ($share)"
# one busy thread, after the drop: the delivered rate, against the CPU time it had
check 'enough_samples "$total" "$TICKS"' "the full sample rate with only $CAPS ($total for $TICKS ticks)"
named=$(folded_sum "$ARTIFACTS/split.folded" '^sysload;.*;read_zero_\[k\]')
check '[ "$named" -ge 20 ]' "kernel frames are named without CAP_SYSLOG at run time ($named read_zero samples)"

# as full root: the bounding set goes too, and the threads keep only the runtime set (and
# dac_override, to write --output where root may not otherwise)
BG_LOG=$ARTIFACTS/root.log bg "$AGENT" --pid "$wl" --duration 2 --output "$ARTIFACTS/root.folded"
agent=$BG_PID
sets=$(thread_caps "$agent" root.log)
wait "$agent" || fail "the agent failed as root: $(tail -n 3 "$ARTIFACTS/root.log")"
log "as root: $(echo $sets)"
check 'matches "$sets" " $ROOT_SET $ROOT_SET $ROOT_SET 1\$" && [ "$(wc -l <<< "$sets")" = 1 ]' \
	"as root every thread drops to sys_ptrace, dac_read_search and dac_override, bounding set included"
# the same without CAP_BPF fails, and says so: the set is needed, not just enough
rc=0
less=$(echo "$set_caps" | sed 's/+bpf,//')
setpriv --inh-caps=-all,"$less" --ambient-caps=-all,"$less" --bounding-set=-all,"$less" -- \
	"$AGENT" --pid "$wl" --duration 1 --output "$ARTIFACTS/nobpf.folded" 2> "$ARTIFACTS/nobpf.log" || rc=$?
check '[ "$rc" != 0 ]' "without CAP_BPF the agent refuses to run: $(grep -m1 -i 'error' "$ARTIFACTS/nobpf.log" | cut -c1-160)"
