#!/bin/sh
# Regenerate the checked-in kernel type header from the running kernel's BTF.
# Usage: vmlinux/gen.sh [ARCH]   (default: x86, the only architecture we build for today)
# CO-RE relocations make the result portable: the programs adapt to the target kernel's
# layout at load time, so this only needs refreshing when we want types newer kernels added.
set -eu
arch=${1:-x86}
btf=${BTF:-/sys/kernel/btf/vmlinux}
out="$(dirname "$0")/$arch/vmlinux.h"
if [ ! -r "$btf" ]; then
	echo "gen.sh: $btf not readable: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y needed)" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -l < "$out") lines) from $btf"
