# tcmu.mk: the TCMU front end (ring, devices, glue)
libtpcd_a_SOURCES += handlers/tcmu/tcmu_int.h
