# vm.mk: kernel-guest tests (tests/vm/, docs/vm-tests.md).
# "make check-vm" boots a throw-away Debian 12 guest in qemu once per
# tests/vm/guest/*.sh and runs tpcd from this build tree against the
# kernel's iSCSI initiator.  Needs root and qemu-system-x86_64 (else it
# prints SKIP and succeeds).  Not part of "make check".
#   make check-vm VM_TESTS='10-tpcd-basic 2*'   to run a subset
VM_TESTS =
check-vm: tpcd$(EXEEXT)
	$(if $(VM_TESTS),TPCD_VM_TESTS='$(VM_TESTS)') \
	    $(SHELL) $(top_srcdir)/tests/vm/run-all.sh $(abs_top_builddir)
# Also the "# vm-slow" tests (63-tcmu-conformance: iscsi-test-cu ALL
# through LIO against a tpcd-backed and a fileio LUN, ~25 minutes).
check-vm-slow: tpcd$(EXEEXT)
	TPCD_VM_SLOW=1 $(SHELL) $(top_srcdir)/tests/vm/run-all.sh \
	    $(abs_top_builddir)
.PHONY: check-vm check-vm-slow

EXTRA_DIST += tests/vm/build-image.sh tests/vm/run-guest.sh \
	tests/vm/run-all.sh tests/vm/guest-lib.sh \
	tests/vm/expected-failures.txt tests/vm/image/packages.txt \
	tests/vm/image/vm-init tests/vm/image/initramfs-init \
	tests/vm/guest/00-lio-sanity.sh tests/vm/guest/10-tpcd-basic.sh \
	tests/vm/guest/20-tpcd-chap.sh tests/vm/guest/21-tpcd-chap-mutual.sh \
	tests/vm/guest/40-tpc-vpd.sh tests/vm/guest/41-xcopy.sh \
	tests/vm/guest/42-odx.sh tests/vm/guest/43-unmap-caw.sh \
	tests/vm/guest/44-block-virtio.sh tests/vm/guest/50-nvme-copy.sh \
	tests/vm/guest/61-tcmu-lio-copy.sh tests/vm/guest/62-tcmu-lifecycle.sh \
	tests/vm/guest/63-tcmu-conformance.sh tests/vm/tcmu-lib.sh \
	tests/vm/tcmu-known-failures.txt docs/vm-tests.md
