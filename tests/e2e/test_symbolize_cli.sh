#!/bin/bash
# sonde symbolize: every source of symbols, on the command line.
#  - a binary with DWARF: every instruction of an inlined-into function against eu-addr2line;
#  - a stripped binary: its debug file by build ID in --debug-dir; by .gnu_debuglink;
#    from MiniDebugInfo (.gnu_debugdata, built the way Fedora builds it); by --build-id alone;
#  - exit codes, and hostile files (garbage, every truncation) answered without a crash.
. "$(dirname "$0")/../lib.sh"
need_cmd eu-addr2line
need_cmd xz

bin=$WL/inline
compute=0x$(nm "$bin" | awk '/ compute$/ { print $1 }')
export DEBUGINFOD_URLS= # no server: only local sources

# --- every address of compute, against eu-addr2line (names, file:line:column, inline chain)
addrs=$(objdump -d "$bin" | awk '/<compute>:/,/^$/' | grep -o '^ *[0-9a-f]*:' | tr -d ' :' | sed 's/^/0x/')
"$SONDE" symbolize "$bin" $addrs > "$ARTIFACTS/sonde.txt" || fail "sonde symbolize failed"
eu-addr2line -a -i -f -e "$bin" $addrs > "$ARTIFACTS/eu.txt"
python3 - "$ARTIFACTS/sonde.txt" "$ARTIFACTS/eu.txt" <<'PY' || fail "sonde symbolize differs from eu-addr2line"
import re, sys
def ours(path):
    out, cur = {}, None
    for line in open(path):
        line = line.rstrip("\n")
        if re.fullmatch(r"0x[0-9a-f]+", line):
            cur = out.setdefault(int(line, 16), [])
        else:
            m = re.fullmatch(r"    (.*) at (.*?)( \(inlined\))?", line)
            cur.append((m.group(1), m.group(2)))
    return out
def eu(path):
    out, cur, lines = {}, None, open(path).read().splitlines()
    i = 0
    while i < len(lines):
        if re.fullmatch(r"0x[0-9a-f]+", lines[i]):
            cur = out.setdefault(int(lines[i], 16), []); i += 1; continue
        cur.append((lines[i].split(" inlined at ")[0], lines[i + 1])); i += 2
    return out
a, b = ours(sys.argv[1]), eu(sys.argv[2])
bad = [k for k in b if a.get(k) != b[k]]
print(f"{len(b)} addresses, {sum(len(v) > 1 for v in b.values())} with inline chains, {len(bad)} differ")
for k in bad[:3]:
    print(hex(k), a.get(k), b[k])
sys.exit(1 if bad or not b else 0)
PY
log "ok: every instruction of compute matches eu-addr2line"

mkdir -p "$ARTIFACTS/empty" "$ARTIFACTS/debugdir" "$ARTIFACTS/alone" "$ARTIFACTS/linked"
# names_compute ARGS...: sonde symbolize ARGS names compute at compute's address
names_compute() {
	"$SONDE" symbolize "$@" "$compute" > "$ARTIFACTS/out.txt" 2>&1 && grep -q "^    compute" "$ARTIFACTS/out.txt"
}

# --- stripped, debug file by build ID in a debug directory
cp "$WL/inline_stripped" "$ARTIFACTS/alone/inline"
bid=$(readelf -n "$bin" | awk '/Build ID/ { print $3 }')
mkdir -p "$ARTIFACTS/debugdir/.build-id/${bid:0:2}"
cp "$WL/inline.debug" "$ARTIFACTS/debugdir/.build-id/${bid:0:2}/${bid:2}.debug"
check '! names_compute --debug-dir "$ARTIFACTS/empty" "$ARTIFACTS/alone/inline"' "stripped and alone: not named"
check 'names_compute --debug-dir "$ARTIFACTS/debugdir" "$ARTIFACTS/alone/inline"' "debug file found by build ID"
check 'grep -q "inline.c:" "$ARTIFACTS/out.txt"' "with file and line"

