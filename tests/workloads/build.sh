#!/bin/sh
# Builds the test workloads into $1 (default build/workloads).
set -eu
out=${1:-build/workloads}
src=$(dirname "$0")
mkdir -p "$out"
CC=${CC:-cc}
# clang keeps frame pointers in leaf functions too; GCC 12 drops them when a leaf needs no frame
CLANG=${CLANG:-clang}
# Frame pointers on: stacks must be right with the in-kernel frame-pointer walk alone.
FP="-O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer"
$CLANG $FP -o "$out/split" "$src/split.c"
$CLANG $FP -o "$out/sysload" "$src/sysload.c"
echo "workloads built in $out"
