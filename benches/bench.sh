#!/usr/bin/env bash
# Benchmarks with their peers, measured in the same run (these machines are noisy: quote ratios).
#
#   benches/bench.sh            # needs hyperfine and jq (apt-get install hyperfine jq)
#
# 1. apply on a 20 MB Ignition config (a bootstrap.ign with large base64 files), against
#    serde_json parsing and serializing the same file (examples/json_roundtrip) and jq making the
#    same edit.
# 2. 1,000 small node configs in one `apply --in-place` run, against a shell loop of jq.
# 3. `render machineconfig` process time (median).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine jq python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 2; }
done
cargo build --release --quiet --bin modlayer --example json_roundtrip
M=$PWD/target/release/modlayer
R=$PWD/target/release/examples/json_roundtrip
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

python3 - "$W" <<'EOF'
import base64, json, os, random, sys
w = sys.argv[1]
rnd = random.Random(7)
files = []
for i in range(40):  # ~15 MB of certificates and images, as base64
    blob = base64.b64encode(rnd.randbytes(375000)).decode()
    files.append({"path": f"/opt/openshift/tls/blob{i}.crt", "mode": 420, "overwrite": True,
                  "contents": {"source": "data:text/plain;charset=utf-8;base64," + blob}})
for i in range(300):  # manifests
    body = base64.b64encode(b"apiVersion: v1\nkind: ConfigMap\n" * 20).decode()
    files.append({"path": f"/opt/openshift/manifests/m{i}.yaml", "mode": 420, "overwrite": True,
                  "contents": {"source": "data:text/plain;charset=utf-8;base64," + body}})
cfg = {"ignition": {"version": "3.2.0"},
       "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAA"]}]},
       "storage": {"files": files},
       "systemd": {"units": [{"name": "bootkube.service", "enabled": True, "contents": "[Unit]\n"}]}}
with open(f"{w}/big.ign", "w") as f:
    json.dump(cfg, f, separators=(",", ":"))
os.makedirs(f"{w}/nodes")
for i in range(1000):
    node = {"ignition": {"version": "3.2.0"},
            "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": [f"ssh-ed25519 KEY{i}"]}]},
            "storage": {"files": [{"path": "/etc/hostname", "mode": 420, "overwrite": True,
                                   "contents": {"source": f"data:,node-{i}"}}]}}
    with open(f"{w}/nodes/node{i:04}.ign", "w") as f:
        json.dump(node, f, indent=2)
EOF
cp -r "$W/nodes" "$W/pristine"
echo "big.ign: $(stat -c %s "$W/big.ign") bytes"

EDIT='.storage.files += [{"path":"/etc/modprobe.d/sctp-blacklist.conf","contents":{"source":"data:,"},"mode":420,"overwrite":true},{"path":"/etc/modules-load.d/sctp-load.conf","contents":{"source":"data:,sctp"},"mode":420,"overwrite":true}]'
printf '%s\n' "$EDIT" >"$W/edit.jq"

hyperfine -N --warmup 2 --runs 15 --export-json "$W/big.json" \
    -n modlayer "$M apply $W/big.ign" \
    -n serde_json "$R $W/big.ign" \
    -n jq "jq -c -f $W/edit.jq $W/big.ign" >/dev/null

RESET="rm -rf $W/nodes && cp -r $W/pristine $W/nodes"
hyperfine --warmup 1 --runs 5 --export-json "$W/many.json" --prepare "$RESET" \
    -n modlayer "$M apply --in-place $W/nodes/*.ign" \
    -n jq-loop "for f in $W/nodes/*.ign; do jq -f $W/edit.jq \"\$f\" >\"\$f.tmp\" && mv \"\$f.tmp\" \"\$f\"; done" >/dev/null

hyperfine -N --warmup 5 --runs 200 --export-json "$W/render.json" \
    -n render "$M render machineconfig" >/dev/null

# Peak RSS of each modlayer run (GNU time), on fresh copies.
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
RSS_BIG=$(rss "$M" apply "$W/big.ign")
rm -rf "$W/nodes" && cp -r "$W/pristine" "$W/nodes"
RSS_MANY=$(rss "$M" apply --in-place "$W"/nodes/*.ign)
RSS_RENDER=$(rss "$M" render machineconfig)

python3 - "$W" "$RSS_BIG" "$RSS_MANY" "$RSS_RENDER" <<'EOF'
import json, sys
w = sys.argv[1]
rss_big, rss_many, rss_render = (int(x) / 1024 for x in sys.argv[2:5])
def med(name, f):
    return {r["command"]: r["median"] for r in json.load(open(f"{w}/{f}"))["results"]}[name]
m, s, j = (med(n, "big.json") for n in ("modlayer", "serde_json", "jq"))
print(f"apply 20 MB: modlayer {m*1000:.1f} ms, serde_json round trip {s*1000:.1f} ms, jq {j*1000:.1f} ms")
print(f"  modlayer / serde_json = {m/s:.2f}x (goal <= 1.0); jq / modlayer = {j/m:.1f}x (goal >= 10); peak RSS {rss_big:.1f} MB")
a, b = med("modlayer", "many.json"), med("jq-loop", "many.json")
print(f"1,000 configs: modlayer {a*1000:.1f} ms, jq loop {b*1000:.0f} ms: {b/a:.0f}x faster (goal >= 40); peak RSS {rss_many:.1f} MB")
r = med("render", "render.json")
print(f"render machineconfig: median {r*1000:.2f} ms (goal < 5 ms); peak RSS {rss_render:.1f} MB")
EOF
