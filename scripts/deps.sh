#!/bin/sh
# Installs every Debian package Sonde's build and tests need. Idempotent: when everything is
# already installed it does nothing; otherwise it runs apt-get update and installs what is missing.
set -eu

PACKAGES="
make gcc clang llvm bpftool pkg-config binutils
libbpf-dev libelf-dev libdw-dev libdebuginfod-dev zlib1g-dev liblzma-dev libzstd-dev
libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libgnutls28-dev libyaml-dev libcap-dev libiberty-dev
protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
elfutils debuginfod linux-perf valgrind libclang-rt-14-dev libc6-dbg
golang-go python3 python3-yaml procps util-linux libcap2-bin
curl ca-certificates openssl awscli chromium systemd zstd
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# Node.js may come from Debian or from NodeSource (which bundles npm): ask for the commands.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
# Rust: a rustup toolchain may already be on PATH; otherwise Debian's cargo builds the workload.
if ! command -v cargo >/dev/null 2>&1; then
	missing="$missing cargo"
fi
if [ -z "$missing" ]; then
	echo "deps: all $(echo $PACKAGES | wc -w) packages present"
else
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing; run 'make deps' as root" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends $missing
fi

# npm packages the tests run (s3rver, playwright-core, pprof-format), pinned by
# tests/package-lock.json; installed again only when the lock file changes.
cd "$(dirname "$0")/../tests"
if ! cmp -s package-lock.json node_modules/.package-lock.stamp 2>/dev/null; then
	echo "deps: installing npm packages from tests/package-lock.json"
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json node_modules/.package-lock.stamp
fi
