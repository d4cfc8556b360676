# tcmu_cfs.mk: TCMU netlink, configfs/sysfs readers, copy scope
