#!/bin/bash
# Mutual CHAP against tpcd: the node ACL also has chap_mutual_userid and
# chap_mutual_password, and the initiator checks the target's answer.  A
# target secret the initiator does not expect must make the login fail.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

IQN=iqn.2026-11.org.tpcd:mutual
CHAP_USER=vmuser
CHAP_SECRET=vm-secret-1234
TGT_USER=vmtarget
TGT_SECRET=vm-tgt-secret-99
CONF=/tmp/tpcd-mutual.json

mkdir -p "$TPCD_STATE"
truncate -s 256M "$TPCD_STATE/mutual0.img"
cat >"$CONF" <<JSON
{
  "storage_objects": [
    { "plugin": "fileio", "name": "mutual0", "dev": "$TPCD_STATE/mutual0.img",
      "size": 268435456, "write_back": false }
  ],
  "targets": [
    { "fabric": "iscsi", "wwn": "$IQN",
      "tpgs": [
        { "tag": 1, "enable": true,
          "attributes": { "authentication": 1, "generate_node_acls": 0 },
          "portals": [ { "ip_address": "${VM_PORTAL%:*}", "port": ${VM_PORTAL#*:} } ],
          "luns": [ { "index": 0, "storage_object": "/backstores/fileio/mutual0" } ],
          "node_acls": [
            { "node_wwn": "$VM_INITIATOR",
              "chap_userid": "$CHAP_USER", "chap_password": "$CHAP_SECRET",
              "chap_mutual_userid": "$TGT_USER",
              "chap_mutual_password": "$TGT_SECRET",
              "mapped_luns": [ { "index": 0, "tpg_lun": 0, "write_protect": false } ] }
          ] }
      ] }
  ]
}
JSON
cat "$CONF"

section "tpcd with $CONF"
need tpcd-start tpcd_start -c "$CONF"
need discovery vm_iscsi_discover "$IQN"

section "mutual CHAP"
check bad-target-secret-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" "$CHAP_SECRET" "$TGT_USER" wrong-tgt-secret-1
fails bad-target-secret-refused vm_iscsi_login "$IQN"
check mutual-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" "$CHAP_SECRET" "$TGT_USER" "$TGT_SECRET"
need mutual-login vm_iscsi_login "$IQN" 1
read -r SD0 _ < <(vm_lun_dev "$IQN" 0)
vm_lun_io "$SD0" ""
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
