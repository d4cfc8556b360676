# engine.mk
