/*
 * xcopy-load.c - copy a block range between two LUNs of one iSCSI target,
 * either with EXTENDED COPY (LID1, 02h block -> block segments, E4h NAA
 * CSCD descriptors taken from VPD 83h) or by the initiator itself (READ16
 * then WRITE16 of 1 MiB, -q copies in flight), and time it.  Used by
 * bench/xcopy-bench.sh and the copy engine's integration test.
 *
 *   xcopy-load -p 127.0.0.1:3260 -t IQN -s SRC_LUN -d DST_LUN
 *	-S SRC_LBA -D DST_LBA -n BYTES [-m xcopy|host] [-q QD] [-c]
 *	[-b CMD_BYTES] [-x KEY/ASC/ASCQ]
 *
 * -b (xcopy mode): send the range as EXTENDED COPY commands of CMD_BYTES
 * each (one segment when it fits), -q of them in flight (default: one
 * command per MAX_SEGS segments, one at a time).
 * -c reads the source range before the copy and compares the destination
 * with it afterwards (so overlapping copies are checked too).  -x expects the
 * EXTENDED COPY to fail with that sense (hex, e.g. 0a/0d/01), and checks
 * the forwarded sense is present; exit 0 when it does.  Output:
 *   RESULT mode=xcopy bytes=N secs=S mibs=M
 *
 * The baseline without any target: -m cfr or -m clone with -f SRC_FILE -F
 * DST_FILE copies bytes -S..+n to -D (byte offsets) with copy_file_range()
 * (looping on short copies, like the engine) or one FICLONERANGE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "util.h"

#define CHUNK		(1u << 20)
#define MAX_QD		64
#define MAX_SEGS	256
#define XCOPY_LIST_MAX	(16 + 64 + MAX_SEGS * 28)

static struct {
	const char	*portal, *target, *mode, *sfile, *dfile;
	int		 slun, dlun, qd;
	uint64_t	 slba, dlba, bytes, cmd_bytes;
	bool		 check;
	int		 x_key, x_asc, x_ascq;	/* -1: success expected */
} o = { .mode = "xcopy", .qd = 8, .x_key = -1 };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, struct iscsi_context *ctx)
{
	fprintf(stderr, "xcopy-load: %s: %s\n", what,
	    ctx != NULL ? iscsi_get_error(ctx) : strerror(errno));
	exit(1);
}

/* Run libiscsi's event loop until *inflight commands are done. */
static void
service_until_idle(struct iscsi_context *ctx, const int *inflight)
{
	struct pollfd pfd;

	while (*inflight > 0) {
		pfd.fd = iscsi_get_fd(ctx);
		pfd.events = (short)iscsi_which_events(ctx);
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			die("poll", NULL);
		if (iscsi_service(ctx, pfd.revents) < 0)
			die("service", ctx);
	}
}

struct lu {
	uint32_t	 bsz;
	uint8_t		 desig[20];
	uint8_t		 dlen, dtype;
};

/* Block size and the best designator (NAA, else EUI-64, else T10). */
static void
lu_probe(struct iscsi_context *ctx, int lun, struct lu *l)
{
	struct scsi_task *t;
	const uint8_t *d;
	int best = -1, n, off, len;

	t = iscsi_readcapacity16_sync(ctx, lun);
	if (t == NULL || t->status != SCSI_STATUS_GOOD || t->datain.size < 12)
		die("READ CAPACITY(16)", ctx);
	d = t->datain.data;
	l->bsz = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 |
	    (uint32_t)d[10] << 8 | d[11];
	scsi_free_scsi_task(t);
	t = iscsi_inquiry_sync(ctx, lun, 1, 0x83, 255);
	if (t == NULL || t->status != SCSI_STATUS_GOOD || t->datain.size < 4)
		die("INQUIRY VPD 83h", ctx);
	d = t->datain.data;
	n = MIN(t->datain.size, 4 + (d[2] << 8 | d[3]));
	for (off = 4; off + 4 <= n; off += 4 + len) {
		int type = d[off + 1] & 0x0f, assoc = (d[off + 1] >> 4) & 3;
		int rank = type == 3 ? 3 : type == 2 ? 2 : type == 1 ? 1 : 0;

		len = d[off + 3];
		if (off + 4 + len > n || assoc != 0 || len > 20 || rank <= best)
			continue;
		best = rank;
		l->dtype = (uint8_t)type;
		l->dlen = (uint8_t)len;
		memcpy(l->desig, d + off + 4, (size_t)len);
		l->desig[19] = (uint8_t)(d[off] & 0x0f);	/* code set */
	}
	scsi_free_scsi_task(t);
	if (best < 0)
		die("no usable designator in VPD 83h", NULL);
}

