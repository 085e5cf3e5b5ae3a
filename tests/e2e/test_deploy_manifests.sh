#!/bin/bash
# The Kubernetes manifests and the Dockerfile, checked at the schema level (no cluster here):
# every object well-formed and in the kustomization; the agent's DaemonSet has what the agent
# needs (host PID, the capabilities the systemd unit grants and no more, NODE_NAME, read-only
# /sys, a liveness probe on its metrics port, requests and limits, tolerations for every node)
# and flags the agent accepts; the collector's Deployment, Service and volume fit together; the
# image's runtime stage installs the package of every library the binaries link.
. "$(dirname "$0")/../lib.sh"
need_cmd readelf
python3 -c 'import yaml' 2> /dev/null || skip "needs python3-yaml (make deps)"

python3 - deploy "$AGENT" "$COLLECTOR" <<'PY' || fail "the manifests are not right"
import os, re, shlex, subprocess, sys, yaml
deploy, agent_bin, collector_bin = sys.argv[1:]
k8s = os.path.join(deploy, "kubernetes")
kust = yaml.safe_load(open(os.path.join(k8s, "kustomization.yaml")))
objs = []
for f in kust["resources"]:
    for d in yaml.safe_load_all(open(os.path.join(k8s, f))):
        if d:
            objs.append(d)
listed = set(kust["resources"]) | {"kustomization.yaml", "collector-s3.example.yaml", "collector-tls.example.yaml",
                                   "collector-fleet.example.yaml"}
missing = sorted(set(os.listdir(k8s)) - listed)
assert not missing, f"files not in the kustomization: {missing}"
by = {}
for o in objs:
    for k in ("apiVersion", "kind", "metadata"):
        assert k in o, (k, o)
    assert o["metadata"].get("name"), o
    if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
        assert o["metadata"].get("namespace") == kust["namespace"], o["metadata"]
    by[(o["kind"], o["metadata"]["name"])] = o
need = {("Namespace", "sonde"), ("ServiceAccount", "sonde-agent"), ("ClusterRole", "sonde-agent"),
        ("ClusterRoleBinding", "sonde-agent"), ("DaemonSet", "sonde-agent"), ("Deployment", "sonde-collector"),
        ("Service", "sonde-collector"), ("PersistentVolumeClaim", "sonde-collector-data")}
assert need <= set(by), f"missing objects: {need - set(by)}"

# the agent
ds = by[("DaemonSet", "sonde-agent")]
spec = ds["spec"]["template"]["spec"]
assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
assert spec["hostPID"] is True, "the agent needs the host PID namespace"
assert spec["serviceAccountName"] == "sonde-agent"
assert any(t.get("operator") == "Exists" and "key" not in t for t in spec["tolerations"]), "not on every node"
(c,) = spec["containers"]
sc = c["securityContext"]
assert not sc.get("privileged") and sc.get("allowPrivilegeEscalation") is False
unit = open(os.path.join(deploy, "systemd", "sonde-agent.service.in")).read()
unit_caps = set(re.search(r"^AmbientCapabilities=(.*)$", unit, re.M).group(1).replace("CAP_", "").split())
assert set(sc["capabilities"]["add"]) == unit_caps, (sc["capabilities"]["add"], unit_caps)
assert sc["capabilities"]["drop"] == ["ALL"]
env = {e["name"]: e for e in c["env"]}
assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in spec["volumes"]}
assert mounts["/sys"]["readOnly"] is True and vols[mounts["/sys"]["name"]]["hostPath"]["path"] == "/sys"
for r in ("requests", "limits"):
    assert {"cpu", "memory"} <= set(c["resources"][r]), c["resources"]
port = {p["name"]: p["containerPort"] for p in c["ports"]}
probe = c["livenessProbe"]["httpGet"]
assert probe["path"] == "/metrics" and port[probe["port"]] == 9464
assert f"--metrics-addr=0.0.0.0:{port['metrics']}" in c["args"]
# the flags are the agent's: it parses them (and stops at --version)
r = subprocess.run([agent_bin] + c["args"] + ["--version"], capture_output=True, text=True)
assert r.returncode == 0, r.stderr
rb = by[("ClusterRoleBinding", "sonde-agent")]
assert rb["roleRef"]["name"] == "sonde-agent" and rb["subjects"][0]["name"] == "sonde-agent"
# what the pod-metadata client asks (list and watch pods), and nothing more
rules = by[("ClusterRole", "sonde-agent")]["rules"]
assert rules == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}], rules
assert spec.get("automountServiceAccountToken", True) is not False, "the agent needs its token"

# the collector
dep = by[("Deployment", "sonde-collector")]
pspec = dep["spec"]["template"]["spec"]
assert dep["spec"]["replicas"] == 1, "one compactor per storage"
(cc,) = pspec["containers"]
r = subprocess.run([collector_bin] + cc["args"] + ["--version"], capture_output=True, text=True)
assert r.returncode == 0, r.stderr
cports = {p["name"]: p["containerPort"] for p in cc["ports"]}
assert "--listen=0.0.0.0:%d" % cports["http"] in cc["args"]
assert cc["readinessProbe"]["httpGet"]["path"] == "/ready"
svc = by[("Service", "sonde-collector")]
assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
assert svc["spec"]["ports"][0]["targetPort"] in cports
assert f"--collector=http://sonde-collector.sonde.svc:{svc['spec']['ports'][0]['port']}" in c["args"]
claim = {v["name"]: v for v in pspec["volumes"]}["data"]["persistentVolumeClaim"]["claimName"]
assert ("PersistentVolumeClaim", claim) in by
storage = [a for a in cc["args"] if a.startswith("--storage=")][0].split("=", 1)[1]
assert any(m["mountPath"] == storage for m in cc["volumeMounts"]), "the storage is not the volume"


