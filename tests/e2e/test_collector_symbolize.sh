#!/bin/bash
# Names for frames that reach the collector without one (docs/symbolization.md), on a C++ binary
# with inlined templates whose stripped copy is what "ran":
#  - an OTLP request shaped as the OpenTelemetry eBPF profiler sends it (native frames as mapping
#    + ELF address, frame types, build IDs on mappings) and a pprof with process addresses (as
#    /ingest takes it) show [inline_cpp_stripped+0x...] until the debug file is uploaded, then
#    real names, inline chains and file:line equal to eu-addr2line's, with nothing re-ingested;
#  - a stripped Go binary named from the .gopclntab of its upload;
#  - two collectors on one s3rver bucket: uploaded through one, named by the other; uploads of
#    one build ID at once through both store it once;
#  - hostile uploads get a clear 4xx and store nothing: not ELF, truncated, wrong build ID, a
#    2 GB Content-Length, a gzip bomb, compressed sections that claim a terabyte, no token;
#  - a real debuginfod (Debian's) serving the debug file: a third collector names the frames,
#    stores the file in its bucket for the others, and asks once for a build ID it lacks.
. "$(dirname "$0")/../lib.sh"
need_cmd node
need_cmd eu-addr2line
need_cmd debuginfod

bin=$WL/inline_cpp
dbg=$WL/inline_cpp.debug
bid=$(readelf -n "$WL/inline_cpp_stripped" | awk '/Build ID/ { print $3 }')
check '[ "$bid" = "$(readelf -n "$bin" | awk "/Build ID/ { print \$3 }")" ]' "the stripped copy keeps the build ID $bid"
check '! matches "$(readelf -SW "$WL/inline_cpp_stripped")" "\.symtab|\.debug_info"' "the stripped copy has neither symbols nor DWARF"

start_s3rver
s3port=$S3_PORT
url="s3://profiles/sym?endpoint=http://127.0.0.1:$s3port&path_style=true"
token=symbolize-test-token-0123456789
printf '%s team\n' "$token" > "$ARTIFACTS/tokens"
chmod 600 "$ARTIFACTS/tokens"
common=(--segment-max-age 200ms --auth-token-file "$ARTIFACTS/tokens" --no-debuginfod
	--debuginfo-max-size 8M)
# A: little memory for requests, as a small deployment has (an upload's body is what it costs)
COLL_LOG=$ARTIFACTS/collectorA.log start_collector "$url" "${common[@]}" --debuginfo-cache-dir "$ARTIFACTS/cacheA" \
	--max-memory 32M
A=$COLL_URL A_PID=$COLL_PID
COLL_LOG=$ARTIFACTS/collectorB.log start_collector "$url" "${common[@]}" --debuginfo-cache-dir "$ARTIFACTS/cacheB"
B=$COLL_URL B_PID=$COLL_PID
auth=(-H "Authorization: Bearer $token")

