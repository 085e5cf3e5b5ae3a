#!/bin/bash
# What the collector says about its own exposure (issue 14, defect 9):
#  - a token file any user may read (or write) stops the start with an error saying how to fix
#    it, unless --allow-readable-secrets, which makes it a warning; a file shared with a group
#    (0640: Kubernetes' fsGroup) is accepted;
#  - without --auth-token-file the start says loudly that every tenant is open to anyone.
# Before, a world-readable token file was taken silently, and nothing was said without one.
. "$(dirname "$0")/../lib.sh"

tokens=$ARTIFACTS/tokens
printf '%s team-a\n' "$(random_hex)" > "$tokens"

# no tokens: a warning at the start
start_collector "$ARTIFACTS/store"
stop_collector
check 'grep -q "level=warn msg=\"NO AUTHENTICATION (no --auth-token-file): anyone who can reach this port can write to and read every tenant" "$ARTIFACTS/collector.log"' \
	"without --auth-token-file the start warns that every tenant is open"

# a token file others can read: refused
chmod 644 "$tokens"
set +e
"$COLLECTOR" --listen "127.0.0.1:$(free_port)" --storage "$ARTIFACTS/store" --auth-token-file "$tokens" \
	> "$ARTIFACTS/open.log" 2>&1
rc=$?
set -e
check '[ "$rc" != 0 ]' "a token file mode 0644 stops the start (exit $rc)"
check 'grep -q "level=error.*can read or change this secret file: chmod o-rwx.*flag=--auth-token-file.*mode=0644" "$ARTIFACTS/open.log"' \
	"the error says why and how to fix it: $(cat "$ARTIFACTS/open.log")"

# ... unless allowed, with a warning
COLL_LOG=$ARTIFACTS/allowed.log start_collector "$ARTIFACTS/store" --auth-token-file "$tokens" --allow-readable-secrets
stop_collector
check 'grep -q "level=warn.*can read or change this secret file (--allow-readable-secrets)" "$ARTIFACTS/allowed.log"' \
	"--allow-readable-secrets starts with a warning"
check '! grep -q "NO AUTHENTICATION" "$ARTIFACTS/allowed.log"' "with tokens, no open-tenant warning"

# group-readable and private files: accepted without a word
for mode in 640 600; do
	chmod "$mode" "$tokens"
	COLL_LOG=$ARTIFACTS/mode$mode.log start_collector "$ARTIFACTS/store" --auth-token-file "$tokens"
	stop_collector
	check '! grep -q "secret file" "$ARTIFACTS/mode$mode.log"' "a token file mode $mode is accepted quietly"
done