# --- stripped, debug file by .gnu_debuglink beside it (and in .debug/)
cp "$WL/inline_stripped" "$ARTIFACTS/linked/inline"
mkdir -p "$ARTIFACTS/linked/.debug"
cp "$WL/inline.debug" "$ARTIFACTS/linked/.debug/inline.debug"
check 'names_compute --debug-dir "$ARTIFACTS/empty" "$ARTIFACTS/linked/inline"' "debug file found by .gnu_debuglink in .debug/"
printf 'corrupt' >> "$ARTIFACTS/linked/.debug/inline.debug"
check '! names_compute --debug-dir "$ARTIFACTS/empty" "$ARTIFACTS/linked/inline"' "a debug link whose CRC does not match is refused"

# --- MiniDebugInfo: the .symtab a stripped file dropped, xz-compressed in .gnu_debugdata
mini=$ARTIFACTS/mini
mkdir -p "$mini"
nm -D --format=posix --defined-only "$bin" 2>/dev/null | awk '{ print $1 }' | sort > "$mini/dynsyms"
nm --format=posix --defined-only "$bin" | awk '$2 ~ /^[TtWw]$/ { print $1 }' | sort > "$mini/funcsyms"
comm -13 "$mini/dynsyms" "$mini/funcsyms" > "$mini/keep"
objcopy --only-keep-debug "$bin" "$mini/full.debug"
objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols="$mini/keep" \
	"$mini/full.debug" "$mini/minidebuginfo"
xz -f "$mini/minidebuginfo"
strip --strip-all --remove-section=.gnu_debuglink -o "$mini/inline" "$bin"
objcopy --add-section .gnu_debugdata="$mini/minidebuginfo.xz" "$mini/inline"
sections=$(readelf -SW "$mini/inline")
check '[[ $sections == *.gnu_debugdata* && $sections != *" .symtab "* ]]' "a MiniDebugInfo binary without .symtab"
check 'names_compute --debug-dir "$ARTIFACTS/empty" --no-debuginfod "$mini/inline"' "named from MiniDebugInfo"

# --- by build ID alone
"$SONDE" symbolize --debug-dir "$ARTIFACTS/debugdir" --build-id "$bid" "$compute" > "$ARTIFACTS/bid.txt"
check 'grep -q "^    compute at .*inline.c" "$ARTIFACTS/bid.txt"' "--build-id with a debug directory"

# --- exit codes
rc=0; "$SONDE" symbolize "$bin" 0x1 > /dev/null || rc=$?
check '[ "$rc" = 1 ]' "an address without a symbol: exit 1"
rc=0; "$SONDE" symbolize "$bin" > /dev/null 2>&1 || rc=$?
check '[ "$rc" = 2 ]' "no address: exit 2"
rc=0; "$SONDE" symbolize "$bin" xyz > /dev/null 2>&1 || rc=$?
check '[ "$rc" = 2 ]' "not an address: exit 2"
rc=0; "$SONDE" symbolize /nonexistent 0x1 > /dev/null 2>&1 || rc=$?
check '[ "$rc" = 3 ]' "no such file: exit 3"
rc=0; "$SONDE" symbolize --build-id zz 0x1 > /dev/null 2>&1 || rc=$?
check '[ "$rc" = 2 ]' "a bad build ID: exit 2"
rc=0; "$SONDE" symbolize --debug-dir "$ARTIFACTS/empty" --build-id 0123456789abcdef 0x1 > /dev/null 2>&1 || rc=$?
check '[ "$rc" = 3 ]' "an unknown build ID: exit 3"

# --- hostile files: garbage and every 97th truncation of a real binary, no crash
head -c 65536 /dev/urandom > "$ARTIFACTS/garbage"
rc=0; "$SONDE" symbolize "$ARTIFACTS/garbage" 0x1 > /dev/null 2>&1 || rc=$?
check '[ "$rc" = 3 ]' "garbage: exit 3"
size=$(stat -c %s "$bin")
crashes=0
for cut in $(seq 0 97 "$size"); do
	head -c "$cut" "$bin" > "$ARTIFACTS/cut"
	rc=0; timeout 10 "$SONDE" symbolize --no-debuginfod "$ARTIFACTS/cut" "$compute" > /dev/null 2>&1 || rc=$?
	[ "$rc" -le 3 ] || { crashes=$((crashes + 1)); log "truncation at $cut: rc=$rc"; }
done
check '[ "$crashes" = 0 ]' "every truncation handled (no crash, no hang)"
