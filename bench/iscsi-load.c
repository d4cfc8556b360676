/*
 * iscsi-load.c - iSCSI load generator on libiscsi's asynchronous API.
 *
 * N sessions, each keeping QD commands in flight, spread over a few
 * threads (one poll loop per thread).  Random or sequential, read or
 * write, fixed block size; runs for a duration or until a byte count is
 * moved; prints IOPS and MiB/s.
 *
 *   iscsi-load -p 127.0.0.1:3260 -t IQN [-l LUN] [-s SESSIONS] [-q QD]
 *       [-b BYTES] [-r|-S] [-w] [-d SECONDS] [-n BYTES] [-j THREADS]
 *       [-i INITIATOR] [-R RANGE_BYTES]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

struct opts {
	const char	*portal, *target, *initiator;
	int		 lun, sessions, qd, threads;
	uint32_t	 bs;
	bool		 random, write;
	double		 seconds;
	uint64_t	 bytes, range;
};

struct session {
	struct iscsi_context *ctx;
	int		 index;
	uint64_t	 nblocks, first, span;	/* in LBAs of lbsize */
	uint64_t	 cursor, rng;
	uint32_t	 lbsize;
	int		 inflight;
	bool		 failed;
};

struct worker {
	pthread_t	 thread;
	struct session	*sess;
	int		 nsess;
	uint64_t	 ios, bytes, errors;
};

static struct opts o = {
	.portal = "127.0.0.1:3260", .initiator = "iqn.2026-11.org.tpcd:load",
	.lun = 0, .sessions = 1, .qd = 32, .threads = 0, .bs = 4096,
	.random = true, .write = false, .seconds = 10,
};
static unsigned char *wbuf;
static volatile bool stopping;
static uint64_t bytes_goal;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total_bytes;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void issue(struct session *, struct worker *);

static void
io_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct worker *w = priv;
	struct scsi_task *t = data;
	struct session *s = t->ptr;

	(void)ctx;
	s->inflight--;
	if (status == SCSI_STATUS_GOOD) {
		w->ios++;
		w->bytes += o.bs;
	} else {
		w->errors++;
		if (w->errors < 5)
			fprintf(stderr, "session %d: status %d sense %d/%04x\n",
			    s->index, status, t->sense.key, t->sense.ascq);
	}
	scsi_free_scsi_task(t);
	if (bytes_goal) {
		pthread_mutex_lock(&total_lock);
		total_bytes += o.bs;
		if (total_bytes >= bytes_goal)
			stopping = true;
		pthread_mutex_unlock(&total_lock);
	}
	if (!stopping && status != SCSI_STATUS_ERROR)
		issue(s, w);
}

static void
issue(struct session *s, struct worker *w)
{
	uint32_t blocks = o.bs / s->lbsize;
	uint64_t lba;
	struct scsi_task *t;

	if (o.random) {
		lba = s->first + xorshift(&s->rng) % (s->span / blocks) * blocks;
	} else {
		if (s->cursor + blocks > s->first + s->span)
			s->cursor = s->first;
		lba = s->cursor;
		s->cursor += blocks;
	}
	if (o.write)
		t = iscsi_write16_task(s->ctx, o.lun, lba, wbuf, o.bs,
		    (int)s->lbsize, 0, 0, 0, 0, 0, io_cb, w);
	else
		t = iscsi_read16_task(s->ctx, o.lun, lba, o.bs,
		    (int)s->lbsize, 0, 0, 0, 0, 0, io_cb, w);
	if (t == NULL) {
		s->failed = true;
		w->errors++;
		return;
	}
	t->ptr = s;
	s->inflight++;
}

