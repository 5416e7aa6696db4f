#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what building and testing sandy needs, from Debian's archive (Debian 12 or 13).
set -euo pipefail

packages=(
        # build
        meson ninja-build gcc pkg-config
        libsystemd-dev libcjson-dev libarchive-dev libcap-dev libseccomp-dev libnftables-dev libmnl-dev libssl-dev
        # docker:// pulls (sandy-helper runs it confined) and the registry tests
        skopeo
        # sanitizers and the fuzzer
        clang libclang-rt-dev llvm
        # tests: nspawn, test-host and fixture images, network namespaces
        systemd-container debootstrap busybox-static python3 iproute2 nftables dnsmasq-base curl zstd
        # the test host's upstream registry (its test CA with openssl, its login with htpasswd) and mirrors
        # (apt-ftparchive; npm fetches the agent CLIs once, tests/testhost/build-agent-cache.sh)
        docker-registry apache2-utils openssl apt-utils
        # benchmarks: the peers bench/ measures against
        umoci hyperfine
        # the zsh and fish completion are loaded by sandyctl/test-cli.sh
        zsh fish
        # documentation checks
        groff-base mandoc
        # the Debian package (debian/): built and checked by tools/test.sh
        dpkg-dev debhelper lintian
)

# Debian 12 names the sanitizer runtime after the LLVM version.
if ! apt-cache show libclang-rt-dev >/dev/null 2>&1; then
        packages=("${packages[@]/libclang-rt-dev/libclang-rt-14-dev}")
fi

# npm: Debian's, unless this machine has one already (e.g. from Node.js's own packages, which include it).
command -v npm >/dev/null || packages+=(npm)

export DEBIAN_FRONTEND=noninteractive
# docker-registry is only a program the tests run in their own network namespace: its package must not
# start the service it ships (policy-rc.d also stops deb-systemd-invoke).
policy=""
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
if [[ -d /run/systemd/system ]] && systemctl is-enabled -q docker-registry.service 2>/dev/null; then
        systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
