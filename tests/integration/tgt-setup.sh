#!/bin/sh
# tgt-setup.sh - configure a running tgtd (Debian "tgt") like tpcd's test
# configs, so the integration programs can be checked against a second
# target.  Developer aid; not run by `make check`.
#
#   tgtd --iscsi portal=127.0.0.1:3261 -f &
#   tests/integration/tgt-setup.sh [DIR]	# backing files in DIR (/var/tmp)
#   export ITEST_PORTAL=127.0.0.1:3261 ITEST_LUN=1	# tgt's LUN 0 is its controller
#   ITEST_TARGET=iqn.2026-11.org.tpcd:test-open ./login   (etc.)
set -e
dir=${1:-/var/tmp}
P=iqn.2026-11.org.tpcd
T="tgtadm --lld iscsi"

newtarget()	# tid name file size
{
	truncate -s "$4" "$3"
	$T --op new --mode target --tid "$1" -T "$P:$2"
	$T --op new --mode logicalunit --tid "$1" --lun 1 -b "$3" --bstype rdwr
}

newtarget 10 test-open "$dir/tgt-open.img" 1G
$T --op bind --mode target --tid 10 -I ALL
$T --op update --mode target --tid 10 -n HeaderDigest -v CRC32C,None
$T --op update --mode target --tid 10 -n DataDigest -v CRC32C,None

newtarget 11 test-chap "$dir/tgt-chap.img" 16M
$T --op new --mode account --user init-a-user --password init-a-secret1
$T --op bind --mode account --tid 11 --user init-a-user
$T --op bind --mode target --tid 11 -Q "$P:init-a"

newtarget 12 test-mutual "$dir/tgt-mutual.img" 16M
$T --op new --mode account --user target-user --password target-secret1
$T --op bind --mode account --tid 12 --user init-a-user
$T --op bind --mode account --tid 12 --user target-user --outgoing
$T --op bind --mode target --tid 12 -Q "$P:init-a"

newtarget 13 test-acl "$dir/tgt-acl.img" 16M
$T --op bind --mode target --tid 13 -Q "$P:init-a"
echo "tgt configured: targets $P:test-{open,chap,mutual,acl}, LUN 1"
