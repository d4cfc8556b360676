/*
 * sessions.c - many concurrent sessions (ITEST_SESSIONS, default 64),
 * each with its own ISID, writing and reading back its own range of the
 * LUN while the others do the same; then every range is verified from a
 * fresh session.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define CHUNK		(256 * 1024)
#define CHUNKS		8		/* per session: 2 MiB */
#define ROUNDS		4

struct worker {
	pthread_t	 thread;
	int		 index;
	uint32_t	 bs;
	bool		 login_ok;
	bool		 io_ok;
	char		 why[160];
};

static pthread_barrier_t barrier;

static uint64_t
seed_of(int idx, int round, int chunk)
{
	return (uint64_t)idx << 20 | (uint64_t)round << 8 | (uint64_t)chunk;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct itest_login l = {
		.initiator = ITEST_INIT_B, .immediate_data = -1,
		.initial_r2t = -1, .isid_qualifier = 0x1000 + w->index,
	};
	uint8_t *wbuf = malloc(CHUNK), *rbuf = malloc(CHUNK);
	struct iscsi_context *ctx;
	const char *err;
	uint64_t nblocks, base;
	int lun = itest_lun(), r, c;

	ctx = itest_connect(&l, &err);
	w->login_ok = ctx != NULL;
	if (ctx == NULL)
		snprintf(w->why, sizeof(w->why), "login: %s", err);
	pthread_barrier_wait(&barrier);	/* all sessions up at once */
	if (ctx == NULL || wbuf == NULL || rbuf == NULL)
		goto out;
	itest_clear_ua(ctx, lun);
	if (itest_capacity(ctx, lun, &w->bs, &nblocks) != 0) {
		snprintf(w->why, sizeof(w->why), "READ CAPACITY failed");
		goto out;
	}
	base = (uint64_t)w->index * CHUNKS * CHUNK / w->bs;
	if (base + CHUNKS * CHUNK / w->bs > nblocks) {
		snprintf(w->why, sizeof(w->why), "LUN too small");
		goto out;
	}
	w->io_ok = true;
	for (r = 0; r < ROUNDS && w->io_ok; r++) {
		for (c = 0; c < CHUNKS; c++) {
			uint64_t lba = base + (uint64_t)c * CHUNK / w->bs;

			itest_fill(wbuf, CHUNK, seed_of(w->index, r, c));
			if (itest_write(ctx, lun, lba, wbuf, CHUNK, w->bs) ||
			    itest_read(ctx, lun, lba, rbuf, CHUNK, w->bs) ||
			    memcmp(wbuf, rbuf, CHUNK)) {
				snprintf(w->why, sizeof(w->why),
				    "round %d chunk %d: mismatch or I/O error",
				    r, c);
				w->io_ok = false;
				break;
			}
		}
	}
out:
	itest_close(ctx);
	free(wbuf);
	free(rbuf);
	return NULL;
}

int
main(void)
{
	int n = atoi(itest_env("ITEST_SESSIONS", "64"));
	struct worker *ws;
	struct iscsi_context *ctx;
	int i, logins = 0, bad = 0;

	itest_begin("sessions", 300);
	if (n < 1 || n > 1024)
		n = 64;
	ws = calloc((size_t)n, sizeof(*ws));
	pthread_barrier_init(&barrier, NULL, (unsigned int)n);
	for (i = 0; i < n; i++) {
		ws[i].index = i;
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i])) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(ws[i].thread, NULL);
	for (i = 0; i < n; i++) {
		logins += ws[i].login_ok;
		itest_check(ws[i].login_ok && ws[i].io_ok, "session %d: "
		    "%d x %d KiB written and verified%s%s", i, ROUNDS * CHUNKS,
		    CHUNK / 1024, ws[i].why[0] ? ": " : "", ws[i].why);
	}
	itest_check(logins == n, "%d of %d sessions were logged in at once",
	    logins, n);

	/* The last round of every session must be on the medium. */
	ctx = itest_connect_default(ITEST_INIT_A);
	itest_check(ctx != NULL, "verification session");
	if (ctx) {
		uint8_t *w = malloc(CHUNK), *r = malloc(CHUNK);
		uint32_t bs = 512;
		uint64_t nb;
		int c;

		itest_clear_ua(ctx, itest_lun());
		itest_capacity(ctx, itest_lun(), &bs, &nb);
		for (i = 0; i < n; i++) {
			if (!ws[i].io_ok)
				continue;
			for (c = 0; c < CHUNKS; c++) {
				uint64_t lba = ((uint64_t)i * CHUNKS + c) *
				    CHUNK / bs;

				itest_fill(w, CHUNK, seed_of(i, ROUNDS - 1, c));
				if (itest_read(ctx, itest_lun(), lba, r, CHUNK,
				    bs) || memcmp(w, r, CHUNK))
					bad++;
			}
		}
		itest_check(bad == 0, "all ranges hold their session's last "
		    "data (%d bad chunks)", bad);
		free(w);
		free(r);
		itest_close(ctx);
	}
	free(ws);
	itest_check(itest_daemon_alive(), "daemon still running");
	return itest_end();
}
