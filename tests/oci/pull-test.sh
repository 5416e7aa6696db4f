#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# oci_pull() against fake-registry.py, which does what Docker Hub does and the test host's registry does not:
# Bearer tokens from the token service a 401 names (anonymous, or for the login of RegistryAuthFile=), blobs
# redirected to another host that must never see the Authorization header, tokens that expire in the middle.
# Root only (the unpacker's confinement); everything in new network and mount namespaces (loopback only; a
# tmpfs over /etc/containers for the test CA). TAP.
#
#   pull-test.sh OCI_UNPACK_TEST MKOCI_PY
set -u
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
if [ -z "${PULL_TEST_NS:-}" ]; then
        exec unshare --net --mount --propagation private env PULL_TEST_NS=1 "$0" "$@"
fi
driver=$1 mkoci=$2
here=$(cd "$(dirname "$0")" && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

ip link set lo up
w=$(mktemp -d /tmp/sandy-pull-test.XXXXXX)
chmod 700 "$w"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$w"' EXIT

# A small image, and its layout.
mkdir -p "$w/root/etc" "$w/root/usr/share/doc/x" "$w/layout"
echo fake >"$w/root/etc/hostname"
head -c 200000 /dev/urandom >"$w/root/usr/share/doc/x/data"
python3 "$mkoci" "$w/root" "$w/img.tar" >/dev/null && tar -xf "$w/img.tar" -C "$w/layout" || { echo "1..0 # SKIP mkoci"; exit 0; }

# A CA and a certificate for both addresses, trusted through /etc/containers/certs.d (a tmpfs here).
tls=0
if [ -d /etc/containers ] && mount -t tmpfs -o mode=0755 tmpfs /etc/containers; then
        (
                cd "$w" &&
                        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=pull-test-ca \
                                -keyout ca.key -out ca.crt 2>/dev/null &&
                        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -keyout srv.key \
                                -out srv.csr 2>/dev/null &&
                        printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2\n' >srv.ext &&
                        openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile srv.ext \
                                -out srv.crt 2>/dev/null
        ) && tls=1
fi

port=5100
# registry OPTIONS...: start one on the next ports; sets reg (its address) and log
registry() {
        port=$((port + 2))
        reg=127.0.0.1:$port
        log=$w/log.$port
        : >"$log"
        python3 "$here/fake-registry.py" --layout "$w/layout" --listen "$reg" --cdn "127.0.0.2:$((port + 1))" \
                --log "$log" --ready "$w/ready.$port" "$@" 2>>"$w/fake-registry.err" &
        for _ in $(seq 100); do [ -e "$w/ready.$port" ] && return 0; sleep 0.05; done
        return 1
}
# pull [ENV...]: pull $reg/img:latest into a fresh tree; prints the driver's error line
pull() {
        local t
        t=$(mktemp -d "$w/pull.XXXXXX")
        mkdir -p "$t/tree" "$t/tmp"
        env OCI_TEST_CACHE="$t/cache" OCI_TEST_TMPDIR="$t/tmp" "$@" "$driver" docker "$reg/img:latest" "$t/tree" 2>&1 |
                sed -n 's/^error: //p'
        test -f "$t/tree/usr/share/doc/x/data"
}
count() { grep -c -- "$1" "$log"; }

if [ $tls = 1 ]; then
        mkdir -p "/etc/containers/certs.d/127.0.0.1:$((port + 2))"
        cp "$w/ca.crt" "/etc/containers/certs.d/127.0.0.1:$((port + 2))/ca.crt"
        registry --tls "$w/srv.crt" "$w/srv.key"
        out=$(pull)
        check "HTTPS, anonymous Bearer token: pulled ($out)" test -z "$out"
        check "the token came from the service the challenge named" test "$(count '^registry GET /token?service=fake&scope=repository%3Aimg%3Apull auth=-')" = 1
        check "the manifest was asked for with the token" test "$(count '^registry GET /v2/img/manifests/latest auth=Bearer')" = 1
        check "blobs were fetched from the CDN the registry redirected to" test "$(count '^cdn GET /cdn/sha256:')" -ge 2
        check "which never saw the Authorization header" test "$(grep '^cdn ' "$log" | grep -vc 'auth=-$')" = 0

        mkdir -p "/etc/containers/certs.d/127.0.0.1:$((port + 2))"
        cp "$w/ca.crt" "/etc/containers/certs.d/127.0.0.1:$((port + 2))/ca.crt"
        registry --tls "$w/srv.crt" "$w/srv.key" --login user:s3cret
        printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$reg" "$(printf user:s3cret | base64)" >"$w/auth.json"
        chmod 600 "$w/auth.json"
        out=$(pull OCI_TEST_AUTH_FILE="$w/auth.json")
        check "HTTPS, a Bearer token for the login of the auth file: pulled ($out)" test -z "$out"
        check "the token service got the login (Basic)" test "$(count '^registry GET /token?.* auth=Basic$')" = 1
        check "the CDN did not" test "$(grep '^cdn ' "$log" | grep -vc 'auth=-$')" = 0
        printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$reg" "$(printf user:wrong | base64)" >"$w/auth.json"
        out=$(pull OCI_TEST_AUTH_FILE="$w/auth.json")
        check "a wrong password is refused by the token service, and said so ($out)" \
                grep -q "rejected the credentials for $reg from $w/auth.json (401 from its token service)" <<<"$out"
        : >"$w/auth.json"
        printf '{"auths":{}}\n' >"$w/auth.json"
        out=$(pull OCI_TEST_AUTH_FILE="$w/auth.json")
        check "no login for it: anonymous, which this token service refuses ($out)" \
                grep -q "token service refuses anonymous access (401)" <<<"$out"

        mkdir -p "/etc/containers/certs.d/127.0.0.1:$((port + 2))"
        cp "$w/ca.crt" "/etc/containers/certs.d/127.0.0.1:$((port + 2))/ca.crt"
        registry --tls "$w/srv.crt" "$w/srv.key" --expire-once
        out=$(pull)
        check "a token that expires during the pull is renewed ($out)" test -z "$out"
        check "(it was asked for again)" test "$(count '^registry GET /token?')" -ge 2

        mkdir -p "/etc/containers/certs.d/127.0.0.1:$((port + 2))"
        cp "$w/ca.crt" "/etc/containers/certs.d/127.0.0.1:$((port + 2))/ca.crt"
        registry --tls "$w/srv.crt" "$w/srv.key" --realm "http://127.0.0.1:$((port + 2))/token"
        out=$(pull)
        check "an HTTPS registry naming a plain-HTTP token service is refused ($out)" \
                grep -q "token service is not an https:// URL" <<<"$out"
else
        echo "# no /etc/containers to put a test CA in: HTTPS cases skipped"
fi

registry
out=$(pull OCI_TEST_PLAIN_HTTP="$reg")
check "plain HTTP (PlainHTTPRegistry=), anonymous Bearer token: pulled ($out)" test -z "$out"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$reg" "$(printf user:s3cret | base64)" >"$w/auth.json"
chmod 600 "$w/auth.json"
out=$(pull OCI_TEST_PLAIN_HTTP="$reg" OCI_TEST_AUTH_FILE="$w/auth.json")
check "but a login is never sent over plain HTTP ($out)" \
        grep -q "refusing to send the credentials for $reg over plain HTTP" <<<"$out"
check "(the token service saw no login)" test "$(count 'auth=Basic')" = 0

echo "1..$n"
[ $failed = 0 ]
