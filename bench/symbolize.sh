#!/bin/bash
# Figures for the symbolizer (issue 4): addresses per second, cold (a fresh process, symbols
# loaded on the way) and warm (loaded), against eu-addr2line and binutils addr2line on the same
# addresses, and the memory held per symbolized file.
# usage: bench/symbolize.sh   (`make tests` first)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$(mktemp -d /tmp/sonde-bench-sym.XXXXXX)
trap 'rm -rf "$out"' EXIT
[ -x "$BUILD/bench/symbolize_bench" ] || { echo "run 'make tests' first" >&2; exit 1; }
export DEBUGINFOD_URLS=

# addresses FILE: every 7th instruction of the file's code (at most 20000)
addresses() {
	# (awk counts rather than head: head exiting early would fail the pipeline under pipefail)
	objdump -d --no-show-raw-insn "$1" 2>/dev/null | grep -oE '^ +[0-9a-f]+:' | tr -d ' :' |
		awk 'NR % 7 == 0 && n++ < 20000'
}
# for a file too big to disassemble quickly: function starts plus small offsets
addresses_nm() {
	nm -D --defined-only "$1" | awk '$2 ~ /^[TtWw]$/ && n++ < 5000 { print $1 }' |
		while read -r a; do for o in 0 4 9 17; do printf '%x\n' $((0x$a + o)); done; done
}
seconds() { python3 -c "import sys,time,subprocess; t=time.time(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(time.time()-t)" "$@"; }

run() {
	local name=$1 file=$2 list=$3
	local n
	n=$(wc -l < "$list")
	echo "== $name: $file, $n addresses"
	"$BUILD/bench/symbolize_bench" "$file" < "$list" | sed 's/^/  sonde:        /'
	local t
	t=$(seconds eu-addr2line -i -f -e "$file" $(sed 's/^/0x/' "$list"))
	python3 -c "print(f'  eu-addr2line: {$n/$t:.0f} addresses/s ({$t:.3f} s, one process)')"
	t=$(seconds addr2line -i -f -e "$file" $(sed 's/^/0x/' "$list"))
	python3 -c "print(f'  addr2line:    {$n/$t:.0f} addresses/s ({$t:.3f} s, one process)')"
}

addresses "$BUILD/workloads/split_rust" > "$out/rust"
run "Rust workload (std with DWARF, inline chains)" "$BUILD/workloads/split_rust" "$out/rust"
libc=/usr/lib/x86_64-linux-gnu/libc.so.6
addresses "$libc" > "$out/libc"
run "libc (DWARF from libc6-dbg, found by build ID)" "$libc" "$out/libc"
llvm=/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1
if [ -f "$llvm" ]; then
	addresses_nm "$llvm" > "$out/llvm"
	run "libLLVM-15 (100 MB, ELF symbols only)" "$llvm" "$out/llvm"
fi
