#!/bin/bash
# Exited processes are freed: 20 s of exec churn (each process execs once, then exits) with the
# agent profiling the whole machine. processes_tracked levels off and, once the churn stops,
# is no more than the user processes alive (plus slack for the machine's own comings and goings).
# The old tree kept every process that exec'd or exited on kernels >= 6.16 (25 -> 255 in 60 s).
. "$(dirname "$0")/../lib.sh"
need_root

port=$(free_port)
BG_LOG=$ARTIFACTS/churn.log bg "$AGENT" --output "$ARTIFACTS/churn.folded" \
	--metrics-addr "127.0.0.1:$port"
agent=$BG_PID
wait_http "http://127.0.0.1:$port/metrics" 20 "$agent" || fail "no /metrics"
tracked() { curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^sonde_agent_processes_tracked //p'; }
# user processes (kernel threads have no executable)
user_procs() { for e in /proc/[0-9]*/exe; do readlink "$e" || true; done 2> /dev/null | wc -l; }
started=0 peak=0
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ]; do
	pids=()
	for _ in 1 2 3 4; do
		"$WL/execer" 0.03 "$WL/execer" 0.03 &
		pids+=($!)
	done
	wait "${pids[@]}"
	started=$((started + 4))
	n=$(tracked)
	[ "$n" -gt "$peak" ] && peak=$n
done
sleep 3
after=$(tracked)
live=$(user_procs)
kill -INT "$agent"
wait "$agent" || fail "agent exited with $?"
churned=$(folded_sum "$ARTIFACTS/churn.folded" '^execer;')
log "churn: $started processes (each exec'd once), $churned samples of them; tracked peak=$peak after=$after; user processes alive=$live"
check '[ "$started" -ge 100 ] && [ "$churned" -ge 100 ]' "the churn ran and was sampled ($started processes, $churned samples)"
check '[ "$peak" -le $((live + 40)) ]' "processes_tracked levelled off during the churn (peak $peak, $live alive)"
check '[ "$after" -le $((live + 10)) ]' "and came back to the live processes after it ($after <= $live + 10)"
