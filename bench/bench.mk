# bench.mk: file list of this module
