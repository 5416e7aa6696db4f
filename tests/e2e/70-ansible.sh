#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# contrib/ansible's role "sandy", run with Debian's ansible-playbook against this host (connection local):
# the first run declares, reloads, starts and enables; the second changes nothing; a declaration with an
# error is rejected by `validate: sandyctl verify %s` before it lands, and the installed file stays.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
command -v ansible-playbook >/dev/null || { tap_skip "ansible-playbook is not installed"; tap_done; exit; }
roles=$(cd "$(dirname "$0")/../../contrib/ansible/roles" && pwd) || { tap_skip "no contrib/ansible"; tap_done; exit; }

work=$(mktemp -d /tmp/e2e-ansible.XXXXXX)
export ANSIBLE_ROLES_PATH=$roles ANSIBLE_LOCAL_TEMP=$work/tmp ANSIBLE_REMOTE_TEMP=$work/rtmp \
        ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_STDOUT_CALLBACK=default

# playbook MODE: the role with one sandbox; MODE goes into the declaration unchecked by Ansible.
playbook() {
        cat >"$work/site.yml" <<EOF2
- hosts: all
  gather_facts: false
  roles:
    - role: sandy
      vars:
        sandy_group_members: [alice]
        sandy_sandboxes:
          - name: ans
            description: Declared by Ansible
            owner: alice
            allow_users: [bob]
            from: oci-archive:$fixture/fixture.oci.tar
            mode: $1
            environment: ['GREETING=hello "world"']
            memory_max: 1G
            state: started
            enabled: true
EOF2
        ansible-playbook -i localhost, -c local "$work/site.yml" >"$work/out" 2>&1
}
recap() { sed -n 's/^localhost *: *//p' "$work/out"; }
changed() { recap | sed -n 's/.*changed=\([0-9]*\).*/\1/p'; }
failed() { recap | sed -n 's/.*failed=\([0-9]*\).*/\1/p'; }

# The image must exist before the first start (until sandy-helper builds it at start): compute where
# from the same recipe in a scratch search path, and seed it there.
mkdir -p "$work/decl"
printf '[Image]\nFrom=oci-archive:%s/fixture.oci.tar\n[Network]\nMode=none\n' "$fixture" >"$work/decl/ans.sandbox"
SANDY_SEARCH_PATH=$work/decl seed_image ans

rm -f /etc/sandy.d/ans.sandbox
playbook none; rc=$?
tap_check "first run succeeds" test "$rc" = 0 -a "$(failed)" = 0
tap_check "first run changes something" test "$(changed)" -gt 0
tap_diag "first run: $(recap)"
tap_check "the declaration was written" grep -qx 'Description=Declared by Ansible' /etc/sandy.d/ans.sandbox
tap_check "it passes sandyctl verify" sandyctl verify ans
tap_check "it names its owner and who else may use it" \
        bash -c 'grep -qx "Owner=alice" /etc/sandy.d/ans.sandbox && grep -qx "AllowUsers=bob" /etc/sandy.d/ans.sandbox'
tap_check "it belongs to root, mode 0644 (declarations are root's)" \
        bash -c '[ "$(stat -c %U:%a /etc/sandy.d/ans.sandbox)" = root:644 ]'
tap_check "systemd has the generated unit (daemon-reload ran)" \
        bash -c '[ "$(systemctl show -P Description sandy@ans.service)" = "Sandbox ans: Declared by Ansible" ]'
tap_check "sandy@ans.service is running" systemctl is-active sandy@ans.service
tap_check "sandy@ans.service is enabled" bash -c '[ "$(systemctl is-enabled sandy@ans.service)" = enabled ]'
tap_check "the quoted environment arrived as one word" \
        bash -c 'sandyctl cat ans | grep -qF "Environment=\"GREETING=hello \\\"world\\\"\""'
tap_check "alice was added to group sandy" bash -c 'id -nG alice | grep -qw sandy'
tap_check "the resource limit reached the unit" bash -c '[ "$(systemctl show -P MemoryMax sandy@ans.service)" = 1073741824 ]'
[ "$rc" = 0 ] || tap_diag "$(tail -n 40 "$work/out")"

playbook none; rc=$?
tap_check "second run succeeds" test "$rc" = 0 -a "$(failed)" = 0
tap_check "second run changes nothing (changed=0)" test "$(changed)" = 0
tap_diag "second run: $(recap)"
[ "$(changed)" = 0 ] || tap_diag "$(grep -B2 -A6 '^changed' "$work/out" | head -n 40)"

sum=$(sha256sum </etc/sandy.d/ans.sandbox)
playbook sideways; rc=$?
tap_check "a bad declaration fails the run" test "$rc" != 0
tap_check "because validate (sandyctl verify) rejected it, with file:line" \
        bash -c 'grep -q "failed to validate" "$1" && grep -q ":[0-9]*: Mode= must be one of" "$1"' _ "$work/out"
tap_check "the installed declaration is unchanged" test "$(sha256sum </etc/sandy.d/ans.sandbox)" = "$sum"
tap_check "the sandbox is still running" systemctl is-active sandy@ans.service
[ "$rc" != 0 ] || tap_diag "$(tail -n 30 "$work/out")"

systemctl disable --now sandy@ans.service >/dev/null 2>&1
remove_sandbox ans
gpasswd -d alice sandy >/dev/null 2>&1
rm -rf "$work"
tap_done