static int
session_open(struct session *s)
{
	struct scsi_task *t;
	struct scsi_readcapacity16 *rc;
	uint64_t range, per;
	int i;

	s->ctx = iscsi_create_context(o.initiator);
	if (s->ctx == NULL)
		return -ENOMEM;
	iscsi_set_noautoreconnect(s->ctx, 1);
	iscsi_set_isid_random(s->ctx, 0x4c4f41, (uint32_t)(0x100 + s->index));
	iscsi_set_targetname(s->ctx, o.target);
	iscsi_set_session_type(s->ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(s->ctx, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(s->ctx, o.portal, o.lun) != 0) {
		fprintf(stderr, "session %d: login to %s %s: %s\n", s->index,
		    o.portal, o.target, iscsi_get_error(s->ctx));
		return -EIO;
	}
	for (i = 0; i < 4; i++) {
		t = iscsi_readcapacity16_sync(s->ctx, o.lun);
		if (t && t->status == SCSI_STATUS_GOOD)
			break;
		if (t)
			scsi_free_scsi_task(t);
		t = NULL;
	}
	if (t == NULL || (rc = scsi_datain_unmarshall(t)) == NULL) {
		fprintf(stderr, "session %d: READ CAPACITY(16) failed\n",
		    s->index);
		return -EIO;
	}
	s->lbsize = rc->block_length;
	s->nblocks = rc->returned_lba + 1;
	scsi_free_scsi_task(t);
	if (s->lbsize == 0 || o.bs % s->lbsize) {
		fprintf(stderr, "block size %u not a multiple of %u\n", o.bs,
		    s->lbsize);
		return -EINVAL;
	}
	range = o.range ? o.range / s->lbsize : s->nblocks;
	if (range > s->nblocks)
		range = s->nblocks;
	/* Sequential: each session streams through its own stripe. */
	per = o.random ? range : range / (uint64_t)o.sessions;
	per -= per % (o.bs / s->lbsize);
	if (per < o.bs / s->lbsize) {
		fprintf(stderr, "LUN too small for the block size\n");
		return -EINVAL;
	}
	s->first = o.random ? 0 : per * (uint64_t)s->index;
	s->span = per;
	s->cursor = s->first;
	s->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(s->index + 1);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd *pfd = calloc((size_t)w->nsess, sizeof(*pfd));
	int i, q, busy;

	for (i = 0; i < w->nsess; i++)
		for (q = 0; q < o.qd; q++)
			issue(&w->sess[i], w);
	for (;;) {
		busy = 0;
		for (i = 0; i < w->nsess; i++) {
			busy += w->sess[i].inflight;
			pfd[i].fd = iscsi_get_fd(w->sess[i].ctx);
			pfd[i].events = (short)iscsi_which_events(w->sess[i].ctx);
			pfd[i].revents = 0;
		}
		if (busy == 0 && stopping)
			break;
		if (busy == 0) {	/* every session failed */
			stopping = true;
			break;
		}
		if (poll(pfd, (nfds_t)w->nsess, 200) < 0 && errno != EINTR)
			break;
		for (i = 0; i < w->nsess; i++) {
			if (w->sess[i].failed && w->sess[i].inflight == 0)
				continue;
			if (iscsi_service(w->sess[i].ctx, pfd[i].revents) < 0) {
				fprintf(stderr, "session %d: %s\n",
				    w->sess[i].index,
				    iscsi_get_error(w->sess[i].ctx));
				w->sess[i].failed = true;
				w->sess[i].inflight = 0;
				w->errors++;
			}
		}
	}
	free(pfd);
	return NULL;
}

static uint64_t
parse_bytes(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': return v << 10;
	case 'm': case 'M': return v << 20;
	case 'g': case 'G': return v << 30;
	default: return v;
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: iscsi-load -t TARGET_IQN [-p IP:PORT] [-l LUN] "
	    "[-s SESSIONS] [-q QD]\n"
	    "       [-b BLOCK] [-r (random, default) | -S (sequential)] "
	    "[-w (write)]\n"
	    "       [-d SECONDS] [-n BYTES] [-j THREADS] [-i INITIATOR] "
	    "[-R RANGE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	struct session *ss;
	uint64_t ios = 0, bytes = 0, errors = 0;
	double t0, el;
	int c, i;

	while ((c = getopt(argc, argv, "p:t:l:s:q:b:rSwd:n:j:i:R:h")) != -1) {
		switch (c) {
		case 'p': o.portal = optarg; break;
		case 't': o.target = optarg; break;
		case 'l': o.lun = atoi(optarg); break;
		case 's': o.sessions = atoi(optarg); break;
		case 'q': o.qd = atoi(optarg); break;
		case 'b': o.bs = (uint32_t)parse_bytes(optarg); break;
		case 'r': o.random = true; break;
		case 'S': o.random = false; break;
		case 'w': o.write = true; break;
		case 'd': o.seconds = atof(optarg); break;
		case 'n': o.bytes = parse_bytes(optarg); break;
		case 'j': o.threads = atoi(optarg); break;
		case 'i': o.initiator = optarg; break;
		case 'R': o.range = parse_bytes(optarg); break;
		default: usage();
		}
	}
	if (o.target == NULL || o.sessions < 1 || o.qd < 1 || o.bs == 0 ||
	    o.bs > 64 * 1024 * 1024)
		usage();
	if (o.threads <= 0)
		o.threads = o.sessions < 2 ? 1 : 2;
	if (o.threads > o.sessions)
		o.threads = o.sessions;
	bytes_goal = o.bytes;
	wbuf = malloc(o.bs);
	ss = calloc((size_t)o.sessions, sizeof(*ss));
	ws = calloc((size_t)o.threads, sizeof(*ws));
	if (wbuf == NULL || ss == NULL || ws == NULL)
		return 1;
	for (i = 0; i < (int)o.bs; i++)
		wbuf[i] = (unsigned char)(i * 31 + 7);
	for (i = 0; i < o.sessions; i++) {
		ss[i].index = i;
		if (session_open(&ss[i]) != 0)
			return 1;
	}
	for (i = 0; i < o.threads; i++) {
		int lo = o.sessions * i / o.threads;
		int hi = o.sessions * (i + 1) / o.threads;

		ws[i].sess = &ss[lo];
		ws[i].nsess = hi - lo;
	}
	t0 = now_s();
	for (i = 0; i < o.threads; i++)
		pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
	if (!o.bytes) {
		while (!stopping && now_s() - t0 < o.seconds)
			usleep(10000);
		stopping = true;
	}
	for (i = 0; i < o.threads; i++) {
		pthread_join(ws[i].thread, NULL);
		ios += ws[i].ios;
		bytes += ws[i].bytes;
		errors += ws[i].errors;
	}
	el = now_s() - t0;
	for (i = 0; i < o.sessions; i++) {
		if (iscsi_is_logged_in(ss[i].ctx))
			iscsi_logout_sync(ss[i].ctx);
		iscsi_destroy_context(ss[i].ctx);
	}
	printf("%s %s bs=%u qd=%d sessions=%d: %.0f IOPS, %.1f MiB/s, "
	    "%" PRIu64 " errors, %.1f s\n", o.random ? "random" : "sequential",
	    o.write ? "write" : "read", o.bs, o.qd, o.sessions, ios / el,
	    bytes / el / 1048576.0, errors, el);
	printf("RESULT iops=%.0f mibs=%.1f errors=%" PRIu64 "\n", ios / el,
	    bytes / el / 1048576.0, errors);
	free(ss);
	free(ws);
	free(wbuf);
	return errors ? 1 : 0;
}
