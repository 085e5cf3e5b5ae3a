#!/bin/bash
# Relabel rules from the config file drop and rename as configured: a process a rule drops is
# not in the profile (and its samples are counted as dropped), a replace rule renames a
# service with the regex's group, labeldrop removes a label from every process.
. "$(dirname "$0")/../lib.sh"
need_root

cat > "$ARTIFACTS/agent.yaml" <<'YAML'
relabel:
  - drop process.executable.name=~secret_.*
  - replace process.executable.name=~app_(.*) => service.name=shop-$1
  - labeldrop process\.executable\.path
YAML
bg "$(copy_as "$WL/split" app_cart)" 10 1 1
bg "$(copy_as "$WL/split" secret_job)" 10 1 1
secret=$BG_PID
sleep 0.3
sampled "$secret" "$ARTIFACTS/agent.log" "$AGENT" --config "$ARTIFACTS/agent.yaml" --duration 2 \
	--format otlp --output "$ARTIFACTS/node.pb" || fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
otlp attrs "$ARTIFACTS/node.pb" > "$ARTIFACTS/attrs.json"
python3 - "$ARTIFACTS/attrs.json" <<'PY' || fail "the rules were not applied: see $ARTIFACTS/attrs.json"
import json, sys
res = json.load(open(sys.argv[1]))["resources"]
names = [r.get("process.executable.name") for r in res]
assert "secret_job" not in names, "a dropped process was exported"
cart = [r for r in res if r.get("process.executable.name") == "app_cart"]
assert cart and cart[0].get("service.name") == "shop-cart", cart
assert all("process.executable.path" not in r for r in res), "labeldrop left the label"
print(f"{len(res)} processes exported; app_cart is service shop-cart; secret_job dropped")
PY
log "ok: drop, replace and labeldrop rules applied before export"
dropped=$(sed -n 's/.* relabel_dropped=\([0-9]*\) .*/\1/p' "$ARTIFACTS/agent.log")
check 'enough_samples "${dropped:-0}" "$TICKS"' "the dropped process's samples are counted ($dropped for $TICKS ticks)"
# a bad rule stops the agent at once, naming it
rc=0
"$AGENT" --relabel 'drop service.name' --duration 1 --output /dev/null 2> "$ARTIFACTS/bad.log" || rc=$?
check '[ "$rc" = 2 ] && grep -q "invalid --relabel" "$ARTIFACTS/bad.log"' "a malformed rule is refused with exit 2: $(head -1 "$ARTIFACTS/bad.log")"