def writable_cache(c, volumes):
    """A read-only root: the debug file cache must be a mounted volume."""
    if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        return
    d = [a for a in c["args"] if a.startswith("--debuginfo-cache-dir=")]
    assert d, f"{c['name']}: no --debuginfo-cache-dir on a read-only root (the default is in /tmp)"
    m = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    assert m.get(d[0].split("=", 1)[1]) in volumes, f"{c['name']}: {d[0]} is not a mounted volume"


writable_cache(cc, {v["name"] for v in pspec["volumes"]})
# HTTPS: the lines marked "# tls", uncommented, mount the example's Secret where the flags point,
# with a mode the collector accepts for a key, and probe over HTTPS
text = open(os.path.join(k8s, "collector.yaml")).read()
tls_text = re.sub(r"^(\s*)# (.*# tls)$", r"\1\2", text, flags=re.M)
assert tls_text != text, "no lines marked '# tls' in collector.yaml"
tdep = [d for d in yaml.safe_load_all(tls_text) if d and d["kind"] == "Deployment"][0]
tspec = tdep["spec"]["template"]["spec"]
(tc,) = tspec["containers"]
secret = yaml.safe_load(open(os.path.join(k8s, "collector-tls.example.yaml")))
tvol = {v["name"]: v for v in tspec["volumes"]}["tls"]["secret"]
assert tvol["secretName"] == secret["metadata"]["name"] and secret["type"] == "kubernetes.io/tls"
assert tvol["defaultMode"] & 0o007 == 0, "others could read the key: the collector refuses it"
tmount = {m["name"]: m["mountPath"] for m in tc["volumeMounts"]}["tls"]
flags = dict(a[2:].split("=", 1) for a in tc["args"] if "=" in a)
assert flags["tls-cert-file"] == f"{tmount}/tls.crt" and flags["tls-key-file"] == f"{tmount}/tls.key", flags
assert tc["readinessProbe"]["httpGet"]["scheme"] == tc["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
r = subprocess.run([collector_bin] + tc["args"] + ["--version"], capture_output=True, text=True)
assert r.returncode == 0, r.stderr
print(f"{len(objs)} objects; agent caps {sorted(unit_caps)}; flags parse; the TLS variant fits")

# many collectors on one bucket: ingest + query replicas under an HPA, a compactor apart,
# S3 settings from the Secret; every container's flags are ones the collector accepts
fleet = {}
for d in yaml.safe_load_all(open(os.path.join(k8s, "collector-fleet.example.yaml"))):
    assert d.get("metadata", {}).get("namespace") == "sonde", d
    fleet[(d["kind"], d["metadata"]["name"])] = d
secret = fleet[("Secret", "sonde-collector-s3")]["stringData"]
assert {"SONDE_STORAGE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(secret), secret
targets = {}
for name in ("sonde-collector", "sonde-compactor"):
    dep = fleet[("Deployment", name)]
    assert dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    assert c["envFrom"] == [{"secretRef": {"name": "sonde-collector-s3"}}], c.get("envFrom")
    assert "--storage=$(SONDE_STORAGE)" in c["args"], c["args"]
    args = [a.replace("$(SONDE_STORAGE)", "s3://b/p?region=r") for a in c["args"]]
    r = subprocess.run([collector_bin] + args + ["--version"], capture_output=True, text=True)
    assert r.returncode == 0, (name, r.stderr)
    targets[name] = next(a.split("=", 1)[1] for a in c["args"] if a.startswith("--target="))
    if "query" in targets[name]:
        writable_cache(c, {v["name"] for v in dep["spec"]["template"]["spec"].get("volumes", [])})
assert targets == {"sonde-collector": "ingest,query", "sonde-compactor": "compact"}, targets
hpa = fleet[("HorizontalPodAutoscaler", "sonde-collector")]["spec"]
assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sonde-collector"}
assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
sel = fleet[("Service", "sonde-collector")]["spec"]["selector"]
serve = fleet[("Deployment", "sonde-collector")]["spec"]["template"]["metadata"]["labels"]
compact = fleet[("Deployment", "sonde-compactor")]["spec"]["template"]["metadata"]["labels"]
assert sel.items() <= serve.items() and not sel.items() <= compact.items(), "the Service must reach the servers only"
PY
log "ok: the manifests are well-formed and fit the agent and the collector"

# the image: every library the binaries link comes from a package its runtime stage installs
runtime=$(awk '/^FROM debian:12-slim/ { s = 1 } s' Dockerfile | tr -s ' \\\t' '\n' | grep -E '^lib|^zlib|^ca-' | sort -u)
missing=""
for lib in $(readelf -d "$AGENT" "$COLLECTOR" "$SONDE" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
	path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !p { print $NF; p = 1 }') # no early exit: pipefail
	pkg=$(dpkg -S "$path" 2> /dev/null || dpkg -S "$(realpath "$path")" 2> /dev/null || dpkg -S "/usr$path" 2> /dev/null || true)
	pkg=${pkg%%:*}
	[ -n "$pkg" ] || fail "no package owns $lib ($path)"
	case $pkg in
	libc6 | libgcc-s1) continue ;;             # in the base image
	libasan[0-9]* | libubsan[0-9]*) continue ;; # a SANITIZE=1 build's runtime, not the image's
	esac
	grep -qx "$pkg" <<< "$runtime" || missing="$missing $lib($pkg)"
done
check '[ -z "$missing" ]' "the image's runtime stage installs every linked library's package${missing:+ (missing:$missing)}"
