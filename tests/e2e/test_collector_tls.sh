#!/bin/bash
# The collector over HTTPS (--tls-cert-file, --tls-key-file, here from its config file), with a CA
# made by the test:
#  - the agent sends to it with --ca-file and its profiles are stored; curl --cacert and
#    sonde --ca-file query it;
#  - plain HTTP on that port gets no answer, and a client without the CA refuses the server;
#  - a connection that never starts its handshake is cut at --header-timeout;
#  - SIGHUP with a new certificate: new handshakes see the new serial, nothing restarts;
#  - SIGHUP with a broken pair: a log line, the previous pair still served, the collector alive;
#  - a bad pair, or a key file others can read, stops the start with a clear error.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd openssl

tls=$ARTIFACTS/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sonde-test-ca -keyout "$tls/ca.key" \
	-out "$tls/ca.crt" 2> /dev/null || fail "openssl: CA"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tls/ext"
# cert NAME SERIAL: a key and a certificate signed by the CA
cert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=sonde-collector-$1" -keyout "$tls/$1.key" \
		-out "$tls/$1.csr" 2> /dev/null || fail "openssl: key $1"
	openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -set_serial "$2" \
		-days 1 -extfile "$tls/ext" -out "$tls/$1.crt" 2> /dev/null || fail "openssl: certificate $1"
	chmod 600 "$tls/$1.key"
}
cert one 0x1001
cert two 0x2002
served_serial() {
	openssl s_client -connect "127.0.0.1:$COLL_PORT" -servername localhost < /dev/null 2> /dev/null |
		openssl x509 -noout -serial 2> /dev/null | sed 's/^serial=//'
}

# the start refuses a bad pair and a key others can read, before touching the storage
set +e
"$COLLECTOR" --storage "$ARTIFACTS/never" --tls-cert-file "$tls/one.crt" --tls-key-file "$tls/two.key" \
	> "$ARTIFACTS/mismatch.log" 2>&1
rc=$?
set -e
check '[ "$rc" != 0 ] && grep -q "cannot use the TLS certificate and key.*not a usable pair" "$ARTIFACTS/mismatch.log"' \
	"a key that is not the certificate's stops the start: $(tail -1 "$ARTIFACTS/mismatch.log")"
check '[ ! -e "$ARTIFACTS/never" ]' "... before the storage is touched"
cp "$tls/one.key" "$tls/open.key"
chmod 644 "$tls/open.key"
set +e
"$COLLECTOR" --storage "$ARTIFACTS/never" --tls-cert-file "$tls/one.crt" --tls-key-file "$tls/open.key" \
	> "$ARTIFACTS/open.log" 2>&1
rc=$?
set -e
check '[ "$rc" != 0 ] && grep -q "chmod o-rwx" "$ARTIFACTS/open.log"' "a key file others can read stops the start"

