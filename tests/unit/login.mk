# login.mk
