#!/bin/sh
# Builds the test workloads into $1 (default build/workloads). Every language the agent must
# unwind: C (with and without frame pointers), C++, Rust (cargo --offline), Go.
set -eu
out=${1:-build/workloads}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
# clang keeps frame pointers in leaf functions too; GCC 12 drops them when a leaf needs no frame
CLANG=${CLANG:-clang}
FP="-O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer"
NOFP="-O2 -g -fomit-frame-pointer"

# frame pointers everywhere: stacks must be right with the in-kernel frame-pointer walk alone
$CLANG $FP -o "$out/split" "$src/split.c"
$CLANG $FP -o "$out/sysload" "$src/sysload.c"
# no frame pointers: DWARF CFI is the only way up the stack
$CC $NOFP -o "$out/split_nofp" "$src/split.c"
$CXX $NOFP -std=c++17 -o "$out/split_cpp" "$src/split.cpp"
$CC $NOFP -fPIC -shared -o "$out/libhot.so" "$src/libhot.c"
$CC $NOFP -o "$out/shlib" "$src/shlib.c" -L"$out" -lhot -Wl,-rpath,"$out"
$CC $NOFP -o "$out/qsort" "$src/qsort.c"
$CC $NOFP -o "$out/sigload" "$src/sigload.c"
$CC $NOFP -fcf-protection=none -o "$out/pltload" "$src/pltload.c" -L"$out" -lhot -Wl,-rpath,"$out" -Wl,-z,lazy
$CC $NOFP -o "$out/jit" "$src/jit.c"
$CC $NOFP -o "$out/execer" "$src/execer.c"
$CC $NOFP -o "$out/dlload" "$src/dlload.c" -ldl
# inline functions with full DWARF; a stripped copy whose debug info lives elsewhere
$CC -O2 -g -o "$out/inline" "$src/inline.c"
objcopy --only-keep-debug "$out/inline" "$out/inline.debug"
strip --strip-all -o "$out/inline_stripped" "$out/inline"
# as distributions ship them: a link (name and CRC) to the separate debug file
(cd "$out" && objcopy --add-gnu-debuglink=inline.debug inline_stripped)
# C++ with inlined templates, stripped bare (no link to a debug file): only the collector, with
# the debug file uploaded or served by debuginfod, can name its frames
$CXX -O2 -g -std=c++17 -o "$out/inline_cpp" "$src/inline.cpp"
objcopy --only-keep-debug "$out/inline_cpp" "$out/inline_cpp.debug"
strip --strip-all -o "$out/inline_cpp_stripped" "$out/inline_cpp"

if command -v cargo >/dev/null 2>&1; then
	CARGO_TARGET_DIR="$out/rust-target" cargo build --offline --release --quiet \
		--manifest-path "$src/rust-split/Cargo.toml"
	cp "$out/rust-target/release/split_rust" "$out/split_rust"
else
	echo "build.sh: cargo not found, skipping the Rust workload" >&2
fi

if command -v go >/dev/null 2>&1; then
	export GOCACHE="$out/go-cache" GOPATH="$out/go-path" GO111MODULE=off GOFLAGS=
	go build -o "$out/split_go" "$src/split.go"
	# stripped of symbols and DWARF: only .gopclntab is left to name functions
	go build -ldflags='-s -w' -o "$out/split_go_stripped" "$src/split.go"
	# with a GNU build ID (Go's linker adds none unless asked), stripped: the collector names its
	# frames from the uploaded binary's .gopclntab (test_collector_symbolize)
	go build -ldflags='-B 0x5eedc0de5eedc0de5eedc0de5eedc0de5eedc0de' -o "$out/split_go_bid" "$src/split.go"
	go build -ldflags='-s -w -B 0x5eedc0de5eedc0de5eedc0de5eedc0de5eedc0de' \
		-o "$out/split_go_bid_stripped" "$src/split.go"
else
	echo "build.sh: go not found, skipping the Go workloads" >&2
fi
echo "workloads built in $out"
