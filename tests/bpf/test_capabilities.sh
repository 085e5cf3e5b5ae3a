#!/bin/bash
# The agent runs with only the capabilities docs/deploy.md documents (those the systemd unit
# grants), without CAP_SYS_ADMIN: under setpriv with exactly that set it loads, samples a
# workload with a known split and exits cleanly; without CAP_BPF it refuses.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd setpriv
CAPS=bpf,perfmon,sys_ptrace,dac_read_search,syslog
# the unit file and this test must grant the same set
unit_caps=$(sed -n 's/^AmbientCapabilities=//p' deploy/systemd/sonde-agent.service.in | tr 'A-Z ' 'a-z,' | sed 's/cap_//g')
check '[ "$unit_caps" = "$CAPS" ]' "the unit grants the tested set ($unit_caps)"

bg "$WL/split" 10 3 1
wl=$BG_PID
sleep 0.3
set_caps=$(echo "$CAPS" | sed 's/\([a-z_]*\)/+\1/g')
setpriv --inh-caps=-all,"$set_caps" --ambient-caps=-all,"$set_caps" --bounding-set=-all,"$set_caps" -- \
	"$AGENT" --pid "$wl" --duration 3 --output "$ARTIFACTS/split.folded" 2> "$ARTIFACTS/agent.log" ||
	fail "the agent failed with only $CAPS: $(tail -n 3 "$ARTIFACTS/agent.log")"
total=$(folded_sum "$ARTIFACTS/split.folded" '^split;')
a=$(folded_sum "$ARTIFACTS/split.folded" ';hot_a(;|$)')
b=$(folded_sum "$ARTIFACTS/split.folded" ';hot_b(;|$)')
share=$(ratio "$a" "$((a + b))")
check '[ "$total" -ge 250 ]' "samples with only $CAPS ($total)"
check 'float_between "$share" 0.70 0.80' "the known split ($share)"
# the same without CAP_BPF fails, and says so: the set is needed, not just enough
rc=0
less=$(echo "$set_caps" | sed 's/+bpf,//')
setpriv --inh-caps=-all,"$less" --ambient-caps=-all,"$less" --bounding-set=-all,"$less" -- \
	"$AGENT" --pid "$wl" --duration 1 --output "$ARTIFACTS/nobpf.folded" 2> "$ARTIFACTS/nobpf.log" || rc=$?
check '[ "$rc" != 0 ]' "without CAP_BPF the agent refuses to run: $(grep -m1 -i 'error' "$ARTIFACTS/nobpf.log" | cut -c1-160)"
