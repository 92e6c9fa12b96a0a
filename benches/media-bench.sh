#!/usr/bin/env bash
# Boot media benchmark (issue 23), against `cp` of the same ISO in the same run (quote ratios:
# these machines are noisy).
#
#   benches/media-bench.sh                 # a 1 GiB ISO (real data after the image, not sparse)
#   SIZE_MB=256 benches/media-bench.sh     # smaller
#   MODLAYER=target/debug/modlayer benches/media-bench.sh   # skip the release build
#
# 1. verify of the ISO: goal < 50 ms, and < 1 MB read (tests/media.rs counts the bytes read).
# 2. apply -o OUT (copy + patch of the area) against `cp ISO OUT`: goal within 1.2x.
# 3. peak RSS of verify and apply: goal < 32 MB.
#
# Needs xorriso, /usr/bin/time. Everything is written under one mktemp directory in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in xorriso /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "media-bench: $tool is needed" >&2; exit 2; }
done
SIZE_MB=${SIZE_MB:-1024}
W=$(mktemp -d /tmp/modlayer-media-bench.XXXXXX)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$W"' EXIT; fi
if [ -z "${MODLAYER:-}" ]; then
    echo "building (release)..." >&2
    cargo build --release --quiet --bin modlayer
    MODLAYER=target/release/modlayer
fi

mkdir -p "$W/tree/coreos" "$W/tree/images"
echo '{"file": "images/ignition.img"}' >"$W/tree/coreos/igninfo.json"
echo '{"installer-config": true}' >"$W/tree/coreos/features.json"
head -c $((256 * 1024)) /dev/zero >"$W/tree/images/ignition.img"
xorriso -as mkisofs -quiet -V COREOS -o "$W/live.iso" "$W/tree"
# Real bytes after the image (a rootfs would be there): SIZE_MB in all.
head -c $((SIZE_MB * 1024 * 1024 - $(stat -c %s "$W/live.iso"))) /dev/urandom >>"$W/live.iso"
sync

ms() { python3 -c 'import sys; print(f"{float(sys.argv[1])*1000:.1f}")' "$1"; }
best() { # best of 5 wall-clock seconds of "$@"; $FRESH (a file) is removed before each run
    FRESH=${FRESH:-} python3 - "$@" <<'PY'
import os, subprocess, sys, time
best = None
fresh = os.environ.get("FRESH")
for _ in range(5):
    if fresh and os.path.exists(fresh):
        os.remove(fresh)
    subprocess.run(["sync"])
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = time.perf_counter() - t
    best = d if best is None else min(best, d)
print(best)
PY
}
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

v=$(best "$MODLAYER" verify "$W/live.iso")
echo "verify ${SIZE_MB} MiB ISO: $(ms "$v") ms (goal < 50 ms)"
echo "verify peak RSS: $(rss "$MODLAYER" verify "$W/live.iso") KiB (goal < 32768)"
# Both write a new file each run (as `-o` to a new name is used), neither syncs it.
c=$(FRESH="$W/cp.iso" best cp "$W/live.iso" "$W/cp.iso")
a=$(FRESH="$W/out.iso" best "$MODLAYER" apply "$W/live.iso" -o "$W/out.iso")
echo "cp: $(ms "$c") ms; apply -o: $(ms "$a") ms; ratio $(python3 -c "print(f'{$a/$c:.2f}')") (goal <= 1.2)"
echo "apply -o peak RSS: $(rss "$MODLAYER" apply "$W/live.iso" -o "$W/out2.iso") KiB (goal < 32768)"
# Over an existing file modlayer syncs the new medium before renaming it (the old one is never
# lost); the same durability for cp is `cp` then `sync FILE`.
ai=$(best "$MODLAYER" apply "$W/live.iso" -o "$W/out.iso")
cs=$(best sh -c "cp '$W/live.iso' '$W/cps.iso' && sync '$W/cps.iso'")
echo "cp + sync: $(ms "$cs") ms; apply -o over an existing file: $(ms "$ai") ms; ratio $(python3 -c "print(f'{$ai/$cs:.2f}')")"
