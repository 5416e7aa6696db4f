#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# oci_pull() (image/oci-pull.c: skopeo copies, sandy checks and unpacks) against fake-registry.py, which does
# what Docker Hub does (Bearer tokens from the token service a 401 names, blobs redirected to another host):
# sandy's part of a pull, not skopeo's HTTP client. skopeo's confinement (a probe in its place), the login of
# RegistryAuthFile= reaching the registry and never a PlainHTTPRegistry=, the refusals of a login or CA file
# others could have written, the blob cache (a second pull fetches no layer again; a damaged cached blob is
# found and removed; a blob that does not match its digest never enters it), one-line errors.
# Root only (the confinement); everything in new network and mount namespaces (loopback only; a tmpfs over
# /etc/containers for the test CA and a policy). TAP.
#
#   pull-test.sh OCI_UNPACK_TEST MKOCI_PY FETCH_PROBE
set -u
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
command -v skopeo >/dev/null || { echo "1..0 # SKIP skopeo is not installed"; exit 0; }
if [ -z "${PULL_TEST_NS:-}" ]; then
        exec unshare --net --mount --propagation private env PULL_TEST_NS=1 "$0" "$@"
fi
driver=$1 mkoci=$2 probe=$3
here=$(cd "$(dirname "$0")" && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

ip link set lo up
w=$(mktemp -d /tmp/sandy-pull-test.XXXXXX)
chmod 700 "$w"
# skopeo's view hides /tmp, /home, /root, /srv, /run (image/confine.c): the probe that stands in for it
# must sit where that view shows the host, wherever this checkout is.
pd=$(mktemp -d /var/cache/sandy-pull-probe.XXXXXX)
chmod 0755 "$pd"
install -m 0755 "$probe" "$pd/fetch-probe.sh"
probe=$pd/fetch-probe.sh
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$pd"; [ -n "${PULL_TEST_KEEP:-}" ] || rm -rf "$w"' EXIT

# A small image, and its layout.
mkdir -p "$w/root/etc" "$w/root/usr/share/doc/x" "$w/layout"
echo fake >"$w/root/etc/hostname"
head -c 200000 /dev/urandom >"$w/root/usr/share/doc/x/data"
python3 "$mkoci" "$w/root" "$w/img.tar" >/dev/null && tar -xf "$w/img.tar" -C "$w/layout" || { echo "1..0 # SKIP mkoci"; exit 0; }
layer=$(python3 -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json")); m=json.load(open(d+"/blobs/sha256/"+i["manifests"][0]["digest"][7:])); print(m["layers"][0]["digest"])' "$w/layout")

# A CA and a certificate for both addresses, trusted through /etc/containers/certs.d; skopeo's default
# policy (a tmpfs here: the machine's own /etc/containers is never touched).
[ -d /etc/containers ] || { echo "1..0 # SKIP no /etc/containers to put a test CA in"; exit 0; }
mount -t tmpfs -o mode=0755 tmpfs /etc/containers || { echo "1..0 # SKIP cannot mount a tmpfs on /etc/containers"; exit 0; }
echo '{"default": [{"type": "insecureAcceptAnything"}]}' >/etc/containers/policy.json
(
        cd "$w" &&
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=pull-test-ca \
                        -keyout ca.key -out ca.crt 2>/dev/null &&
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -keyout srv.key \
                        -out srv.csr 2>/dev/null &&
                printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2\n' >srv.ext &&
                openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile srv.ext \
                        -out srv.crt 2>/dev/null
) || { echo "1..0 # SKIP openssl"; exit 0; }

port=5100
# registry OPTIONS...: start one on the next ports (its CA in certs.d); sets reg (its address) and log
registry() {
        port=$((port + 2))
        reg=127.0.0.1:$port
        log=$w/log.$port
        : >"$log"
        mkdir -p "/etc/containers/certs.d/$reg"
        cp "$w/ca.crt" "/etc/containers/certs.d/$reg/ca.crt"
        python3 "$here/fake-registry.py" --layout "$w/layout" --listen "$reg" --cdn "127.0.0.2:$((port + 1))" \
                --log "$log" --ready "$w/ready.$port" "$@" 2>>"$w/fake-registry.err" &
        for _ in $(seq 100); do [ -e "$w/ready.$port" ] && return 0; sleep 0.05; done
        return 1
}
cache=$w/cache
# The driver runs with sandy-helper's capability bounding set, as a build does.
bset=$(sed -n 's/^CapabilityBoundingSet=//p' "$here/../../units/sandy-helper.service.in" |
        tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[ -n "$bset" ] || { echo "1..0 # SKIP no CapabilityBoundingSet= in units/sandy-helper.service.in"; exit 0; }
# pull [TAG] [ENV...]: pull $reg/img:TAG (latest) into a fresh tree with the blob cache $cache; sets out to
# the driver's error line and t to the pull's directory (its tmp/ stays after a failure, as a build's until
# the helper removes it; $t/out is the driver's output).
pull() {
        local tag=latest
        case ${1:-} in *=*|'') ;; *) tag=$1; shift ;; esac
        t=$(mktemp -d "$w/pull.XXXXXX")
        mkdir -p "$t/tree" "$t/tmp"
        env OCI_TEST_PROGRESS=1 OCI_TEST_CACHE="$cache" OCI_TEST_TMPDIR="$t/tmp" "$@" \
                setpriv --bounding-set="-all,$bset" "$driver" docker "$reg/img:$tag" "$t/tree" >"$t/out" 2>&1
        out=$(sed -n 's/^error: //p' "$t/out")
}
count() { grep -c -- "$1" "$log"; }
pulled() { [ -z "$out" ] && test -f "$t/tree/usr/share/doc/x/data"; }
probe_says() { grep -q "^skopeo: probe $1\$" "$t/out"; }
login() { # login USER:PASSWORD [KEY]: an auth file with it for KEY ($reg)
        printf '{"auths":{"%s":{"auth":"%s"}}}\n' "${2:-$reg}" "$(printf %s "$1" | base64)" >"$w/auth.json"
        chmod 600 "$w/auth.json"
}

# ---- skopeo's confinement, seen by a probe in its place
registry --tls "$w/srv.crt" "$w/srv.key" --login user:s3cret
login user:s3cret
pull OCI_TEST_SKOPEO="$probe" OCI_TEST_AUTH_FILE="$w/auth.json"
check "the probe ran in skopeo's place and its failure is the pull's ($out)" grep -q "skopeo failed: the probe is done" <<<"$out"
check "it runs as nobody (65534) of the build's user namespace" probe_says "uid=65534 gid=65534 groups=1"
base=$(sed -n 's/^skopeo: probe uid_map 0 \([0-9]*\) 65536$/\1/p' "$t/out")
check "whose IDs are a range of host IDs of the build's own ($base)" test -n "$base" -a "${base:-0}" -gt 65535
check "the pull's directory is that host UID's, base + 65534" test "$(stat -c %u:%g "$t/tmp/pull")" = "$((base + 65534)):$((base + 65534))"
check "with no capability in any set" probe_says "CapEff=0000000000000000 CapPrm=0000000000000000 CapBnd=0000000000000000 CapAmb=0000000000000000"
check "no_new_privs and a seccomp filter" probe_says "NoNewPrivs=1 Seccomp=2"
check "in the network namespace of the pull's caller (the helper's)" grep -qF "skopeo: probe netns=$(readlink /proc/$$/ns/net) " "$t/out"
ns=$(grep '^skopeo: probe netns=' "$t/out")
check "in mount and PID namespaces of its own" bash -c "[[ '$ns' == *' pidns=pid:['* && '$ns' == *' mntns=mnt:['* &&
        '$ns' != *'pidns=$(readlink /proc/self/ns/pid)'* && '$ns' != *'mntns=$(readlink /proc/self/ns/mnt)'* ]]"