static void
cscd(uint8_t *p, const struct lu *l)
{
	memset(p, 0, 32);
	p[0] = 0xe4;
	p[4] = l->desig[19];
	p[5] = l->dtype;
	p[7] = l->dlen;
	memcpy(p + 8, l->desig, l->dlen);
	p[28] = 0;
	p[29] = (uint8_t)(l->bsz >> 16);
	p[30] = (uint8_t)(l->bsz >> 8);
	p[31] = (uint8_t)l->bsz;
}

/* The parameter list of one EXTENDED COPY (at most MAX_SEGS segments,
 * at most `left` bytes) into buf; its length in *len, bytes it copies
 * returned. */
static uint64_t
xcopy_build(uint8_t *buf, const struct lu *s, const struct lu *d,
    uint64_t slba, uint64_t dlba, uint64_t left, int *len)
{
	uint64_t maxblk = 65535, done = 0, nb;
	int nseg = 0;
	uint8_t *p;

	memset(buf, 0, XCOPY_LIST_MAX);
	buf[1] = 0x18;			/* LIST ID USAGE 11b: no list id */
	put_be16(buf + 2, 64);
	cscd(buf + 16, s);
	cscd(buf + 48, d);
	p = buf + 80;
	/* whole MiBs per segment, as ESXi does: keeps segments aligned */
	if (s->bsz <= CHUNK && maxblk > CHUNK / s->bsz)
		maxblk -= maxblk % (CHUNK / s->bsz);
	while (left >= s->bsz && nseg < MAX_SEGS) {
		nb = MIN(left / s->bsz, maxblk);
		p[0] = 0x02;
		put_be16(p + 2, 0x18);
		put_be16(p + 4, 0);
		put_be16(p + 6, 1);
		put_be16(p + 10, (uint32_t)nb);
		put_be64(p + 12, slba + done / s->bsz);
		put_be64(p + 20, dlba + done / d->bsz);
		done += nb * s->bsz;
		left -= nb * s->bsz;
		p += 28;
		nseg++;
	}
	put_be32(buf + 8, (uint32_t)(nseg * 28));
	*len = (int)(p - buf);
	return done;
}

/* A finished EXTENDED COPY: 0 good, -1 failed (sense printed; an
 * expected failure, -x, exits 0). */
static int
xcopy_status(struct scsi_task *t)
{
	const uint8_t *sb;
	int sl, i;

	if (t->status == SCSI_STATUS_GOOD)
		return 0;
	sb = t->datain.data;
	sl = t->datain.size;
	printf("SENSE status=%02x key=%02x asc=%02x ascq=%02x\n",
	    t->status, t->sense.key, t->sense.ascq >> 8,
	    t->sense.ascq & 0xff);
	if (sb != NULL && sl > 2) {
		printf("SENSEDATA");
		for (i = 2; i < sl && i < 64; i++)
			printf(" %02x", sb[i]);
		printf("\n");
	}
	if (o.x_key >= 0 && (int)t->sense.key == o.x_key &&
	    (t->sense.ascq >> 8) == o.x_asc &&
	    (t->sense.ascq & 0xff) == o.x_ascq) {
		scsi_free_scsi_task(t);
		printf("RESULT expected failure\n");
		exit(0);
	}
	return -1;
}

/* One EXTENDED COPY of at most MAX_SEGS segments; returns bytes done or
 * -1 (sense printed, checked against -x). */
