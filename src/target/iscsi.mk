# iscsi.mk: file list of this module