for d in / /etc /usr /var /var/lib /opt /run /run/sandy-build; do
        check "it cannot write $d" probe_says "write $d no"
done
check "it can write its own directory (control)" probe_says "write /run/sandy-build/fetch yes"
check "and the layout in it (control)" probe_says "write /run/sandy-build/fetch/layout yes"
check "its /tmp is its own: the file it made there is not the host's" bash -c "
        f=\$(sed -n 's/^skopeo: probe tmp-file //p' '$t/out'); [ -n \"\$f\" ] && ! test -e \"\$f\""
check "/home and /root are empty to it" probe_says "home-entries 0 root-entries 0"
check "/run holds only the build's directory" probe_says "run-entries sandy-build "
check "HOME and TMPDIR are in its directory, no XDG_RUNTIME_DIR" \
        probe_says "HOME=/run/sandy-build/fetch/home TMPDIR=/run/sandy-build/fetch/tmp XDG_RUNTIME_DIR="
check "it can read the login it is handed (/dev/fd of a memfd)" grep -qE "^skopeo: probe authfile /dev/fd/[0-9]+ readable$" "$t/out"
check "the login is not on its command line" bash -c "! grep -q s3cret '$t/out'"
check "certs.d of the registry is named to it" grep -q -- "--src-cert-dir=/etc/containers/certs.d/$reg " "$t/out"

# ---- a pull over HTTPS with the login of the auth file, into an empty cache
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "HTTPS, Bearer token for the login of the auth file, CDN redirect: pulled ($out)" pulled
check "the token service got the login (Basic)" test "$(count '^registry GET /token?.* auth=Basic$')" -ge 1
check "the layer was fetched once" test "$(count "^cdn GET /cdn/$layer")" = 1
check "progress: skopeo's blobs, then the unpack" bash -c "grep -q '^progress .* pulling layer 1: ${layer:0:19}$' '$t/out' &&
        grep -q '^progress .* unpacking layer 1/1$' '$t/out'"
check "it is in the cache, root's, mode 0644" test "$(stat -c %u:%a "$cache/sha256/${layer#sha256:}" 2>&1)" = 0:644
check "the image lists its blobs (config and layer)" bash -c "[ \$(grep -c '^blob sha256:' '$t/out') = 2 ] && grep -qx 'blob $layer' '$t/out'"
check "nothing is left of the pull's directory" test ! -e "$t/tmp/pull"

# ---- again: the layer comes from the cache
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "a second pull: pulled ($out)" pulled
check "the layer was not fetched again" test "$(count "^cdn GET /cdn/$layer")" = 1
check "progress says it was in the cache" grep -q "^progress .* pulling layer 1: ${layer:0:19} (in the blob cache)$" "$t/out"

# ---- a damaged blob in the cache: found, removed, fetched again next time
printf 'X' | dd of="$cache/sha256/${layer#sha256:}" bs=1 seek=100 conv=notrunc status=none
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "a damaged cached layer fails the pull, said so ($out)" \
        grep -q "^Failed to pull $reg/img:latest: blob $layer of the blob cache was damaged; it is removed: build again$" <<<"$out"
check "and it is gone from the cache" test ! -e "$cache/sha256/${layer#sha256:}"
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "the next pull fetches it again ($out)" bash -c "[ -z '$out' ] && [ \$(grep -c '^cdn GET /cdn/$layer' '$log') = 2 ] &&
        test -f '$t/tree/usr/share/doc/x/data'"

# ---- errors, one line each
pull nosuch OCI_TEST_AUTH_FILE="$w/auth.json"
check "unknown tag ($out)" test "$out" = "Failed to pull $reg/img:nosuch: no such tag: nosuch (manifest unknown)"
login user:wrong
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "a wrong password ($out)" test "$out" = "Failed to pull $reg/img:latest: the registry rejected the credentials for $reg from $w/auth.json (401 Unauthorized)"
login user:s3cret other.test
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "no login for this registry in the file ($out)" test "$out" = "Failed to pull $reg/img:latest: RegistryAuthFile= $w/auth.json has no credentials for $reg (401 Unauthorized)"
pull
check "no RegistryAuthFile= at all ($out)" test "$out" = "Failed to pull $reg/img:latest: the registry requires a login, and sandy.conf names no RegistryAuthFile= (401 Unauthorized)"

login user:s3cret
chmod 644 "$w/auth.json"
m=$(wc -l <"$log")
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "an auth file others may read is refused ($out)" test "$out" = "Failed to pull $reg/img:latest: refusing to use RegistryAuthFile= $w/auth.json: others may read it (chmod 0600 it)"
chmod 600 "$w/auth.json"
chown 1001 "$w/auth.json"
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "an auth file a user owns is refused ($out)" grep -q "^Failed to pull $reg/img:latest: refusing to read RegistryAuthFile= $w/auth.json: .*1001" <<<"$out"
chown 0 "$w/auth.json"
chown 1001 "/etc/containers/certs.d/$reg/ca.crt"
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "a CA file a user owns is refused ($out)" grep -q "^Failed to pull $reg/img:latest: refusing to read the CA file /etc/containers/certs.d/$reg/ca.crt: .*1001" <<<"$out"
chown 0 "/etc/containers/certs.d/$reg/ca.crt"
check "skopeo never ran for the refusals: the registry saw nothing" test "$(wc -l <"$log")" = "$m"
mv "/etc/containers/certs.d/$reg" "$w/certs.saved"
pull OCI_TEST_AUTH_FILE="$w/auth.json"
check "without its CA (TLS) ($out)" grep -q "^Failed to pull $reg/img:latest: TLS: the registry's certificate is not trusted: .* (a registry with a CA of its own needs it in /etc/containers/certs.d/$reg/ca.crt)$" <<<"$out"
mv "$w/certs.saved" "/etc/containers/certs.d/$reg"

# ---- a slow download: the status says how far it got
registry --tls "$w/srv.crt" "$w/srv.key" --slow 3
rm -rf "$cache"
pull
check "a layer that takes 3 s to come: pulled ($out)" pulled
check "meanwhile the status said how much was fetched" \
        grep -qE "^progress .* pulling layer 1: ${layer:0:19}, 0\.[1-9] MB fetched$" "$t/out"

# ---- a registry that serves a blob not matching its digest
registry --tls "$w/srv.crt" "$w/srv.key" --corrupt "$layer"
rm -rf "$cache"
pull
check "a blob that does not match its digest ($out)" \
        grep -qE "^Failed to pull $reg/img:latest: blob $layer does not match its digest: its content is sha256:[0-9a-f]{64}$" <<<"$out"
check "it was fetched (control) and did not enter the cache" bash -c "
        [ \$(grep -c '^cdn GET /cdn/$layer' '$log') -ge 1 ] && ! test -e '$cache/sha256/${layer#sha256:}'"

# ---- plain HTTP (PlainHTTPRegistry=): pulled, but never with a login
registry
pull OCI_TEST_PLAIN_HTTP="$reg"
check "plain HTTP (PlainHTTPRegistry=), anonymous Bearer token: pulled ($out)" pulled
login user:s3cret
pull OCI_TEST_PLAIN_HTTP="$reg" OCI_TEST_AUTH_FILE="$w/auth.json"
check "with a login in the auth file, a PlainHTTPRegistry= is pulled from anonymously ($out)" \
        bash -c "[ -z '$out' ] && [ \$(grep -c 'auth=Basic' '$log') = 0 ] && test -f '$t/tree/usr/share/doc/x/data'"
registry --login user:s3cret
login user:s3cret
pull OCI_TEST_PLAIN_HTTP="$reg" OCI_TEST_AUTH_FILE="$w/auth.json"
check "a PlainHTTPRegistry= that wants a login gets none, said so ($out)" \
        test "$out" = "Failed to pull $reg/img:latest: the registry requires a login, which sandy does not send to a PlainHTTPRegistry= (401 Unauthorized)"
check "(the token service saw no login)" test "$(count 'auth=Basic')" = 0
pull
check "an HTTP registry not in PlainHTTPRegistry= ($out)" grep -q "^Failed to pull $reg/img:latest: TLS failed: the registry answered in plain HTTP (a registry that speaks plain HTTP must be listed in PlainHTTPRegistry= of sandy.conf)$" <<<"$out"
port=$((port + 2))
reg=127.0.0.1:$port
pull
check "nothing listening ($out)" grep -q "^Failed to pull $reg/img:latest: cannot connect to the registry (dial tcp $reg: connect: connection refused)$" <<<"$out"

echo "1..$n"
[ $failed = 0 ]
