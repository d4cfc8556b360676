# rod.mk
