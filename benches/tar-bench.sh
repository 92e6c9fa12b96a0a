#!/usr/bin/env bash
# Tar target benchmark, against its peers measured in the same run (quote ratios: these machines
# are noisy).
#
#   benches/tar-bench.sh               # ~1.6 GB uncompressed, ~1 GB rootfs.tar.gz under /tmp
#   SCALE=0.25 benches/tar-bench.sh    # smaller, for a quick look
#   KEEP=1 benches/tar-bench.sh        # keep the work directory
#
# 1. apply: modlayer's apply_stream (tests/tar.rs bench_apply_stream, and `modlayer apply -o` when
#    the binary has the tar target) against GNU tar doing the same job:
#    `tar -xzf; edit the two files; tar -czf`.        Goal: modlayer <= 0.5x GNU tar.
#    `modlayer apply --module sctp -o` (one read: judged, layer built, rewritten) against
#    `gzip -dc`.
# 2. verify: verify_tar against `gzip -dc >/dev/null`. Goal: <= 1.5x gzip, peak RSS < 64 MB.
#
# Needs python3, GNU tar, gzip, /usr/bin/time. Everything is written under one mktemp directory in
# /tmp and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in python3 tar gzip /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "tar-bench: $tool is needed" >&2; exit 2; }
done
SCALE=${SCALE:-1}
W=$(mktemp -d /tmp/modlayer-tar-bench.XXXXXX)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$W"' EXIT; fi

echo "building (release)..." >&2
TESTBIN=$(cargo test --release --test tar --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "tar":
        print(m["executable"])')
[ -x "$TESTBIN" ] || { echo "tar-bench: cannot build tests/tar.rs" >&2; exit 2; }
CLI=
if cargo build --release --quiet --bin modlayer 2>/dev/null; then CLI=$PWD/target/release/modlayer; fi

echo "generating the root filesystem (scale $SCALE)..." >&2
python3 - "$W/root" "$SCALE" src/node/rhcos/sctp-blacklist.conf <<'EOF'
import os, random, sys
root, scale, blacklist = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rnd = random.Random(42)
MB = 1 << 20
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rnd.randint(2, 12)))
         for _ in range(4000)]
def text(n):
    out, size = [], 0
    while size < n:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 14)))
        line += " = %d\n" % rnd.randint(0, 99999)
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]
corpus = text(48 * MB)                   # text-like: configs, scripts, docs (~3.5x)
noise = rnd.randbytes(16 * MB)
def piece(src, n):
    at = rnd.randrange(0, len(src) - n)
    return src[at:at + n]
def write(rel, data, mode=0o644):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)
# many small files: ~500 MB at scale 1
n_small = int(100000 * scale)
for i in range(n_small):
    size = min(int(rnd.lognormvariate(8.0, 1.1)), 256 * 1024)
    write("usr/share/pkg%03d/dir%02d/file%06d.txt" % (i % 400, i % 17, i), piece(corpus, max(size, 1)))
# large "binaries": text interleaved with noise, ~2x compressible, ~600 MB
for i in range(int(60 * scale)):
    parts, size = [], 0
    target = rnd.randint(4, 16) * MB
    while size < target:
        parts.append(piece(corpus, 48 * 1024)); parts.append(piece(noise, 12 * 1024)); size += 60 * 1024
    write("usr/lib64/lib%02d.so.1" % i, b"".join(parts), 0o755)
# incompressible: compressed kernel modules, firmware, images, ~550 MB
for i in range(int(2000 * scale)):
    write("usr/lib/modules/5.14.0-427.el9.x86_64/kernel/drivers/d%04d.ko.xz" % i,
          rnd.randbytes(rnd.randint(16, 96) * 1024))
for i in range(int(30 * scale)):
    write("usr/lib/firmware/blob%02d.bin" % i, rnd.randbytes(rnd.randint(6, 18) * MB))
write("usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/sctp/sctp.ko.xz", rnd.randbytes(200000))
write("etc/modprobe.d/sctp-blacklist.conf", open(blacklist, "rb").read())
write("etc/modprobe.d/other.conf", b"options foo bar=1\n")
os.makedirs(os.path.join(root, "etc/modules-load.d"), exist_ok=True)
os.symlink("../usr/share/zoneinfo/UTC", os.path.join(root, "etc/localtime"))
os.link(os.path.join(root, "usr/share/pkg000/dir00/file000000.txt"), os.path.join(root, "usr/share/hardlink.txt"))
EOF
tar --sort=name --owner=0 --group=0 -czf "$W/rootfs.tar.gz" -C "$W/root" .
RAW=$(du -sb "$W/root" | cut -f1)
rm -rf "$W/root"
GZ=$(stat -c %s "$W/rootfs.tar.gz")
echo "rootfs.tar.gz: $((GZ >> 20)) MiB compressed, $((RAW >> 20)) MiB of files"
sync

