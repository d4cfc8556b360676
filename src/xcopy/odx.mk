# odx.mk
