#!/bin/bash
# Container, pod and unit labels from cgroup paths: workloads placed in cgroups named exactly
# as containerd and CRI-O name them under a kubepods hierarchy (systemd driver, cgroup v2), and
# in a *.service cgroup, get the right container.id, k8s.pod.uid and service.name. The cgroups
# are made by the test and removed after it.
. "$(dirname "$0")/../lib.sh"
need_root
need_cgroup2
cg2=$CG2

cid1=$(random_hex)
cid2=$(random_hex)
uid1=$(cat /proc/sys/kernel/random/uuid)
uid2=$(cat /proc/sys/kernel/random/uuid)
d1=$cg2/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid1//-/_}.slice/cri-containerd-$cid1.scope
d2=$cg2/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid2//-/_}.slice/crio-$cid2.scope
d3=$cg2/sonde-test.slice/sonde-test-web.service
trap cgroups_cleanup EXIT
make_cgroup "$d1"
make_cgroup "$d2"
make_cgroup "$d3"

bg_in_cgroup "$d1" "$(copy_as "$WL/split" in_containerd)" 20 1 1
bg_in_cgroup "$d2" "$(copy_as "$WL/split" in_crio)" 20 1 1
bg_in_cgroup "$d3" "$(copy_as "$WL/split" in_unit)" 20 1 1
sleep 0.3
"$AGENT" --duration 2 --format otlp --output "$ARTIFACTS/node.pb" 2> "$ARTIFACTS/agent.log" ||
	fail "agent failed: $(tail -n 3 "$ARTIFACTS/agent.log")"
otlp attrs "$ARTIFACTS/node.pb" > "$ARTIFACTS/attrs.json"
python3 - "$ARTIFACTS/attrs.json" "$cid1" "$uid1" "$cid2" "$uid2" <<'PY' || fail "wrong labels: see $ARTIFACTS/attrs.json"
import json, sys
attrs, cid1, uid1, cid2, uid2 = sys.argv[1:]
res = {}
for r in json.load(open(attrs))["resources"]:
    name = r.get("process.executable.name")
    if name in ("in_containerd", "in_crio", "in_unit"):
        res[name] = r
assert set(res) == {"in_containerd", "in_crio", "in_unit"}, sorted(res)
c, o, u = res["in_containerd"], res["in_crio"], res["in_unit"]
assert c.get("container.id") == cid1 and c.get("k8s.pod.uid") == uid1, c
assert o.get("container.id") == cid2 and o.get("k8s.pod.uid") == uid2, o
assert u.get("service.name") == "sonde-test-web.service", u
assert "container.id" not in u and "k8s.pod.uid" not in u, u
# in a container, the unit is not the service: the executable is, until pod metadata names it
assert c.get("service.name") == "in_containerd", c
print("containerd:", c["container.id"][:12], c["k8s.pod.uid"], "| cri-o:", o["container.id"][:12], o["k8s.pod.uid"],
      "| unit:", u["service.name"])
PY
log "ok: containerd and CRI-O cgroups give container.id and k8s.pod.uid; a .service cgroup gives service.name"