# time_of LABEL CMD...: wall seconds and peak RSS (KiB) into $W/LABEL.time
time_of() {
    local label=$1; shift
    local status=0
    /usr/bin/time -f '%e %M' -o "$W/$label.raw" "$@" >/dev/null || status=$?
    tail -n 1 "$W/$label.raw" >"$W/$label.time"
    read -r secs rss <"$W/$label.time"
    [ "$status" = 0 ] || echo "($label exited with status $status)"
    printf '%-28s %8.2f s  %8d KiB peak RSS\n' "$label" "$secs" "$rss"
}
secs() { cut -d' ' -f1 "$W/$1.time"; }
rss() { cut -d' ' -f2 "$W/$1.time"; }

echo
echo "== apply"
gnu_job() {
    set -e
    rm -rf "$W/x" && mkdir "$W/x"
    tar -xzf "$W/rootfs.tar.gz" -C "$W/x"
    : >"$W/x/etc/modprobe.d/sctp-blacklist.conf"
    printf sctp >"$W/x/etc/modules-load.d/sctp-load.conf"
    tar -czf "$W/gnu.tar.gz" -C "$W/x" .
    rm -rf "$W/x"
}
export -f gnu_job
export W
time_of gnu-tar bash -c gnu_job
time_of modlayer-apply_stream env MODLAYER_TAR_BENCH="$W/rootfs.tar.gz" \
    MODLAYER_TAR_BENCH_OUT="$W/ml.tar.gz" "$TESTBIN" --ignored --exact bench_apply_stream
if [ -n "$CLI" ] && "$CLI" apply --help 2>/dev/null | grep -q tar; then
    time_of modlayer-apply-cli "$CLI" apply "$W/rootfs.tar.gz" -o "$W/cli.tar.gz" || true
    # --module: the layer built from the archive's own blacklist in the same pass that rewrites it
    # (src/tar/once.rs), against one decompression of the archive.
    time_of gzip-dc-apply gzip -dc "$W/rootfs.tar.gz"
    time_of modlayer-apply-module "$CLI" apply --module sctp "$W/rootfs.tar.gz" -o "$W/mod.tar.gz" || true
    python3 -c "import sys; print('apply --module ratio modlayer/gzip -dc: %.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" \
        "$(secs modlayer-apply-module)" "$(secs gzip-dc-apply)"
fi
gzip -t "$W/ml.tar.gz"
[ "$(tar -xzf "$W/ml.tar.gz" -O ./etc/modules-load.d/sctp-load.conf)" = sctp ]
[ -z "$(tar -xzf "$W/ml.tar.gz" -O ./etc/modprobe.d/sctp-blacklist.conf)" ]
echo "output sizes: gnu $(($(stat -c %s "$W/gnu.tar.gz") >> 20)) MiB, modlayer $(($(stat -c %s "$W/ml.tar.gz") >> 20)) MiB"
python3 -c "import sys; print('apply ratio modlayer/gnu-tar: %.2f (goal <= 0.5)' % (float(sys.argv[1]) / float(sys.argv[2])))" \
    "$(secs modlayer-apply_stream)" "$(secs gnu-tar)"

echo
echo "== verify"
time_of gzip-dc gzip -dc "$W/rootfs.tar.gz"
time_of modlayer-verify_tar env MODLAYER_TAR_BENCH="$W/rootfs.tar.gz" "$TESTBIN" --ignored --exact bench_verify_tar
if [ -n "$CLI" ]; then
    time_of modlayer-verify-cli "$CLI" verify "$W/rootfs.tar.gz" || true
fi
python3 -c "import sys; print('verify ratio modlayer/gzip -dc: %.2f (goal <= 1.5); peak RSS %d MiB (goal < 64)' % (float(sys.argv[1]) / float(sys.argv[2]), int(sys.argv[3]) >> 10))" \
    "$(secs modlayer-verify_tar)" "$(secs gzip-dc)" "$(rss modlayer-verify_tar)"
