#!/bin/bash
# Clean shutdown leaks nothing: the agent under valgrind (memcheck), ended by SIGINT mid-run and
# by --duration, reports no errors and no definite or indirect leaks. (make SANITIZE=1 test runs
# every test under ASan/UBSan/LSan as well.)
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd valgrind
# (grep without -q: with pipefail, -q would make nm die of SIGPIPE and fail the condition)
if nm "$AGENT" 2>/dev/null | grep __asan_init >/dev/null; then
	skip "an ASan build: LeakSanitizer checks leaks in this build, valgrind cannot run it"
fi

bg "$WL/split" 120 3 1 # killed when the test ends; long enough for two runs under valgrind
wl=$BG_PID
sleep 0.2
vg=(valgrind --quiet --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --suppressions=tests/valgrind.supp)

"${vg[@]}" "$AGENT" --pid "$wl" --duration 4 --format pprof --output "$ARTIFACTS/a.pb.gz" \
	> "$ARTIFACTS/duration.log" 2>&1 || fail "valgrind (duration): $(grep -v '^ts=' "$ARTIFACTS/duration.log" | head -30)"
log "ok: --duration run clean"

BG_LOG=$ARTIFACTS/sigint.log bg "${vg[@]}" "$AGENT" --pid "$wl" --output "$ARTIFACTS/b.folded"
agent=$BG_PID
# start-up under valgrind is slow (loading BPF, reading kallsyms): interrupt 3 s into sampling
for _ in $(seq 600); do
	matches "$(cat "$ARTIFACTS/sigint.log")" 'msg="sampling"' && break
	kill -0 "$agent" 2> /dev/null || break
	sleep 0.1
done
sleep 3
kill -INT "$agent"
rc=0
wait "$agent" || rc=$?
[ "$rc" = 0 ] || fail "valgrind (SIGINT) rc=$rc: $(grep -v '^ts=' "$ARTIFACTS/sigint.log" | head -30)"
check '[ "$(folded_sum "$ARTIFACTS/b.folded" "hot_a")" -gt 0 ]' "SIGINT run wrote its profile under valgrind"
no_sonde_bpf
