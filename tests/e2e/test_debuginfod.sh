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
port=$(free_port)
bg debuginfod -F "$ARTIFACTS/srv" -p "$port" -d "$ARTIFACTS/db.sqlite" -t 1 -g 0
server=$BG_PID
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
check '[ "$total" -ge 250 ]' "the profile still arrives ($total samples)"
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
check '[ "$total" -ge 250 ]' "the profile arrives ($total samples)"
check 'float_between "$ELAPSED" 0 8' "bounded by --debuginfod-timeout: ${ELAPSED}s for a 3 s run"
