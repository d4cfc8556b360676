/*
 * odx-load.c - copy a block range between two LUNs of one iSCSI target
 * with ODX (POPULATE TOKEN, RECEIVE ROD TOKEN INFORMATION, WRITE USING
 * TOKEN; one token per MAXIMUM TOKEN TRANSFER SIZE from VPD 8Fh), or fill
 * a range with the block device zero ROD token, and time it.  Used by
 * bench/odx-bench.sh.
 *
 *   odx-load -p 127.0.0.1:3260 -t IQN -s SRC_LUN -d DST_LUN
 *	-S SRC_LBA -D DST_LBA -n BYTES [-m odx|zero] [-c]
 *
 * -c reads the source range first and compares the destination after the
 * copy (zero: checks the range reads back zero).  Output:
 *   RESULT mode=odx bytes=N secs=S mibs=M
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "util.h"

#define CHUNK		(1u << 20)

static struct {
	const char	*portal, *target, *mode;
	int		 slun, dlun;
	uint64_t	 slba, dlba, bytes;
	bool		 check;
} o = { .mode = "odx" };

static uint32_t bs = 512;
static uint64_t max_token_blocks = 1u << 21;
static uint32_t list_id = 0x4000;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
run(struct iscsi_context *c, int lun, uint8_t *cdb, uint8_t *out,
    uint32_t olen, uint8_t *in, uint32_t ilen)
{
	struct iscsi_data d = { .size = olen, .data = out };
	struct scsi_task *t;
	int st;

	t = scsi_create_task(16, cdb, olen ? SCSI_XFER_WRITE :
	    (ilen ? SCSI_XFER_READ : SCSI_XFER_NONE), olen ? olen : ilen);
	if (t == NULL ||
	    iscsi_scsi_command_sync(c, lun, t, olen ? &d : NULL) == NULL) {
		fprintf(stderr, "odx-load: %s\n", iscsi_get_error(c));
		exit(1);
	}
	st = t->status;
	if (st != SCSI_STATUS_GOOD)
		fprintf(stderr, "odx-load: opcode %02x/%02x: status %d "
		    "sense %x/%04x\n", cdb[0], cdb[1], st, t->sense.key,
		    t->sense.ascq);
	if (in != NULL && st == SCSI_STATUS_GOOD)
		memcpy(in, t->datain.data, MIN((uint32_t)t->datain.size,
		    ilen));
	scsi_free_scsi_task(t);
	return st == SCSI_STATUS_GOOD ? 0 : -1;
}

static void
limits(struct iscsi_context *c)
{
	struct scsi_task *t = iscsi_inquiry_sync(c, o.dlun, 1, 0x8f, 4096);
	struct scsi_task *rc = iscsi_readcapacity16_sync(c, o.dlun);
	const uint8_t *d;
	size_t off, n;

	if (rc != NULL && rc->status == SCSI_STATUS_GOOD)
		bs = get_be32((const uint8_t *)rc->datain.data + 8);
	if (rc != NULL)
		scsi_free_scsi_task(rc);
	if (t == NULL || t->status != SCSI_STATUS_GOOD) {
		if (t != NULL)
			scsi_free_scsi_task(t);
		return;
	}
	d = t->datain.data;
	n = MIN((size_t)t->datain.size, 4 + (size_t)(d[2] << 8 | d[3]));
	for (off = 4; off + 36 <= n; off += 4 + (d[off + 2] << 8 |
	    d[off + 3]))
		if (d[off] == 0 && d[off + 1] == 0 &&
		    get_be64(d + off + 20) != 0)
			max_token_blocks = get_be64(d + off + 20);
	scsi_free_scsi_task(t);
}

static int
wut(struct iscsi_context *c, const uint8_t *tok, uint64_t lba, uint64_t n)
{
	uint8_t p[536 + 16], cdb[16];

	memset(p, 0, sizeof(p));
	put_be16(p, sizeof(p) - 2);
	memcpy(p + 16, tok, 512);
	put_be16(p + 534, 16);
	put_be64(p + 536, lba);
	put_be32(p + 544, (uint32_t)n);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x83;
	cdb[1] = 0x11;
	put_be32(cdb + 6, list_id++);
	put_be32(cdb + 10, sizeof(p));
	return run(c, o.dlun, cdb, p, sizeof(p), NULL, 0);
}

static int
odx_copy(struct iscsi_context *c)
{
	uint64_t left = o.bytes / bs, s = o.slba, d = o.dlba, n;
	uint8_t p[32], cdb[16], r[1024];
	uint32_t id;

	while (left > 0) {
		n = MIN(left, max_token_blocks);
		n = MIN(n, 0xffffffffu);
		id = list_id++;
		memset(p, 0, sizeof(p));
		put_be16(p, 30);
		put_be16(p + 14, 16);
		put_be64(p + 16, s);
		put_be32(p + 24, (uint32_t)n);
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x83;
		cdb[1] = 0x10;
		put_be32(cdb + 6, id);
		put_be32(cdb + 10, sizeof(p));
		if (run(c, o.slun, cdb, p, sizeof(p), NULL, 0) != 0)
			return -1;
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x84;
		cdb[1] = 0x07;
		put_be32(cdb + 2, id);
		put_be32(cdb + 10, sizeof(r));
		if (run(c, o.slun, cdb, NULL, 0, r, sizeof(r)) != 0 ||
		    get_be32(r + 32 + r[13]) != 514)
			return -1;
		if (wut(c, r + 32 + r[13] + 6, d, n) != 0)
			return -1;
		s += n;
		d += n;
		left -= n;
	}
	return 0;
}

static int
zero_fill(struct iscsi_context *c)
{
	uint64_t left = o.bytes / bs, d = o.dlba, n;
	uint8_t tok[512];

	memset(tok, 0, sizeof(tok));
	put_be32(tok, 0xffff0001u);
	put_be16(tok + 6, 0x1f8);
	while (left > 0) {
		n = MIN(left, 0xffffffffu);
		if (wut(c, tok, d, n) != 0)
			return -1;
		d += n;
		left -= n;
	}
	return 0;
}

/* FNV-1a over a range, read in 1 MiB pieces. */
static uint64_t
sum(struct iscsi_context *c, int lun, uint64_t lba, uint64_t bytes,
    bool *zero)
{
	uint64_t h = 0xcbf29ce484222325ull;
	struct scsi_task *t;
	uint32_t k, i;

	*zero = true;
	while (bytes > 0) {
		k = (uint32_t)MIN(bytes, CHUNK);
		t = iscsi_read16_sync(c, lun, lba, k, bs, 0, 0, 0, 0, 0);
		if (t == NULL || t->status != SCSI_STATUS_GOOD) {
			fprintf(stderr, "odx-load: read failed\n");
			exit(1);
		}
		for (i = 0; i < k; i++) {
			h = (h ^ t->datain.data[i]) * 0x100000001b3ull;
			*zero &= t->datain.data[i] == 0;
		}
		scsi_free_scsi_task(t);
		lba += k / bs;
		bytes -= k;
	}
	return h;
}

