#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# docker:// against a real registry (Debian's docker-registry in the upstream network, see
# tests/testhost/upstream-registry.sh), pulled by skopeo confined and unpacked by sandy (image/oci-pull.c): by
# tag and by digest over HTTPS with a test CA and a login from RegistryAuthFile=, a multi-platform index,
# plain HTTP (PlainHTTPRegistry=), progress on the job, blobs already in the cache not downloaded again
# (counted in the registry's access log) and removed by Prune when no image uses them; every failure one
# line that says what is wrong, leaving nothing in the store; the credentials file read only when root alone
# could have written it and nobody else can read it, and no login taken from anywhere else.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
registry_env || { tap_skip "no registry in this test host (docker-registry not installed outside)"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
ensure_members alice
auth=/etc/sandy/registry-auth.json
mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
printf '[Image]\nRegistryAuthFile=%s\nPlainHTTPRegistry=%s registry.test:5999\n' "$auth" "$REGISTRY_PLAIN" \
        >/etc/sandy/sandy.conf
(umask 077 && registry_auth_json "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$auth")
rootfs_of() { echo "/var/lib/sandy/images/$(sandbox_image_id "$1")/rootfs"; }
layer_of() { # layer_of OCI-ARCHIVE N: the digest of layer N (0-based) of its image
        python3 - "$1" "$2" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
blob = lambda d: json.loads(t.extractfile("blobs/sha256/" + d.split(":")[1]).read())
m = blob(json.loads(t.extractfile("index.json").read())["manifests"][0]["digest"])
print(m["layers"][int(sys.argv[2])]["digest"])
PY
}

# ---- the images: the fixture; it plus a layer; a foreign-platform image with it in an index; a damaged one
work=$(mktemp -d /var/tmp/sandy-registry.XXXXXX)
mkdir -p "$work/plus/opt" "$work/arm/etc" "$work/bad/opt"
echo plus >"$work/plus/opt/plus-layer"
echo arm64 >"$work/arm/foreign-arch"
head -c 300000 /dev/urandom >"$work/bad/opt/random"
python3 /src/tests/testhost/oci-add-layer.py "$FIXTURE_OCI" "$work/plus" "$work/plus.tar" oci-archive &&
        python3 /src/tests/testhost/oci-add-layer.py "$FIXTURE_OCI" "$work/bad" "$work/bad.tar" oci-archive &&
        python3 /src/tests/testhost/mkoci.py "$work/arm" "$work/arm.tar" --arch arm64 >/dev/null &&
        python3 /src/tests/testhost/oci-index.py "$work/multi" multi "$work/arm.tar" "$FIXTURE_OCI" >/dev/null
tap_check "the test images are made" test -f "$work/plus.tar" -a -f "$work/bad.tar" -a -f "$work/multi/index.json"
tap_check "skopeo pushes them (the fixture, fixture plus a layer, a damaged one, a two-platform index)" \
        registry_push_fixtures "$work"
base_layer=$(layer_of "$FIXTURE_OCI" 0)
plus_layer=$(layer_of "$work/plus.tar" 1)
bad_layer=$(layer_of "$work/bad.tar" 1)
# The damaged image: its own layer's bytes changed in the registry's storage (same size), as a broken disk
# or a compromised mirror would serve it.
dd if=/dev/zero of="$REGISTRY_STORAGE/docker/registry/v2/blobs/sha256/${bad_layer:7:2}/${bad_layer#sha256:}/data" \
        bs=1 seek=1000 count=16 conv=notrunc status=none
tap_check "the damaged blob differs from its digest in the registry's storage" registry_blob_damaged "$bad_layer"

# ---- by tag, over HTTPS, logged in; progress on the job as sandyctl build follows it
pull_sandbox rtag "docker://$REGISTRY/fixture:1"
job_progress_watch "$work/progress.json" &
watch=$!
sleep 0.5 # busctl monitor subscribes
out=$(as_user alice sandyctl --no-pager build rtag 2>&1)
tap_check "a member of sandy builds a docker:// image from the HTTPS registry with the admin's login" \
        grep -q "Image of rtag is ready" <<<"$out"
tap_diag "$out"
kill "$watch" 2>/dev/null
wait "$watch" 2>/dev/null
tap_check "the job's Status follows skopeo (\"pulling layer 1: sha256:...\")" \
        job_status_seen "$work/progress.json" "^pulling layer 1: ${base_layer:0:19}\$"
tap_check "then the unpack, its Progress moving (\"unpacking layer 1/1\")" \
        job_progress_seen "$work/progress.json" '^unpacking layer 1/1$'
tap_check "the image is the fixture (Debian 12), with its user" rootfs_is_fixture "$(rootfs_of rtag)"
tap_check "its config is kept" test -s "/var/lib/sandy/images/$(sandbox_image_id rtag)/config.json"
tap_check "it lists the blobs it was made of" grep -qx "$base_layer" "/var/lib/sandy/images/$(sandbox_image_id rtag)/blobs"
tap_check "the layer is in the blob cache" cached_blob "$base_layer"
tap_check "it was downloaded once, from the HTTPS registry" test "$(blob_gets "$REGISTRY_LOG_TLS" fixture "$base_layer")" = 1
tap_check "nothing of the pull is left in the store" pull_left_nothing "$(sandbox_image_id rtag)"
tap_check "skopeo's output is in the journal with the sandbox named" sandbox_journal_has rtag "skopeo: Copying blob $base_layer"

# ---- by digest: the same image, nothing downloaded again
digest=$(registry_digest fixture:1)
pull_sandbox rdig "docker://$REGISTRY/fixture@$digest"
n0=$(blob_gets "$REGISTRY_LOG_TLS" fixture "$base_layer")
out=$(sandyctl --no-pager build rdig 2>&1)
tap_check "pull by digest ($digest)" grep -q "Image of rdig is ready" <<<"$out"
tap_diag "$out"
tap_check "the manifest was asked for by that digest" grep -qE "\"GET /v2/fixture/manifests/$digest HTTP/[0-9.]+\" 200 " "$REGISTRY_LOG_TLS"
tap_check "its layer came from the cache: no second download" test "$(blob_gets "$REGISTRY_LOG_TLS" fixture "$base_layer")" = "$n0"

# ---- a second image sharing the layer, over plain HTTP: only its new blobs are fetched
pull_sandbox rplus "docker://$REGISTRY_PLAIN/plus:1"
out=$(sandyctl --no-pager build rplus 2>&1)
tap_check "pull over plain HTTP from a PlainHTTPRegistry=" grep -q "Image of rplus is ready" <<<"$out"
tap_diag "$out"
tap_check "its own layer was downloaded (control: the access log counts)" \
        test "$(blob_gets "$REGISTRY_LOG_PLAIN" plus "$plus_layer")" = 1
tap_check "the shared layer was not downloaded again" test "$(blob_gets "$REGISTRY_LOG_PLAIN" plus "$base_layer")" = 0
tap_check "and the image has both layers" test -f "$(rootfs_of rplus)/opt/plus-layer" -a -f "$(rootfs_of rplus)/etc/debian_version"

# ---- a multi-platform index: linux/amd64 is picked although linux/arm64 comes first
pull_sandbox rmulti "docker://$REGISTRY/multi:1"
out=$(sandyctl --no-pager build rmulti 2>&1)
tap_check "pull of a two-platform image index" grep -q "Image of rmulti is ready" <<<"$out"
tap_diag "$out"
tap_check "the linux/amd64 image was taken, not the linux/arm64 one listed first" rootfs_is_host_platform "$(rootfs_of rmulti)"
amd64=$(index_entry_digest "$work/multi" amd64)
tap_check "the journal names the manifest skopeo took: the index's linux/amd64 entry ($amd64)" \
        helper_journal_has "registry.test:5443/multi:1: skopeo copied the image manifest $amd64 for linux/amd64."

# ---- failures: one line each, nothing in the store
fails() { # fails DESC NAME FROM REGEX (User=NAME: a recipe, and an image ID, of its own)
        local id err
        pull_sandbox "$2" "$3" "User=$2"
        id=$(sandbox_image_id "$2")
        err=$(build_error "$2")
        tap_check "$1: one line" one_line_matches "$err" "$4"
        tap_diag "$err"
        tap_check "$1: nothing in the store" image_gone "$id"
        remove_sandbox "$2"
}
fails "unknown tag" ftag "docker://$REGISTRY/fixture:nosuch" \
        "Failed to pull registry.test:5443/fixture:nosuch: no such tag: nosuch \(manifest unknown\)$"
fails "unknown digest" fdig "docker://$REGISTRY/fixture@sha256:$(printf 0%.0s {1..64})" \
        "no manifest has the digest sha256:0{64} \(manifest unknown\)$"
m=$(wc -l <"$REGISTRY_LOG_TLS")
fails "a blob that does not match its digest" fbad "docker://$REGISTRY/damaged:1" \
        "blob $bad_layer does not match its digest: its content is sha256:[0-9a-f]{64}$"
tap_check "the damaged blob was downloaded (control)" registry_got_since "$REGISTRY_LOG_TLS" "$m" damaged "$bad_layer"
tap_check_fails "but it is not in the cache" cached_blob "$bad_layer"
fails "registry down" fdown "docker://registry.test:5999/fixture:1" \
        "Failed to pull registry.test:5999/fixture:1: cannot connect to the registry \(.*5999.*\)$"
fails "unknown registry" fdns "docker://nosuch.test/fixture:1" "cannot resolve the registry's name"

mv "$auth" "$auth.saved"
printf '[Image]\nRegistryAuthFile=\nPlainHTTPRegistry=%s\n' "$REGISTRY_PLAIN" >/etc/sandy/sandy.conf
# The login everywhere skopeo, podman or Docker would find one of root's (the helper's) or alice's (who
# builds): sandy hands skopeo the admin's RegistryAuthFile= only.
plant_foreign_logins "$REGISTRY_USER" "$REGISTRY_PASSWORD"
fails "no login (401), although root's and alice's containers and Docker files have one" fnologin "docker://$REGISTRY/fixture:1" \
        "the registry requires a login, and sandy.conf names no RegistryAuthFile= \(401 Unauthorized\)$"
out=$(as_user alice skopeo inspect --raw "docker://$REGISTRY/fixture:1" 2>&1)
tap_check "(control: skopeo itself, as alice, logs in with one of those files)" grep -q schemaVersion <<<"$out"
remove_foreign_logins
printf '[Image]\nRegistryAuthFile=%s\n' "$auth" >/etc/sandy/sandy.conf
(umask 077 && registry_auth_json "$REGISTRY_USER" wrong-password >"$auth")
fails "a wrong password (401)" fwrong "docker://$REGISTRY/fixture:1" \
        "the registry rejected the credentials for registry.test:5443 from $auth \(401 Unauthorized\)$"
(umask 077 && registry_auth_json someone else other.test >"$auth")
fails "no login for this registry in the file (401)" fother "docker://$REGISTRY/fixture:1" \
        "RegistryAuthFile= $auth has no credentials for registry.test:5443 \(401 Unauthorized\)$"
mv "$auth.saved" "$auth"

# The credentials file: only root's, and nobody else may read it (positive control: the pulls above).
chmod 0644 "$auth"
fails "a login file others may read" fmode "docker://$REGISTRY/fixture:1" "refusing to use RegistryAuthFile= $auth: others may read it"
chmod 0600 "$auth"
chown alice "$auth"
fails "a login file a user owns" fowner "docker://$REGISTRY/fixture:1" \
        "refusing to read RegistryAuthFile= $auth: .*is owned by UID 1001"
chown root "$auth"

certs=/etc/containers/certs.d/$REGISTRY
mv "$certs" "$certs.saved"
fails "a registry whose CA is not trusted (TLS)" ftls "docker://$REGISTRY/fixture:1" \
        "TLS: the registry's certificate is not trusted: .* \(a registry with a CA of its own needs it in $certs/ca.crt\)$"
mv "$certs.saved" "$certs"
cp "$certs/ca.crt" "$work/ca.crt"
chown alice "$certs/ca.crt"
fails "a CA file a user could have put there" fca "docker://$REGISTRY/fixture:1" \
        "refusing to read the CA file $certs/ca.crt: .*is owned by UID 1001"
chown root "$certs/ca.crt"
fails "a plain HTTP registry not in PlainHTTPRegistry=" fhttp "docker://$REGISTRY_PLAIN/fixture:1" \
        "TLS failed: .* \(a registry that speaks plain HTTP must be listed in PlainHTTPRegistry= of sandy.conf\)$"

# ---- skopeo while it runs, seen from outside: who it is, what it holds and sees; gone on Cancel and when
# the helper stops. A registry on loopback whose blobs take minutes to come keeps it running.
mkdir -p "$work/slow-root/etc"
echo slow >"$work/slow-root/etc/hostname"
python3 /src/tests/testhost/mkoci.py "$work/slow-root" "$work/slow.tar" >/dev/null &&
        mkdir -p "$work/slow-layout" && tar -xf "$work/slow.tar" -C "$work/slow-layout"
python3 /src/tests/oci/fake-registry.py --layout "$work/slow-layout" --listen 127.0.0.1:5990 --cdn 127.0.0.2:5991 \
        --log "$work/slow.log" --ready "$work/slow.ready" --slow 1200 &
slowreg=$!
tap_check "(a registry on loopback whose blobs come in 20 minutes)" wait_for 30 test -e "$work/slow.ready"
printf '[Image]\nRegistryAuthFile=%s\nPlainHTTPRegistry=127.0.0.1:5990\n' "$auth" >/etc/sandy/sandy.conf
plant_foreign_logins "$REGISTRY_USER" "$REGISTRY_PASSWORD"
pull_sandbox rslow "docker://127.0.0.1:5990/img:latest"
sandyctl --no-pager build rslow >"$work/slow.out" 2>&1 &
build=$!
tap_check "a build's skopeo is fetching a blob" wait_for 60 skopeo_build_pid
tap_check "(it asked the CDN for the blob)" wait_for 30 grep -q "^cdn GET /cdn/sha256:" "$work/slow.log"
pid=$(skopeo_build_pid)
helper=$(systemctl show -P MainPID sandy-helper.service)
range=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
tap_check "skopeo runs as the nobody of a build's range (base + 65534: $range), not as root" uid_is_range_nobody "$range"
tap_check "(every one of its IDs is that one)" proc_ids_are "$pid" "$range"
tap_check "(control: sandy-helper itself runs as root)" proc_ids_are "$helper" 0
tap_check "skopeo has no capability in any set, no_new_privs, a seccomp filter" proc_caps_none "$pid"
tap_check_fails "(control: sandy-helper's bounding set is not empty)" proc_caps_none "$helper"
tap_check "its fds: stdio, its own sockets and files, no unix socket, nothing of the helper's" proc_fds_own "$pid"
tap_diag "$(ls -l /proc/"$pid"/fd | tail -n +2 | awk '{ print $9, $10, $11 }')"
tap_check_fails "(control: the same check finds the helper's bus socket)" proc_fds_own "$helper"
tap_check "it sees no /root, /home, /run/user or /run/containers: none of the logins planted there" \
        proc_sees_no_logins "$pid"
tap_check "(control: they are there, for root and alice)" test -s /root/.docker/config.json -a -s /home/alice/.config/containers/auth.json
tap_check_fails "(control: the check sees root's from the host)" proc_sees_no_logins 1
cg=$(cgroup_of "$pid")
tap_check "it is in the build's cgroup below sandy-helper's ($cg)" grep -qE '/sandy-helper\.service/build-[^/]+$' <<<"$cg"
job=$(wait_for 10 job_of "$work/slow.out" >/dev/null && job_of "$work/slow.out")
busctl --system call org.sandy.Helper1 "$job" org.sandy.Helper1.Job Cancel
tap_check "Job.Cancel: skopeo is gone" wait_for 30 proc_gone "$pid"
tap_check "and so is every process of the build's cgroup" wait_for 30 cgroup_empty "$cg"
wait "$build"
tap_check "sandyctl build says it was canceled" grep -qi "cancel" "$work/slow.out"
tap_diag "$(cat "$work/slow.out")"

sandyctl --no-pager build rslow >"$work/slow.out" 2>&1 &
build=$!
tap_check "again, a build's skopeo is fetching" wait_for 60 skopeo_build_pid
pid=$(skopeo_build_pid)
cg=$(cgroup_of "$pid")
systemctl stop sandy-helper.service
tap_check "sandy-helper stopped: skopeo is gone" wait_for 30 proc_gone "$pid"
tap_check "and so is every process of the build's cgroup" wait_for 30 cgroup_empty "$cg"
tap_check "(sandy-helper is inactive)" unit_inactive sandy-helper.service
wait "$build"
tap_check "nothing of the canceled builds is in the store" image_gone "$(sandbox_image_id rslow)"
remove_foreign_logins
remove_sandbox rslow
kill "$slowreg"
wait "$slowreg" 2>/dev/null
printf '[Image]\nRegistryAuthFile=%s\n' "$auth" >/etc/sandy/sandy.conf

# ---- Prune: blobs no image uses go, the others stay
idplus=$(sandbox_image_id rplus)
remove_sandbox rplus
tap_check "before Prune the second image's own layer is in the cache (control)" cached_blob "$plus_layer"
out=$(busctl --system call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager Prune 2>&1)
tap_check "Prune removes the image no sandbox uses" image_pruned "$out" "$idplus"
tap_check_fails "and its layer that no other image uses" cached_blob "$plus_layer"
tap_check "the shared layer stays (rtag, rdig and rmulti use it)" cached_blob "$base_layer"
for n in rtag rdig rmulti; do remove_sandbox "$n"; done
busctl --system call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager Prune >/dev/null
tap_check "with no image left, Prune empties the blob cache" blob_cache_empty

rm -f /etc/sandy/sandy.conf "$auth"
[ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
rm -rf "$work"
tap_done
