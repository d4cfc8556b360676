#!/bin/bash
# tpcd with a configuration file (targetcli saveconfig.json shape) whose TPG
# requires CHAP: a node ACL for the guest's initiator with chap_userid and
# chap_password.  Login without CHAP and with a wrong secret must fail;
# with the right secret it works and I/O goes through.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

IQN=iqn.2026-11.org.tpcd:chap
CHAP_USER=vmuser
CHAP_SECRET=vm-secret-1234
CONF=/tmp/tpcd-chap.json

mkdir -p "$TPCD_STATE"
truncate -s 256M "$TPCD_STATE/chap0.img" "$TPCD_STATE/chap1.img"
cat >"$CONF" <<JSON
{
  "storage_objects": [
    { "plugin": "fileio", "name": "chap0", "dev": "$TPCD_STATE/chap0.img",
      "size": 268435456, "write_back": false },
    { "plugin": "fileio", "name": "chap1", "dev": "$TPCD_STATE/chap1.img",
      "size": 268435456, "write_back": false }
  ],
  "targets": [
    { "fabric": "iscsi", "wwn": "$IQN",
      "tpgs": [
        { "tag": 1, "enable": true,
          "attributes": { "authentication": 1, "generate_node_acls": 0,
                          "demo_mode_write_protect": 0 },
          "portals": [ { "ip_address": "${VM_PORTAL%:*}", "port": ${VM_PORTAL#*:} } ],
          "luns": [
            { "index": 0, "storage_object": "/backstores/fileio/chap0" },
            { "index": 1, "storage_object": "/backstores/fileio/chap1" }
          ],
          "node_acls": [
            { "node_wwn": "$VM_INITIATOR",
              "chap_userid": "$CHAP_USER", "chap_password": "$CHAP_SECRET",
              "mapped_luns": [
                { "index": 0, "tpg_lun": 0, "write_protect": false },
                { "index": 1, "tpg_lun": 1, "write_protect": false }
              ] }
          ] }
      ] }
  ]
}
JSON
cat "$CONF"

section "tpcd with $CONF"
need tpcd-start tpcd_start -c "$CONF"

section "discovery (no authentication for discovery sessions)"
need discovery vm_iscsi_discover "$IQN"

section "CHAP"
check no-auth-setup vm_iscsi_auth "$IQN" none
fails no-auth-refused vm_iscsi_login "$IQN"
check bad-secret-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" wrong-secret-123
fails bad-secret-refused vm_iscsi_login "$IQN"
check bad-user-setup vm_iscsi_auth "$IQN" chap someone-else "$CHAP_SECRET"
fails bad-user-refused vm_iscsi_login "$IQN"
check chap-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" "$CHAP_SECRET"
need chap-login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 _ < <(vm_lun_dev "$IQN" 1)
check sg_readcap bash -c "sg_readcap -l '$SG0' | grep -q 'Device size: 268435456 bytes'"
vm_lun_io "$SD0" "$SD1"
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
