#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# From=oci:PATH, oci-archive:PATH and docker-archive:PATH are read by sandy-helper as root, and what they
# hold becomes the root of a sandbox whose agent runs with a workspace: the same rule as for Setup= and the
# declaration. The path, every directory on it, and everything read inside a layout must belong to root or
# to the sandbox's Owner= and be writable by nobody else; only root's symlinks are followed, so neither
# another user (bob) nor the owner (alice) can lead the helper to root-only data; the build fails with one
# line naming what is wrong. Positive controls: root's and the owner's own layout and archive build, and
# root's symlink to its layout.
# On 2698d7b bob's layout and archive were built into alice's sandbox, and symlinks to a root-only
# archive were followed.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
ensure_members alice
ensure_user bob
ahome=$(getent passwd alice | cut -d: -f6)
work=$(mktemp -d /var/tmp/sandy-local-from.XXXXXX)
chmod 0755 "$work"

# refused DESC NAME FROM REGEX: the build fails with one line matching REGEX, nothing is in the store.
refused() {
        local id err
        pull_sandbox "$2" "$3" "User=$2"
        id=$(sandbox_image_id "$2")
        err=$(build_error "$2")
        tap_check "$1: refused, one line naming it" one_line_matches "$err" "$4"
        tap_diag "$err"
        tap_check "$1: nothing in the store" image_gone "$id"
        remove_sandbox "$2"
}
# builds DESC NAME FROM: the build succeeds and the image is the fixture.
builds() {
        local out
        pull_sandbox "$2" "$3" "User=$2"
        out=$(sandyctl --no-pager build "$2" 2>&1)
        tap_check "$1: builds" grep -q "Image of $2 is ready" <<<"$out"
        tap_diag "$out"
        tap_check "$1: the image is the fixture" test -f "/var/lib/sandy/images/$(sandbox_image_id "$2")/rootfs/etc/debian_version"
        remove_sandbox "$2"
}

# ---- root's own, the owner's own: they build (positive controls)
mkdir -p "$work/root-oci"
tar -xf "$FIXTURE_OCI" -C "$work/root-oci"
builds "root's OCI layout" lfroot "oci:$work/root-oci"
ln -sfn "$work/root-oci" "$work/root-link"
builds "root's symlink to its layout (an administrator's link is followed)" lfrlink "oci:$work/root-link"
# given_to USER PATH...: made by root from the fixture, then USER's (as if USER had made them).
given_to() {
        local u=$1
        shift
        chown -R "$u:" "$@" && chmod -R go-w "$@"
}
mkdir -p "$ahome/lf-oci"
tar -xf "$FIXTURE_OCI" -C "$ahome/lf-oci"
cp "$FIXTURE_OCI" "$ahome/lf.tar"
given_to alice "$ahome/lf-oci" "$ahome/lf.tar"
builds "the owner's OCI layout in her home" lfalice "oci:$ahome/lf-oci"
builds "the owner's OCI archive in her home" lfaarch "oci-archive:$ahome/lf.tar"

# ---- bob's: a layout and an archive he could change at any time
mkdir -p /tmp/bob-oci
tar -xf "$FIXTURE_OCI" -C /tmp/bob-oci
cp "$FIXTURE_OCI" /tmp/bob.tar
given_to bob /tmp/bob-oci /tmp/bob.tar
refused "a layout of another user (bob)" lfbobdir "oci:/tmp/bob-oci" \
        "From=oci:/tmp/bob-oci: .*directory /tmp/bob-oci is owned by UID 1002"
refused "an archive of another user (bob)" lfbobarch "oci-archive:/tmp/bob.tar" \
        "From=oci-archive:/tmp/bob.tar: .*file /tmp/bob.tar is owned by UID 1002"

# ---- the owner's, but others may write it
cp "$FIXTURE_OCI" "$ahome/lf-open.tar"
given_to alice "$ahome/lf-open.tar"
chmod 0666 "$ahome/lf-open.tar"
refused "a docker-archive others may write" lfopen "docker-archive:$ahome/lf-open.tar" \
        "From=docker-archive:$ahome/lf-open.tar: .*$ahome/lf-open.tar is writable by others"
