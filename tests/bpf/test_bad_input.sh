#!/bin/bash
# Bad input: unknown flags, a pid that does not exist, missing privileges, a kernel without BTF
# -> one clear error line and a non-zero exit, nothing left attached.
. "$(dirname "$0")/../lib.sh"
need_root

# expect_error NAME REGEX CMD...: non-zero exit, exactly one line on stderr matching REGEX
expect_error() {
	local name=$1 re=$2 rc=0
	shift 2
	"$@" > "$ARTIFACTS/$name.out" 2> "$ARTIFACTS/$name.err" || rc=$?
	local lines
	lines=$(wc -l < "$ARTIFACTS/$name.err")
	[ "$rc" -ne 0 ] || fail "$name: exit code 0"
	[ "$lines" -eq 1 ] || fail "$name: $lines stderr lines: $(cat "$ARTIFACTS/$name.err")"
	grep -qiE "$re" "$ARTIFACTS/$name.err" || fail "$name: unclear error: $(cat "$ARTIFACTS/$name.err")"
	log "ok: $name -> rc=$rc: $(cat "$ARTIFACTS/$name.err")"
	no_sonde_bpf
}

out=$ARTIFACTS/never.folded
expect_error unknown_flag "unknown option '--bogus'" "$AGENT" --bogus
expect_error missing_value "needs a value" "$AGENT" --output
expect_error bad_frequency "invalid --frequency" "$AGENT" --frequency 0 --output "$out"
expect_error bad_duration "invalid --duration" "$AGENT" --duration soon --output "$out"
expect_error no_output "give --output" "$AGENT" --duration 1
expect_error no_such_pid "no such process.*pid=999999999" "$AGENT" --pid 999999999 --output "$out"
expect_error dead_pid "no such process" "$AGENT" --pid 1073741800 --output "$out"
expect_error bad_cgroup "not a cgroup" "$AGENT" --cgroup /nonexistent/cgroup --output "$out"
# no privileges: an unprivileged user without capabilities
expect_error no_privileges "missing privileges" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$AGENT" --duration 1 --output /tmp/sonde-never.folded
# a kernel without BTF: hide /sys/kernel/btf in a private mount namespace (gone with it)
expect_error no_btf "no BTF" unshare --mount --propagation private \
	sh -c "mount -t tmpfs none /sys/kernel/btf && exec $AGENT --duration 1 --output $out"
expect_error bad_btf_file "BTF" "$AGENT" --btf /nonexistent.btf --duration 1 --output "$out"
head -c 4096 /dev/urandom > "$ARTIFACTS/garbage.btf"
expect_error garbage_btf_file "cannot use the kernel BTF given with --btf.*libbpf=" "$AGENT" --btf "$ARTIFACTS/garbage.btf" --duration 1 --output "$out"
check '[ ! -e "$out" ]' "no output file written by failed runs"
