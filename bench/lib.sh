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
