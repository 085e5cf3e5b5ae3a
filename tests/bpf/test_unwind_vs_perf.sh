#!/bin/bash
# DWARF unwinding without frame pointers, against perf: each workload (a known 3:1 CPU split
# between two functions) runs under the agent by pid and, at the same time, under
# `perf record --call-graph dwarf,65528`. Both sample at 1000 Hz for 5 s (~5000 samples each on an idle machine:
# with independent samplers, fewer would make a +-3 point comparison a coin toss).
# For each: >= 99% of the agent's samples reach the thread entry, the split matches perf's
# within +-3 points, and the caller of the frameless leaf is there.
#
# Go is the exception on perf's side: perf's DWARF unwinder cannot unwind Go binaries (no
# .eh_frame; it gets nowhere with Go's .debug_frame), so the Go case runs perf with
# --call-graph fp (Go keeps frame pointers) and compares the split on the goroutine functions,
# since frame pointers lose the caller of Go's frameless leaf (hotA/hotB), which the agent keeps.
# Its split is compared with the workload's known 3:1 instead of perf's: perf -p counts CPU time
# per thread, and on a loaded machine its Go split drifted to 0.78 in two CI runs of two, while
# the agent, sampling the same seconds per CPU, had 0.75 (the goroutines take turns of 3 and 1
# units of work, so 3:1 holds whatever the preemption); perf agreed within a point at lighter load.
# A Go stack ends at a goroutine's function, or, for the runtime's own threads and stacks (sysmon,
# the scheduler on g0), at runtime.mstart, mcall or systemstack: on a loaded machine sysmon
# wakes as often while the workload gets less CPU, and its samples near 1%.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd perf
STACKS=tests/tools/stacks.py
results=$ARTIFACTS/results.txt
: > "$results"

# run_case NAME BINARY ARGS... -- STATS ARGS (--a --b --entry --leaf --caller)
# PERF_CG (default dwarf,65528) is perf's --call-graph mode.
run_case() {
	local name=$1 bin=$2 cg=${PERF_CG:-dwarf,65528}
	shift 2
	local args=() stats=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	stats=("$@")
	[ -x "$bin" ] || fail "$name: workload $bin not built"
	local comm
	comm=$(basename "$bin" | cut -c1-15)
	bg "$bin" "${args[@]}"
	local wl=$BG_PID
	sleep 0.5 # past the workload's start (the dynamic loader's frames do not reach main)
	# perf starts when the agent samples, so that both see the same 5 s (the split of a loaded
	# machine's workload drifts, and a second's offset made them 3.7 points apart)
	(
		wait_sampling "$ARTIFACTS/$name.agent.log"
		exec perf record -q -F 1000 -p "$wl" --call-graph "$cg" -o "$ARTIFACTS/$name.perf.data" \
			-- sleep 5
	) 2> "$ARTIFACTS/$name.perf.log" &
	local perfpid=$!
	sampled "$wl" "$ARTIFACTS/$name.agent.log" "$AGENT" -F 1000 --pid "$wl" --duration 5 \
		--output "$ARTIFACTS/$name.folded" || fail "$name: agent failed: $(tail -n 2 "$ARTIFACTS/$name.agent.log")"
	wait "$perfpid" || fail "$name: perf record failed: $(cat "$ARTIFACTS/$name.perf.log")"
	kill "$wl" 2>/dev/null || true
	perf script --no-inline --max-stack 1024 -i "$ARTIFACTS/$name.perf.data" -F comm,tid,ip,sym,dso \
		> "$ARTIFACTS/$name.perf.txt" 2> /dev/null
	rm -f "$ARTIFACTS/$name.perf.data" # hundreds of MB: the text keeps what matters
	python3 "$STACKS" folded "$ARTIFACTS/$name.folded" --comm "$comm" "${stats[@]}" > "$ARTIFACTS/$name.agent.json"
	python3 "$STACKS" perf "$ARTIFACTS/$name.perf.txt" --comm "$comm" "${stats[@]}" > "$ARTIFACTS/$name.perf.json"
	python3 - "$name" "$ARTIFACTS/$name.agent.json" "$ARTIFACTS/$name.perf.json" "$results" "$TICKS" <<'PY'
import json, sys
name, a, p, out = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), sys.argv[4]
ticks = int(sys.argv[5])  # CPU time the workload had while sampled, in 1/100 s
line = (f"{name:10} agent: samples={a['samples']} entry={a['entry_share']:.4f} "
        f"split={a['share_a']:.4f} leaf_caller={a['leaf_caller_share']:.4f} | "
        f"perf: samples={p['samples']} entry={p['entry_share']:.4f} split={p['share_a']:.4f}")
print(line)
open(out, "a").write(line + "\n")
errors = []
# at 1000 Hz, 10 samples per tick of CPU the workload had (~5000 on an idle machine)
if ticks < 100 or a["samples"] / 10 < 0.9 * ticks - 3 * ticks ** 0.5 - 5:  # as lib.sh's enough_samples
    errors.append(f"only {a['samples']} agent samples for {ticks} ticks of CPU")
if p["samples"] < 1000:
    errors.append(f"only {p['samples']} perf samples")
if a["entry_share"] < 0.99:
    errors.append(f"{a['entry_share']:.2%} of stacks reach the thread entry (need 99%)")
# Go's split is checked against the known answer (see the top of this file), the others' against perf
want, against = (0.75, "the workload's 3:1") if name == "go" else (p["share_a"], "perf")
if abs(a["share_a"] - want) > 0.03:
    errors.append(f"split {a['share_a']:.4f} vs {against} {want:.4f}: more than 3 points apart")
if a["leaf"] < 100 or a["leaf_caller_share"] < 0.99:
    errors.append(f"leaf caller present in {a['leaf_caller_share']:.2%} of {a['leaf']} leaf samples")
if errors:
    print(f"[{name}] FAIL: " + "; ".join(errors), file=sys.stderr)
    sys.exit(1)
PY
}

# C without frame pointers, with a call chain at least 12 KB deep
run_case c_deep "$WL/split_nofp" 12 3 1 160 -- \
	--a 'hot_a' --b 'hot_b' --entry main --leaf '^burn' --caller '^hot_[ab]$'
run_case cpp "$WL/split_cpp" 12 -- \
	--a 'hot_a' --b 'hot_b' --entry main --leaf 'Burner' --caller 'hot_[ab]'
run_case rust "$WL/split_rust" 12 -- \
	--a 'hot_a' --b 'hot_b' --entry main --leaf 'burn' --caller 'hot_[ab]'
PERF_CG=fp run_case go "$WL/split_go" 12 -- \
	--a 'main\.workerA' --b 'main\.workerB' --entry 'main\.worker[AB]|runtime\.(mstart|mcall|systemstack)' \
	--leaf '^main\.burn$' --caller '^main\.hot[AB]$'
python3 - "$ARTIFACTS/go.agent.json" "$ARTIFACTS/go.perf.json" <<'PY' | tee -a "$results"
import json, sys
a, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(f"go leaf caller (main.burn called by main.hotA/B): agent {a['leaf_caller_share']:.2%}, "
      f"perf --call-graph fp {p['leaf_caller_share']:.2%}")
PY
run_case shlib "$WL/shlib" 12 -- \
	--a 'lib_hot_a' --b 'lib_hot_b' --entry main --leaf '^lib_burn' --caller '^lib_hot_[ab]$'
run_case qsort "$WL/qsort" 12 -- \
	--a 'cmp_a' --b 'cmp_b' --entry main --leaf '^cmp_[ab]$' --caller 'msort|libc\.so'
log "all workloads:"
cat "$results"
