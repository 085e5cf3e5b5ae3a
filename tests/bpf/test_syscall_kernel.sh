#!/bin/bash
# A system-call-heavy workload shows kernel frames (_[k]) under its user frames:
# main -> do_reads -> entry_SYSCALL_64... -> read_zero.
. "$(dirname "$0")/../lib.sh"
need_root

bg "$WL/sysload" 6
wl=$BG_PID
sleep 0.3
f=$ARTIFACTS/sys.folded
profile_pid "$wl" 3 "$f"
total=$(folded_sum "$f" '^sysload;')
kernel=$(folded_sum "$f" '_\[k\]')
under=$(folded_sum "$f" ';main;do_reads;[^;]*_\[k\]')
readzero=$(folded_sum "$f" ';read_zero_\[k\]')
log "samples=$total with_kernel=$kernel kernel_under_do_reads=$under read_zero=$readzero"
check 'enough_samples "$total" "$TICKS"' "enough samples ($total for $TICKS ticks)"
check '[ "$kernel" -ge $((total / 2)) ]' "most samples are in the kernel ($kernel/$total)"
check '[ "$under" -ge $((kernel * 95 / 100)) ]' "kernel frames sit under main;do_reads ($under/$kernel)"
check '[ "$readzero" -ge $((kernel / 4)) ]' "the kernel's read_zero is named ($readzero)"
# kernel frames come after the user frames on every line: no user frame after a kernel one
check '! grep -qE "_\[k\];([^;]*[^]])(;| [0-9]+$)" "$f"' "no user frame below a kernel frame"