static int64_t
xcopy_one(struct iscsi_context *ctx, const struct lu *s, const struct lu *d,
    uint64_t slba, uint64_t dlba, uint64_t left)
{
	static uint8_t buf[XCOPY_LIST_MAX];
	struct iscsi_data data;
	struct scsi_task *t;
	uint64_t done;
	int len, rc;

	done = xcopy_build(buf, s, d, slba, dlba, left, &len);
	data.data = buf;
	data.size = len;
	t = iscsi_extended_copy_sync(ctx, o.slun, &data);
	if (t == NULL)
		die("EXTENDED COPY", ctx);
	rc = xcopy_status(t);
	scsi_free_scsi_task(t);
	return rc == 0 ? (int64_t)done : -1;
}

/* --- -b: many EXTENDED COPY commands of o.cmd_bytes, o.qd in flight --- */

struct xq {
	struct iscsi_context *ctx;
	const struct lu	*s, *d;
	uint64_t	 next;		/* next byte offset to copy */
	uint64_t	 cmds;
	int		 inflight;
	bool		 failed;
};

struct xslot {
	struct xq	*xq;
	uint8_t		 buf[XCOPY_LIST_MAX];
	struct iscsi_data data;
};

static void xq_issue(struct xslot *);

static void
xq_cb(struct iscsi_context *ctx, int status, void *cdata, void *priv)
{
	struct xslot *sl = priv;
	struct scsi_task *t = cdata;
	struct xq *xq = sl->xq;

	(void)status;
	if (t == NULL || xcopy_status(t) != 0) {
		fprintf(stderr, "xcopy-load: EXTENDED COPY failed: %s\n",
		    iscsi_get_error(ctx));
		xq->failed = true;
	}
	if (t != NULL)
		scsi_free_scsi_task(t);
	xq->inflight--;
	if (!xq->failed)
		xq_issue(sl);
}

static void
xq_issue(struct xslot *sl)
{
	struct xq *xq = sl->xq;
	uint64_t n, done;
	int len;

	if (xq->next >= o.bytes)
		return;
	n = MIN(o.bytes - xq->next, o.cmd_bytes);
	done = xcopy_build(sl->buf, xq->s, xq->d,
	    o.slba + xq->next / xq->s->bsz, o.dlba + xq->next / xq->d->bsz,
	    n, &len);
	if (done == 0)
		die("-b smaller than a block", NULL);
	xq->next += done;
	xq->cmds++;
	xq->inflight++;
	sl->data.data = sl->buf;
	sl->data.size = len;
	if (iscsi_extended_copy_task(xq->ctx, o.slun, &sl->data, xq_cb,
	    sl) == NULL)
		die("EXTENDED COPY", xq->ctx);
}

static void
xcopy_qd(struct iscsi_context *ctx, const struct lu *s, const struct lu *d)
{
	struct xq xq = { .ctx = ctx, .s = s, .d = d };
	struct xslot *sl;
	int i;

	sl = calloc((size_t)o.qd, sizeof(*sl));
	if (sl == NULL)
		die("calloc", NULL);
	for (i = 0; i < o.qd; i++) {
		sl[i].xq = &xq;
		xq_issue(&sl[i]);
	}
	service_until_idle(ctx, &xq.inflight);
	free(sl);
	if (xq.failed)
		exit(1);
	printf("COMMANDS %" PRIu64 " of %" PRIu64 " bytes at QD %d\n",
	    xq.cmds, o.cmd_bytes, o.qd);
}

/* --- host copy: READ16 then WRITE16, qd in flight --- */

struct hc {
	struct iscsi_context *ctx;
	uint64_t	 next, left;
	int		 inflight;
	bool		 failed;
	const struct lu *s, *d;
};

struct hslot {
	struct hc	*hc;
	uint64_t	 off;
	uint32_t	 len;
	uint8_t		*buf;
	bool		 writing;
};

static void hc_issue(struct hslot *);

static void
hc_cb(struct iscsi_context *ctx, int status, void *cdata, void *priv)
{
	struct hslot *sl = priv;
	struct scsi_task *t = cdata;
	struct hc *hc = sl->hc;

	if (status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "host copy I/O failed: %s\n",
		    iscsi_get_error(ctx));
		hc->failed = true;
	} else if (!sl->writing) {
		memcpy(sl->buf, t->datain.data, sl->len);
	}
	scsi_free_scsi_task(t);
	hc->inflight--;
	if (hc->failed)
		return;
	if (!sl->writing) {
		sl->writing = true;
		hc->inflight++;
		if (iscsi_write16_task(ctx, o.dlun,
		    o.dlba + sl->off / hc->d->bsz, sl->buf, sl->len,
		    hc->d->bsz, 0, 0, 0, 0, 0, hc_cb, sl) == NULL)
			die("WRITE16", ctx);
		return;
	}
	hc_issue(sl);
}

