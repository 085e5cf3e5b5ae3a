#!/bin/bash
# The collector on S3: a real S3-compatible server (s3rver, from npm) started here. s3rver does
# not check Signature V4, so the collector talks to it through tests/tools/sigv4_proxy.py,
# which checks every request's signature with botocore (the AWS SDK the AWS CLI ships):
#  - agent -> collector -> S3: the folded export read back from S3 equals what the agent
#    recorded; aws s3 ls (the AWS CLI, an independent client) sees the blocks;
#  - inspect and compaction over S3 (ranged GETs, listing, deletes);
#  - wrong credentials and a missing bucket stop the collector with a clear message;
#  - S3 down for a while: requests get 503 and the agent resends, nothing is lost.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd node
need_cmd aws
S3RVER=tests/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || fail "s3rver is not installed: run make deps"

s3port=$(free_port)
start_s3() {
	BG_LOG=$ARTIFACTS/s3rver.log bg node "$S3RVER" -d "$ARTIFACTS/s3data" -a 127.0.0.1 -p "$s3port" \
		--configure-bucket profiles --no-vhost-buckets
	S3_PID=$BG_PID
	for _ in $(seq 100); do
		(echo > "/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "s3rver did not start: $(tail -5 "$ARTIFACTS/s3rver.log")"
}
mkdir -p "$ARTIFACTS/s3data"
start_s3
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
: > "$ARTIFACTS/aws-config"
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=$ARTIFACTS/aws-config AWS_SHARED_CREDENTIALS_FILE=$ARTIFACTS/aws-config
pport=$(free_port)
BG_LOG=$ARTIFACTS/proxy.err bg python3 tests/tools/sigv4_proxy.py --port "$pport" \
	--upstream "http://127.0.0.1:$s3port" --log "$ARTIFACTS/sigv4.jsonl"
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$pport") 2>/dev/null && break; sleep 0.1; done
url="s3://profiles/sonde/prod?endpoint=http://127.0.0.1:$pport&path_style=true"
awscli() { aws --endpoint-url "http://127.0.0.1:$s3port" "$@"; }

# clear errors before anything is served
AWS_SECRET_ACCESS_KEY=wrong "$COLLECTOR" --listen "127.0.0.1:$(free_port)" --storage "$url" 2> "$ARTIFACTS/badkey.log" &&
	fail "a collector with a wrong secret key should not start"
check 'grep -q "SignatureDoesNotMatch\|HTTP 403" "$ARTIFACTS/badkey.log"' "a wrong secret key is refused clearly: $(grep -o 'err=.*' "$ARTIFACTS/badkey.log" | head -1)"
"$COLLECTOR" --listen "127.0.0.1:$(free_port)" --storage "s3://nosuchbucket/x?endpoint=http://127.0.0.1:$s3port&path_style=true" \
	2> "$ARTIFACTS/nobucket.log" && fail "a collector on a missing bucket should not start"
check 'grep -q "NoSuchBucket" "$ARTIFACTS/nobucket.log"' "a missing bucket is named: $(grep -o 'err=.*' "$ARTIFACTS/nobucket.log" | head -1)"

# from here on, every request must carry a valid signature
rm -f "$ARTIFACTS/sigv4.jsonl"

# agent -> collector -> S3
start_collector "$url" --segment-max-age 300ms --no-compaction
bg "$WL/split" 60 3 1
wl=$BG_PID
sleep 0.3
BG_LOG=$ARTIFACTS/agent.log bg "$AGENT" --pid "$wl" --collector "$COLL_URL" --upload-interval 1s \
	--output "$ARTIFACTS/agent.folded" --max-retry-backoff 2s --shutdown-timeout 30s
agent=$BG_PID
sleep 4
# S3 goes away for a while: the collector answers 503, the agent keeps its requests
kill -KILL "$S3_PID"
wait "$S3_PID" 2> /dev/null || true
sleep 4
start_s3
sleep 4
kill -TERM "$agent"
wait "$agent" || fail "agent exited with $?"
sent=$(sed -n 's/.* requests_sent=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
dropped=$(sed -n 's/.* dropped_requests=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
retries=$(sed -n 's/.* retries=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
log "agent: $sent requests acknowledged, $retries retries, $dropped dropped"
check '[ "$dropped" = 0 ] && [ "$retries" -ge 1 ]' "while S3 was down the agent was told to retry, and dropped nothing"
curl -s "$COLL_URL/metrics" > "$ARTIFACTS/metrics.txt"
errors=$(awk '$1 == "sonde_collector_block_write_errors_total" { print $2 }' "$ARTIFACTS/metrics.txt")
check '[ "$errors" -ge 1 ]' "the collector counted the failed writes ($errors)"
stop_collector

"$SONDE" export "$url" --service split > "$ARTIFACTS/export.folded" || fail "export from S3 failed"
diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/export.folded" > "$ARTIFACTS/diff.txt" ||
	fail "the export from S3 differs from what the agent recorded: $(head -5 "$ARTIFACTS/diff.txt")"
log "ok: the export from S3 equals the agent's own record ($(folded_sum "$ARTIFACTS/export.folded" '') samples)"

# the objects are really there, for a client that is not ours
awscli s3 ls --recursive s3://profiles/sonde/prod/ > "$ARTIFACTS/ls.txt" || fail "aws s3 ls failed"
n=$(grep -c '\.block$' "$ARTIFACTS/ls.txt" || true)
"$SONDE" inspect --json "$url" > "$ARTIFACTS/inspect.json" || fail "inspect over S3 found a problem"
python3 - "$ARTIFACTS/inspect.json" "$ARTIFACTS/ls.txt" <<'PY' || fail "aws s3 ls and inspect disagree"
import json, sys
d = json.load(open(sys.argv[1]))
ours = {b["key"]: b["size"] for t in d["tenants"] for b in t["blocks"]}
theirs = {}
for line in open(sys.argv[2]):
    date, time, size, key = line.split()
    theirs[key.removeprefix("sonde/prod/")] = int(size)
assert ours == theirs, (ours, theirs)
PY
check '[ "$n" -ge 3 ]' "aws s3 ls sees the $n blocks, with the sizes inspect reports"

# compaction over S3
"$SONDE" compact --force --deletion-grace 0 "$url" > "$ARTIFACTS/compact.txt" || fail "compaction on S3 failed: $(cat "$ARTIFACTS/compact.txt")"
awscli s3 ls --recursive s3://profiles/sonde/prod/ > "$ARTIFACTS/ls2.txt"
check '[ "$(grep -c "\.block$" "$ARTIFACTS/ls2.txt")" = 1 ]' "compaction leaves one block in S3 ($(cat "$ARTIFACTS/compact.txt"))"
"$SONDE" export "$url" --service split > "$ARTIFACTS/compacted.folded"
diff "$ARTIFACTS/agent.folded" "$ARTIFACTS/compacted.folded" > /dev/null || fail "the compacted export differs"
"$SONDE" inspect "$url" > /dev/null || fail "inspect after compaction on S3"
log "ok: compaction over S3 keeps every sample"

checked=$(grep -c '"ok": true' "$ARTIFACTS/sigv4.jsonl" || true)
bad=$(grep -c '"ok": false' "$ARTIFACTS/sigv4.jsonl" || true)
kinds=$(python3 -c 'import json,sys; print(" ".join(sorted({json.loads(l)["method"] for l in open(sys.argv[1])})))' "$ARTIFACTS/sigv4.jsonl")
check '[ "$bad" = 0 ] && [ "$checked" -ge 10 ]' "botocore agrees with every signature ($checked requests: $kinds)"