int
main(int argc, char **argv)
{
	struct iscsi_context *c;
	struct iscsi_url *u;
	char url[512];
	uint64_t before = 0;
	bool z;
	double t0, t1;
	int ch, rc;

	while ((ch = getopt(argc, argv, "p:t:s:d:S:D:n:m:c")) != -1) {
		switch (ch) {
		case 'p': o.portal = optarg; break;
		case 't': o.target = optarg; break;
		case 's': o.slun = atoi(optarg); break;
		case 'd': o.dlun = atoi(optarg); break;
		case 'S': o.slba = strtoull(optarg, NULL, 0); break;
		case 'D': o.dlba = strtoull(optarg, NULL, 0); break;
		case 'n': o.bytes = strtoull(optarg, NULL, 0); break;
		case 'm': o.mode = optarg; break;
		case 'c': o.check = true; break;
		default:
			fprintf(stderr, "usage: see the source\n");
			return 2;
		}
	}
	if (o.portal == NULL || o.target == NULL || o.bytes == 0)
		return 2;
	c = iscsi_create_context("iqn.2026-11.org.tpcd:odx-load");
	snprintf(url, sizeof(url), "iscsi://%s/%s/%d", o.portal, o.target,
	    o.dlun);
	u = iscsi_parse_full_url(c, url);
	if (u == NULL)
		return 1;
	iscsi_set_session_type(c, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(c, u->portal, u->lun) != 0) {
		fprintf(stderr, "odx-load: login: %s\n", iscsi_get_error(c));
		return 1;
	}
	iscsi_destroy_url(u);
	for (ch = 0; ch < 4; ch++) {
		struct scsi_task *t = iscsi_testunitready_sync(c, o.slun);

		if (t != NULL)
			scsi_free_scsi_task(t);
		t = iscsi_testunitready_sync(c, o.dlun);
		if (t != NULL)
			scsi_free_scsi_task(t);
	}
	limits(c);
	if (o.check && strcmp(o.mode, "odx") == 0)
		before = sum(c, o.slun, o.slba, o.bytes, &z);
	t0 = now();
	rc = strcmp(o.mode, "zero") == 0 ? zero_fill(c) : odx_copy(c);
	t1 = now();
	if (rc == 0 && o.check) {
		uint64_t after = sum(c, o.dlun, o.dlba, o.bytes, &z);

		if (strcmp(o.mode, "zero") == 0 ? !z : after != before) {
			fprintf(stderr, "odx-load: destination differs\n");
			rc = -1;
		}
	}
	if (rc == 0)
		printf("RESULT mode=%s bytes=%" PRIu64 " secs=%.4f mibs=%.1f\n",
		    o.mode, o.bytes, t1 - t0, o.bytes / 1048576.0 / (t1 - t0));
	iscsi_logout_sync(c);
	iscsi_destroy_context(c);
	return rc == 0 ? 0 : 1;
}
