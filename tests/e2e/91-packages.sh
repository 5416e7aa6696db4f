#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Packages= and Setup= for an OCI image pulled from the registry, against the Debian mirror of the upstream
# network (apt-ftparchive's index of the cached packages): apt-get in the confined build, on the build's
# lenient network, installs a package the image does not have; Setup= runs after it, with the network.
. "$(dirname "$0")/lib.sh"

registry_env || { tap_skip "no registry in this test host"; tap_done; exit; }
[ -n "${MIRROR_URL:-}" ] || { tap_skip "no agent cache (tests/testhost/build-agent-cache.sh) for the mirror"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
auth=/etc/sandy/registry-auth.json
mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
printf '[Image]\nRegistryAuthFile=%s\n' "$auth" >/etc/sandy/sandy.conf
(umask 077 && registry_auth_json "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$auth")
tap_check "the agents' base image, with the mirror in its apt sources, is in the registry" agent_base_push

cat >/etc/sandy/pkg-setup.sh <<'EOS'
#!/bin/sh
set -eu
hello >/opt/hello.out
# The build's network reaches the mirror (by address) during Setup= too.
apt-get -q download hello >/dev/null && ls hello_*.deb >/opt/downloaded
rm -f hello_*.deb
EOS
chmod 755 /etc/sandy/pkg-setup.sh
declare_sandbox pkg <<EOF2
[Sandbox]
Boot=no
Command=/usr/bin/hello
[Image]
From=docker://$REGISTRY/agent-base:trixie
Packages=hello
Setup=/etc/sandy/pkg-setup.sh
[Network]
Mode=none
EOF2
root=$(image_rootfs pkg)
tap_check "the base image has no hello (control)" bash -c "
        python3 - '$AGENTS_CACHE/base.oci.tar' <<'PY'
import gzip, json, sys, tarfile
t = tarfile.open(sys.argv[1])
b = lambda d: t.extractfile('blobs/sha256/' + d.split(':')[1])
m = json.loads(b(json.loads(t.extractfile('index.json').read())['manifests'][0]['digest']).read())
names = tarfile.open(fileobj=gzip.open(b(m['layers'][0]['digest']))).getnames()
sys.exit(any(n.endswith('bin/hello') for n in names))
PY"
mark=$(wc -l <"$MIRROR_LOG")
out=$(sandyctl --no-pager build pkg 2>&1)
tap_check "an OCI image from the registry with Packages=hello and Setup= builds" grep -q "Image of pkg is ready" <<<"$out"
tap_diag "$out"
tap_check "apt-get fetched the index and the package from the mirror" bash -c "
        $(declare -f mirror_gets); MIRROR_LOG=$MIRROR_LOG
        [ \$(mirror_gets '^/debian/dists/trixie/.*(Release|Packages).* 200$' $mark) -ge 1 ] &&
        [ \$(mirror_gets '^/debian/pool/main/hello_.*\.deb 200$' $mark) -ge 1 ]"
job=$(journalctl -u sandy-helper --no-pager -o cat | sed -n 's/^Building image .* for sandbox pkg from .* (job \([0-9]*\),.*/\1/p' | tail -n 1)
tap_check "through a lenient network of the build's own (sandy-build-$job-*), set up for Packages=" bash -c "
        [ -n '$job' ] && journalctl -u sandy-helper --no-pager -o cat | grep -qE '^Sandbox sandy-build-$job-[A-Za-z0-9]+: .*Mode=lenient'"
tap_check "hello is installed in the image" test -x "$root/usr/bin/hello"
tap_check "Setup= ran after Packages= (it ran hello)" grep -qx "Hello, world!" "$root/opt/hello.out"
tap_check "Setup= had the build's network (apt-get download from the mirror)" grep -q "^hello_" "$root/opt/downloaded"
tap_check "apt's lists and archives were cleaned" bash -c "! compgen -G '$root/var/cache/apt/archives/*.deb'"

remove_sandbox pkg
busctl --system call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager Prune >/dev/null
rm -f /etc/sandy/pkg-setup.sh /etc/sandy/sandy.conf "$auth"
[ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
tap_done