mkdir -p "$work/shared"
chmod 0777 "$work/shared"
as_user alice cp -r "$ahome/lf-oci" "$work/shared/oci"
refused "a layout in a directory others may write" lfshared "oci:$work/shared/oci" \
        "From=oci:$work/shared/oci: .*directory $work/shared is writable by others"
# Inside a layout the owner made: its blobs directory open to all, and an index.json that is bob's.
as_user alice cp -r "$ahome/lf-oci" "$ahome/lf-blobs"
chmod 0777 "$ahome/lf-blobs/blobs/sha256"
refused "a layout whose blobs directory others may write" lfblobs "oci:$ahome/lf-blobs" \
        "From=oci:$ahome/lf-blobs: .*directory $ahome/lf-blobs/blobs/sha256 is writable by others"
# (Put there by root: on Debian 13 bob cannot even enter alice's home; what matters is whose it is.)
as_user alice cp -r "$ahome/lf-oci" "$ahome/lf-index"
chown bob: "$ahome/lf-index/index.json"
tap_check "(the index.json of that layout is bob's)" test "$(stat -c %u "$ahome/lf-index/index.json")" = 1002
refused "a layout whose index.json is another user's" lfindex "oci:$ahome/lf-index" \
        "From=oci:$ahome/lf-index: .*file $ahome/lf-index/index.json is owned by UID 1002"

# ---- symlinks to root-only data: bob's in /tmp, and the owner's own in her home
secret=/root/lf-secret
mkdir -p "$secret"
chmod 0700 "$secret"
cp "$FIXTURE_OCI" "$secret/image.tar"
tar -xf "$FIXTURE_OCI" -C "$secret" --one-top-level=oci
chmod -R go-rwx "$secret"
tap_check_fails "(control: alice cannot read the root-only archive)" as_user alice head -c1 "$secret/image.tar"
as_user bob ln -sfn "$secret/image.tar" /tmp/bob-link.tar
refused "bob's symlink to a root-only archive" lfboblink "oci-archive:/tmp/bob-link.tar" \
        "From=oci-archive:/tmp/bob-link.tar: .*/tmp/bob-link.tar"
as_user alice ln -sfn "$secret/image.tar" "$ahome/lf-link.tar"
refused "the owner's symlink to a root-only archive" lfalink "oci-archive:$ahome/lf-link.tar" \
        "From=oci-archive:$ahome/lf-link.tar: .*symlink $ahome/lf-link.tar"
as_user alice ln -sfn "$secret/oci" "$ahome/lf-link-oci"
refused "the owner's symlink to a root-only layout" lfalinkd "oci:$ahome/lf-link-oci" \
        "From=oci:$ahome/lf-link-oci: .*symlink $ahome/lf-link-oci"
# A layout of the owner's whose blob is a symlink to root's copy of it.
as_user alice cp -r "$ahome/lf-oci" "$ahome/lf-blobln"
layer=$(python3 -c 'import json,sys; d=sys.argv[1]; m=json.load(open(d+"/blobs/sha256/"+json.load(open(d+"/index.json"))["manifests"][0]["digest"][7:])); print(m["layers"][0]["digest"][7:])' "$ahome/lf-blobln")
as_user alice ln -sfn "$secret/oci/blobs/sha256/$layer" "$ahome/lf-blobln/blobs/sha256/$layer.x"
as_user alice mv -fT "$ahome/lf-blobln/blobs/sha256/$layer.x" "$ahome/lf-blobln/blobs/sha256/$layer"
refused "the owner's layout whose layer is a symlink to root's" lfblobln "oci:$ahome/lf-blobln" \
        "From=oci:$ahome/lf-blobln: .*symlink $ahome/lf-blobln/blobs/sha256/$layer"

rm -rf "$work" "$secret" /tmp/bob-oci /tmp/bob.tar /tmp/bob-link.tar "$ahome"/lf-*
tap_done
