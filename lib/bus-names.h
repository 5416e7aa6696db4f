/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus API of sandy-helper and the polkit actions it checks, in one place. meson.build substitutes
 * these (tools/c-defines.py) into the bus activation, bus policy and polkit files. */
#define HELPER_BUS_NAME "org.sandy.Helper1"
#define HELPER_OBJECT_PATH "/org/sandy/Helper1"
#define HELPER_MANAGER_IFACE "org.sandy.Helper1.Manager"
#define HELPER_NETWORK_IFACE "org.sandy.Helper1.Network"
/* Who may use which sandbox: CheckAccess(s sandbox, u uid) -> (b allowed, s owner, s user). */
#define HELPER_ACCESS_IFACE "org.sandy.Helper1.Access"
/* What sandboxes leave behind: DescribeState(s) -> (a(ss) reports, as errors), ResetState(s) -> (b). */
#define HELPER_STATE_IFACE "org.sandy.Helper1.State"
#define HELPER_JOB_IFACE "org.sandy.Helper1.Job"
/* issue 13: Exec(), a command in a running sandbox for members of group sandy (helper/bus-exec.c). */
#define HELPER_EXEC_IFACE "org.sandy.Helper1.Exec"
#define HELPER_JOB_PATH_PREFIX "/org/sandy/Helper1/job"

#define HELPER_ERROR_NO_SUCH_SANDBOX "org.sandy.Helper1.NoSuchSandbox"
#define HELPER_ERROR_INVALID_DECLARATION "org.sandy.Helper1.InvalidDeclaration"
#define HELPER_ERROR_BUILD_FAILED "org.sandy.Helper1.BuildFailed"
#define HELPER_ERROR_BUSY "org.sandy.Helper1.Busy"
#define HELPER_ERROR_NO_SUCH_IMAGE "org.sandy.Helper1.NoSuchImage"
#define HELPER_ERROR_NETWORK_FAILED "org.sandy.Helper1.NetworkFailed"
/* The declaration was edited after the last daemon-reload: the units run another text. */
#define HELPER_ERROR_STALE_DECLARATION "org.sandy.Helper1.StaleDeclaration"
/* issue 13 */
#define HELPER_ERROR_NOT_RUNNING "org.sandy.Helper1.NotRunning"

/* polkit actions (polkit/org.sandy.policy.in). */
#define POLKIT_ACTION_BUILD "org.sandy.helper.build"
#define POLKIT_ACTION_REMOVE_IMAGE "org.sandy.helper.remove-image"
#define POLKIT_ACTION_NETWORK "org.sandy.helper.network"
#define POLKIT_ACTION_STATUS "org.sandy.helper.status"
/* Asked instead of any of the above when the caller is not allowed on the sandbox the call names (Owner=,
 * AllowUsers=, AllowGroups=): never granted by sandy.rules, so administrators only. */
#define POLKIT_ACTION_OTHER_SANDBOX "org.sandy.helper.other-sandbox"
/* issue 13: run a command in a running sandbox as its user (detail "sandbox" = NAME). */
#define POLKIT_ACTION_EXEC "org.sandy.helper.exec"
#define POLKIT_ACTION_RESET "org.sandy.helper.reset"

/* Other services sandy talks to. */
#define MACHINED_BUS_NAME "org.freedesktop.machine1"
#define MACHINED_OBJECT_PATH "/org/freedesktop/machine1"
#define MACHINED_MANAGER_IFACE "org.freedesktop.machine1.Manager"
#define MACHINED_MACHINE_IFACE "org.freedesktop.machine1.Machine"
#define SYSTEMD_BUS_NAME "org.freedesktop.systemd1"
#define SYSTEMD_OBJECT_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SYSTEMD_SERVICE_IFACE "org.freedesktop.systemd1.Service"
#define SYSTEMD_UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit"
#define SYSTEMD_ERROR_NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"
#define DBUS_PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
