#!/bin/bash
# The agent with --symbolize collector on a stripped C++ binary with inlined templates
# (docs/symbolization.md): the collector shows its frames as [inline_cpp_stripped+0x...] until
# its debug file is uploaded (`sonde debuginfo upload`, with libc's), then the same stored
# samples show real names, inline chains and file:line: equal to eu-addr2line's on the unstripped
# file, and stack for stack to what the agent names itself (--symbolize agent) on that binary.
# Then the same stored data on a collector that has only a real debuginfod (Debian's) to ask.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd eu-addr2line
need_cmd debuginfod
need_cmd node

bin=$WL/inline_cpp
libc=$(ldd "$WL/inline_cpp_stripped" | awk '/libc\.so/ { print $3 }')
libc_bid=$(readelf -n "$libc" | awk '/Build ID/ { print $3 }')
# Debian's libc6-dbg (make deps): libc's own debug file, as the agent finds it
libc_dbg=/usr/lib/debug/.build-id/${libc_bid:0:2}/${libc_bid:2}.debug
[ -f "$libc_dbg" ] || fail "no debug file for $libc ($libc_dbg): is libc6-dbg installed (make deps)?"
COLL_LOG=$ARTIFACTS/collector.log start_collector "$ARTIFACTS/store" --segment-max-age 200ms --no-debuginfod

# --- the agent leaves native frames to the collector
bg "$WL/inline_cpp_stripped" 9
wl=$BG_PID
sleep 0.3
sampled "$wl" "$ARTIFACTS/agent.log" "$AGENT" --pid "$wl" --collector "$COLL_URL" --upload-interval 1s \
	--duration 4 --symbolize collector || fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
kill "$wl" 2> /dev/null || true
q() { "$SONDE" export -u "$COLL_URL" --format "$1" --from now-1h '{process_executable_name="inline_cpp_stripped"}'; }
for _ in $(seq 30); do q folded > "$ARTIFACTS/before.folded" 2> /dev/null && [ -s "$ARTIFACTS/before.folded" ] && break; sleep 0.2; done
total=$(folded_sum "$ARTIFACTS/before.folded" '')
log "$total samples stored for ${TICKS_OF[$wl]} ticks of CPU"
check 'enough_samples "$total" "${TICKS_OF[$wl]}"' "the delivered sample rate ($total samples, ${TICKS_OF[$wl]} ticks)"
raw=$(folded_sum "$ARTIFACTS/before.folded" '\[inline_cpp_stripped\+0x[0-9a-f]+\](;[^;]*_\[k\])*$')
check '[ "$raw" -ge $((total * 90 / 100)) ]' "before the upload: user leaves are [inline_cpp_stripped+0x...] ($raw/$total)"
check '! grep -q "Engine" "$ARTIFACTS/before.folded"' "before the upload: no names"
fg() { "$SONDE" flamegraph -u "$COLL_URL" --from now-1h --min-percent 1 '{process_executable_name="inline_cpp_stripped"}'; }
fg > "$ARTIFACTS/before.flamegraph"
check 'grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/before.flamegraph" && ! grep -q "Engine" "$ARTIFACTS/before.flamegraph"' "the flame graph (the API's) shows addresses"

# --- uploaded: the same stored samples, named
"$SONDE" debuginfo upload -u "$COLL_URL" "$WL/inline_cpp.debug" "$libc_dbg" > "$ARTIFACTS/upload.out" ||
	fail "upload failed: $(cat "$ARTIFACTS/upload.out")"