# the pair the collector serves: files it re-reads on SIGHUP, named in its config file
cp "$tls/one.crt" "$tls/serving.crt"
cp "$tls/one.key" "$tls/serving.key"
COLL_PORT=$(free_port)
cat > "$ARTIFACTS/collector.yaml" << EOF
listen: 127.0.0.1:$COLL_PORT
storage: $ARTIFACTS/store
segment-max-age: 100ms
header-timeout: 2s
tls-cert-file: $tls/serving.crt
tls-key-file: $tls/serving.key
EOF
BG_LOG=$ARTIFACTS/collector.log bg "$COLLECTOR" --config "$ARTIFACTS/collector.yaml"
COLL_PID=$BG_PID
COLL_URL=https://127.0.0.1:$COLL_PORT
wait_https() {
	for _ in $(seq 100); do
		[ "$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{http_code}' "$COLL_URL/ready")" = 200 ] && return 0
		kill -0 "$COLL_PID" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_https || fail "the collector did not serve HTTPS: $(tail -3 "$ARTIFACTS/collector.log")"
log "ok: HTTPS with the test's CA: $(grep -o 'msg="TLS certificate loaded".*' "$ARTIFACTS/collector.log")"

# plain HTTP on the HTTPS port: no HTTP answer; and without the CA the client refuses
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$COLL_PORT/ready" || true)
check '[ "$code" = 000 ]' "plain HTTP on the TLS port gets no answer (curl: $code)"
set +e
curl -s -o /dev/null --max-time 10 "$COLL_URL/ready"
rc=$?
set -e
check '[ "$rc" = 60 ]' "a client without the CA refuses the certificate (curl exit $rc)"

# the head deadline covers the handshake: a silent connection is cut at 2 s, not at 30 s idle
silent=$(python3 - "$COLL_PORT" << 'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(25)
t0 = time.monotonic()
try:
    s.recv(1)
except OSError:
    pass
print(f"{time.monotonic() - t0:.1f}")
PY
)
check 'float_between "$silent" 1 10' "a connection that never starts its TLS handshake is cut after ${silent} s"

# the agent, over HTTPS with --ca-file
bg "$WL/split" 30 3 1
wl=$BG_PID
sleep 0.3
"$AGENT" --pid "$wl" --collector "$COLL_URL" --ca-file "$tls/ca.crt" --upload-interval 1s --duration 3 \
	2> "$ARTIFACTS/agent.log" || fail "agent failed: $(tail -3 "$ARTIFACTS/agent.log")"
kill "$wl"
curl -sf --cacert "$tls/ca.crt" "$COLL_URL/metrics" > "$ARTIFACTS/metrics.txt" || fail "no /metrics over HTTPS"
acked=$(awk '$1 == "sonde_collector_acknowledged_requests_total" { print $2 }' "$ARTIFACTS/metrics.txt")
check '[ "${acked:-0}" -ge 1 ]' "the agent's requests were acknowledged over HTTPS ($acked)"
services=$(curl -sf --cacert "$tls/ca.crt" "$COLL_URL/api/v1/label_values?name=service_name&from=now-1h&to=now" || true)
check 'matches "$services" split' "a query over HTTPS sees the agent's service: $services"
labels=$("$SONDE" labels --url "$COLL_URL" --ca-file "$tls/ca.crt" 2> "$ARTIFACTS/cli.err" || true)
check 'matches "$labels" service_name' "sonde labels --ca-file queries over HTTPS: $(echo $labels)"
set +e
"$SONDE" labels --url "$COLL_URL" > /dev/null 2> "$ARTIFACTS/cli-noca.err"
rc=$?
set -e
check '[ "$rc" = 3 ]' "without the CA the CLI refuses the server: $(cat "$ARTIFACTS/cli-noca.err")"
serial=$(served_serial)
check '[ "$serial" = 1001 ]' "the first certificate is served (serial $serial)"

# SIGHUP with a new pair: the next handshakes get it
cp "$tls/two.crt" "$tls/serving.crt"
cp "$tls/two.key" "$tls/serving.key"
kill -HUP "$COLL_PID"
for _ in $(seq 50); do grep -q 'SIGHUP: TLS certificate reloaded' "$ARTIFACTS/collector.log" && break; sleep 0.1; done
serial=$(served_serial)
check '[ "$serial" = 2002 ]' "after SIGHUP the new certificate is served (serial $serial)"
code=$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{http_code}' "$COLL_URL/ready")
check '[ "$code" = 200 ]' "and clients with the CA still connect"

# SIGHUP with a broken pair (a key that is not the certificate's): the old one stays
cp "$tls/one.key" "$tls/serving.key"
kill -HUP "$COLL_PID"
for _ in $(seq 50); do grep -q 'still serving the previous ones' "$ARTIFACTS/collector.log" && break; sleep 0.1; done
check 'grep -q "still serving the previous ones" "$ARTIFACTS/collector.log"' \
	"a broken pair on SIGHUP is logged: $(grep -o 'msg="SIGHUP: the new.*' "$ARTIFACTS/collector.log" | head -1)"
check 'kill -0 "$COLL_PID"' "the collector is still running"
serial=$(served_serial)
check '[ "$serial" = 2002 ]' "the previous certificate is still served (serial $serial)"
code=$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{http_code}' "$COLL_URL/ready")
check '[ "$code" = 200 ]' "and clients still connect"
stop_collector
