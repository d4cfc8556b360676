# tests.mk: file list of this module
