# core.mk: file list of this module
