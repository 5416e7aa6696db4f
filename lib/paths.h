/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every file system path and unit name sandy uses, in one place. meson.build reads the plain string
 * defines of this file (tools/c-defines.py) and substitutes them as @NAME@ into units/ and polkit/, so a
 * unit file and the C code can never disagree. Only string literals and names defined earlier in this
 * file may appear on the right-hand side. */

/* Declarations, highest priority first (a file in an earlier directory masks one in a later directory). */
#define SANDY_SEARCH_PATH_DEFAULT "/etc/sandy.d:/run/sandy.d:/usr/lib/sandy.d"
#define SANDY_CONFIG_FILE "/etc/sandy/sandy.conf"

/* Runtime state (a tmpfs: gone at boot). */
#define SANDY_RUNTIME_DIR "/run/sandy"
/* Per sandbox: SANDY_RUNTIME_DIR/NAME/{lower,tmp,root,home,workspace,credentials,protected,START_ENV}. */
#define SANDY_START_ENV "start.env"
/* Networking of sandy-helper: SANDY_NET_DIR/NAME/{resolv.conf,dnsmasq.conf,dnsmasq-inside.conf,host.nft,
 * inner.nft}, slot allocation, and what sandy changed of the host's forwarding settings. */
#define SANDY_NET_DIR SANDY_RUNTIME_DIR "/net"
/* "_": no sandbox name has one, so these never meet SANDY_NET_DIR/NAME. */
#define SANDY_NET_ALLOC_DIR SANDY_NET_DIR "/_alloc"
#define SANDY_DNSMASQ_CONF "dnsmasq.conf"
/* The network of an image build that downloads is a lenient sandbox network named with this prefix,
 * which no declaration may take (sandbox_name_is_reserved()). */
#define SANDY_BUILD_NETWORK_PREFIX "sandy-build-"
/* The resolver sandy-dns@NAME.service and image builds run. */
#define DNSMASQ_BINARY "/usr/sbin/dnsmasq"
#define SANDY_DNSMASQ_INSIDE_CONF "dnsmasq-inside.conf"
/* The rules applied for a sandbox: its elements of the host's table, and its own table's script. */
#define SANDY_NFT_HOST_FILE "host.nft"
#define SANDY_NFT_INNER_FILE "inner.nft"
#define SANDY_FORWARDING_FILE SANDY_NET_DIR "/_forwarding"
/* The user the sandbox resolvers (dnsmasq) run as (sysusers.d). */
#define SANDY_DNS_USER "sandy-dns"
/* Pinned network namespaces: SANDY_NETNS_DIR/NAME. */
#define SANDY_NETNS_DIR SANDY_RUNTIME_DIR "/netns"
/* Where the credentials appear inside a sandbox, one file per ID. */
#define SANDY_CREDENTIALS_INSIDE "/run/sandy/credentials"
/* issue 13: with NestedUserNamespaces=no, sandy-nouserns (in SANDY_LIBEXEC_DIR) is bound here inside and is
 * the sandbox's first PID 1 (prepare/sandy-nouserns.c). */
#define SANDY_NOUSERNS_BINARY "sandy-nouserns"
#define SANDY_NOUSERNS_INSIDE "/run/sandy/nouserns"

/* issue 17, the lean boot (BootTarget=lean, sandy.sandbox(5)): unit files sandy installs on the host in
 * SANDY_LIBEXEC_DIR/SANDY_LEAN_BOOT_SUBDIR (units/boot/: SANDY_LEAN_TARGET, default.target pointing at it,
 * masks, and an empty generator directory), bound read-only at SANDY_LEAN_BOOT_INSIDE in a booted sandbox.
 * The generated .nspawn settings hand the image's PID 1 SYSTEMD_UNIT_PATH=SANDY_LEAN_UNIT_DIR: (first, then
 * its usual path) and SYSTEMD_GENERATOR_PATH=SANDY_LEAN_GENERATOR_DIR (no generator runs). */
#define SANDY_LEAN_BOOT_SUBDIR "boot"
#define SANDY_LEAN_BOOT_INSIDE "/run/sandy/boot"
#define SANDY_LEAN_UNIT_DIR SANDY_LEAN_BOOT_INSIDE "/units"
#define SANDY_LEAN_GENERATOR_DIR SANDY_LEAN_BOOT_INSIDE "/generators"
#define SANDY_LEAN_TARGET "sandy-lean.target"
/* TimeoutStartSec= of a Boot=no sandbox (the generated drop-in); Boot=yes has sandy@.service's 90 s. */
#define SANDBOX_NOBOOT_START_TIMEOUT "60s"

/* Persistent state. */
#define SANDY_STATE_DIR "/var/lib/sandy"
/* The image store: ID/{rootfs,metadata,recipe}, builds in .tmp-* beside them. */
#define SANDY_IMAGE_STORE_DIR SANDY_STATE_DIR "/images"
/* Per sandbox: overlay/ (Ephemeral=no), home/ (PersistHome=yes), protected-created (the stop report). */
#define SANDY_SANDBOX_STATE_DIR SANDY_STATE_DIR "/state"
/* The blobs docker:// pulls fetched (layers and configs), content-addressed as sha256/HEX and shared by
 * images; each image lists the ones it was made from in ID/blobs, and Prune removes the rest. */
