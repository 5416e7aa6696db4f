#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# probe.sh WHERE [DIR]: what a program of an image sees while the image is built, written to
# DIR/WHERE/ (DIR: /probe). Copied into hostile test images as /usr/local/sbin/sandy-probe, run as their
# useradd, dpkg postinst and Setup= script. It never writes a kernel setting: writability is asked with
# access(2) (test -w) only. Reachability: an HTTP request with curl to each target.
w=$1
d=${2:-/probe}/$w
mkdir -p "$d" || exit 0
id -u >"$d/uid"
tr -s ' \t' ' ' </proc/self/uid_map | sed 's/^ //' >"$d/uid_map"
readlink /proc/self/ns/user >"$d/userns"
readlink /proc/self/ns/net >"$d/netns"
sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status >"$d/capeff"
sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status >"$d/nnp"
sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status >"$d/seccomp"
if [ -w /proc/sys/kernel/core_pattern ]; then echo yes; else echo no; fi >"$d/core_pattern"
: >"$d/reach"
for t in ${SANDY_PROBE_TARGETS:-127.0.0.1:8712 192.0.2.2:8712 192.168.77.1:80 100.64.0.1:80 169.254.169.254:80 203.0.113.10:80}; do
        if curl -s -o /dev/null --max-time 3 "http://$t/"; then echo "$t yes"; else echo "$t no"; fi >>"$d/reach"
done
getent hosts allowed.test >"$d/dns" 2>&1
echo done >"$d/done"
exit 0