static void
hc_issue(struct hslot *sl)
{
	struct hc *hc = sl->hc;

	if (hc->left == 0)
		return;
	sl->off = hc->next;
	sl->len = (uint32_t)MIN(hc->left, (uint64_t)CHUNK);
	sl->writing = false;
	hc->next += sl->len;
	hc->left -= sl->len;
	hc->inflight++;
	if (iscsi_read16_task(hc->ctx, o.slun, o.slba + sl->off / hc->s->bsz,
	    sl->len, hc->s->bsz, 0, 0, 0, 0, 0, hc_cb, sl) == NULL)
		die("READ16", hc->ctx);
}

static void
host_copy(struct iscsi_context *ctx, const struct lu *s, const struct lu *d)
{
	struct hslot sl[MAX_QD];
	struct hc hc = { .ctx = ctx, .left = o.bytes, .s = s, .d = d };
	int i;

	for (i = 0; i < o.qd; i++) {
		sl[i].hc = &hc;
		sl[i].buf = malloc(CHUNK);
		if (sl[i].buf == NULL)
			die("malloc", NULL);
		hc_issue(&sl[i]);
	}
	service_until_idle(ctx, &hc.inflight);
	for (i = 0; i < o.qd; i++)
		free(sl[i].buf);
	if (hc.failed)
		exit(1);
}

/* -c: the source range as it was before the copy (memmove semantics:
 * an overlapping copy changes the source). */
static uint8_t *snap;

static uint8_t *
read_range(struct iscsi_context *ctx, int lun, uint64_t lba, uint32_t bsz)
{
	struct scsi_task *t;
	uint8_t *buf = malloc(o.bytes);
	uint64_t off;
	uint32_t n;

	if (buf == NULL)
		die("malloc", NULL);
	for (off = 0; off < o.bytes; off += n) {
		n = (uint32_t)MIN(o.bytes - off, (uint64_t)CHUNK);
		t = iscsi_read16_sync(ctx, lun, lba + off / bsz, n, bsz, 0, 0,
		    0, 0, 0);
		if (t == NULL || t->status != SCSI_STATUS_GOOD ||
		    t->datain.size != (int)n)
			die("READ16 (compare)", ctx);
		memcpy(buf + off, t->datain.data, n);
		scsi_free_scsi_task(t);
	}
	return buf;
}

static void
compare(struct iscsi_context *ctx, const struct lu *d)
{
	uint8_t *out = read_range(ctx, o.dlun, o.dlba, d->bsz);
	uint64_t off;

	for (off = 0; off < o.bytes; off++) {
		if (out[off] != snap[off]) {
			fprintf(stderr, "xcopy-load: MISMATCH at byte %" PRIu64
			    "\n", off);
			exit(2);
		}
	}
	free(out);
	free(snap);
	printf("COMPARE ok %" PRIu64 " bytes\n", o.bytes);
}

