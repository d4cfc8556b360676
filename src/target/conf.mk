# conf.mk: file list of this module
