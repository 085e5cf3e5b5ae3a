#!/bin/bash
# Symbolization in the agent's output:
#  - a binary with inline functions (-O2 -g): the inline chain and file:line of every sampled
#    address equal eu-addr2line -i -f on the same addresses (through the pprof output);
#  - C++ and Rust names come out demangled; a stripped Go binary comes out named;
#  - kernel frames are named.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd eu-addr2line
need_cmd go
export HOME=${HOME:-/root} GOCACHE=$ARTIFACTS/gocache

# --- inline chains against eu-addr2line
bg "$WL/inline" 8
wl=$BG_PID
sleep 0.3
profile_pid "$wl" 3 "$ARTIFACTS/inline.pb.gz" --format pprof -F 400
go tool pprof -raw "$ARTIFACTS/inline.pb.gz" > "$ARTIFACTS/inline.raw" 2>/dev/null
python3 tests/tools/pprof_vs_addr2line.py "$ARTIFACTS/inline.raw" "$PWD/$WL/inline" |
	tee "$ARTIFACTS/inline.compare" || fail "inline chains differ from eu-addr2line"
profile_pid "$wl" 2 "$ARTIFACTS/inline.folded"
total=$(folded_sum "$ARTIFACTS/inline.folded" '^inline;')
chain=$(folded_sum "$ARTIFACTS/inline.folded" ';main;compute;step(;mix)?$')
check '[ "$chain" -ge $((total * 90 / 100)) ]' "inlined step/mix are frames of their own under compute ($chain/$total)"

# --- demangling: C++ (Itanium) and Rust (legacy and v0)
bg "$WL/split_cpp" 6
wl=$BG_PID
sleep 0.3
f=$ARTIFACTS/cpp.folded
profile_pid "$wl" 2 "$f"
check '[ "$(folded_sum "$f" ";sonde::workload::hot_a<unsigned long>\\(unsigned long\\);")" -gt 0 ]' "C++ template demangled"
check '[ "$(folded_sum "$f" ";sonde::workload::Runner::run\\(\\) const;")" -gt 0 ]' "C++ method demangled"
check '! grep -q ";_ZN" "$f"' "no mangled C++ name left"
bg "$WL/split_rust" 6
wl=$BG_PID
sleep 0.3
f=$ARTIFACTS/rust.folded
profile_pid "$wl" 2 "$f"
check '[ "$(folded_sum "$f" ";split_rust::work::hot_a;split_rust::burn(;|$)")" -gt 0 ]' "Rust (legacy mangling) demangled, hash dropped"
check '[ "$(folded_sum "$f" ";std::rt::lang_start_internal;")" -gt 0 ]' "Rust std (v0 mangling) demangled"
check '! grep -qE ";_(ZN|R)[A-Za-z0-9_]+;" "$f"' "no mangled Rust name left"

# --- a stripped Go binary: no symbols, no DWARF; .gopclntab names it
check '! matches "$(readelf -SW "$WL/split_go_stripped")" "\.symtab|\.debug_info"' "the Go binary really is stripped"
bg "$WL/split_go_stripped" 6
sleep 0.5
wl=$(pgrep -n -f split_go_stripped)
f=$ARTIFACTS/go.folded
profile_pid "$wl" 2 "$f"
total=$(folded_sum "$f" '^split_go_stripp;')
named=$(folded_sum "$f" '^split_go_stripp;runtime\.goexit[^;]*;main\.main\.func[12];main\.worker[AB];main\.hot[AB];main\.burn$')
check '[ "$named" -ge $((total * 80 / 100)) ]' "stripped Go stacks named from .gopclntab ($named/$total)"

# --- kernel frames
bg "$WL/sysload" 5
wl=$BG_PID
sleep 0.3
f=$ARTIFACTS/sys.folded
profile_pid "$wl" 2 "$f"
check '[ "$(folded_sum "$f" "read_zero_\\[k\\]")" -gt 0 ]' "kernel frames named from kallsyms"
check '! grep -q "\[kernel+0x" "$f"' "no unnamed kernel frame"
