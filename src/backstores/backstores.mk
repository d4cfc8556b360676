# backstores.mk: file list of this module