q folded > "$ARTIFACTS/after.folded"
check '[ "$(folded_sum "$ARTIFACTS/after.folded" "")" = "$total" ]' "the same $total samples"
check '! grep -qE "\[(inline_cpp_stripped|libc\.so\.6)\+0x" "$ARTIFACTS/after.folded"' "no frame of the binary or libc left without a name"
heavy=$(folded_sum "$ARTIFACTS/after.folded" ';main;sonde::wl::Engine::heavy\(unsigned long\) const(;|$)')
light=$(folded_sum "$ARTIFACTS/after.folded" ';main;sonde::wl::Engine::light\(unsigned long\) const(;|$)')
log "heavy $heavy, light $light of $total"
check 'float_between "$(ratio "$heavy" "$light")" 2.2 4' "the known 3:1 split of heavy and light ($heavy:$light)"
check 'grep -q "Engine::heavy(unsigned long) const;run<1>;step<long unsigned int>;mix<long unsigned int> " "$ARTIFACTS/after.folded"' "inline chains: mix in step in heavy"
fg > "$ARTIFACTS/after.flamegraph"
check 'grep -q "sonde::wl::Engine::heavy(unsigned long) const" "$ARTIFACTS/after.flamegraph" && grep -q "mix<long unsigned int>" "$ARTIFACTS/after.flamegraph" && ! grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/after.flamegraph"' "the flame graph shows the names and inline frames"
q pprof > "$ARTIFACTS/after.pb.gz"
python3 tests/tools/pprof_vs_addr2line.py "$ARTIFACTS/after.pb.gz" "$bin" inline_cpp_stripped | tee "$ARTIFACTS/compare.txt" ||
	fail "names, inline chains or file:line differ from eu-addr2line"

# --- what the agent shows itself on the unstripped binary: the same frames, address by address
bg "$bin" 8
ref=$BG_PID
sleep 0.3
profile_pid "$ref" 3 "$ARTIFACTS/agent.pb.gz" --format pprof
kill "$ref" 2> /dev/null || true
locations() { node tests/tools/pprof_content.js "$1" --locations | awk -F'\t' -v m="$2" '$2 == m && $3 != ""' | sort; }
locations "$ARTIFACTS/after.pb.gz" inline_cpp_stripped | cut -f1,3 > "$ARTIFACTS/collector.locs"
locations "$ARTIFACTS/agent.pb.gz" inline_cpp | cut -f1,3 > "$ARTIFACTS/agent.locs"
join -t '	' "$ARTIFACTS/collector.locs" "$ARTIFACTS/agent.locs" > "$ARTIFACTS/both.locs"
both=$(wc -l < "$ARTIFACTS/both.locs")
same=$(awk -F'\t' '$2 == $3' "$ARTIFACTS/both.locs" | wc -l)
log "$both addresses sampled by both runs, $same named alike"
check '[ "$both" -ge 5 ] && [ "$same" = "$both" ]' "every address both runs sampled has the same frames, names, files and lines ($same/$both)"
stop_collector

# --- the same stored data, on a collector with only debuginfod to ask
mkdir -p "$ARTIFACTS/srv"
cp "$WL/inline_cpp.debug" "$ARTIFACTS/srv/"
mkdir -p "$ARTIFACTS/store2"
cp -r "$ARTIFACTS/store/anonymous" "$ARTIFACTS/store2/" # the blocks, not the debug files
start_debuginfod "$ARTIFACTS/srv" debuginfod
dport=$DEBUGINFOD_PORT
bid=$(readelf -n "$bin" | awk '/Build ID/ { print $3 }')
wait_http "http://127.0.0.1:$dport/buildid/$bid/debuginfo" 30 || fail "debuginfod did not come up"
DEBUGINFOD_URLS=http://127.0.0.1:$dport DEBUGINFOD_CACHE_PATH=$ARTIFACTS/dcache \
	COLL_LOG=$ARTIFACTS/collector2.log start_collector "$ARTIFACTS/store2"
q folded > "$ARTIFACTS/debuginfod.folded"
check '[ "$(folded_sum "$ARTIFACTS/debuginfod.folded" "")" = "$total" ]' "the same $total samples"
check '! grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/debuginfod.folded"' "named from debuginfod"
only_binary() { sed -E 's/\[libc\.so\.6\+0x[0-9a-f]+\]|__libc_start_call_main|__libc_start_main_impl/LIBC/g' "$1" | sort; }
check 'diff <(only_binary "$ARTIFACTS/after.folded") <(only_binary "$ARTIFACTS/debuginfod.folded") > "$ARTIFACTS/debuginfod.diff"' "the names the upload gave, frame for frame (libc apart: debuginfod has none)"
check '[ -f "$ARTIFACTS/store2/.debuginfo/$bid.elf" ]' "the fetched file is stored for other collectors"
stop_collector
