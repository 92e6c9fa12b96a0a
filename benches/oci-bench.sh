#!/usr/bin/env bash
# OCI target benchmark, against its peers measured in the same run (quote ratios).
#
#   benches/oci-bench.sh              # a ~1 GB and a ~10 MB base image built by umoci under /tmp
#   SIZE_MB=200 benches/oci-bench.sh  # a smaller big image, for a quick look
#
# 1. apply reads the base once (to see which kernels carry the module): time on the big image
#    against `gzip -dc` of its layers (goal <= 1.0), against `umoci insert` adding the same two
#    files (goal: faster), and peak RSS.
# 2. verify streams: time against `gzip -dc` over the same layer blobs (goal <= 1.5x), peak RSS
#    (goal < 64 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in umoci hyperfine python3 gzip /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "oci-bench: $tool is needed" >&2; exit 2; }
done
SIZE_MB=${SIZE_MB:-1024}
cargo build --release --quiet --bin modlayer
M=$PWD/target/release/modlayer
W=$(mktemp -d /tmp/modlayer-oci-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

make_image() { # name size_mb
    local name=$1 mb=$2 root="$W/root-$1"
    mkdir -p "$root/etc/modprobe.d" "$root/usr/lib/modules/5.14.0/kernel/net/sctp" "$root/usr/share/data"
    cp src/node/rhcos/sctp-blacklist.conf "$root/etc/modprobe.d/"
    echo fake >"$root/usr/lib/modules/5.14.0/kernel/net/sctp/sctp.ko.xz"
    python3 - "$root/usr/share/data" "$mb" <<'EOF'
import os, random, sys
d, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
words = [bytes(rnd.choice(b"abcdefghij klmnop\n") for _ in range(4096)) for _ in range(64)]
for i in range(max(1, mb // 4)):  # 4 MiB files: half random (incompressible), half text
    with open(f"{d}/f{i:05}", "wb") as f:
        if i % 2:
            f.write(rnd.randbytes(4 << 20))
        else:
            for _ in range(1024):
                f.write(rnd.choice(words))
EOF
    umoci init --layout "$W/$name" >/dev/null
    umoci new --image "$W/$name:base" >/dev/null
    umoci insert --image "$W/$name:base" "$root/etc" /etc >/dev/null
    umoci insert --image "$W/$name:base" "$root/usr" /usr >/dev/null
}
echo "building images (${SIZE_MB} MB and 10 MB)..." >&2
make_image big "$SIZE_MB"
make_image small 10
mkdir -p "$W/files/etc/modprobe.d" "$W/files/etc/modules-load.d"
: >"$W/files/etc/modprobe.d/sctp-blacklist.conf"
printf sctp >"$W/files/etc/modules-load.d/sctp-load.conf"

# Every run patches the untouched base under another tag (the base's tag does not move).
hyperfine --warmup 2 --runs 15 --export-json "$W/apply.json" \
    -n apply-big "$M apply oci:$W/big:base --tag patched" \
    -n apply-small "$M apply oci:$W/small:base --tag patched" \
    -n umoci-insert-big "cp $W/big/index.json $W/big.idx && umoci insert --image $W/big:base --tag ins $W/files/etc /etc >/dev/null; cp $W/big.idx $W/big/index.json" \
    >/dev/null

BLOBS=$(python3 - "$W/big" <<'EOF'
import json, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json"))
m = [x for x in idx["manifests"] if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == "base"][0]
man = json.load(open(f"{d}/blobs/sha256/{m['digest'][7:]}"))
print(" ".join(f"{d}/blobs/sha256/{l['digest'][7:]}" for l in man["layers"]))
EOF
)
hyperfine -i --warmup 1 --runs 5 --export-json "$W/verify.json" \
    -n verify "$M verify oci:$W/big:base" \
    -n gzip-dc "cat $BLOBS | gzip -dc >/dev/null" >/dev/null
/usr/bin/time -v "$M" verify "oci:$W/big:base" 2>"$W/rss" >/dev/null || true
RSS=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$W/rss")
/usr/bin/time -v "$M" apply "oci:$W/big:base" --tag rss 2>"$W/rss-apply" >/dev/null || true
RSS_APPLY=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$W/rss-apply")

python3 - "$W" "$RSS" "$SIZE_MB" "$RSS_APPLY" <<'EOF'
import json, sys
w, rss, mb, rss_apply = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def med(f):
    return {r["command"]: r["median"] for r in json.load(open(f"{w}/{f}"))["results"]}
a, v = med("apply.json"), med("verify.json")
print(f"apply: {mb} MB base {a['apply-big']*1000:.1f} ms, 10 MB base {a['apply-small']*1000:.1f} ms; "
      f"against gzip -dc of the big base's layers {a['apply-big']/v['gzip-dc']:.2f}x (goal <= 1.0); "
      f"umoci insert {a['umoci-insert-big']*1000:.0f} ms -> modlayer {a['umoci-insert-big']/a['apply-big']:.1f}x faster; "
      f"peak RSS {rss_apply/1024:.1f} MB")
print(f"verify: {v['verify']*1000:.0f} ms vs gzip -dc {v['gzip-dc']*1000:.0f} ms -> {v['verify']/v['gzip-dc']:.2f}x (goal <= 1.5); "
      f"peak RSS {rss/1024:.1f} MB (goal < 64)")
EOF
