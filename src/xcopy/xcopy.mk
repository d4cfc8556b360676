# xcopy.mk