# --- profiles as other profilers send them: names left to the backend
read -r n_otlp n_heavy n_light < <(python3 tests/tools/native_frames.py otlp "$ARTIFACTS/otel.pb" "$bin" inline_cpp_stripped otel-app)
python3 tests/tools/native_frames.py pprof "$ARTIFACTS/app.pprof" "$bin" inline_cpp_stripped > /dev/null
code=$(curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' "${auth[@]}" -H "Content-Type: application/x-protobuf" \
	--data-binary "@$ARTIFACTS/otel.pb" "$A/v1development/profiles")
check '[ "$code" = 200 ]' "the OpenTelemetry-shaped request is taken ($code)"
now=$(date +%s)
code=$(curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' "${auth[@]}" --data-binary "@$ARTIFACTS/app.pprof" \
	"$A/ingest?name=pprof-app&format=pprof&from=$((now - 2))&until=$now")
check '[ "$code" = 200 ]' "the pprof is taken ($code)"

q() { # COLLECTOR SERVICE FORMAT: the service's samples, as folded stacks (or pprof)
	"$SONDE" export -u "$1" --token "$token" --format "$3" --from now-1h "{service_name=\"$2\"}"
}
for _ in $(seq 50); do
	[ "$(q "$B" otel-app folded 2> /dev/null | awk '{ s += $NF } END { print s + 0 }')" = "$n_otlp" ] && break
	sleep 0.2
done
q "$B" otel-app folded > "$ARTIFACTS/before.folded"
check '[ "$(folded_sum "$ARTIFACTS/before.folded" "")" = "$n_otlp" ]' "all $n_otlp samples stored"
check 'grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/before.folded"' "before the upload: [inline_cpp_stripped+0x...]"
check '! grep -q "Engine" "$ARTIFACTS/before.folded"' "before the upload: no names"
check 'grep -q "do_syscall_64_\[k\]" "$ARTIFACTS/before.folded"' "the kernel frame keeps the name it came with"

# --- hostile uploads: a clear 4xx, nothing stored
up() { # URL-SUFFIX FILE [CURL ARGS]: the status of an upload; the answer in $ARTIFACTS/answer
	local suffix=$1 f=$2
	shift 2
	curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' "${auth[@]}" --data-binary "@$f" "$@" "$A/api/v1/debuginfo/$suffix"
}
refused() { # STATUS REGEX WHAT URL-SUFFIX FILE [CURL ARGS]
	local want=$1 re=$2 what=$3 got
	shift 3
	got=$(up "$@")
	check '[ "$got" = "$want" ] && grep -qE "$re" "$ARTIFACTS/answer"' "$what: $got $(cat "$ARTIFACTS/answer")"
}
head -c 3000 /dev/urandom > "$ARTIFACTS/random.bin"
refused 422 "not an ELF file" "not ELF" "$bid" "$ARTIFACTS/random.bin"
head -c 6000 "$dbg" > "$ARTIFACTS/truncated.debug"
refused 422 "truncated" "truncated" "$bid" "$ARTIFACTS/truncated.debug"
refused 422 "the file.s build ID is" "another file's build ID" "$bid" "$WL/inline.debug"
refused 400 "not a build ID" "a malformed build ID" "not-hex" "$dbg"
refused 422 "no symbols" "a stripped binary: nothing to name with" "$bid" "$WL/inline_cpp_stripped"
code=$(curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' --data-binary "@$dbg" "$A/api/v1/debuginfo/$bid")
check '[ "$code" = 401 ]' "no token: 401"
# a 2 GB claim: refused from the head, before a byte of body
code=$(python3 - "$A" "$bid" "$token" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port), timeout=10)
s.sendall((f"POST /api/v1/debuginfo/{sys.argv[2]} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sys.argv[3]}\r\n"
           "Content-Length: 2147483648\r\n\r\n").encode())
print(s.recv(4096).split(b" ")[1].decode())
PY
)
check '[ "$code" = 413 ]' "a 2 GB Content-Length: 413 before the body"
# 64 MB of zeros, gzipped to 64 KB: inflates past --debuginfo-max-size
head -c 64M /dev/zero | gzip -1 > "$ARTIFACTS/bomb.gz"
refused 413 "inflates to over" "a gzip bomb" "$bid" "$ARTIFACTS/bomb.gz"
# a debug file whose compressed .debug_info claims 1 TB once inflated
objcopy --compress-debug-sections=zlib "$dbg" "$ARTIFACTS/zbomb.debug"
python3 - "$ARTIFACTS/zbomb.debug" <<'PY'
import re, subprocess, sys
f = sys.argv[1]
out = subprocess.run(["readelf", "-SW", f], capture_output=True, text=True).stdout
off = next(int(m.group(1), 16) for m in re.finditer(r"\.debug_info\s+\S+\s+\S+\s+([0-9a-f]+)", out))
b = bytearray(open(f, "rb").read())
b[off + 8:off + 16] = (1 << 40).to_bytes(8, "little")  # Elf64_Chdr.ch_size
open(f, "wb").write(b)
PY
refused 413 "compressed sections claim" "compressed sections claiming 1 TB" "$bid" "$ARTIFACTS/zbomb.debug"
check 'wait_http "$A/ready" 2 "$A_PID"' "the collector lives on"
check '[ -z "$("$SONDE" debuginfo ls -u "$A" --token "$token")" ]' "nothing stored"

# --- uploads of one build ID at once, through both collectors: stored once
uploads=()
for i in 1 2 3 4; do
	for c in "$A" "$B"; do
		"$SONDE" debuginfo upload -u "$c" --token "$token" "$dbg" > "$ARTIFACTS/upload-$i-${c##*:}.out" 2>&1 &
		uploads+=($!)
	done
done
uploads_ok() { local ok=0; for p in "${uploads[@]}"; do wait "$p" || ok=1; done; return $ok; }
check 'uploads_ok' "eight uploads at once succeed"
check '[ "$(grep -l ": stored" "$ARTIFACTS"/upload-*.out | wc -l)" -ge 1 ]' "one of them stored it"
"$SONDE" debuginfo ls -u "$B" --token "$token" --long > "$ARTIFACTS/ls.txt"
check '[ "$(wc -l < "$ARTIFACTS/ls.txt")" = 1 ] && grep -q "^$bid	$(stat -c %s "$dbg")	upload	" "$ARTIFACTS/ls.txt"' "stored once: $(cat "$ARTIFACTS/ls.txt")"
check '[ "$(aws --endpoint-url "http://127.0.0.1:$s3port" s3 ls "s3://profiles/sym/.debuginfo/" | wc -l)" = 2 ]' "two objects in the bucket: the file and its description"
check 'grep -q "already stored" <("$SONDE" debuginfo upload -u "$A" --token "$token" "$dbg")' "uploaded again: not sent"

# --- named through the other collector, from the same stored data
q "$B" otel-app folded > "$ARTIFACTS/after.folded"
check '! grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/after.folded"' "after the upload: no frame of the binary without a name"
heavy=$(folded_sum "$ARTIFACTS/after.folded" ';_start;main;sonde::wl::Engine::heavy\(unsigned long\) const(;|$| )')
light=$(folded_sum "$ARTIFACTS/after.folded" ';_start;main;sonde::wl::Engine::light\(unsigned long\) const(;|$| )')
check '[ "$heavy" = "$n_heavy" ] && [ "$light" = "$n_light" ]' "the known split: heavy $heavy/$n_heavy, light $light/$n_light"
check 'grep -q "Engine::heavy(unsigned long) const;run<1>;step<long unsigned int>;mix<long unsigned int> " "$ARTIFACTS/after.folded"' "inline chains: mix in step in heavy"
q "$B" otel-app pprof > "$ARTIFACTS/after.pb.gz"
python3 tests/tools/pprof_vs_addr2line.py "$ARTIFACTS/after.pb.gz" "$bin" inline_cpp_stripped | tee "$ARTIFACTS/compare.txt" ||
	fail "names, inline chains or file:line differ from eu-addr2line"
# Grafana's path (the Pyroscope API) shows the same names
ptype=$("$SONDE" labels -u "$B" --token "$token" --name __profile_type__ --from now-1h '{service_name="otel-app"}' | head -1)
curl -s "${auth[@]}" -G "$B/pyroscope/render" --data-urlencode "query=$ptype{service_name=\"otel-app\"}" \
	--data-urlencode from=now-1h --data-urlencode until=now > "$ARTIFACTS/render.json"
check 'grep -q "sonde::wl::Engine::heavy(unsigned long) const" "$ARTIFACTS/render.json" && ! grep -q "inline_cpp_stripped+0x" "$ARTIFACTS/render.json"' "named through the Pyroscope API too ($ptype)"
# the pprof path: process addresses, named the same
q "$A" pprof-app folded > "$ARTIFACTS/pprof.folded"
check '! grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/pprof.folded"' "pprof frames named too"
stacks() { sed -E 's/ [0-9]+$//; s/^[^;]*;//; s/;?do_syscall_64_\[k\]//' "$1" | sort -u; }
check 'diff <(stacks "$ARTIFACTS/after.folded") <(stacks "$ARTIFACTS/pprof.folded") > "$ARTIFACTS/stacks.diff"' "pprof and OTLP frames named alike"
curl -s "$B/metrics" > "$ARTIFACTS/metricsB.txt"
check 'python3 tests/tools/promcheck.py "$ARTIFACTS/metricsB.txt" > /dev/null' "the metrics are well-formed Prometheus text"
check 'grep -qE "^sonde_collector_symbolized_frames_total\{result=\"named\"\} [1-9]" "$ARTIFACTS/metricsB.txt"' "frames named, counted"
check 'grep -qE "^sonde_collector_debuginfo_fetched_total\{source=\"store\"\} 1$" "$ARTIFACTS/metricsB.txt"' "the file fetched from the store once"
check 'grep -qE "^sonde_collector_symbolized_frames_total\{result=\"no_debuginfo\"\} [1-9]" "$ARTIFACTS/metricsB.txt"' "frames queried before the upload counted as without debug info"

# --- a plain (not gzipped) upload of several MB into a collector with 32 MB for requests
libc=$(ldd "$WL/inline_cpp_stripped" | awk '/libc\.so/ { print $3 }')
libc_bid=$(readelf -n "$libc" | awk '/Build ID/ { print $3 }')
libc_dbg=/usr/lib/debug/.build-id/${libc_bid:0:2}/${libc_bid:2}.debug
if [ -f "$libc_dbg" ]; then
	code=$(curl -s -o "$ARTIFACTS/answer" -w '%{http_code}' "${auth[@]}" --data-binary "@$libc_dbg" "$A/api/v1/debuginfo/$libc_bid")
	check '[ "$code" = 200 ]' "libc's debug file ($(stat -c %s "$libc_dbg") bytes, not gzipped) taken: $code $(cat "$ARTIFACTS/answer")"
fi

# --- Go: a stripped binary (with a GNU build ID) named from its own .gopclntab once uploaded
python3 tests/tools/native_frames.py otlp "$ARTIFACTS/go.pb" "$WL/split_go_bid" split_go_bid_stripped go-app 300 > /dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -H "Content-Type: application/x-protobuf" \
	--data-binary "@$ARTIFACTS/go.pb" "$A/v1development/profiles")
