#!/bin/bash
# Figures for issue 14, the agent's part (defect 3 and defect 9's third point), printed from
# the tests that assert them (one implementation of each scenario):
#  - a 60 s collector outage with --upload-interval 2s: requests queued, seconds to the first
#    acknowledgement and to an empty queue after the collector returned, requests dropped at a
#    shutdown with a queue, samples recorded / stored / counted as dropped;
#  - 20 s of exec churn: processes_tracked at its peak and after, against the live processes.
# usage: bench/harden_agent.sh   (root; `make tests` first; OUTAGE_S=N for another outage)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/sonde-bench-harden-agent.XXXXXX)
trap 'rm -rf "$out"' EXIT
for t in test_harden_outage test_process_churn; do
	ARTIFACTS=$out/$t tests/bpf/$t.sh > "$out/$t.log" 2>&1 || {
		echo "$t failed:" >&2
		tail -n 20 "$out/$t.log" >&2
		exit 1
	}
	grep -E "^\[$t\] (back|agent|samples|churn):" "$out/$t.log"
done
