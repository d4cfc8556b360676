# block.mk
