#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what building and testing sandy needs, from Debian's archive (Debian 12 or 13).
set -euo pipefail

packages=(
        # build
        meson ninja-build gcc pkg-config
        libsystemd-dev libcjson-dev libarchive-dev libcap-dev libseccomp-dev libnftables-dev libmnl-dev libssl-dev
        # sanitizers and the fuzzer
        clang libclang-rt-dev llvm
        # tests: nspawn, test-host and fixture images, network namespaces
        systemd-container debootstrap busybox-static python3 iproute2 nftables dnsmasq-base curl zstd
        # benchmarks: the peers bench/ measures against
        umoci hyperfine skopeo
        # documentation checks
        groff-base mandoc
        # the Debian package (debian/): built and checked by tools/test.sh
        dpkg-dev debhelper lintian
)

# Debian 12 names the sanitizer runtime after the LLVM version.
if ! apt-cache show libclang-rt-dev >/dev/null 2>&1; then
        packages=("${packages[@]/libclang-rt-dev/libclang-rt-14-dev}")
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
