# vm.mk
