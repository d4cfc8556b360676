/*
 * malformed.c - malformed PDUs over a raw TCP connection after a real
 * login: each must get a Reject PDU or a dropped connection, and the
 * daemon must keep serving a second, well-behaved libiscsi session.
 * Also checks the CRC32C header and data digest path (libiscsi has no
 * DataDigest) with a real write and read back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"
#include "rawpdu.h"

static struct iscsi_context *good;
static uint16_t isid_q = 0x7000;

static bool
raw_open(struct raw_conn *c, bool digests, const char *what)
{
	char err[256];

	if (raw_connect(c, itest_portal(), 5000) != 0) {
		itest_check(false, "%s: TCP connect", what);
		return false;
	}
	if (raw_login(c, ITEST_INIT_B, itest_target(), digests, isid_q++, err,
	    sizeof(err)) != 0) {
		itest_check(false, "%s: raw login: %s", what, err);
		raw_close(c);
		return false;
	}
	return true;
}

static void
still_serving(const char *what)
{
	struct iscsi_context *fresh;

	itest_check(itest_daemon_alive(), "%s: daemon still running", what);
	itest_check(good && itest_clear_ua(good, itest_lun()) == 0,
	    "%s: other session still served", what);
	fresh = itest_connect_default(ITEST_INIT_A);
	itest_check(fresh && itest_clear_ua(fresh, itest_lun()) == 0,
	    "%s: new session accepted and served", what);
	itest_close(fresh);
}

static void
expect_reject_or_drop(struct raw_conn *c, const char *what)
{
	static const char *names[] = { "Reject", "dropped connection",
	    "timeout (no reaction in 5 s)", "unexpected PDU" };
	int reason;
	enum raw_outcome o = raw_expect_reject(c, &reason);

	itest_check(o == RAW_GOT_REJECT || o == RAW_GOT_DROP,
	    "%s: %s (reason/opcode 0x%02x)", what, names[o], reason);
}

static int
rw10(struct raw_conn *c, bool write, uint32_t lba, uint8_t *buf,
    uint32_t len)
{
	uint8_t cdb[10] = { write ? 0x2a : 0x28 };
	uint16_t blocks = (uint16_t)(len / 512);

	raw_put_be32(cdb + 2, lba);
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
	if (write)
		return raw_scsi(c, itest_lun(), cdb, 10, buf, len, NULL, 0);
	return raw_scsi(c, itest_lun(), cdb, 10, NULL, 0, buf, len);
}

static int
tur(struct raw_conn *c)
{
	static const uint8_t cdb[6];
	int i, st = -1;

	for (i = 0; i < 4 && st != 0; i++)	/* consume unit attentions */
		st = raw_scsi(c, itest_lun(), cdb, 6, NULL, 0, NULL, 0);
	return st;
}

static void
test_raw_io(bool digests)
{
	const char *what = digests ? "raw login HeaderDigest+DataDigest=CRC32C"
	    : "raw login, no digests";
	uint32_t len = 192 * 1024;
	uint8_t *w = malloc(len), *r = malloc(len);
	struct raw_conn c;

	if (w == NULL || r == NULL || !raw_open(&c, digests, what))
		goto out;
	itest_check(true, "%s: logged in (MaxRecvDataSegmentLength %u, "
	    "ImmediateData %s)", what, c.max_xmit,
	    c.immediate_data ? "Yes" : "No");
	if (digests)
		itest_check(c.hd && c.dd, "%s: both digests negotiated", what);
	itest_check(tur(&c) == 0, "%s: TEST UNIT READY good", what);
	itest_fill(w, len, digests ? 31 : 30);
	memset(r, 0, len);
	itest_check(rw10(&c, true, digests ? 4096 : 8192, w, len) == 0 &&
	    rw10(&c, false, digests ? 4096 : 8192, r, len) == 0 &&
	    !memcmp(w, r, len), "%s: 192 KiB written and read back%s", what,
	    digests ? ", target digests verified" : "");
	raw_close(&c);
out:
	free(w);
	free(r);
}

static void
test_bad_opcode(void)
{
	const char *what = "bad opcode 0x0f";
	uint8_t bhs[RAW_BHS] = { 0x40 | 0x0f, 0x80 };
	struct raw_conn c;

	if (!raw_open(&c, false, what))
		return;
	raw_put_be32(bhs + 16, 0x4444);
	raw_put_be32(bhs + 24, c.cmdsn);
	raw_put_be32(bhs + 28, c.expstatsn);
	raw_send(&c, bhs, NULL, 0, NULL, 0, RAW_OK);
	expect_reject_or_drop(&c, what);
	raw_close(&c);
	still_serving(what);
}

