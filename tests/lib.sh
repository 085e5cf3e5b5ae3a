#!/bin/bash
# Helpers for Sonde's shell tests. Source it first thing: `. "$(dirname "$0")/../lib.sh"`.
# Exit codes: 0 pass, 77 skip, anything else fail.
set -euo pipefail
SONDE_ROOT=${SONDE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$SONDE_ROOT"
BUILD=${BUILD:-build}
AGENT=$BUILD/sonde-agent
COLLECTOR=$BUILD/sonde-collector
SONDE=$BUILD/sonde
WL=$BUILD/workloads
ARTIFACTS=${ARTIFACTS:-$(mktemp -d)}
mkdir -p "$ARTIFACTS"
TEST_NAME=$(basename "$0" .sh)

_children=()
cleanup_children() {
	for p in "${_children[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup_children EXIT

# bg CMD...: start a command in the background and remember it for cleanup; sets BG_PID.
# With BG_LOG=FILE, its output goes to FILE.
bg() {
	if [ -n "${BG_LOG:-}" ]; then
		"$@" > "$BG_LOG" 2>&1 &
	else
		"$@" &
	fi
	BG_PID=$!
	_children+=("$BG_PID")
}

log() { echo "[$TEST_NAME] $*"; }
fail() { echo "[$TEST_NAME] FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root (BPF)"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1"; }

# check COND MESSAGE: fail with MESSAGE unless the arithmetic/test expression holds
check() {
	if eval "$1"; then log "ok: $2"; else fail "$2 (failed: $1)"; fi
}

# matches TEXT ERE: whether TEXT matches. (Not `cmd | grep -q`: with pipefail, grep -q exiting
# early kills cmd with SIGPIPE and the pipeline fails at random.)
matches() { grep -qE -- "$2" <<< "$1"; }

# folded_sum FILE REGEX: total count of folded lines whose stack matches REGEX (awk ERE)
folded_sum() {
	awk -v re="$2" '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s); if (s ~ re) t += n } END { print t + 0 }' "$1"
}

# ratio A B: A/B as a float with 4 decimals (0 when B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.4f\n", a / b }'; }

# float_between X LO HI: exit status says whether LO <= X <= HI
float_between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

# no_sonde_bpf: fail if any of Sonde's BPF programs are still loaded. The kernel frees a
# program asynchronously after its last reference goes, so allow it two seconds.
no_sonde_bpf() {
	for _ in $(seq 20); do
		matches "$(bpftool prog show 2>/dev/null)" 'name sonde_' || return 0
		sleep 0.1
	done
	if matches "$(bpftool prog show 2>/dev/null)" 'name sonde_'; then
		bpftool prog show | grep 'name sonde_' >&2
		fail "BPF programs left loaded"
	fi
}

# cpu_ticks PID...: the CPU time the processes have had (user + system, all their threads), in
# clock ticks (1/100 s); a process that is gone counts 0
cpu_ticks() {
	local t=0 p v
	for p in "$@"; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2> /dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# ticks_while_sampling "PID..." LOG: waits for the agent whose log is LOG to start sampling (its
# "sampling" line) and to stop (its "sampling stopped" line, or LOG.done existing), and prints
# "PID TICKS" for each PID: the CPU ticks it had in between (a process that ended keeps the
# last reading). Run it in the background beside the agent.
ticks_while_sampling() {
	local pids=$1 log=$2 p v started=0
	local -A t0 last
	while :; do
		if [ $started = 0 ] && grep -q 'msg="sampling' "$log" 2> /dev/null; then
			for p in $pids; do t0[$p]=$(cpu_ticks "$p") && last[$p]=${t0[$p]}; done
			started=1
		fi
		for p in $pids; do
			[ $started = 1 ] && v=$(cpu_ticks "$p") && [ "$v" -gt 0 ] && last[$p]=$v
		done
		grep -q 'msg="sampling stopped"' "$log" 2> /dev/null && break
		[ -e "$log.done" ] && break
		sleep 0.02
	done
	for p in $pids; do echo "$p $((started ? last[$p] - t0[$p] : 0))"; done
}

# read_ticks FILE: sets TICKS_OF[PID] from ticks_while_sampling's output, TICKS to their sum
declare -gA TICKS_OF
read_ticks() {
	local p t
	TICKS=0
	while read -r p t; do
		TICKS_OF[$p]=$t
		TICKS=$((TICKS + t))
	done < "$1"
}

# sampled "PID..." LOG CMD...: runs CMD, an agent run whose log goes to LOG, and sets TICKS_OF[PID]
# to the CPU ticks each process had while the agent sampled, TICKS to their sum. A sampler at
# 100 Hz sees CPU time, not wall time: on a loaded machine a busy workload gets less than a CPU,
# and so fewer samples; tests compare what arrived with TICKS, not with the seconds that passed.
# Returns CMD's exit code.
sampled() {
	local pids=$1 log=$2 w rc=0
	shift 2
	rm -f "$log.done" && : > "$log"
	ticks_while_sampling "$pids" "$log" > "$log.ticks" &
	w=$!
	"$@" 2> "$log" || rc=$?
	touch "$log.done"
	wait "$w"
	read_ticks "$log.ticks"
	return $rc
}

# enough_samples N TICKS [FREQ]: N samples are what TICKS of CPU time give at FREQ Hz (default
# 100). Both are counts of a sampling (the kernel accounts CPU time at its ticks), so on a loaded
# machine each is off by about its square root: the bound is 90% of the ticks, less three times
# that and 5 for the edges of the window. The CPU time must be enough to say anything (30 ticks).
enough_samples() {
	local n=$1 ticks=$2 freq=${3:-100}
	[ "$ticks" -ge 30 ] || { echo "[$TEST_NAME] only $ticks ticks of CPU for the workload: machine too loaded" >&2; return 1; }
	awk -v n="$n" -v t="$ticks" -v f="$freq" 'BEGIN { exit !(n * 100 / f >= 0.9 * t - 3 * sqrt(t) - 5) }'
}

# wait_sampling LOG: waits (up to 20 s) until the agent logging to LOG samples, or fails
wait_sampling() {
	for _ in $(seq 400); do
		grep -q 'msg="sampling' "$1" 2> /dev/null && return 0
		sleep 0.05
	done
	fail "the agent did not start sampling in 20 s: $(tail -n 3 "$1" 2> /dev/null)"
}

# profile_pid PID SECONDS OUT [AGENT FLAGS...]: profile one process; the agent's log goes to
# OUT.log, TICKS is the CPU time the process had while sampled, and a failure ends the test
profile_pid() {
	local pid=$1 secs=$2 out=$3
	shift 3
	sampled "$pid" "$out.log" "$AGENT" --pid "$pid" --duration "$secs" --output "$out" "$@" ||
		fail "agent failed: $(tail -n 3 "$out.log")"
}

# need_cgroup2: sets CG2 to the cgroup v2 hierarchy's mount point, or skips the test
need_cgroup2() {
	CG2=$(findmnt -t cgroup2 -n -o TARGET | sed -n 1p)
	[ -n "$CG2" ] || skip "no cgroup v2 hierarchy mounted"
}

# make_cgroup PATH: makes a cgroup under $CG2 and its missing parents, remembering each one
# made; cgroups_cleanup (from the test's EXIT trap) moves their processes out, stops the
# test's children and removes them, leaf first: only what the test made.
_cgroups_made=()
make_cgroup() {
	local parts d=$CG2 rel=${1#"$CG2"/}
	IFS=/ read -ra parts <<< "$rel"
	for p in "${parts[@]}"; do
		d=$d/$p
		[ -d "$d" ] && continue
		mkdir "$d" || fail "cannot make cgroup $d"
		_cgroups_made+=("$d")
	done
}
cgroups_cleanup() {
	local i d
	for ((i = ${#_cgroups_made[@]} - 1; i >= 0; i--)); do
		d=${_cgroups_made[i]}
		[ -f "$d/cgroup.procs" ] || continue
		while read -r p; do echo "$p" > "$CG2/cgroup.procs" 2> /dev/null || true; done < "$d/cgroup.procs"
	done
	cleanup_children
	for ((i = ${#_cgroups_made[@]} - 1; i >= 0; i--)); do rmdir "${_cgroups_made[i]}" 2> /dev/null || true; done
}

# bg_in_cgroup CGROUP CMD...: bg, with the process moved into CGROUP before it does much
bg_in_cgroup() {
	local cg=$1
	shift
	bg "$@"
	echo "$BG_PID" > "$cg/cgroup.procs" || fail "cannot move $BG_PID into $cg"
}

# random_hex: 64 random hex digits (a container id, a token)
random_hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# copy_as NAME: copy a workload binary under another name (so its comm differs); prints path
copy_as() {
	local dst="$ARTIFACTS/bin/$2"
	mkdir -p "$ARTIFACTS/bin"
	cp "$1" "$dst"
	echo "$dst"
}

# free_port: a TCP port nothing listens on now
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL [SECONDS [PID]]: until URL answers 200 (fails at once if PID exits)
wait_http() {
	local url=$1 secs=${2:-20} pid=${3:-}
	for _ in $(seq $((secs * 10))); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && return 0
		[ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null && return 1
		sleep 0.1
	done
	return 1
}

# start_s3rver: an S3-compatible server (s3rver, from make deps) with a bucket "profiles", its
# data in $ARTIFACTS/s3data; sets S3_PORT and exports its credentials for the collector and aws.
start_s3rver() {
	local bin=tests/node_modules/.bin/s3rver
	[ -x "$bin" ] || fail "s3rver is not installed: run make deps"
	S3_PORT=$(free_port)
	mkdir -p "$ARTIFACTS/s3data"
	BG_LOG=$ARTIFACTS/s3rver.log bg node "$bin" -d "$ARTIFACTS/s3data" -a 127.0.0.1 -p "$S3_PORT" \
		--configure-bucket profiles --no-vhost-buckets
	wait_tcp "$S3_PORT" "s3rver"
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
}

# start_debuginfod DIR NAME: Debian's debuginfod serving the files of DIR (its database and log
# named after NAME in $ARTIFACTS); sets DEBUGINFOD_PORT and DEBUGINFOD_PID. A free port can be
# taken before the server binds it (an outgoing connection's): then another port, three times.
start_debuginfod() {
	local dir=$1 name=$2 try
	for try in 1 2 3; do
		DEBUGINFOD_PORT=$(free_port)
		# (no DEBUGINFOD_URLS for the server itself, or it forwards unknown build IDs upstream)
		BG_LOG=$ARTIFACTS/$name.log bg env -u DEBUGINFOD_URLS debuginfod -F "$dir" -p "$DEBUGINFOD_PORT" \
			-d "$ARTIFACTS/$name.sqlite" -t 1 -g 0
		DEBUGINFOD_PID=$BG_PID
		wait_http "http://127.0.0.1:$DEBUGINFOD_PORT/metrics" 30 "$DEBUGINFOD_PID" && return 0
		kill "$DEBUGINFOD_PID" 2> /dev/null || true
		log "debuginfod did not come up on port $DEBUGINFOD_PORT (try $try): $(tail -n 1 "$ARTIFACTS/$name.log")"
	done
	fail "debuginfod did not come up"
}

# start_receiver DIR [SCRIPT]: a test OTLP receiver capturing into DIR (see
# tests/tools/otlp_receiver.py); sets RX_PORT and RX_PID
start_receiver() {
	RX_PORT=${RX_PORT_WANTED:-$(free_port)}
	mkdir -p "$1"
	python3 tests/tools/otlp_receiver.py --port "$RX_PORT" --dir "$1" --script "${2:-200}" &
	RX_PID=$!
	_children+=("$RX_PID")
	wait_tcp "$RX_PORT" "the test receiver"
}

# wait_tcp PORT WHAT: waits (5 s at most) until something listens on 127.0.0.1:PORT, or fails
wait_tcp() {
	for _ in $(seq 50); do
		(echo > "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
		sleep 0.1
	done
	fail "$2 did not start (port $1)"
}

# otlp SUBCOMMAND FILES...: the independent decoder (tests/tools/otlp.py)
otlp() { python3 tests/tools/otlp.py "$@"; }

# start_collector STORAGE [FLAGS...]: a collector on a free port storing into STORAGE, ready;
# sets COLL_PORT, COLL_PID, COLL_URL (its log: $ARTIFACTS/collector.log, or COLL_LOG)
start_collector() {
	local storage=$1
	shift
	COLL_PORT=${COLL_PORT_WANTED:-$(free_port)}
	COLL_URL=http://127.0.0.1:$COLL_PORT
	BG_LOG=${COLL_LOG:-$ARTIFACTS/collector.log} bg "$COLLECTOR" --listen "127.0.0.1:$COLL_PORT" \
		--storage "$storage" "$@"
	COLL_PID=$BG_PID
	wait_http "$COLL_URL/ready" 20 "$COLL_PID" ||
		fail "the collector did not start: $(tail -n 5 "${COLL_LOG:-$ARTIFACTS/collector.log}")"
}

# stop_collector: SIGTERM, and the collector must exit 0 (it stores what it holds first)
stop_collector() {
	kill -TERM "$COLL_PID"
	wait "$COLL_PID" || fail "the collector exited with $?: $(tail -n 5 "${COLL_LOG:-$ARTIFACTS/collector.log}")"
}

# post_otlp FILE [CURL ARGS...]: POSTs a request body to the collector; prints the HTTP status
# and leaves the answer in $ARTIFACTS/answer. CTYPE overrides the Content-Type.
post_otlp() {
	local f=$1
	shift
	curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' -H "Content-Type: ${CTYPE:-application/x-protobuf}" \
		--data-binary "@$f" "$@" "$COLL_URL/v1development/profiles"
}

# rpc_message: the message of the google.rpc.Status in $ARTIFACTS/answer
rpc_message() {
	protoc --proto_path=proto --decode=google.rpc.Status google/rpc/status.proto < "$ARTIFACTS/answer" |
		sed -n 's/^message: "\(.*\)"$/\1/p'
}
