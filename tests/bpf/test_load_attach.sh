#!/bin/bash
# Every BPF program loads (verifier acceptance on this kernel) and attaches: the perf_event
# program on every online CPU and both scheduler tracepoints. After the run nothing is left.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd bpftool

bg "$AGENT" --duration 3 --output "$ARTIFACTS/out.folded" --log-level debug
agent=$BG_PID
loaded=""
for _ in $(seq 50); do
	sleep 0.1
	loaded=$(bpftool prog show 2>/dev/null | grep -E 'name sonde_' || true)
	[ "$(echo "$loaded" | grep -c 'name sonde_')" -ge 3 ] && break
done
echo "$loaded" > "$ARTIFACTS/progs.txt"
perf_links=$(bpftool link show 2>/dev/null | grep -cE '^[0-9]+: perf_event ' || true)
wait "$agent" || fail "agent exited with $?"

check 'matches "$loaded" "perf_event.*name sonde_sample"' "sonde_sample loaded as perf_event"
check 'matches "$loaded" "tracing.*name sonde_exec"' "sonde_exec (tp_btf sched_process_exec) loaded"
check 'matches "$loaded" "tracing.*name sonde_exit"' "sonde_exit (tp_btf sched_process_exit) loaded"
check '[ "$perf_links" -ge "$(nproc)" ]' "a perf_event link per online CPU ($perf_links >= $(nproc))"
check '[ -f "$ARTIFACTS/out.folded" ]' "profile written"
no_sonde_bpf
log "no programs left after exit"
