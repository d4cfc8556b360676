# scsi.mk: file list of this module
