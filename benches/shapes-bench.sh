#!/usr/bin/env bash
# Scale of the inputs users have (issue "inputs"), with a peer measured in the same run:
#
#   benches/shapes-bench.sh     # needs hyperfine and python3-yaml (apt-get install hyperfine python3-yaml)
#
# 1. `modlayer verify` on a must-gather holding 500 MachineConfigs (and their pools, plus the
#    namespaced resources a must-gather carries), against PyYAML (libyaml's C loader where
#    present) loading the same MachineConfig files.
# 2. `modlayer verify` on a GitOps folder of 5,000 manifest files (a few hundred MachineConfigs,
#    the rest Deployments, Services, ConfigMaps), against the same PyYAML load of every file.
# Goal: each verify under 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 2; }
done
cargo build --release --quiet --bin modlayer
M=$PWD/target/release/modlayer
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

python3 - "$W" <<'PY'
import os, sys, yaml
w = sys.argv[1]
def mc(name, role, files):
    return {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": name, "labels": {"machineconfiguration.openshift.io/role": role}},
            "spec": {"config": {"ignition": {"version": "3.2.0"},
                                "storage": {"files": files}}}}
def f(path, data):
    return {"path": path, "mode": 420, "overwrite": True, "contents": {"source": "data:," + data}}
sctp = [f("/etc/modprobe.d/sctp-blacklist.conf", ""), f("/etc/modules-load.d/sctp-load.conf", "sctp")]
mg = os.path.join(w, "must-gather", "quay-io-ocp-sha256-1", "cluster-scoped-resources",
                  "machineconfiguration.openshift.io")
os.makedirs(mg + "/machineconfigs"); os.makedirs(mg + "/machineconfigpools")
for i in range(499):
    role = "worker" if i % 2 else "master"
    files = [f(f"/etc/app/conf-{i}-{j}.conf", "x%3D1%0A" * 20) for j in range(8)]
    with open(f"{mg}/machineconfigs/{i:03d}-{role}-tuning.yaml", "w") as o:
        yaml.safe_dump(mc(f"{i:03d}-{role}-tuning", role, files), o)
with open(f"{mg}/machineconfigs/load-sctp-module-worker.yaml", "w") as o:
    yaml.safe_dump(mc("load-sctp-module-worker", "worker", sctp), o)
for p in ("master", "worker"):
    with open(f"{mg}/machineconfigpools/{p}.yaml", "w") as o:
        yaml.safe_dump({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfigPool",
                        "metadata": {"name": p},
                        "spec": {"machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": p}}}}, o)
ns = os.path.join(w, "must-gather", "quay-io-ocp-sha256-1", "namespaces")
for i in range(300):
    d = f"{ns}/ns-{i}/core"; os.makedirs(d)
    with open(f"{d}/configmaps.yaml", "w") as o:
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMapList",
                        "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{k}"},
                                   "data": {"k": "v" * 200}} for k in range(5)]}, o)
g = os.path.join(w, "gitops")
for i in range(5000):
    d = f"{g}/site-{i % 50}/app-{i % 7}"; os.makedirs(d, exist_ok=True)
    if i % 20 == 0:
        obj = mc(f"{i:05d}-worker-tuning", "worker", [f(f"/etc/app/{i}.conf", "x%3D1%0A")])
    elif i % 2:
        obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}"},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [
                   {"name": "c", "image": "registry.example.com/app:1", "ports": [{"containerPort": 8080}]}]}}}}
    else:
        obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}"},
               "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}
    with open(f"{d}/m{i:05d}.yaml", "w") as o:
        yaml.safe_dump(obj, o)
with open(f"{g}/load-sctp-module-worker.yaml", "w") as o:
    yaml.safe_dump(mc("load-sctp-module-worker", "worker", sctp), o)
PY

cat > "$W/peer.py" <<'PY'
import os, sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
for root, _, names in os.walk(sys.argv[1]):
    for n in names:
        if n.endswith((".yaml", ".yml", ".json")):
            with open(os.path.join(root, n)) as f:
                list(yaml.load_all(f, Loader=Loader))
PY

echo "files: must-gather $(find "$W/must-gather" -type f | wc -l), gitops $(find "$W/gitops" -type f | wc -l)"
"$M" verify "$W/must-gather" >/dev/null
"$M" verify "$W/gitops" >/dev/null
hyperfine --warmup 2 --runs 10 -N --export-markdown "$W/mg.md" \
    "$M verify $W/must-gather" \
    "python3 $W/peer.py $W/must-gather/quay-io-ocp-sha256-1/cluster-scoped-resources"
hyperfine --warmup 2 --runs 10 -N --export-markdown "$W/gitops.md" \
    "$M verify $W/gitops" \
    "python3 $W/peer.py $W/gitops"
cat "$W/mg.md" "$W/gitops.md"