static void
test_truncated(void)
{
	const char *what = "truncated header then close";
	uint8_t bhs[RAW_BHS];
	static const uint8_t cdb[6];
	struct raw_conn c;

	if (!raw_open(&c, false, what))
		return;
	raw_scsi_bhs(&c, bhs, itest_lun(), cdb, 6, false, false, 0);
	itest_check(raw_send_bytes(&c, bhs, 20) == 0, "%s: 20 of 48 header "
	    "bytes sent", what);
	raw_close(&c);
	usleep(200 * 1000);
	still_serving(what);
}

static void
test_oversized(void)
{
	const char *what = "data segment beyond MaxRecvDataSegmentLength";
	uint8_t bhs[RAW_BHS], cdb[10] = { 0x2a };
	struct raw_conn c;
	uint32_t len;
	uint8_t *buf;

	if (!raw_open(&c, false, what))
		return;
	len = (c.max_xmit + 8192) & ~511U;
	buf = calloc(1, len);
	raw_put_be32(cdb + 2, 0);
	cdb[7] = (uint8_t)((len / 512) >> 8);
	cdb[8] = (uint8_t)(len / 512);
	raw_scsi_bhs(&c, bhs, itest_lun(), cdb, 10, false, true, len);
	raw_send(&c, bhs, NULL, 0, buf, len, RAW_OK);
	expect_reject_or_drop(&c, what);
	raw_close(&c);
	free(buf);
	still_serving(what);
}

static void
test_huge_dsl(void)
{
	const char *what = "DataSegmentLength 16 MiB-1 announced, not sent";
	uint8_t bhs[RAW_BHS] = { 0x40 | RAW_OP_NOP_OUT, 0x80 };
	struct raw_conn c;

	if (!raw_open(&c, false, what))
		return;
	raw_put_be32(bhs + 16, 0x5555);
	raw_put_be32(bhs + 20, 0xffffffffU);
	raw_put_be32(bhs + 24, c.cmdsn);
	raw_put_be32(bhs + 28, c.expstatsn);
	bhs[5] = bhs[6] = bhs[7] = 0xff;
	raw_send_bytes(&c, bhs, RAW_BHS);
	expect_reject_or_drop(&c, what);
	raw_close(&c);
	still_serving(what);
}

static void
test_ahs_garbage(void)
{
	const char *what = "AHS garbage (AHSLength beyond TotalAHSLength)";
	uint8_t bhs[RAW_BHS], ahs[8] = { 0xff, 0xfe, 0x7f, 0x00, 0xde, 0xad,
	    0xbe, 0xef };
	static const uint8_t cdb[6];
	struct raw_conn c;

	if (!raw_open(&c, false, what))
		return;
	raw_scsi_bhs(&c, bhs, itest_lun(), cdb, 6, false, false, 0);
	raw_send(&c, bhs, ahs, sizeof(ahs), NULL, 0, RAW_OK);
	expect_reject_or_drop(&c, what);
	raw_close(&c);
	still_serving(what);
}

static void
test_bad_header_digest(void)
{
	const char *what = "wrong header digest";
	uint8_t bhs[RAW_BHS] = { 0x40 | RAW_OP_NOP_OUT, 0x80 };
	struct raw_conn c;
	int rc;

	if (!raw_open(&c, true, what))
		return;
	if (!c.hd) {
		itest_check(false, "%s: HeaderDigest not negotiated", what);
		raw_close(&c);
		return;
	}
	raw_put_be32(bhs + 16, 0x6666);
	raw_put_be32(bhs + 20, 0xffffffffU);
	raw_put_be32(bhs + 24, c.cmdsn);
	raw_put_be32(bhs + 28, c.expstatsn);
	raw_send(&c, bhs, NULL, 0, NULL, 0, RAW_BAD_HDIGEST);
	/* RFC 7143 7.8: discard the PDU or close the connection. */
	rc = raw_ping(&c, "after", 5);
	itest_check(rc == 0 || rc == -ECONNRESET || rc == -EPIPE,
	    "%s: PDU discarded (next ping answered) or connection dropped "
	    "(%s)", what, rc == 0 ? "ping answered" : strerror(-rc));
	raw_close(&c);
	still_serving(what);
}

static void
test_bad_data_digest(void)
{
	const char *what = "wrong data digest";
	uint8_t bhs[RAW_BHS] = { 0x40 | RAW_OP_NOP_OUT, 0x80 };
	struct raw_conn c;

	if (!raw_open(&c, true, what))
		return;
	if (!c.dd) {
		itest_check(false, "%s: DataDigest not negotiated", what);
		raw_close(&c);
		return;
	}
	raw_put_be32(bhs + 16, 0x7777);
	raw_put_be32(bhs + 20, 0xffffffffU);
	raw_put_be32(bhs + 24, c.cmdsn);
	raw_put_be32(bhs + 28, c.expstatsn);
	raw_send(&c, bhs, NULL, 0, "ping-with-bad-digest", 20,
	    RAW_BAD_DDIGEST);
	expect_reject_or_drop(&c, what);
	raw_close(&c);
	still_serving(what);
}