/* -m cfr / -m clone: the backing files directly, byte offsets. */
static int
file_copy(void)
{
	int sfd = open(o.sfile, O_RDONLY), dfd = open(o.dfile, O_RDWR);
	loff_t in = (loff_t)o.slba, out = (loff_t)o.dlba;
	uint64_t left = o.bytes;
	double t0, t1;
	ssize_t r;

	if (sfd < 0 || dfd < 0)
		die("open", NULL);
	t0 = now();
	if (strcmp(o.mode, "clone") == 0) {
		struct file_clone_range fcr = {
			.src_fd = sfd, .src_offset = o.slba,
			.src_length = o.bytes, .dest_offset = o.dlba,
		};

		if (ioctl(dfd, FICLONERANGE, &fcr) < 0)
			die("FICLONERANGE", NULL);
	} else {
		while (left > 0) {
			r = copy_file_range(sfd, &in, dfd, &out, left, 0);
			if (r <= 0)
				die("copy_file_range", NULL);
			left -= (uint64_t)r;
		}
	}
	t1 = now();
	printf("RESULT mode=%s bytes=%" PRIu64 " secs=%.6f mibs=%.1f\n",
	    o.mode, o.bytes, t1 - t0, (double)o.bytes / 1048576.0 /
	    (t1 - t0));
	close(sfd);
	close(dfd);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: xcopy-load -p PORTAL -t IQN -s LUN -d LUN "
	    "-S LBA -D LBA -n BYTES [-m xcopy|host] [-q QD] [-c] "
	    "[-b CMD_BYTES] [-x KEY/ASC/ASCQ]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct iscsi_context *ctx;
	struct lu s, d;
	double t0, t1;
	int c;

	while ((c = getopt(argc, argv, "p:t:s:d:S:D:n:m:q:cx:f:F:b:")) != -1) {
		switch (c) {
		case 'p': o.portal = optarg; break;
		case 't': o.target = optarg; break;
		case 's': o.slun = atoi(optarg); break;
		case 'd': o.dlun = atoi(optarg); break;
		case 'S': o.slba = strtoull(optarg, NULL, 0); break;
		case 'D': o.dlba = strtoull(optarg, NULL, 0); break;
		case 'n': o.bytes = strtoull(optarg, NULL, 0); break;
		case 'm': o.mode = optarg; break;
		case 'q': o.qd = atoi(optarg); break;
		case 'b': o.cmd_bytes = strtoull(optarg, NULL, 0); break;
		case 'c': o.check = true; break;
		case 'f': o.sfile = optarg; break;
		case 'F': o.dfile = optarg; break;
		case 'x':
			if (sscanf(optarg, "%x/%x/%x", &o.x_key, &o.x_asc,
			    &o.x_ascq) != 3)
				usage();
			break;
		default: usage();
		}
	}
	if (o.sfile != NULL && o.dfile != NULL && o.bytes != 0)
		return file_copy();
	if (o.portal == NULL || o.target == NULL || o.bytes == 0 ||
	    o.qd < 1 || o.qd > MAX_QD)
		usage();
	ctx = iscsi_create_context("iqn.2026-11.org.tpcd:xcopy-load");
	if (ctx == NULL)
		die("context", NULL);
	iscsi_set_targetname(ctx, o.target);
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(ctx, o.portal, o.slun) != 0)
		die("connect", ctx);
	/* clear the power-on unit attentions */
	for (c = 0; c < 3; c++) {
		struct scsi_task *t = iscsi_testunitready_sync(ctx, o.slun);
		struct scsi_task *u = iscsi_testunitready_sync(ctx, o.dlun);

		if (t != NULL)
			scsi_free_scsi_task(t);
		if (u != NULL)
			scsi_free_scsi_task(u);
	}
	lu_probe(ctx, o.slun, &s);
	lu_probe(ctx, o.dlun, &d);
	if (o.bytes % s.bsz != 0 || o.bytes % d.bsz != 0)
		die("-n must be a multiple of both block sizes", NULL);
	if (o.check)
		snap = read_range(ctx, o.slun, o.slba, s.bsz);
	t0 = now();
	if (strcmp(o.mode, "host") == 0) {
		host_copy(ctx, &s, &d);
	} else if (o.cmd_bytes != 0) {
		xcopy_qd(ctx, &s, &d);
		if (o.x_key >= 0) {
			fprintf(stderr, "xcopy-load: expected a failure\n");
			return 1;
		}
	} else {
		uint64_t done = 0;
		int64_t r;

		while (done < o.bytes) {
			r = xcopy_one(ctx, &s, &d, o.slba + done / s.bsz,
			    o.dlba + done / d.bsz, o.bytes - done);
			if (r <= 0) {
				fprintf(stderr, "xcopy-load: EXTENDED COPY "
				    "failed\n");
				return 1;
			}
			done += (uint64_t)r;
		}
		if (o.x_key >= 0) {
			fprintf(stderr, "xcopy-load: expected a failure\n");
			return 1;
		}
	}
	t1 = now();
	printf("RESULT mode=%s bytes=%" PRIu64 " secs=%.6f mibs=%.1f\n",
	    o.mode, o.bytes, t1 - t0, (double)o.bytes / 1048576.0 /
	    (t1 - t0));
	if (o.check)
		compare(ctx, &d);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	return 0;
}
