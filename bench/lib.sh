# Helpers shared by the bench scripts (sourced).

# bpf_cost OUT CMD...: runs CMD (a sonde-agent) and, while it runs, reads the cost of its sampler
# program (sonde_sample) from `bpftool prog show id N --json`: run_time_ns and run_cnt, which the
# kernel counts while kernel.bpf_stats_enabled=1 (the caller sets it). The program is found by
# the agent's own file descriptors (/proc/PID/fdinfo prog_id), so other agents running on the
# machine at the same time do not mix in. Writes "ns_per_run run_cnt run_time_ns" to OUT
# ("0 0 0" when the program was never seen) and returns CMD's exit status. The agent exits at any
# moment between two polls: nothing here may fail the caller's `set -e -o pipefail` for that.
bpf_cost() {
	local out=$1 pid ids last="0 0 0" cur rc
	shift
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		ids=$(sed -n 's/^prog_id:[[:space:]]*//p' /proc/"$pid"/fdinfo/* 2>/dev/null | sort -u) || true
		cur=$(for id in $ids; do bpftool prog show id "$id" --json 2>/dev/null; echo; done |
			python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        p = json.loads(line)
        if p.get("name") == "sonde_sample" and p.get("run_cnt", 0) > 0:
            print(p["run_time_ns"] // p["run_cnt"], p["run_cnt"], p["run_time_ns"])
            break' 2>/dev/null) || true
		[ -n "$cur" ] && last=$cur
		sleep 0.3
	done
	rc=0
	wait "$pid" || rc=$?
	echo "$last" > "$out"
	return $rc
}

# bench_setup NAME: BUILD, W (workloads), out (a temporary folder, removed on exit with every
# background job), port and url (a free port of this machine) for a bench script.
bench_setup() {
	BUILD=${BUILD:-build}
	W=$BUILD/workloads
	out=$(mktemp -d "/tmp/sonde-bench-$1.XXXXXX")
	trap 'kill $(jobs -p) 2> /dev/null || true; wait 2> /dev/null; rm -rf "$out"' EXIT
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	url=http://127.0.0.1:$port
}

# capture_node FILE: 10 s of this whole machine under a mixed C/C++/Rust/Go load, as the agent's
# OTLP request (the load keeps running 20 s, then ends)
capture_node() {
	local w
	for w in "split_nofp 20 3 1 40" "split_cpp 20" "split_rust 20" "split_go 20" "sysload 20" "qsort 20"; do
		# shellcheck disable=SC2086
		$W/$w > /dev/null 2>&1 &
	done
	sleep 1
	"$BUILD/sonde-agent" --duration 10 --format otlp --output "$1" 2> /dev/null
	echo "captured: $(python3 tests/tools/otlp.py count "$1" | tail -1 | awk '{ print $2 }') samples in 10 s of the whole machine"
}

# collector_cpu PID: user+system CPU seconds so far
collector_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