#define SANDY_BLOB_CACHE_DIR SANDY_STATE_DIR "/blobs"
/* Per registry HOST[:PORT]: *.crt files trusted as its CAs besides the system's (containers-certs.d(5)). */
#define SANDY_REGISTRY_CERTS_DIR "/etc/containers/certs.d"
/* docker:// images are copied from their registry with skopeo (image/oci-pull.c). */
#define SKOPEO_BINARY "/usr/bin/skopeo"
/* UID range allocation: slot-XXXX -> NAME. */
#define SANDY_UIDMAP_DIR SANDY_STATE_DIR "/uidmap"

/* The environment variable of sandy@NAME.service (in the generated drop-in) that records the digest of the
 * declaration the unit was generated from (Sandbox.digest). */
#define SANDY_DIGEST_ENV "SANDY_DECLARATION_DIGEST"

/* Files of systemd's that sandy-prepare writes. */
#define NSPAWN_SETTINGS_DIR "/run/systemd/nspawn"
/* machined looks for images here (among other places); "machinectl start NAME" needs one by that name. */
#define MACHINES_IMAGE_DIR "/run/machines"

/* Units: the templates, and printf formats of their instances (the instance is the sandbox name). */
#define SANDBOX_UNIT_PREFIX "sandy@"
#define SANDBOX_UNIT_TEMPLATE SANDBOX_UNIT_PREFIX ".service"
#define SANDBOX_UNIT_FMT SANDBOX_UNIT_PREFIX "%s.service"
#define SANDBOX_NET_UNIT_PREFIX "sandy-net@"
#define SANDBOX_NET_UNIT_TEMPLATE SANDBOX_NET_UNIT_PREFIX ".service"
#define SANDBOX_NET_UNIT_FMT SANDBOX_NET_UNIT_PREFIX "%s.service"
#define SANDBOX_DNS_UNIT_PREFIX "sandy-dns@"
#define SANDBOX_DNS_UNIT_TEMPLATE SANDBOX_DNS_UNIT_PREFIX ".service"
#define SANDBOX_DNS_UNIT_FMT SANDBOX_DNS_UNIT_PREFIX "%s.service"
/* Mode=strict: the sandbox's resolver inside its namespace, which fills the nft sets there. */
#define SANDBOX_DNS_INSIDE_UNIT_PREFIX "sandy-dns-inside@"
#define SANDBOX_DNS_INSIDE_UNIT_TEMPLATE SANDBOX_DNS_INSIDE_UNIT_PREFIX ".service"
#define SANDBOX_DNS_INSIDE_UNIT_FMT SANDBOX_DNS_INSIDE_UNIT_PREFIX "%s.service"
#define HELPER_UNIT "sandy-helper.service"
/* issue 13: sandyctl exec of a member: sandy-helper starts sandy-exec (in SANDY_LIBEXEC_DIR) as a transient
 * unit SANDY_EXEC_UNIT_PREFIX NAME-RANDOM.service of PID 1's (helper/bus-exec.c). */
#define SANDY_EXEC_BINARY "sandy-exec"
#define SANDY_EXEC_UNIT_PREFIX "sandy-exec-"
/* issue 16: sandyctl logs of a member: sandy-helper's Logs starts journalctl as transient units
 * SANDY_LOGS_UNIT_PREFIX UID-NAME-RANDOM.service (helper/bus-state.c): one as a dynamic user in
 * SYSTEMD_JOURNAL_GROUP for the sandbox's units, one as the sandbox's own root UID (setpriv) for the
 * journal the sandbox keeps under SANDBOX_JOURNAL_DIR of its root, which the host links (nspawn
 * --link-journal=try-guest). */
#define SANDY_LOGS_UNIT_PREFIX "sandy-logs-"
#define JOURNALCTL_BINARY "/usr/bin/journalctl"
#define SETPRIV_BINARY "/usr/bin/setpriv"
#define SYSTEMD_JOURNAL_GROUP "systemd-journal"
#define SANDBOX_JOURNAL_DIR "var/log/journal"

/* The instance of a unit format above for sandbox NAME, e.g. sandbox_unit_name(SANDBOX_UNIT_FMT, "x") is
 * "sandy@x.service". NULL on OOM. */
char *sandbox_unit_name(const char *fmt, const char *name);
/* SANDY_RUNTIME_DIR/NAME[/SUB], SANDY_SANDBOX_STATE_DIR/NAME[/SUB], SANDY_NET_DIR/NAME[/SUB]. */
char *sandbox_runtime_path(const char *name, const char *sub);
char *sandbox_state_path(const char *name, const char *sub);
char *sandbox_net_path(const char *name, const char *sub);
