#!/bin/bash
# Runs Sonde's tests: unit tests, then the BPF tier, the end-to-end tier and the fuzz smoke runs.
# usage: tests/run.sh [PATTERN...]   (only tests whose name contains one of the patterns)
#
# Each test runs in its own session with a time limit; whatever it leaves running is killed
# afterwards, and the run fails if a test left a process or a BPF program behind.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export SONDE_ROOT=$PWD
export ARTIFACTS_ROOT=${ARTIFACTS_ROOT:-$BUILD/test-artifacts}
mkdir -p "$ARTIFACTS_ROOT"

patterns=("$@")
selected() {
	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do [[ $1 == *"$p"* ]] && return 0; done
	return 1
}

tests=()
for t in "$BUILD"/tests/unit/test_*; do [ -x "$t" ] && tests+=("$t"); done
for t in tests/bpf/*.sh tests/e2e/*.sh tests/fuzz/*.sh; do [ -f "$t" ] && tests+=("$t"); done

pass=0 fail=0 skip=0 failed=()
start_all=$(date +%s)
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	selected "$name" || continue
	art="$ARTIFACTS_ROOT/$name"
	rm -rf "$art" && mkdir -p "$art"
	t0=$(date +%s.%N)
	limit=${TEST_TIMEOUT:-600}
	# a new session: the test and all it starts share one process group we can kill
	ARTIFACTS=$art setsid timeout -k 5 "$limit" "$t" >"$art/log" 2>&1 &
	tpid=$!
	wait $tpid
	rc=$?
	leftover_names=$(pgrep -l -s "$tpid" 2>/dev/null | awk '{ print $2 }' | sort | uniq -c | xargs)
	leftovers=$(pgrep -s "$tpid" 2>/dev/null | wc -l)
	pkill -KILL -s "$tpid" 2>/dev/null
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" = 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP %-32s %6ss  %s\n' "$name" "$dt" "$(tail -n 1 "$art/log")"
	elif [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		# parts a test could not run here are said, not counted as passed
		nskip=$(grep -c '^skipped: ' "$art/log")
		note=""
		[ "$nskip" -gt 0 ] && note="  ($nskip part(s) skipped: $(grep -m1 '^skipped: ' "$art/log" | cut -c10-))"
		printf 'PASS %-32s %6ss%s\n' "$name" "$dt" "$note"
	else
		fail=$((fail + 1))
		failed+=("$name")
		[ "$rc" = 124 ] && echo "(timed out after ${limit}s)" >>"$art/log"
		printf 'FAIL %-32s %6ss  (rc=%s, log: %s/log)\n' "$name" "$dt" "$rc" "$art"
		sed 's/^/    | /' "$art/log" | tail -n 25
	fi
	[ "$leftovers" -gt 0 ] && echo "    note: killed $leftovers process(es) the test left behind: $leftover_names"
done
# no test may leave BPF programs loaded
if command -v bpftool >/dev/null && [ "$(id -u)" = 0 ]; then
	sleep 1 # programs are freed asynchronously
	if bpftool prog show 2>/dev/null | grep -q 'name sonde_'; then
		echo "FAIL: BPF programs left loaded:"; bpftool prog show | grep 'name sonde_'
		fail=$((fail + 1)); failed+=("bpf-leftovers")
	fi
fi
echo
echo "tests: $pass passed, $fail failed, $skip skipped in $(( $(date +%s) - start_all ))s"
[ "$fail" = 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