/* A Text Request (non-immediate) with flags and TTT as given. */
static int
send_text(struct raw_conn *c, uint8_t flags, uint32_t ttt, const char *text,
    uint32_t len)
{
	uint8_t bhs[RAW_BHS] = { 0x04, flags };

	raw_put_be32(bhs + 16, ++c->itt);
	raw_put_be32(bhs + 20, ttt);
	raw_put_be32(bhs + 24, c->cmdsn++);
	raw_put_be32(bhs + 28, c->expstatsn);
	return raw_send(c, bhs, NULL, 0, text, len, RAW_OK);
}

/* READ(10) of len bytes; the largest Data-In segment in *max_seg. */
static int
read_segments(struct raw_conn *c, uint32_t len, uint32_t *max_seg)
{
	uint8_t cdb[10] = { 0x28 }, bhs[RAW_BHS];
	struct raw_pdu pdu;
	int rc, st = -1;

	*max_seg = 0;
	cdb[7] = (uint8_t)(len / 512 >> 8);
	cdb[8] = (uint8_t)(len / 512);
	raw_scsi_bhs(c, bhs, itest_lun(), cdb, 10, true, false, len);
	if ((rc = raw_send(c, bhs, NULL, 0, NULL, 0, RAW_OK)) != 0)
		return rc;
	for (;;) {
		if ((rc = raw_recv(c, &pdu)) != 0)
			return rc;
		if ((pdu.bhs[0] & 0x3f) == RAW_OP_DATA_IN) {
			if (pdu.dlen > *max_seg)
				*max_seg = pdu.dlen;
			if (pdu.bhs[1] & 0x01)
				st = pdu.bhs[3];
		} else if ((pdu.bhs[0] & 0x3f) == RAW_OP_SCSI_RSP) {
			st = pdu.bhs[3];
		}
		raw_pdu_free(&pdu);
		if (st >= 0)
			return st;
	}
}

/* Text Requests in full feature phase: MaxRecvDataSegmentLength declared
 * again takes effect for later Data-In; malformed requests get a Reject
 * and the session goes on. */
static void
test_text_ffp(void)
{
	static const char mrdsl[] = "MaxRecvDataSegmentLength=4096";
	const char *what = "text in full feature phase";
	struct raw_conn c;
	struct raw_pdu pdu;
	enum raw_outcome o;
	uint32_t seg;
	int reason, rc;

	if (!raw_open(&c, false, what))
		return;
	itest_check(tur(&c) == 0, "%s: TEST UNIT READY good", what);
	rc = read_segments(&c, 64 * 1024, &seg);
	itest_check(rc == 0 && seg > 4096, "%s: 64 KiB READ before: Data-In "
	    "segments up to %u", what, seg);
	rc = send_text(&c, 0x80, 0xffffffff, mrdsl, sizeof(mrdsl));
	if (rc == 0)
		rc = raw_recv(&c, &pdu);
	itest_check(rc == 0 && (pdu.bhs[0] & 0x3f) == 0x24 &&
	    (pdu.bhs[1] & 0x80), "%s: Text Response to "
	    "MaxRecvDataSegmentLength=4096", what);
	if (rc == 0)
		raw_pdu_free(&pdu);
	rc = read_segments(&c, 64 * 1024, &seg);
	itest_check(rc == 0 && seg <= 4096 && seg > 0, "%s: 64 KiB READ "
	    "after: Data-In segments up to %u", what, seg);

	send_text(&c, 0xc0, 0xffffffff, mrdsl, sizeof(mrdsl));
	o = raw_expect_reject(&c, &reason);
	itest_check(o == RAW_GOT_REJECT && reason == 0x04, "%s: F and C both set: Reject, protocol error "
	    "(0x%02x)", what, reason);
	send_text(&c, 0x80, 0x12345678, "", 0);
	o = raw_expect_reject(&c, &reason);
	itest_check(o == RAW_GOT_REJECT && reason == 0x09, "%s: unknown TTT: Reject, invalid PDU field "
	    "(0x%02x)", what, reason);
	send_text(&c, 0x80, 0xffffffff, "garbage-without-equals", 23);
	o = raw_expect_reject(&c, &reason);
	itest_check(o == RAW_GOT_REJECT && reason == 0x04, "%s: text that does not parse: Reject, protocol "
	    "error (0x%02x)", what, reason);
	itest_check(tur(&c) == 0, "%s: session still serves commands", what);
	raw_close(&c);
	still_serving(what);
}

int
main(void)
{
	itest_begin("malformed", 240);
	good = itest_connect_default(ITEST_INIT_A);
	itest_check(good != NULL, "well-behaved libiscsi session logged in");
	if (good)
		itest_clear_ua(good, itest_lun());

	test_raw_io(false);
	test_raw_io(true);
	test_bad_opcode();
	test_truncated();
	test_oversized();
	test_huge_dsl();
	test_ahs_garbage();
	test_bad_header_digest();
	test_bad_data_digest();
	test_text_ffp();
	itest_close(good);
	return itest_end();
}