check '[ "$code" = 200 ]' "Go frames taken"
"$SONDE" debuginfo upload -u "$A" --token "$token" "$WL/split_go_bid_stripped" > /dev/null || fail "Go upload failed"
sleep 0.5
q "$B" go-app pprof > "$ARTIFACTS/go.pb.gz"
node tests/tools/pprof_content.js "$ARTIFACTS/go.pb.gz" --locations > "$ARTIFACTS/go.locs"
check 'python3 - "$ARTIFACTS/go.pb.expected" "$ARTIFACTS/go.locs" <<'"'"'PY'"'"'
import sys
want = dict(l.split() for l in open(sys.argv[1]))
got = {}
for l in open(sys.argv[2]):
    a, m, frames = l.rstrip("\n").split("\t")
    if m == "split_go_bid_stripped" and frames:
        got[a] = frames.split(";")[-1].rsplit("|", 1)[0]  # the function holding the address
# assembly functions are X.abi0 in the symbol table, X in the line table
bad = [a for a, n in want.items() if got.get(a) != n.removesuffix(".abi0")]
print(f"{len(want)} Go frames, {len(bad)} named otherwise than the symbol table: {bad[:3]}")
sys.exit(1 if bad or len(want) < 100 else 0)
PY' "every Go frame named as the unstripped binary's symbol table says"

