#!/bin/bash
# DWARF unwinding at the edges: deep stacks (>= 32 KB and > 128 frames) complete; deeper than
# the stack copy, truncated and marked, never wrong; signal frames; PLT stubs; JIT code (stop,
# marked unknown); a process that execs or unmaps a library while sampled.
. "$(dirname "$0")/../lib.sh"
need_root
STACKS=tests/tools/stacks.py

# stat FILE COMM ARGS...: one field of stacks.py's JSON, e.g. stat f c entry_share --a ...
stat() {
	local f=$1 comm=$2 field=$3
	shift 3
	python3 "$STACKS" folded "$f" --comm "$comm" "$@" | python3 -c "import json,sys; print(json.load(sys.stdin)['$field'])"
}

# --- >= 32 KB of stack and > 128 frames: complete
bg "$WL/split_nofp" 8 3 1 400
wl=$BG_PID
sleep 0.5
f=$ARTIFACTS/deep32.folded
profile_pid "$wl" 3 "$f" -F 200
kill "$wl"; wait "$wl" 2>/dev/null || true
frames=$(awk '{ n = split($0, a, ";"); if (n > m) m = n } END { print m - 1 }' "$f")
share=$(stat "$f" split_nofp entry_share --a hot_a --b hot_b --entry main)
log "deep stack: $frames frames, entry share $share"
check '[ "$frames" -ge 400 ]' "stacks of >= 400 frames recorded ($frames)"
check 'float_between "$share" 0.99 1' ">= 99% of deep stacks reach main ($share)"

# the same workload prints how deep its stack went
"$WL/split_nofp" 0.01 3 1 400 2> "$ARTIFACTS/depth.txt"
bytes=$(sed -n 's/stack_bytes=//p' "$ARTIFACTS/depth.txt")
check '[ "$bytes" -ge 32768 ]' "that stack is at least 32 KB ($bytes bytes)"

# --- deeper than the stack copy: marked truncated, every frame still right
bg "$WL/split_nofp" 8 3 1 1500
wl=$BG_PID
sleep 0.5
f=$ARTIFACTS/toodeep.folded
profile_pid "$wl" 3 "$f" -F 200
kill "$wl"; wait "$wl" 2>/dev/null || true
total=$(folded_sum "$f" '^split_nofp;')
trunc=$(folded_sum "$f" '^split_nofp;\[truncated\];')
main=$(folded_sum "$f" ';main;')
# every frame of every truncated stack is one the program really has on that path
wrong=$(awk '{ c = $NF; s = $0; sub(/ [0-9]+$/, "", s); n = split(s, a, ";");
	for (i = 3; i <= n; i++) if (a[i] !~ /^(deep|work|hot_a|hot_b|burn|wl_now|(__GI___|__vdso_)?clock_gettime|.*_\[k\])$/) { w += c; break } }
	END { print w + 0 }' "$f")
log "too deep: samples=$total truncated=$trunc reaching main=$main with a wrong frame=$wrong"
check '[ "$trunc" -ge $((total * 99 / 100)) ]' ">= 99% marked [truncated] ($trunc/$total)"
check '[ "$main" -eq 0 ]' "none pretends to reach main"
check '[ "$wrong" -eq 0 ]' "no wrong frame below the marker"
grep -qE 'truncated_(stack_copy|depth)=[1-9]' "$f.log" || fail "truncation not counted"

# --- signal frames: handler samples unwind through __restore_rt into the interrupted code
bg "$WL/sigload" 6
wl=$BG_PID
sleep 0.5
f=$ARTIFACTS/signal.folded
profile_pid "$wl" 3 "$f" -F 200
total=$(folded_sum "$f" '^sigload;')
handler=$(folded_sum "$f" ';on_tick;')
through=$(folded_sum "$f" ';main;main_loop(;[^;]+)*;on_tick;')
log "signals: samples=$total in handler=$handler unwound through the signal frame to main=$through"
check '[ "$handler" -ge $((total / 4)) ]' "a good share of samples is in the handler ($handler/$total)"
check '[ "$through" -ge $((handler * 99 / 100)) ]' ">= 99% of them reach main;main_loop ($through/$handler)"

