/*
 * io.c - WRITE(16) then READ(16) back, with patterns and sizes from 512 B
 * to 8 MiB, under each ImmediateData x InitialR2T combination, on every
 * LUN in ITEST_LUNS (default: ITEST_LUN).  At the end every region is
 * read again so a write that landed in the wrong place is caught.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

static const uint32_t sizes[] = {
	512, 1024 + 512, 4096, 8192 + 512, 65536, 65536 + 4096,
	262144, 262144 + 512, 1024 * 1024, 3 * 1024 * 1024 + 512,
	8 * 1024 * 1024,
};
#define NSIZES	(sizeof(sizes) / sizeof(sizes[0]))

struct region {
	uint64_t lba;
	uint32_t len;
	uint64_t seed;
};

static void
run_lun(int lun)
{
	struct region regs[4 * NSIZES];
	uint8_t *wbuf, *rbuf;
	uint64_t next = 8, nblocks = 0;
	uint32_t bs = 512;
	unsigned int combo, i, nreg = 0;
	struct iscsi_context *ctx;

	wbuf = malloc(8 * 1024 * 1024);
	rbuf = malloc(8 * 1024 * 1024);
	if (wbuf == NULL || rbuf == NULL) {
		itest_check(false, "malloc");
		return;
	}
	for (combo = 0; combo < 4; combo++) {
		struct itest_login l = {
			.initiator = ITEST_INIT_B, .immediate_data = combo & 1,
			.initial_r2t = (combo >> 1) & 1,
		};
		const char *err;

		ctx = itest_connect(&l, &err);
		itest_check(ctx != NULL, "lun %d ImmediateData=%s "
		    "InitialR2T=%s: login%s%s", lun, l.immediate_data ? "Yes" :
		    "No", l.initial_r2t ? "Yes" : "No", err ? ": " : "",
		    err ? err : "");
		if (ctx == NULL)
			continue;
		itest_clear_ua(ctx, lun);
		if (itest_capacity(ctx, lun, &bs, &nblocks) != 0) {
			itest_check(false, "lun %d: READ CAPACITY(16)", lun);
			itest_close(ctx);
			continue;
		}
		for (i = 0; i < NSIZES; i++) {
			uint32_t len = sizes[i] / bs * bs;
			struct region *r = &regs[nreg];
			bool ok;

			if (len == 0 || next + len / bs > nblocks)
				continue;
			r->lba = next;
			r->len = len;
			r->seed = (uint64_t)lun << 32 | combo << 8 | i;
			next += len / bs + 1;	/* leave a gap block */
			itest_fill(wbuf, len, r->seed);
			memset(rbuf, 0xa5, len);
			ok = itest_write(ctx, lun, r->lba, wbuf, len, bs) == 0 &&
			    itest_read(ctx, lun, r->lba, rbuf, len, bs) == 0 &&
			    memcmp(wbuf, rbuf, len) == 0;
			itest_check(ok, "lun %d imm=%d r2t=%d: %u bytes at "
			    "lba %llu written and read back", lun,
			    l.immediate_data, l.initial_r2t, len,
			    (unsigned long long)r->lba);
			nreg++;
		}
		itest_close(ctx);
	}

	ctx = itest_connect_default(ITEST_INIT_A);
	itest_check(ctx != NULL, "lun %d: login for re-verification", lun);
	if (ctx) {
		unsigned int bad = 0;

		itest_clear_ua(ctx, lun);
		for (i = 0; i < nreg; i++) {
			itest_fill(wbuf, regs[i].len, regs[i].seed);
			if (itest_read(ctx, lun, regs[i].lba, rbuf, regs[i].len,
			    bs) != 0 || memcmp(wbuf, rbuf, regs[i].len) != 0)
				bad++;
		}
		itest_check(bad == 0, "lun %d: all %u regions intact from a "
		    "new session (%u bad)", lun, nreg, bad);
		itest_close(ctx);
	}
	free(wbuf);
	free(rbuf);
}

int
main(void)
{
	char *luns, *tok, *save = NULL;
	char buf[16];

	itest_begin("io", 600);
	snprintf(buf, sizeof(buf), "%d", itest_lun());
	luns = strdup(itest_env("ITEST_LUNS", buf));
	for (tok = strtok_r(luns, " ,", &save); tok;
	    tok = strtok_r(NULL, " ,", &save))
		run_lun(atoi(tok));
	free(luns);
	itest_check(itest_daemon_alive(), "daemon still running");
	return itest_end();
}
