#!/usr/bin/env bash
# Fleets at scale (issue 24): `modlayer verify` of a hub repository of 3,500 single-node
# clusters, each ClusterInstance in its own namespace with its own extra-manifests ConfigMap (a
# `kubectl kustomize`-built stream of about 65 MB), beside the policy generators' folder.
#
#   benches/hub-bench.sh                      # shapes from testdata/hub/repo
#   TELCO_REF=DIR benches/hub-bench.sh        # DIR: a checkout of openshift-kni/telco-reference;
#                                             # its telco-ran extra manifests, example-sno
#                                             # ClusterInstance and acmpolicygenerator files
#   CLUSTERS=N benches/hub-bench.sh           # another fleet size (linearity)
#   SKIP_KUSTOMIZE=1 benches/hub-bench.sh     # without the kubectl kustomize peer (it takes
#                                             # about 3 minutes and 860 MB at 3,500 clusters)
#
# The stream is made at run time: one cluster's kustomization (ClusterInstance + configMapGenerator
# of the extra-manifests folder) built by `kubectl kustomize`, then its two objects repeated with
# the cluster's name changed, ConfigMaps first as kustomize orders them. Peers measured in the same
# run: `cat` of the stream, and `kubectl kustomize` of a kustomization listing the stream (which
# parses and re-emits it). Goal: under 2 s and under 256 MB peak RSS (GNU time's "Maximum
# resident set size").
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in kubectl python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 2; }
done
N=${CLUSTERS:-3500}
cargo build --release --quiet --bin modlayer
M=$PWD/target/release/modlayer
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/one/extra-manifests" "$W/hub"

if [ -n "${TELCO_REF:-}" ]; then
    R=$TELCO_REF/telco-ran
    # A single-node site's install-time manifests: the master-role ones and the role-less
    # namespace, without the optional disk-encryption PCR rebind (16 KB): about 65 MB for
    # 3,500 sites, as the issue measures.
    for f in "$R"/install/clusterinstance/extra-manifests/*.yaml; do
        case "$f" in *-worker.yaml|*disk-encryption*) continue ;; esac
        cp -L "$f" "$W/one/extra-manifests/"
    done
    cp "$R"/install/clusterinstance/example-sno.yaml "$W/one/cluster.yaml"
    NAME=example-ai-sno
    mkdir -p "$W/hub/policies"
    cp -L "$R"/configuration/acmpolicygenerator/*.yaml "$W/hub/policies/"
    cp -rL "$R"/configuration/source-crs "$W/hub/policies/"
    # Only the generators (its other resources live outside the copied folder).
    python3 - "$W/hub/policies/kustomization.yaml" <<'PY'
import sys, yaml
p = sys.argv[1]
k = yaml.safe_load(open(p))
yaml.safe_dump({"generators": k.get("generators", [])}, open(p, "w"))
PY
else
    cp testdata/hub/repo/clusters/extra-manifests/*.yaml "$W/one/extra-manifests/"
    # A large install-time MachineConfig as the reference's 01-container-mount-ns ones are
    # (scripts and units as data URLs), to bring a cluster's ConfigMap to the reference's size.
    python3 - "$W/one/extra-manifests" <<'PY'
import base64, os, sys
d = sys.argv[1]
for role in ("master", "worker"):
    script = "".join(f"# step {i}: mount namespace and kubelet tuning for the {role} pool\n" for i in range(38))
    data = base64.b64encode(script.encode()).decode()
    with open(os.path.join(d, f"01-container-mount-ns-and-kubelet-conf-{role}.yaml"), "w") as o:
        o.write(f"""apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  labels:
    machineconfiguration.openshift.io/role: {role}
  name: container-mount-namespace-and-kubelet-conf-{role}
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
      - contents:
          source: data:text/plain;charset=utf-8;base64,{data}
        mode: 493
        path: /usr/local/bin/extractExecStart
      - contents:
          source: data:text/plain;charset=utf-8;base64,{data}
        mode: 493
        path: /usr/local/bin/nsenterCmns
""")
PY
    python3 - testdata/hub/repo/clusters/clusterinstances.yaml "$W/one/cluster.yaml" <<'PY'
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
open(sys.argv[2], "w").write(docs[0].replace("sno-day0-extra-manifests", "sno-extra-manifests"))
PY
    NAME=sno-day0
    cp -r testdata/hub/repo/policies "$W/hub/policies"
fi

python3 - "$W/one" "$NAME" <<'PY'
import os, sys
d, name = sys.argv[1], sys.argv[2]
files = sorted(os.listdir(os.path.join(d, "extra-manifests")))
ref = open(os.path.join(d, "cluster.yaml")).read()
import re
cm = re.search(r"extraManifestsRefs:\s*\n\s*-\s*name:\s*(\S+)", ref).group(1)
with open(os.path.join(d, "kustomization.yaml"), "w") as o:
    o.write("resources:\n- cluster.yaml\nconfigMapGenerator:\n- name: %s\n  namespace: %s\n  files:\n" % (cm, name))
    for f in files:
        o.write("  - extra-manifests/%s\n" % f)
    o.write("generatorOptions:\n  disableNameSuffixHash: true\n")
PY
kubectl kustomize "$W/one" > "$W/one.yaml"
python3 - "$W/one.yaml" "$NAME" "$N" "$W/hub/clusters.yaml" <<'PY'
import sys
text, name, n, out = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3]), sys.argv[4]
docs = [d for d in text.split("\n---\n") if d.strip()]
cms = [d for d in docs if "\nkind: ConfigMap\n" in "\n" + d + "\n"]
rest = [d for d in docs if d not in cms]
with open(out, "w") as o:
    first = True
    for group in (cms, rest):
        for i in range(n):
            site = "sno-%04d" % i
            for d in group:
                if not first:
                    o.write("---\n")
                first = False
                o.write(d.replace(name, site).rstrip("\n") + "\n")
PY
mkdir -p "$W/peer" && ln "$W/hub/clusters.yaml" "$W/peer/clusters.yaml" && printf 'resources:\n- clusters.yaml\n' > "$W/peer/kustomization.yaml"
SIZE=$(stat -c %s "$W/hub/clusters.yaml")
echo "hub: $N clusters, stream $((SIZE / 1000000)) MB ($SIZE bytes), policies: $(ls "$W/hub/policies"/*.yaml | wc -l) files"

measure() { # label command...
    local label=$1; shift
    /usr/bin/time -v "$@" > /dev/null 2> "$W/time.txt" || true
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$W/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
    echo "$label: wall $wall, peak RSS $((rss / 1024)) MB"
    echo "$wall" > "$W/wall-$label"
}
measure cat cat "$W/hub/clusters.yaml"
if [ "${SKIP_KUSTOMIZE:-0}" != 1 ]; then # minutes at 3,500 clusters
    measure kubectl-kustomize kubectl kustomize "$W/peer"
fi
measure modlayer "$M" verify --format json "$W/hub"
"$M" verify --format json "$W/hub" > "$W/out.json" || true
python3 - "$W/out.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["targets"]
on = sum(1 for r in t if r["enabled"])
names = {r["cluster"]["name"] for r in t}
print("modlayer: %d reports (%d clusters), %d enabled" % (len(t), len(names), on))
PY