# --- PLT stubs: the PLT's expression rule; stubs are named NAME@plt
bg "$WL/pltload" 6
wl=$BG_PID
sleep 0.5
f=$ARTIFACTS/plt.folded
profile_pid "$wl" 3 "$f" -F 200
total=$(folded_sum "$f" '^pltload;')
main=$(folded_sum "$f" '^pltload;.*;main;')
# samples whose leaf is a PLT stub (named NAME@plt from .rela.plt) and that reach main
in_plt=$(folded_sum "$f" '^pltload;.*;main;call_through_plt[^;]*;lib_nop@plt$')
log "plt: samples=$total reaching main=$main in a PLT stub and reaching main=$in_plt"
check '[ "$main" -ge $((total * 99 / 100)) ]' ">= 99% reach main ($main/$total)"
check '[ "$in_plt" -ge $((total / 10)) ]' "samples in PLT stubs unwind to main ($in_plt/$total)"

# --- JIT code: anonymous executable memory, no unwind info: shown, then marked unknown
bg "$WL/jit" 6
wl=$BG_PID
sleep 0.5
f=$ARTIFACTS/jit.folded
profile_pid "$wl" 3 "$f" -F 200
total=$(folded_sum "$f" '^jit;')
jit=$(folded_sum "$f" '^jit;\[unknown\];\[anon\+0x[0-9a-f]+\]$')
log "jit: samples=$total stopped cleanly at the JIT frame=$jit"
check '[ "$jit" -ge $((total * 90 / 100)) ]' "JIT samples end at [anon+0x...] marked [unknown] ($jit/$total)"
grep -q 'no_unwind_info=[1-9]' "$f.log" || fail "no_unwind_info not counted"

# --- exec while sampled: one pid, two images, each resolved against its own mappings. The
# agent samples the whole machine from before the exec'ing process starts, so that both images
# are sampled however long the agent takes to start.
f=$ARTIFACTS/exec.folded
BG_LOG=$f.log bg "$AGENT" --duration 5 -F 200 --output "$f"
agent=$BG_PID
wait_sampling "$f.log"
"$WL/execer" 1.5 "$WL/split_cpp" 2 > /dev/null 2>&1 || fail "execer failed"
wait "$agent" || fail "agent exited with $?: $(tail -n 3 "$f.log")"
before=$(folded_sum "$f" '^execer;.*;main;exec_hot$')
after=$(folded_sum "$f" '^split_cpp;.*;main;.*hot_[ab]')
all_before=$(folded_sum "$f" '^execer;')
all_after=$(folded_sum "$f" '^split_cpp;')
log "exec: before exec $before/$all_before named, after $after/$all_after named"
check '[ "$all_before" -ge 50 ] && [ "$before" -ge $((all_before * 97 / 100)) ]' "the first image resolved ($before/$all_before)"
check '[ "$all_after" -ge 50 ] && [ "$after" -ge $((all_after * 97 / 100)) ]' "the image after exec resolved ($after/$all_after)"

# --- dlopen/dlclose while sampled
bg "$WL/dlload" 6 "$PWD/$WL/libhot.so"
wl=$BG_PID
sleep 0.3
f=$ARTIFACTS/dlopen.folded
profile_pid "$wl" 3 "$f" -F 200
total=$(folded_sum "$f" '^dlload;')
inlib=$(folded_sum "$f" '^dlload;.*;main;use_library;lib_hot_a;lib_burn$')
log "dlopen: samples=$total in the library, unwound to main=$inlib"
check '[ "$inlib" -ge $((total * 80 / 100)) ]' "library frames resolved across dlopen/dlclose ($inlib/$total)"
