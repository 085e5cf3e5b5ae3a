#!/bin/bash
# Symbols from a real debuginfod server (Debian's), started by the test: a stripped binary whose
# debug info lives only in the server's directory is profiled with DEBUGINFOD_URLS pointing at
# it, and the profile shows real function names. With the server down, the profile still
# arrives (addresses), and the agent does not stall; nor with a server that never answers.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd debuginfod

mkdir -p "$ARTIFACTS/bin" "$ARTIFACTS/srv" "$ARTIFACTS/empty"
# the stripped binary alone (its .gnu_debuglink finds nothing beside it), the debug file
# only where the server looks
cp "$WL/inline_stripped" "$ARTIFACTS/bin/inline_strip"
cp "$WL/inline.debug" "$ARTIFACTS/srv/"
bin=$ARTIFACTS/bin/inline_strip
check '! matches "$(readelf -SW "$bin")" "\.symtab|\.debug_info"' "the binary has neither symbols nor DWARF"
bid=$(readelf -n "$bin" | awk '/Build ID/ { print $3 }')
start_debuginfod "$ARTIFACTS/srv" server
port=$DEBUGINFOD_PORT server=$DEBUGINFOD_PID
wait_http "http://127.0.0.1:$port/buildid/$bid/debuginfo" 30 || fail "debuginfod did not come up"
log "debuginfod serves $bid on port $port"
export DEBUGINFOD_URLS=http://127.0.0.1:$port

# profile ARTIFACT_NAME [AGENT FLAGS]: runs the binary and profiles it for 3 s; sets ELAPSED
profile() {
	local name=$1 t0
	shift
	bg "$bin" 8
	local wl=$BG_PID
	sleep 0.2
	t0=$(date +%s.%N)
	DEBUGINFOD_CACHE_PATH=$ARTIFACTS/cache-$name profile_pid "$wl" 3 "$ARTIFACTS/$name.folded" \
		--debug-dir "$ARTIFACTS/empty" "$@"
	ELAPSED=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	kill "$wl" 2>/dev/null || true
}

# --- server up: names
profile up
f=$ARTIFACTS/up.folded
total=$(folded_sum "$f" '^inline_strip;')
named=$(folded_sum "$f" '^inline_strip;.*;main;compute(;step(;mix)?)?$')
log "server up: $named/$total samples named, agent took ${ELAPSED}s"
check '[ "$named" -ge $((total * 90 / 100)) ]' "names from debuginfod ($named/$total)"
check 'grep -q "debuginfod_found=1 " "$f.log"' "fetched from debuginfod once"
check 'grep -q "compute at .*inline.c" <(DEBUGINFOD_CACHE_PATH=$ARTIFACTS/cache-up $SONDE symbolize --debug-dir "$ARTIFACTS/empty" "$bin" $(nm "$WL/inline" | awk "/ compute\$/ { print \$1 }"))' "sonde symbolize names it from the cache"

# --- server down: addresses, no stall
kill "$server"
wait "$server" 2>/dev/null || true
profile down
f=$ARTIFACTS/down.folded
total=$(folded_sum "$f" '^inline_strip;')
placeholders=$(folded_sum "$f" '^inline_strip;.*\[inline_strip\+0x[0-9a-f]+\]')
log "server down: $total samples, $placeholders with [module+0xADDR] frames, agent took ${ELAPSED}s"
check 'enough_samples "$total" "$TICKS"' "the profile still arrives ($total samples for $TICKS ticks)"
check '[ "$placeholders" -ge $((total * 90 / 100)) ]' "frames kept as addresses ($placeholders/$total)"
check 'float_between "$ELAPSED" 0 6' "no stall: ${ELAPSED}s for a 3 s run"
check 'grep -q "debuginfod_failed=1 " "$f.log"' "the failure is counted"

# --- a server that accepts connections and never answers: our deadline, not libcurl's
hang_port=$(free_port)
bg python3 -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $hang_port)); s.listen(16); time.sleep(120)"
sleep 0.3
export DEBUGINFOD_URLS=http://127.0.0.1:$hang_port
profile hang --debuginfod-timeout 2s
f=$ARTIFACTS/hang.folded
total=$(folded_sum "$f" '^inline_strip;')
log "server hangs: $total samples, agent took ${ELAPSED}s"
check 'enough_samples "$total" "$TICKS"' "the profile arrives ($total samples for $TICKS ticks)"
check 'float_between "$ELAPSED" 0 8' "bounded by --debuginfod-timeout: ${ELAPSED}s for a 3 s run"

# --- the daemon: frames kept as addresses are named once the debug info arrives; a build ID the
# server lacked is not asked for again before the negative TTL

mkdir -p "$ARTIFACTS/srv2"
start_debuginfod "$ARTIFACTS/srv2" server2
port2=$DEBUGINFOD_PORT
export DEBUGINFOD_URLS=http://127.0.0.1:$port2
start_receiver "$ARTIFACTS/rx" 200
bg "$bin" 40
wl=$BG_PID
sleep 0.2
# libdebuginfod keeps its own negative cache (cache_miss_s, 600 s by default): match our TTL
mkdir -p "$ARTIFACTS/cache-daemon"
echo 2 > "$ARTIFACTS/cache-daemon/cache_miss_s"
BG_LOG=$ARTIFACTS/daemon.log bg env DEBUGINFOD_CACHE_PATH="$ARTIFACTS/cache-daemon" "$AGENT" --pid "$wl" \
	--collector "http://127.0.0.1:$RX_PORT" --upload-interval 1s --debug-dir "$ARTIFACTS/empty" \
	--debuginfod-negative-ttl 2s
agent=$BG_PID
sleep 3
cp "$WL/inline.debug" "$ARTIFACTS/srv2/" # the debug info arrives 3 s in
# asked again after our TTL and libdebuginfod's cache_miss_s, both 2 s but not in phase (its
# check is in whole seconds): a new answer can take up to about 5 s, plus the server's scan
sleep 11
kill -TERM "$agent"
wait "$agent" || fail "agent exited with $?"
python3 - "$ARTIFACTS/rx" <<'PY' || fail "names did not arrive with the debug info"
import glob, subprocess, sys
files = sorted(glob.glob(f"{sys.argv[1]}/*.pb"))
named = []
for f in files:
    out = subprocess.run(["python3", "tests/tools/otlp.py", "folded", f], capture_output=True, text=True).stdout
    named.append(";compute" in out)
print("requests named:", named)
assert not named[0], "the first interval cannot have had the debug info yet"
assert named[-1] and named[-2], "the last intervals must be named"
PY
asked=$(grep -c "GET /buildid/$bid/debuginfo" "$ARTIFACTS/server2.log" || true)
log "the agent asked debuginfod for $bid $asked times in 14 s of 1 s intervals (negative TTL 2 s)"
check '[ "$asked" -ge 2 ] && [ "$asked" -le 7 ]' "asked again only after the negative TTL, not every interval"
