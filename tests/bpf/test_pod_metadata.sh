#!/bin/bash
# Pod metadata from the API server: workloads placed in cgroups named as containerd names them
# under a kubepods hierarchy (cgroup v2) are labelled with their pod's name, namespace, labels,
# workload and container, and service.name chosen from them, by an agent pointed at a local
# HTTPS endpoint serving the pod list and watch events in the API server's format
# (tests/tools/fake_apiserver.py: no real API server can run here). Also: a pod created after
# the agent started arrives by watch and relabels its running process; a relabel rule drops a
# namespace; the first list arriving truncated is retried; a refused token is reported and the
# agent profiles on without pod metadata.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd openssl
need_cgroup2
cg2=$CG2

newuid() { cat /proc/sys/kernel/random/uuid; }
cid_a=$(random_hex) cid_a2=$(random_hex) cid_b=$(random_hex) cid_c=$(random_hex) cid_d=$(random_hex)
uid_a=$(newuid) uid_b=$(newuid) uid_c=$(newuid) uid_d=$(newuid)
podcg() { # podcg QOS UID CID: the containerd (systemd driver) cgroup of a container
	echo "$cg2/kubepods.slice/kubepods-$1.slice/kubepods-$1-pod${2//-/_}.slice/cri-containerd-$3.scope"
}
d_a=$(podcg burstable "$uid_a" "$cid_a")
d_b=$(podcg besteffort "$uid_b" "$cid_b")
d_c=$(podcg besteffort "$uid_c" "$cid_c")
d_d=$(podcg besteffort "$uid_d" "$cid_d")
trap cgroups_cleanup EXIT
for d in "$d_a" "$d_b" "$d_c" "$d_d"; do make_cgroup "$d"; done

# a CA and a server certificate for 127.0.0.1, as a cluster has
tls=$ARTIFACTS/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sonde-test-ca -keyout "$tls/ca.key" \
	-out "$tls/ca.crt" 2> /dev/null || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -subj /CN=kubernetes -keyout "$tls/server.key" \
	-out "$tls/server.csr" 2> /dev/null || fail "openssl: key"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
	-days 1 -extfile "$tls/ext" -out "$tls/server.crt" 2> /dev/null || fail "openssl: certificate"
token=$(random_hex)
echo "$token" > "$ARTIFACTS/token"

# the pods: a Deployment's (two containers), a StatefulSet's named by app.kubernetes.io/name,
# one in kube-system, and one of another node; pod "late" exists only once the watch says so
api=$ARTIFACTS/api
mkdir -p "$api/events"
python3 - "$api" "$uid_a" "$cid_a" "$cid_a2" "$uid_b" "$cid_b" "$uid_c" "$cid_c" "$uid_d" "$cid_d" <<'PY'
import json, os, sys
api, uid_a, cid_a, cid_a2, uid_b, cid_b, uid_c, cid_c, uid_d, cid_d = sys.argv[1:]

def pod(uid, name, ns, node, owner_kind, owner, labels, containers):
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": "1",
                     "labels": labels,
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"a\":1}"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner,
                                          "uid": "0", "controller": True, "blockOwnerDeletion": True}],
                     "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                                        "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}}}]},
        "spec": {"nodeName": node, "containers": [{"name": c, "image": "example/" + c} for c, _ in containers]},
        "status": {"phase": "Running", "podIP": "10.1.2.3",
                   "containerStatuses": [{"name": c, "ready": True, "restartCount": 0,
                                          "containerID": "containerd://" + i} for c, i in containers]},
    }

pods = [
    pod(uid_a, "checkout-5f7b9c4d8-k2x9q", "shop", "node-1", "ReplicaSet", "checkout-5f7b9c4d8",
        {"app": "checkout", "pod-template-hash": "5f7b9c4d8", "tier": "web"},
        [("istio-proxy", cid_a2), ("server", cid_a)]),
    pod(uid_b, "db-0", "shop", "node-1", "StatefulSet", "db", {"app.kubernetes.io/name": "postgres"},
        [("postgres", cid_b)]),
    pod(uid_d, "coredns-abc", "kube-system", "node-1", "DaemonSet", "coredns", {"k8s-app": "kube-dns"},
        [("coredns", cid_d)]),
    pod("9e9e9e9e-0000-4000-8000-000000000009", "elsewhere", "shop", "node-2", "DaemonSet", "x", {}, []),
]
json.dump(pods, open(os.path.join(api, "pods.json"), "w"))
late = pod(uid_c, "late-xyz12", "shop", "node-1", "DaemonSet", "late", {"app": "late"}, [("late", cid_c)])
json.dump({"type": "ADDED", "object": late}, open(os.path.join(api, "late.event"), "w"))
PY
port=$(free_port)
BG_LOG=$ARTIFACTS/apiserver.log bg python3 tests/tools/fake_apiserver.py --port "$port" \
	--cert "$tls/server.crt" --key "$tls/server.key" --token "$token" --dir "$api" --malformed-lists 1
wait_tcp "$port" "the stand-in API server"

bg_in_cgroup "$d_a" "$(copy_as "$WL/split" in_checkout)" 30 1 1
wl_pids=$BG_PID
bg_in_cgroup "$d_b" "$(copy_as "$WL/split" in_db)" 30 1 1
wl_pids+=" $BG_PID"
bg_in_cgroup "$d_c" "$(copy_as "$WL/split" in_late)" 30 1 1
late_pid=$BG_PID
wl_pids+=" $BG_PID"
bg_in_cgroup "$d_d" "$(copy_as "$WL/split" in_system)" 30 1 1
wl_pids+=" $BG_PID"
sleep 0.3

