# conf.mk