# --- removed: back to addresses
"$SONDE" debuginfo rm -u "$B" --token "$token" "$bid" > /dev/null || fail "debuginfo rm failed"
q "$B" otel-app folded > "$ARTIFACTS/removed.folded"
check 'grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/removed.folded"' "after rm: addresses again"
check '"$SONDE" debuginfo rm -u "$B" --token "$token" "$bid" 2> /dev/null; [ $? = 1 ]' "rm of what is not stored: exit 1"

# --- a real debuginfod: a third collector, on its own store, fetches and shares
mkdir -p "$ARTIFACTS/srv"
cp "$dbg" "$ARTIFACTS/srv/"
start_debuginfod "$ARTIFACTS/srv" debuginfod
dport=$DEBUGINFOD_PORT
wait_http "http://127.0.0.1:$dport/buildid/$bid/debuginfo" 30 || fail "debuginfod did not come up"
# a build ID the server lacks: the same request with its build ID changed
sed "s/$bid/$(printf 'f%.0s' $(seq ${#bid}))/g" "$ARTIFACTS/otel.pb" > "$ARTIFACTS/unknown.pb"
DEBUGINFOD_URLS=http://127.0.0.1:$dport DEBUGINFOD_CACHE_PATH=$ARTIFACTS/dcache \
	COLL_LOG=$ARTIFACTS/collectorC.log start_collector "$ARTIFACTS/storeC" --segment-max-age 200ms
C=$COLL_URL
for f in otel.pb unknown.pb; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Content-Type: application/x-protobuf" -H "X-Scope-OrgID: $f" \
		--data-binary "@$ARTIFACTS/$f" "$C/v1development/profiles")
	check '[ "$code" = 200 ]' "$f taken by the third collector"
done
sleep 1
"$SONDE" export -u "$C" --tenant otel.pb --format folded --from now-1h > "$ARTIFACTS/debuginfod.folded"
check '! grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/debuginfod.folded" && grep -q "Engine::heavy" "$ARTIFACTS/debuginfod.folded"' "named from debuginfod"
check 'diff <(stacks "$ARTIFACTS/after.folded") <(stacks "$ARTIFACTS/debuginfod.folded")' "the same names as from the upload"
check 'grep -q "debuginfod" <("$SONDE" debuginfo ls -u "$C" --long)' "the fetched file is stored in the bucket for the others, marked debuginfod"
"$SONDE" export -u "$C" --tenant unknown.pb --format folded --from now-1h > /dev/null
r1=$(curl -s "$C/metrics" | awk '/^sonde_collector_debuginfod_requests_total/ { print $2 }')
"$SONDE" export -u "$C" --tenant unknown.pb --format folded --from now-1h > "$ARTIFACTS/unknown.folded"
r2=$(curl -s "$C/metrics" | awk '/^sonde_collector_debuginfod_requests_total/ { print $2 }')
check 'grep -q "\[inline_cpp_stripped+0x" "$ARTIFACTS/unknown.folded"' "a build ID nobody has stays as addresses"
check '[ "$r1" -ge 2 ] && [ "$r1" = "$r2" ]' "not asked again within the negative TTL ($r1 then $r2 requests)"
curl -s "$C/metrics" > "$ARTIFACTS/metricsC.txt"
check 'grep -qE "^sonde_collector_debuginfod_found_total [1-9]" "$ARTIFACTS/metricsC.txt"' "debuginfod's answers counted"
check 'grep -qE "^sonde_collector_debuginfod_request_seconds_total [0-9.e+-]+$" "$ARTIFACTS/metricsC.txt"' "debuginfod latency exported"