k8s_flags=(--k8s-api "https://127.0.0.1:$port" --k8s-ca-file "$tls/ca.crt" --node-name node-1)
# the pod "late" is created 1 s after the agent starts watching (its watch event: the stand-in
# sends only the events that appear while a watch is open)
(
	for _ in $(seq 100); do
		grep -qs '"watch": true' "$api/requests.jsonl" && break
		sleep 0.1
	done
	sleep 1
	mv "$api/late.event" "$api/events/0001.json"
) &
mover=$!
sampled "$late_pid" "$ARTIFACTS/agent.log" "$AGENT" --duration 7 --format otlp \
	--output "$ARTIFACTS/node.pb" "${k8s_flags[@]}" --k8s-token-file "$ARTIFACTS/token" \
	--relabel 'drop k8s.namespace.name=~kube-system' || fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
wait "$mover"
otlp attrs "$ARTIFACTS/node.pb" > "$ARTIFACTS/attrs.json"
python3 - "$ARTIFACTS/attrs.json" "$ARTIFACTS/node.pb" "$cid_a" "$uid_a" "$cid_c" <<'PY' || fail "wrong labels: see $ARTIFACTS/attrs.json"
import collections, json, subprocess, sys
attrs, pb, cid_a, uid_a, cid_c = sys.argv[1:]
res = collections.defaultdict(list)
for r in json.load(open(attrs))["resources"]:
    res[r.get("process.executable.name")].append(r)
# the Deployment's pod: workload from the ReplicaSet, the container from its status
[a] = res["in_checkout"]
want = {"service.name": "checkout", "k8s.pod.name": "checkout-5f7b9c4d8-k2x9q", "k8s.namespace.name": "shop",
        "k8s.deployment.name": "checkout", "k8s.replicaset.name": "checkout-5f7b9c4d8",
        "k8s.container.name": "server", "k8s.pod.label.app": "checkout", "k8s.pod.label.tier": "web",
        "container.id": cid_a, "k8s.pod.uid": uid_a, "k8s.node.name": "node-1"}
for k, v in want.items():
    assert a.get(k) == v, (k, a.get(k), v)
assert not any(k.startswith("k8s.pod.annotation") for k in a), a
# app.kubernetes.io/name names the service before the workload
[b] = res["in_db"]
assert b.get("service.name") == "postgres" and b.get("k8s.statefulset.name") == "db", b
assert b.get("k8s.container.name") == "postgres", b
# the namespace a relabel rule drops is not profiled at all
assert "in_system" not in res, res["in_system"]
print("checkout:", {k: a[k] for k in ("service.name", "k8s.pod.name", "k8s.container.name")},
      "| db:", b["service.name"])
PY
# the pod created after the start: labelled from its watch event on, for most of its samples
late=$(python3 - "$ARTIFACTS/node.pb" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
import otlp
r = otlp.Request(open(sys.argv[1], "rb").read())
named = total = 0
for rattrs, _, _, count, _ in r.samples():
    if rattrs.get("process.executable.name") != "in_late":
        continue
    total += count
    if rattrs.get("k8s.pod.name") == "late-xyz12" and rattrs.get("service.name") == "late":
        named += count
print(named, total)
PY
)
read -r late_named late_total <<< "$late"
check 'enough_samples "$late_total" "$TICKS"' "samples of the process of the late pod ($late_total for $TICKS ticks)"
check '[ "$late_named" -ge $((late_total / 4)) ] && [ "$late_named" -lt "$late_total" ]' \
	"after its watch event the late pod's process is relabelled ($late_named of $late_total samples)"
check 'matches "$(cat "$ARTIFACTS/agent.log")" "pod list is malformed"' "a truncated pod list is reported"
check 'matches "$(cat "$ARTIFACTS/agent.log")" "pods are listed"' "and listed again"
# what the agent asked: its node's pods, with its token, a watch from the list's version
python3 - "$api/requests.jsonl" <<'PY' || fail "unexpected requests: see $api/requests.jsonl"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
lists = [r for r in reqs if not r["watch"]]
watches = [r for r in reqs if r["watch"]]
assert len(lists) >= 2 and watches, reqs
assert all(r["auth_ok"] for r in reqs), reqs
assert all(r["query"]["fieldSelector"] == "spec.nodeName=node-1" for r in reqs), reqs
assert watches[0]["query"]["resourceVersion"] == "1000", watches[0]
assert watches[0]["query"].get("allowWatchBookmarks") == "true", watches[0]
print(f"{len(lists)} lists, {len(watches)} watches, all with the token and the node's fieldSelector")
PY
log "ok: pod name, namespace, labels, workload and container from the API server's pod list"

# a refused token: said once in the log, and the agent profiles on without pod metadata
echo wrong > "$ARTIFACTS/wrong-token"
sampled "$wl_pids" "$ARTIFACTS/bad.log" "$AGENT" --duration 2 --format otlp \
	--output "$ARTIFACTS/bad.pb" "${k8s_flags[@]}" --k8s-wait 1s \
	--k8s-token-file "$ARTIFACTS/wrong-token" ||
	fail "agent failed with a refused token: $(tail -n 3 "$ARTIFACTS/bad.log")"
check 'matches "$(cat "$ARTIFACTS/bad.log")" "401 Unauthorized"' "a refused token is reported"
check '[ "$(grep -c "401 Unauthorized" "$ARTIFACTS/bad.log")" = 1 ]' "once"
n=$(otlp count "$ARTIFACTS/bad.pb" | tail -n 1 | awk '{ print $NF }')
check 'enough_samples "$n" "$TICKS"' "profiles without pod metadata ($n samples for $TICKS ticks)"
