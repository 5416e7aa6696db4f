#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Pulling an image from a registry, end to end: sandy (`sandyctl build` of a sandbox From=docker://..., from
# the job's start to the image in the store: skopeo copy into an OCI layout, confined, then sandy's own
# verification and unpack, the user, the metadata) against `skopeo copy docker://... oci:DIR` + `umoci
# unpack` of the same image from the same registry, in the same run, alternating (informational; never
# pass/fail). Both download with the same skopeo: the difference is the unpack and what surrounds it. The registry is the test host's upstream one (HTTPS with
# its test CA and login, tests/testhost/upstream-registry.sh), the image the fixture (Debian 12 minbase with
# systemd, one 64 MB gzip layer); both write to /var/lib/sandy (the same disk). Every run starts cold: no
# image, an empty blob cache, an empty OCI layout.
#
#   bench/pull-bench.sh DESTDIR [--suite bookworm|trixie] [--name N] [--runs N]
#       boots a test host with DESTDIR installed and this machine's umoci bound in, runs itself inside
#   bench/pull-bench.sh --inside [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=5
suite=bookworm
name=pbench
inside=0
dest=()
while [[ $# -gt 0 ]]; do
        case $1 in
        --inside) inside=1; shift ;;
        --runs) runs=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) dest+=("$1"); shift ;;
        esac
done
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }

