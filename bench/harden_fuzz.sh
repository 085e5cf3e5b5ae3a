#!/bin/bash
# Figures for issue 14 (defect 8): executions and executions per second of every fuzz target,
# through make fuzz-long (each target for RUNS executions, capped at MAX_SECONDS each), then a
# table of them. A target that finds a problem is marked FAIL and its input kept under
# build/fuzz-long/TARGET/ (a regression for tests/fuzz/regressions/ once fixed).
# usage: bench/harden_fuzz.sh [RUNS [MAX_SECONDS [TARGET...]]]   (root; `make tests` first)
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
MAX=${2:-}
shift $(($# < 2 ? $# : 2))
BUILD=${BUILD:-build}
nice make --no-print-directory fuzz-long BUILD="$BUILD" FUZZ_RUNS="$RUNS" FUZZ_MAX_SECONDS="$MAX" \
	FUZZ_ONLY="$*" 2>&1 | tee "$BUILD/fuzz-long.out" | grep -E '^\[test_fuzz\] (ok|fuzzing)|FAIL'
echo
printf '%-10s %12s %8s %10s %s\n' target execs seconds execs/s result
for log in "$BUILD"/fuzz-long/*/log; do
	t=$(basename "$(dirname "$log")")
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	line=$(grep -E "fuzz_$t: [0-9]+ execs in" "$BUILD/fuzz-long.out" || true)
	secs=$(sed -n 's/.* execs in \([0-9]*\)s.*/\1/p' <<< "$line")
	rate=$(sed -n 's/.*(\([0-9]*\) execs\/s).*/\1/p' <<< "$line")
	result=ok
	grep -qE "^(==[0-9]+==ERROR|SUMMARY)" "$log" && result=FAIL
	[ -n "$line" ] || [ "$result" = FAIL ] || continue
	printf '%-10s %12s %8s %10s %s\n' "$t" "${n:--}" "${secs:--}" "${rate:--}" "$result"
done