if [[ $inside = 0 ]]; then
        [[ ${#dest[@]} -eq 1 ]] || { echo "usage: $0 DESTDIR [--suite S] [--name N] [--runs N]" >&2; exit 2; }
        command -v umoci >/dev/null || { echo "SKIP: umoci is not installed (tools/install-deps.sh)"; exit 77; }
        th() { "$here/../tests/testhost/testhost.sh" "$@"; }
        "$here/../tests/testhost/build-fixture.sh" --quiet >/dev/null
        th start --name "$name" --suite "$suite" --install "${dest[0]}" --bind-ro "$(cd "$here/.." && pwd):/src" \
                --bind-ro "$(command -v umoci):/usr/local/bin/umoci" >/dev/null
        trap 'th stop --name "$name" >/dev/null 2>&1 || true' EXIT
        th exec --name "$name" -- /bin/bash /src/bench/pull-bench.sh --inside --runs "$runs"
        exit
fi

. /src/tests/e2e/lib.sh
fixture=$(fixture_dir) || { echo "SKIP: no fixture"; exit 77; }
registry_env || { echo "SKIP: no registry in the test host"; exit 77; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { sort -n | head -n 1; }
hcall() { busctl --system --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager "$@"; }

registry_push "oci-archive:$FIXTURE_OCI" bench:1
mkdir -p /etc/sandy
(umask 077 && registry_auth_json "$REGISTRY_USER" "$REGISTRY_PASSWORD" >/etc/sandy/registry-auth.json)
printf '[Image]\nRegistryAuthFile=/etc/sandy/registry-auth.json\n' >/etc/sandy/sandy.conf
printf '[Sandbox]\nBoot=no\nCommand=/bin/true\n[Image]\nFrom=docker://%s/bench:1\n[Network]\nMode=none\n' "$REGISTRY" |
        declare_sandbox pbench
id=$(basename "$(dirname "$(image_rootfs pbench)")")
peer=/var/lib/sandy/bench-peer

sandy_cold() { # prints milliseconds
        local t0 t1
        hcall RemoveImage s "$id" >/dev/null 2>&1 || true
        rm -rf /var/lib/sandy/blobs
        sync
        hcall ListImages >/dev/null # the helper is up, outside the timing
        t0=$(now)
        sandyctl --no-pager build pbench >/dev/null 2>&1
        t1=$(now)
        [ -d "/var/lib/sandy/images/$id/rootfs/etc" ] || { echo "sandy did not build the image" >&2; exit 1; }
        ms "$t0" "$t1"
}
sandy_warm() { # the blobs cached, the image removed: verification and unpack only
        local t0 t1
        hcall RemoveImage s "$id" >/dev/null 2>&1 || true
        sync
        t0=$(now)
        sandyctl --no-pager build pbench >/dev/null 2>&1
        t1=$(now)
        ms "$t0" "$t1"
}
peer_cold() {
        local t0 t1
        rm -rf "$peer"
        mkdir -p "$peer"
        sync
        t0=$(now)
        skopeo copy -q --src-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/bench:1" "oci:$peer/layout:img" &&
                umoci unpack --image "$peer/layout:img" "$peer/bundle" >/dev/null
        t1=$(now)
        [ -d "$peer/bundle/rootfs/etc" ] || { echo "umoci did not unpack the image" >&2; exit 1; }
        ms "$t0" "$t1"
}

# bench_round WHERE: the three timings, $runs times, and the summary; WHERE says what /var/lib/sandy is.
bench_round() {
        : >/tmp/pull-sandy.txt
        : >/tmp/pull-peer.txt
        : >/tmp/pull-warm.txt
        for i in $(seq 1 "$runs"); do
                sandy_cold >>/tmp/pull-sandy.txt
                peer_cold >>/tmp/pull-peer.txt
                sandy_warm >>/tmp/pull-warm.txt
        done
        echo "-- /var/lib/sandy on $1"
        printf 'sandy (sandyctl build):         %s-> best %s, median %s ms\n' "$(tr '\n' ' ' </tmp/pull-sandy.txt)" \
                "$(best </tmp/pull-sandy.txt)" "$(median </tmp/pull-sandy.txt)"
        printf 'skopeo copy + umoci unpack:     %s-> best %s, median %s ms\n' "$(tr '\n' ' ' </tmp/pull-peer.txt)" \
                "$(best </tmp/pull-peer.txt)" "$(median </tmp/pull-peer.txt)"
        printf 'sandy, blobs in its cache:      %s-> best %s, median %s ms\n' "$(tr '\n' ' ' </tmp/pull-warm.txt)" \
                "$(best </tmp/pull-warm.txt)" "$(median </tmp/pull-warm.txt)"
        awk -v s="$(median </tmp/pull-sandy.txt)" -v p="$(median </tmp/pull-peer.txt)" -v bs="$(best </tmp/pull-sandy.txt)" \
                -v bp="$(best </tmp/pull-peer.txt)" \
                'BEGIN { printf "peer / sandy: %.2fx of the medians, %.2fx of the best (goal >= 2x)\n", p / s, bp / bs }'
}

. /etc/os-release
layer=$(python3 -c 'import json,sys,tarfile; t=tarfile.open(sys.argv[1]); m=json.loads(t.extractfile("blobs/sha256/"+json.loads(t.extractfile("index.json").read())["manifests"][0]["digest"][7:]).read()); print(sum(l["size"] for l in m["layers"]))' "$FIXTURE_OCI")
echo "$PRETTY_NAME test host, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); the fixture: $(awk -v b="$layer" 'BEGIN{printf "%.1f", b/1e6}') MB gzip, $(tar -tzf <(python3 -c 'import json,sys,tarfile; t=tarfile.open(sys.argv[1]); m=json.loads(t.extractfile("blobs/sha256/"+json.loads(t.extractfile("index.json").read())["manifests"][0]["digest"][7:]).read()); sys.stdout.buffer.write(t.extractfile("blobs/sha256/"+m["layers"][0]["digest"][7:]).read())' "$FIXTURE_OCI") | wc -l) entries; $runs runs each, alternating, cold"
bench_round "the VM's disk (ext4 on virtio, where every file created costs)"
# The same on a tmpfs: what the tools themselves cost, without this VM's slow file creation.
hcall RemoveImage s "$id" >/dev/null 2>&1 || true
systemctl stop sandy-helper.service
mount -t tmpfs -o size=4G,mode=0755 tmpfs /var/lib/sandy
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
bench_round "a tmpfs"
hcall RemoveImage s "$id" >/dev/null 2>&1 || true
rm -rf "$peer"
systemctl stop sandy-helper.service
umount /var/lib/sandy
remove_sandbox pbench
hcall Prune >/dev/null 2>&1 || true
rm -rf "$peer" /etc/sandy/registry-auth.json /etc/sandy/sandy.conf
