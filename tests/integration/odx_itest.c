/*
 * odx_itest.c - ODX (POPULATE TOKEN / WRITE USING TOKEN / RRTI / REPORT
 * ALL ROD TOKENS) against a real tpcd (conf/odx.json), raw CDBs through
 * libiscsi.  Data is checked by checksums of whole ranges.
 *
 * Usage: odx_itest [all|save FILE|restart FILE|flood]
 *   all       every functional and error test (default);
 *   save      PT one token, store it in FILE (for the restart test);
 *   restart   WUT with the token in FILE: the registry is gone after the
 *             restart, so TOKEN UNKNOWN (23/04) -- its MAC still verifies
 *             because the key persists in the state directory;
 *   flood     ROD_MAX_TOKENS + 1 tokens: the last one gets 55/0D.
 *
 * Modes for odx_scope.sh (conf/odx_scope.json: two targets on one portal,
 * "wide" with TPG attribute tpcd_token_scope "target", "narrow" with the
 * default "nexus"; LUNs 0 ssrc, 1 sdst, 2 sgone for init-a, init-b maps
 * only sdst as its LUN 0):
 *   scope            who may use and who sees (REPORT ALL ROD TOKENS) a
 *                    token under each scope; tokens survive a LUN RESET;
 *   sweep            a token with a 1 s inactivity timeout, left alone
 *                    (odx_scope.sh checks the log for the sweep);
 *   reload-save DIR  tokens on sgone and ssrc of the wide target, saved;
 *   reload-check DIR after a reload that removes sgone, resizes ssrc and
 *                    makes "narrow" target-wide: both saved tokens are
 *                    revoked (23/06), and init-b may now use a narrow
 *                    target token.
 *
 * LUNs for init-a (target iqn.2026-11.org.tpcd:odx): 0 src fileio 64 MiB,
 * 1 dst fileio 64 MiB, 2 zer fileio 64 MiB, 3 mem 16 MiB, 4 xsrc and
 * 5 xdst fileio 64 MiB on a reflink filesystem when odx.sh could mount
 * one (else beside the others), 6 fileio 16 MiB with 4096-byte blocks,
 * 7 big fileio 2 GiB (COPY OPERATION ABORT, ABORT TASK of a WUT).  init-b maps only tpg LUN 1 (as its LUN 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define ODX_T	"iqn.2026-11.org.tpcd:odx"
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define BS	512u
#define L_SRC	0
#define L_DST	1
#define L_ZER	2
#define L_MEM	3
#define L_XSRC	4
#define L_XDST	5
#define L_4K	6
#define L_BIG	7

#define ROD_PIT_DEFAULT	0x00800000u
#define ROD_PIT_VULN	0x00800001u
#define ROD_ZERO	0xffff0001u

struct range {
	uint64_t lba;
	uint32_t n;
};

static uint32_t next_id = 0x1000;

static const char *
rs(const struct itest_res *r)
{
	static char b[64];

	snprintf(b, sizeof(b), "status %d %x/%02x/%02x%s%d", r->status,
	    r->key, r->asc, r->ascq, r->sksv ? " field " : " -", r->field);
	return b;
}

/* --- commands --- */

static void
cdb_out(uint8_t *c, uint8_t sa, uint32_t list_id, uint32_t len)
{
	memset(c, 0, 16);
	c[0] = 0x83;
	c[1] = sa;
	itest_put32(c + 6, list_id);
	itest_put32(c + 10, len);
}

static int
pt(struct iscsi_context *ctx, int lun, uint32_t list_id, bool immed,
    uint32_t timeout, bool rtv, uint32_t rod_type, const struct range *r,
    unsigned int n, struct itest_res *res)
{
	uint8_t p[16 + 16 * 128], c[16];
	size_t len = 16 + 16 * (size_t)n;
	unsigned int i;

	memset(p, 0, sizeof(p));
	itest_put16(p, (uint32_t)(len - 2));
	p[2] = (uint8_t)((rtv ? 0x02 : 0) | (immed ? 0x01 : 0));
	itest_put32(p + 4, timeout);
	itest_put32(p + 8, rod_type);
	itest_put16(p + 14, 16 * n);
	for (i = 0; i < n; i++) {
		itest_put64(p + 16 + 16 * i, r[i].lba);
		itest_put32(p + 16 + 16 * i + 8, r[i].n);
	}
	cdb_out(c, 0x10, list_id, (uint32_t)len);
	return itest_cmd(ctx, lun, c, p, (uint32_t)len, 0, res);
}

static int
wut(struct iscsi_context *ctx, int lun, uint32_t list_id, bool immed,
    bool del, uint64_t offset, const uint8_t *tok, const struct range *r,
    unsigned int n, struct itest_res *res)
{
	static uint8_t p[536 + 16 * 128];
	size_t len = 536 + 16 * (size_t)n;
	uint8_t c[16];
	unsigned int i;

	memset(p, 0, sizeof(p));
	itest_put16(p, (uint32_t)(len - 2));
	p[2] = (uint8_t)((del ? 0x02 : 0) | (immed ? 0x01 : 0));
	itest_put64(p + 8, offset);
	memcpy(p + 16, tok, 512);
	itest_put16(p + 534, 16 * n);
	for (i = 0; i < n; i++) {
		itest_put64(p + 536 + 16 * i, r[i].lba);
		itest_put32(p + 536 + 16 * i + 8, r[i].n);
	}
	cdb_out(c, 0x11, list_id, (uint32_t)len);
	return itest_cmd(ctx, lun, c, p, (uint32_t)len, 0, res);
}

/* RRTI: returns the COPY OPERATION STATUS (-1 on failure), the count and
 * units, the token when one came back. */
struct rrti {
	int	 cos;
	int	 sa;
	int	 units;
	uint64_t count;
	bool	 has_token;
	uint8_t	 token[512];
	uint8_t	 sense_key, asc, ascq;
};

static int
rrti(struct iscsi_context *ctx, int lun, uint32_t list_id, struct rrti *o,
    struct itest_res *res)
{
	uint8_t c[16];
	unsigned int x;

	memset(o, 0, sizeof(*o));
	memset(c, 0, sizeof(c));
	c[0] = 0x84;
	c[1] = 0x07;
	itest_put32(c + 2, list_id);
	itest_put32(c + 10, 4096);
	if (itest_cmd(ctx, lun, c, NULL, 0, 4096, res) != 0 ||
	    res->status != SCSI_STATUS_GOOD || res->data_len < 32) {
		o->cos = -1;
		return -1;
	}
	o->sa = res->data[4] & 0x1f;
	o->cos = res->data[5] & 0x7f;
	o->units = res->data[15];
	o->count = itest_be64(res->data + 16);
	x = res->data[13];
	if (res->data[14] >= 14) {
		const uint8_t *s = res->data + 32;

		if ((s[0] & 0x7f) >= 0x72) {
			o->sense_key = s[1] & 0x0f;
			o->asc = s[2];
			o->ascq = s[3];
		} else {
			o->sense_key = s[2] & 0x0f;
			o->asc = s[12];
			o->ascq = s[13];
		}
	}
	if ((size_t)res->data_len >= 32 + x + 4 &&
	    itest_be32(res->data + 32 + x) == 514 &&
	    (size_t)res->data_len >= 32 + x + 6 + 512) {
		o->has_token = true;
		memcpy(o->token, res->data + 32 + x + 6, 512);
	}
	return 0;
}

/* PT and RRTI in one: the token or false. */
static bool
make_token(struct iscsi_context *ctx, int lun, const struct range *r,
    unsigned int n, uint32_t timeout, uint8_t *tok)
{
	struct itest_res res;
	struct rrti ri;
	uint32_t id = next_id++;

	pt(ctx, lun, id, false, timeout, false, 0, r, n, &res);
	if (res.status != SCSI_STATUS_GOOD) {
		itest_check(false, "PT LUN %d: %s", lun, rs(&res));
		return false;
	}
	rrti(ctx, lun, id, &ri, &res);
	if (ri.cos != 1 || !ri.has_token) {
		itest_check(false, "RRTI after PT: cos %d token %d", ri.cos,
		    ri.has_token);
		return false;
	}
	memcpy(tok, ri.token, 512);
	return true;
}

/* --- data helpers --- */

static uint64_t
fnv(const uint8_t *b, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Checksum of the concatenation of ranges of a LU (block size bs). */
static uint64_t
sum_ranges(struct iscsi_context *ctx, int lun, const struct range *r,
    unsigned int n, uint32_t bs, uint64_t skip_bytes, uint64_t max_bytes)
{
	uint64_t h = 0xcbf29ce484222325ull, left = max_bytes;
	unsigned int i;
	uint8_t *b = malloc(1 << 20);
	uint32_t chunk, nb;
	uint64_t lba, end;

	for (i = 0; i < n && left > 0; i++) {
		lba = r[i].lba;
		end = r[i].lba + r[i].n;
		if (skip_bytes >= (uint64_t)r[i].n * bs) {
			skip_bytes -= (uint64_t)r[i].n * bs;
			continue;
		}
		lba += skip_bytes / bs;
		skip_bytes = 0;
		while (lba < end && left > 0) {
			nb = (uint32_t)MIN(end - lba, (1u << 20) / bs);
			chunk = (uint32_t)MIN((uint64_t)nb * bs, left);
			nb = chunk / bs;
			if (itest_read(ctx, lun, lba, b, nb * bs, bs) != 0) {
				itest_check(false, "read LUN %d LBA %llu",
				    lun, (unsigned long long)lba);
				free(b);
				return 0;
			}
			h = fnv(b, nb * bs, h);
			lba += nb;
			left -= (uint64_t)nb * bs;
		}
	}
	free(b);
	return h;
}

static void
fill(struct iscsi_context *ctx, int lun, uint64_t lba, uint32_t n,
    uint32_t bs, uint64_t seed)
{
	uint8_t *b = malloc(1 << 20);
	uint32_t k;

	while (n > 0) {
		k = MIN(n, (1u << 20) / bs);
		itest_fill(b, (size_t)k * bs, seed + lba);
		if (itest_write(ctx, lun, lba, b, k * bs, bs) != 0)
			itest_check(false, "write LUN %d", lun);
		lba += k;
		n -= k;
	}
	free(b);
}

static bool
all_zero(struct iscsi_context *ctx, int lun, uint64_t lba, uint32_t n)
{
	uint8_t *b = malloc(1 << 20);
	uint32_t k, i;
	bool z = true;

	while (n > 0 && z) {
		k = MIN(n, (1u << 20) / BS);
		if (itest_read(ctx, lun, lba, b, k * BS, BS) != 0)
			z = false;
		for (i = 0; z && i < k * BS; i++)
			z = b[i] == 0;
		lba += k;
		n -= k;
	}
	free(b);
	return z;
}

static struct iscsi_context *
login_t(const char *init, const char *target)
{
	struct itest_login l = { .initiator = init, .target = target,
	    .immediate_data = -1, .initial_r2t = -1 };
	const char *err = NULL;
	struct iscsi_context *c = itest_connect(&l, &err);
	int i;

	if (c == NULL) {
		itest_check(false, "login %s: %s", init, err ? err : "?");
		exit(itest_end());
	}
	for (i = 0; i < 8; i++)
		itest_clear_ua(c, i);
	return c;
}

static struct iscsi_context *
login(const char *init)
{
	return login_t(init, ODX_T);
}

/* --- tests --- */

static void
t_vpd(struct iscsi_context *a)
{
	struct scsi_task *t = iscsi_inquiry_sync(a, L_SRC, 1, 0x8f, 4096);
	const uint8_t *d;
	size_t n, off;
	bool lim = false, types = false, feat = false;

	if (t == NULL || t->status != SCSI_STATUS_GOOD) {
		itest_check(false, "VPD 8Fh");
		if (t != NULL)
			scsi_free_scsi_task(t);
		return;
	}
	d = t->datain.data;
	n = MIN((size_t)t->datain.size, 4 + (size_t)itest_be16(d + 2));
	for (off = 4; off + 4 <= n; off += 4 + itest_be16(d + off + 2)) {
		uint16_t ty = itest_be16(d + off);

		if (ty == 0x0000) {
			lim = itest_be16(d + off + 2) == 0x20 &&
			    itest_be16(d + off + 10) == 64 &&
			    itest_be64(d + off + 20) == (1ull << 30) / BS;
		} else if (ty == 0x0106) {
			feat = true;
		} else if (ty == 0x0108) {
			types = itest_be32(d + off + 8 + 64) == ROD_PIT_VULN &&
			    (d[off + 8 + 64 + 4] & 0x03) == 0x03;
		}
	}
	itest_check(lim && feat && types && off == n,
	    "VPD 8Fh: 0000h limits, 0106h, 0108h (change vulnerable in/out)");
	scsi_free_scsi_task(t);
}

static void
t_copies(struct iscsi_context *a)
{
	struct range s[2] = { { 100, 300 }, { 5000, 212 } };
	struct range d[3] = { { 200, 100 }, { 9000, 256 }, { 20000, 156 } };
	struct range d2[1] = { { 40000, 512 } };
	uint8_t tok[512];
	struct itest_res r;
	struct rrti ri;
	uint64_t hs;
	uint32_t id;

	fill(a, L_SRC, 0, 65536, BS, 11);
	hs = sum_ranges(a, L_SRC, s, 2, BS, 0, UINT64_MAX);
	/* PT -> RRTI */
	id = next_id++;
	pt(a, L_SRC, id, false, 0, false, 0, s, 2, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "PT 2 ranges: %s", rs(&r));
	rrti(a, L_SRC, id, &ri, &r);
	itest_check(ri.cos == 1 && ri.sa == 0x10 && ri.units == 0xf1 &&
	    ri.count == 512 && ri.has_token, "RRTI of PT: cos %d sa %x "
	    "units %x count %llu token %d", ri.cos, ri.sa, ri.units,
	    (unsigned long long)ri.count, ri.has_token);
	memcpy(tok, ri.token, 512);
	itest_check(itest_be16(tok + 6) == 0x1f8 && itest_be64(tok + 48 + 8) ==
	    512 * BS && tok[16] == 0xe4, "token: length 01F8h, %u bytes "
	    "represented, creator E4h", 512 * BS);
	/* WUT across LUs, 3 destination ranges */
	id = next_id++;
	wut(a, L_DST, id, false, false, 0, tok, d, 3, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "WUT 2 -> 3 ranges: %s",
	    rs(&r));
	rrti(a, L_DST, id, &ri, &r);
	itest_check(ri.cos == 1 && ri.sa == 0x11 && ri.units == 0xf1 &&
	    ri.count == 512 && !ri.has_token, "RRTI of WUT: cos %d count "
	    "%llu, no token", ri.cos, (unsigned long long)ri.count);
	itest_check(sum_ranges(a, L_DST, d, 3, BS, 0, UINT64_MAX) == hs,
	    "destination ranges hold the ROD (checksum)");
	/* within one LU */
	wut(a, L_SRC, next_id++, false, false, 0, tok, d2, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD &&
	    sum_ranges(a, L_SRC, d2, 1, BS, 0, UINT64_MAX) == hs,
	    "WUT within the source LU: %s", rs(&r));
	/* offset into ROD: 150 blocks in */
	wut(a, L_DST, next_id++, false, false, 150, tok, d2, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD &&
	    sum_ranges(a, L_DST, d2, 1, BS, 0, 362 * BS) ==
	    sum_ranges(a, L_SRC, s, 2, BS, 150 * BS, 362 * BS),
	    "OFFSET INTO ROD 150: destination = ROD from block 150: %s",
	    rs(&r));
	/* ROD ends before the destination ranges: partial (03h) */
	id = next_id++;
	wut(a, L_DST, id, false, false, 150, tok, d2, 1, &r);
	rrti(a, L_DST, id, &ri, &r);
	itest_check(ri.cos == 3 && ri.count == 362, "destination longer "
	    "than the ROD: status 03h, count %llu (362)",
	    (unsigned long long)ri.count);
	/* offset at the end of the ROD */
	wut(a, L_DST, next_id++, false, false, 512, tok, d2, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x00) && r.sksv && r.field == 8,
	    "OFFSET INTO ROD past the ROD: 26/00 field 8: %s", rs(&r));
	/* across backstores: mem -> file and file -> mem */
	fill(a, L_MEM, 0, 4096, BS, 33);
	{
		struct range m[1] = { { 1000, 2000 } }, f[1] = { { 30000,
		    2000 } };

		if (make_token(a, L_MEM, m, 1, 0, tok)) {
			wut(a, L_DST, next_id++, false, false, 0, tok, f, 1,
			    &r);
			itest_check(r.status == SCSI_STATUS_GOOD &&
			    sum_ranges(a, L_DST, f, 1, BS, 0, UINT64_MAX) ==
			    sum_ranges(a, L_MEM, m, 1, BS, 0, UINT64_MAX),
			    "mem -> fileio: %s", rs(&r));
		}
		if (make_token(a, L_SRC, f, 1, 0, tok)) {
			wut(a, L_MEM, next_id++, false, false, 0, tok, m, 1,
			    &r);
			itest_check(r.status == SCSI_STATUS_GOOD &&
			    sum_ranges(a, L_MEM, m, 1, BS, 0, UINT64_MAX) ==
			    sum_ranges(a, L_SRC, f, 1, BS, 0, UINT64_MAX),
			    "fileio -> mem: %s", rs(&r));
		}
	}
	/* 512-byte blocks -> 4096-byte blocks */
	{
		struct range f[1] = { { 8, 64 } }, k[1] = { { 100, 8 } };

		if (make_token(a, L_SRC, f, 1, 0, tok)) {
			wut(a, L_4K, next_id++, false, false, 0, tok, k, 1,
			    &r);
			itest_check(r.status == SCSI_STATUS_GOOD &&
			    sum_ranges(a, L_4K, k, 1, 4096, 0, UINT64_MAX) ==
			    sum_ranges(a, L_SRC, f, 1, BS, 0, UINT64_MAX),
			    "512 -> 4096 byte blocks: %s", rs(&r));
		}
	}
}

static void
t_sessions(struct iscsi_context *a)
{
	struct range s[1] = { { 2048, 1024 } }, d[1] = { { 4096, 1024 } },
	    d2[1] = { { 8192, 1024 } };
	struct iscsi_context *a2, *b;
	uint8_t tok[512];
	struct itest_res r;

	if (!make_token(a, L_SRC, s, 1, 0, tok))
		return;
	a2 = login(ITEST_INIT_A);
	wut(a, L_DST, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "WUT, session 1: %s",
	    rs(&r));
	wut(a2, L_DST, next_id++, false, false, 0, tok, d2, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD &&
	    sum_ranges(a2, L_DST, d2, 1, BS, 0, UINT64_MAX) ==
	    sum_ranges(a2, L_SRC, s, 1, BS, 0, UINT64_MAX),
	    "the same token from a second session: %s", rs(&r));
	/* init-b does not map the source LU: revoked for it */
	b = login(ITEST_INIT_B);
	wut(b, 0, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x06), "session without the "
	    "source LU in its map: TOKEN REVOKED 23/06: %s", rs(&r));
	itest_close(b);
	/* DEL_TKN: works once, then TOKEN DELETED */
	wut(a2, L_DST, next_id++, false, true, 0, tok, d, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "WUT with DEL_TKN: %s",
	    rs(&r));
	wut(a, L_DST, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x09), "after DEL_TKN: TOKEN "
	    "DELETED 23/09: %s", rs(&r));
	itest_close(a2);
}

static void
t_immed_abort(struct iscsi_context *a)
{
	struct range s[1] = { { 0, 65536 } }, d[1] = { { 0, 65536 } };
	struct range bs[2] = { { 0, 1048576 }, { 1048576, 1048576 } };
	struct range bd[1] = { { 2097152, 2097152 } };
	uint8_t tok[512];
	struct itest_res r;
	struct rrti ri;
	uint32_t id;
	int polls = 0, i;

	/* IMMED: GOOD at once, RRTI polled until done */
	if (!make_token(a, L_SRC, s, 1, 0, tok))
		return;
	id = next_id++;
	wut(a, L_DST, id, true, false, 0, tok, d, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "WUT IMMED: %s", rs(&r));
	for (i = 0; i < 3000; i++) {
		rrti(a, L_DST, id, &ri, &r);
		if (ri.cos != 0x12 && ri.cos != 0x11)
			break;
		polls++;
		usleep(10000);
	}
	itest_check(ri.cos == 1 && ri.count == 65536, "RRTI polled %d times "
	    "until done: cos %d count %llu", polls, ri.cos,
	    (unsigned long long)ri.count);
	itest_check(sum_ranges(a, L_DST, d, 1, BS, 0, UINT64_MAX) ==
	    sum_ranges(a, L_SRC, s, 1, BS, 0, UINT64_MAX),
	    "IMMED copy data (32 MiB)");
	/* a list ID in use: 00/16 */
	fill(a, L_BIG, 0, 2048, BS, 44);
	if (!make_token(a, L_BIG, bs, 2, 0, tok))
		return;
	id = next_id++;
	wut(a, L_DST, id, true, false, 0, tok, d, 1, &r);
	wut(a, L_DST, id, false, false, 0, tok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x00, 0x16) ||
	    r.status == SCSI_STATUS_GOOD, "same list ID while active: "
	    "OPERATION IN PROGRESS 00/16 (or already done): %s", rs(&r));
	for (i = 0; i < 3000; i++) {
		rrti(a, L_DST, id, &ri, &r);
		if (ri.cos != 0x12 && ri.cos != 0x11)
			break;
		usleep(10000);
	}
	/* abort of a 1 GiB WUT in flight: 60h */
	id = next_id++;
	wut(a, L_BIG, id, true, false, 0, tok, bd, 1, &r);
	{
		uint8_t c[16];

		memset(c, 0, sizeof(c));
		c[0] = 0x83;
		c[1] = 0x1c;
		itest_put32(c + 2, id);
		usleep(20000);
		itest_cmd(a, L_BIG, c, NULL, 0, 0, &r);
	}
	itest_check(r.status == SCSI_STATUS_GOOD || itest_sense_is(&r, 5, 0x24, 0),
	    "COPY OPERATION ABORT of the running WUT: %s", rs(&r));
	for (i = 0; i < 3000; i++) {
		rrti(a, L_BIG, id, &ri, &r);
		if (ri.cos != 0x12 && ri.cos != 0x11)
			break;
		usleep(10000);
	}
	itest_check(ri.cos == 0x60 && ri.count < 2097152, "aborted WUT: "
	    "status 60h after %llu of 2097152 blocks",
	    (unsigned long long)ri.count);
}

/* ABORT TASK of a running non-IMMED 1 GiB WRITE USING TOKEN: the TMF
 * answers at once, the command gets no GOOD, RRTI shows 60h. */
static void
wut_tmf_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	int *s = priv;

	(void)ctx;
	s[0] = 1;
	s[1] = status;
	if (data != NULL)
		s[2] = (int)*(uint32_t *)data;
}

static void
wut_cmd_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	int *s = priv;

	(void)ctx;
	s[0] = 1;
	s[1] = status;
	scsi_free_scsi_task(data);
}

static void
t_tmf_wut(struct iscsi_context *a)
{
	static uint8_t p[536 + 16];
	static struct iscsi_data d;
	static int st[2];		/* done, status: may come late */
	const struct range s = { 0, 2097152 }, dr = { 2097152, 2097152 };
	int tmf[3] = { 0, 0, -1 };	/* done, status, response */
	struct scsi_task *t;
	struct timespec t0, t1;
	uint8_t tok[512], c[16];
	struct itest_res r;
	struct rrti ri;
	uint32_t id;
	double lat;
	int i;

	if (!make_token(a, L_BIG, &s, 1, 0, tok))
		return;
	id = next_id++;
	memset(p, 0, sizeof(p));
	itest_put16(p, sizeof(p) - 2);
	memcpy(p + 16, tok, 512);
	itest_put16(p + 534, 16);
	itest_put64(p + 536, dr.lba);
	itest_put32(p + 536 + 8, dr.n);
	cdb_out(c, 0x11, id, sizeof(p));
	t = scsi_create_task(16, c, SCSI_XFER_WRITE, sizeof(p));
	d.data = p;
	d.size = sizeof(p);
	if (t == NULL || iscsi_scsi_command_async(a, L_BIG, t, wut_cmd_cb,
	    &d, st) != 0) {
		itest_check(false, "tmf: WUT sent");
		return;
	}
	(void)itest_wait(a, &st[0], 100);
	itest_check(!st[0], "tmf: 1 GiB non-IMMED WUT running");
	if (st[0])
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (iscsi_task_mgmt_abort_task_async(a, t, wut_tmf_cb, tmf) != 0 ||
	    itest_wait(a, &tmf[0], 60000) != 0)
		tmf[0] = 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	itest_check(tmf[0] && tmf[1] == SCSI_STATUS_GOOD &&
	    tmf[2] == ISCSI_TMR_FUNC_COMPLETE,
	    "tmf: ABORT TASK of the WUT: function complete (%d)", tmf[2]);
	lat = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	(void)itest_wait(a, &st[0], 1000);
	itest_check(!st[0] || st[1] != SCSI_STATUS_GOOD,
	    "tmf: aborted WUT not GOOD (%s)", st[0] ? "answered" :
	    "no response");
	if (!st[0])	/* unanswered (TAS=0): calls back, frees t */
		(void)iscsi_scsi_cancel_task(a, t);
	for (i = 0; i < 3000; i++) {
		rrti(a, L_BIG, id, &ri, &r);
		if (ri.cos != 0x12 && ri.cos != 0x11)
			break;
		usleep(10000);
	}
	itest_check(ri.cos == 0x60 && ri.count < 2097152, "tmf: aborted WUT "
	    "answered in %.3f s: RRTI 60h after %llu of 2097152 blocks", lat,
	    (unsigned long long)ri.count);
	itest_check(itest_clear_ua(a, L_BIG) == 0 && itest_daemon_alive(),
	    "tmf: LUN serves commands after the aborted WUT");
}

static void
t_zero(struct iscsi_context *a)
{
	struct range d[2] = { { 1000, 3000 }, { 100000, 20000 } };
	uint8_t tok[512];
	struct itest_res r;
	struct rrti ri;
	uint32_t id = next_id++;

	fill(a, L_ZER, 0, 131072, BS, 55);
	memset(tok, 0, sizeof(tok));
	itest_put32(tok, ROD_ZERO);
	itest_put16(tok + 6, 0x1f8);
	wut(a, L_ZER, id, false, false, 0, tok, d, 2, &r);
	rrti(a, L_ZER, id, &ri, &r);
	itest_check(ri.cos == 1 && ri.count == 23000, "zero ROD token WUT: "
	    "cos %d count %llu", ri.cos, (unsigned long long)ri.count);
	itest_check(all_zero(a, L_ZER, 1000, 3000) &&
	    all_zero(a, L_ZER, 100000, 20000) &&
	    !all_zero(a, L_ZER, 4000, 8), "zeroed exactly the ranges");
	/* on the mem LU too (write zeroes, no punch) */
	d[0].lba = 10;
	d[0].n = 100;
	wut(a, L_MEM, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD &&
	    all_zero(a, L_MEM, 10, 100), "zero token on mem: %s", rs(&r));
}

/* Every single-byte change of a valid token is refused. */
static void
t_tamper(struct iscsi_context *a)
{
	struct range s[1] = { { 0, 8 } }, d[1] = { { 50000, 8 } };
	uint8_t tok[512], bad[512];
	struct itest_res r;
	unsigned int i, ok = 0, wrong = 0, expect;

	if (!make_token(a, L_SRC, s, 1, 300, tok))
		return;
	for (i = 0; i < 512; i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[i] ^= 0xff;
		wut(a, L_DST, next_id++, false, false, 0, bad, d, 1, &r);
		if (i < 4)
			expect = 0x01;		/* not a type we issue */
		else if (i == 6 || i == 7)
			expect = 0x0a;		/* token length */
		else
			expect = 0x05;		/* MAC: corrupt */
		if (itest_sense_is(&r, 5, 0x23, (int)expect))
			ok++;
		else if (wrong++ < 5)
			itest_note("byte %u: %s (want 23/%02x)", i, rs(&r),
			    expect);
	}
	itest_check(ok == 512, "512 tampered tokens rejected with the exact "
	    "sense (%u ok)", ok);
	wut(a, L_DST, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "the untouched token still "
	    "works: %s", rs(&r));
}

static void
t_errors(struct iscsi_context *a)
{
	struct range s[1] = { { 0, 64 } }, d[1] = { { 60000, 64 } };
	struct range many[65], ov[2] = { { 0, 10 }, { 5, 10 } };
	struct range past[1] = { { 131072 - 10, 20 } };
	uint8_t tok[512], c[16], p[64];
	struct itest_res r;
	struct rrti ri;
	unsigned int i;
	uint32_t id;

	for (i = 0; i < 65; i++) {
		many[i].lba = 100 * i;
		many[i].n = 1;
	}
	pt(a, L_SRC, next_id++, false, 0, false, 0, many, 65, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x08), "PT 65 ranges: 26/08: %s",
	    rs(&r));
	pt(a, L_SRC, next_id++, false, 0, false, 0, past, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x21, 0x00), "PT past the end: 21/00: "
	    "%s", rs(&r));
	pt(a, L_SRC, next_id++, false, 0, false, 0, ov, 2, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x00) && r.field == 32,
	    "PT overlapping ranges: 26/00 field 32: %s", rs(&r));
	pt(a, L_SRC, next_id++, false, 301, false, 0, s, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x00) && r.field == 4,
	    "PT inactivity timeout 301: 26/00 field 4: %s", rs(&r));
	pt(a, L_SRC, next_id++, false, 0, true, 0x00010000, s, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x00) && r.field == 8,
	    "PT RTV access-upon-reference: 26/00 field 8: %s", rs(&r));
	pt(a, L_SRC, next_id++, false, 0, true, ROD_PIT_VULN, s, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "PT RTV change "
	    "vulnerable: %s", rs(&r));
	/* short list */
	memset(p, 0, sizeof(p));
	cdb_out(c, 0x10, next_id++, 10);
	itest_cmd(a, L_SRC, c, p, 10, 0, &r);
	itest_check(itest_sense_is(&r, 5, 0x1a, 0x00), "PT 10-byte list: 1A/00: "
	    "%s", rs(&r));
	/* RRTI of an unknown list ID */
	rrti(a, L_SRC, 0xdead0001, &ri, &r);
	memset(c, 0, sizeof(c));
	c[0] = 0x84;
	c[1] = 0x07;
	itest_put32(c + 2, 0xdead0001);
	itest_put32(c + 10, 1024);
	itest_cmd(a, L_SRC, c, NULL, 0, 1024, &r);
	itest_check(itest_sense_is(&r, 5, 0x24, 0x00) && r.field == 2,
	    "RRTI unknown list ID: 24/00 field 2: %s", rs(&r));
	/* WUT checks */
	if (!make_token(a, L_SRC, s, 1, 0, tok))
		return;
	wut(a, L_DST, next_id++, false, false, 0, tok, many, 65, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x08), "WUT 65 ranges: 26/08: %s",
	    rs(&r));
	wut(a, L_DST, next_id++, false, false, 0, tok, past, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x21, 0x00), "WUT past the end: 21/00: "
	    "%s", rs(&r));
	wut(a, L_DST, next_id++, false, false, 0, tok, ov, 2, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x00), "WUT overlapping: 26/00: "
	    "%s", rs(&r));
	/* expired: 1 s inactivity timeout */
	if (make_token(a, L_SRC, s, 1, 1, tok)) {
		sleep(3);
		wut(a, L_DST, next_id++, false, false, 0, tok, d, 1, &r);
		itest_check(itest_sense_is(&r, 5, 0x23, 0x07), "after the "
		    "inactivity timeout: TOKEN EXPIRED 23/07: %s", rs(&r));
	}
	/* cancelled: COPY OPERATION ABORT of the completed PT */
	id = next_id++;
	pt(a, L_SRC, id, false, 0, false, 0, s, 1, &r);
	rrti(a, L_SRC, id, &ri, &r);
	memset(c, 0, sizeof(c));
	c[0] = 0x83;
	c[1] = 0x1c;
	itest_put32(c + 2, id);
	itest_cmd(a, L_SRC, c, NULL, 0, 0, &r);
	itest_check(r.status == SCSI_STATUS_GOOD, "COPY OPERATION ABORT of "
	    "a completed PT: %s", rs(&r));
	wut(a, L_DST, next_id++, false, false, 0, ri.token, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x08), "cancelled token: 23/08: "
	    "%s", rs(&r));
	/* REPORT ALL ROD TOKENS lists a live token's first 96 bytes */
	if (make_token(a, L_SRC, s, 1, 0, tok)) {
		bool found = false;
		int off;

		memset(c, 0, sizeof(c));
		c[0] = 0x84;
		c[1] = 0x08;
		itest_put32(c + 10, 8192);
		itest_cmd(a, L_SRC, c, NULL, 0, 8192, &r);
		for (off = 8; off + 96 <= r.data_len; off += 96)
			found |= memcmp(r.data + off, tok, 96) == 0;
		itest_check(r.status == SCSI_STATUS_GOOD && found,
		    "REPORT ALL ROD TOKENS lists the token (%d bytes)",
		    r.data_len);
	}
}

/* Point in time: write the source after PT, then WUT. */
static void
t_pit(struct iscsi_context *a, int src, int dst, const char *what)
{
	struct range s[1] = { { 4096, 2048 } }, d[1] = { { 16384, 2048 } };
	uint8_t tok[512];
	struct itest_res r;
	uint64_t before;

	fill(a, src, 4096, 2048, BS, 66);
	before = sum_ranges(a, src, s, 1, BS, 0, UINT64_MAX);
	if (!make_token(a, src, s, 1, 0, tok))
		return;
	fill(a, src, 5000, 8, BS, 77);		/* inside the source */
	wut(a, dst, next_id++, false, false, 0, tok, d, 1, &r);
	if (itest_be32(tok) == ROD_PIT_DEFAULT)
		itest_check(r.status == SCSI_STATUS_GOOD &&
		    sum_ranges(a, dst, d, 1, BS, 0, UINT64_MAX) == before,
		    "%s: snapshot token, destination holds the data of PT "
		    "time: %s", what, rs(&r));
	else
		itest_check(itest_be32(tok) == ROD_PIT_VULN &&
		    itest_sense_is(&r, 5, 0x23, 0x06), "%s: change vulnerable "
		    "token revoked by the write: 23/06: %s", what, rs(&r));
	/* a write outside the ranges does not matter */
	if (make_token(a, src, s, 1, 0, tok)) {
		fill(a, src, 100, 8, BS, 88);
		wut(a, dst, next_id++, false, false, 0, tok, d, 1, &r);
		itest_check(r.status == SCSI_STATUS_GOOD, "%s: a write "
		    "elsewhere leaves the token valid: %s", what, rs(&r));
	}
}

static int
do_save(const char *file)
{
	struct iscsi_context *a = login(ITEST_INIT_A);
	struct range s[1] = { { 0, 16 } };
	uint8_t tok[512];
	FILE *f;

	itest_begin("odx-save", 60);
	if (make_token(a, L_SRC, s, 1, 300, tok)) {
		f = fopen(file, "wb");
		itest_check(f != NULL && fwrite(tok, 1, 512, f) == 512,
		    "token saved");
		if (f != NULL)
			fclose(f);
	}
	itest_close(a);
	return itest_end();
}

static int
do_restart(const char *file)
{
	struct iscsi_context *a;
	struct range d[1] = { { 0, 16 } };
	uint8_t tok[512];
	struct itest_res r;
	FILE *f;

	itest_begin("odx-restart", 60);
	f = fopen(file, "rb");
	if (f == NULL || fread(tok, 1, 512, f) != 512) {
		itest_check(false, "read saved token");
		return itest_end();
	}
	fclose(f);
	a = login(ITEST_INIT_A);
	wut(a, L_DST, 1, false, false, 0, tok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x04), "token of the previous "
	    "daemon run: TOKEN UNKNOWN 23/04: %s", rs(&r));
	itest_close(a);
	return itest_end();
}

static int
do_flood(void)
{
	struct iscsi_context *a;
	struct range s[1] = { { 0, 1 } };
	struct itest_res r;
	unsigned int i, good = 0;

	itest_begin("odx-flood", 120);
	a = login(ITEST_INIT_A);
	for (i = 0; i < 1100; i++) {
		pt(a, L_SRC, 0x70000000 + i, false, 300, false, 0, s, 1, &r);
		if (r.status != SCSI_STATUS_GOOD)
			break;
		good++;
	}
	itest_check(good >= 1 && good <= 1024 &&
	    itest_sense_is(&r, 5, 0x55, 0x0d), "after %u tokens: INSUFFICIENT "
	    "RESOURCES TO CREATE ROD TOKEN 55/0D: %s", good, rs(&r));
	itest_close(a);
	return itest_end();
}

/* --- scope, listing, reset, reload (odx_scope.sh) --- */

#define WIDE_T		"iqn.2026-11.org.tpcd:odx-wide"
#define NARROW_T	"iqn.2026-11.org.tpcd:odx-narrow"
#define S_SRC		0
#define S_DST		1
#define S_GONE		2

/* REPORT ALL ROD TOKENS on ctx: does it list tok (its first 96 bytes)?
 * *count gets the number of tokens listed. */
static bool
rart_lists(struct iscsi_context *ctx, int lun, const uint8_t *tok,
    int *count)
{
	uint8_t c[16];
	struct itest_res r;
	bool found = false;
	int off;

	memset(c, 0, sizeof(c));
	c[0] = 0x84;
	c[1] = 0x08;
	itest_put32(c + 10, 8192);
	itest_cmd(ctx, lun, c, NULL, 0, 8192, &r);
	itest_check(r.status == SCSI_STATUS_GOOD && r.data_len >= 8 &&
	    (int)itest_be32(r.data) + 4 >= r.data_len &&
	    (itest_be32(r.data) - 4) % 96 == 0, "REPORT ALL ROD TOKENS: %s, %d "
	    "bytes", rs(&r), r.data_len);
	for (off = 8; off + 96 <= r.data_len; off += 96)
		found |= memcmp(r.data + off, tok, 96) == 0;
	if (count != NULL)
		*count = r.data_len >= 8 ? (int)(itest_be32(r.data) - 4) / 96 : -1;
	return found;
}

static int
do_scope(void)
{
	struct range s[1] = { { 100, 64 } }, d[1] = { { 1000, 64 } };
	struct iscsi_context *wa, *wb, *na, *nb;
	uint8_t wtok[512], ntok[512];
	uint64_t hs;
	struct itest_res r;

	itest_begin("odx-scope", 120);
	wa = login_t(ITEST_INIT_A, WIDE_T);
	wb = login_t(ITEST_INIT_B, WIDE_T);
	na = login_t(ITEST_INIT_A, NARROW_T);
	nb = login_t(ITEST_INIT_B, NARROW_T);
	fill(wa, S_SRC, 100, 64, BS, 5);
	hs = sum_ranges(wa, S_SRC, s, 1, BS, 0, UINT64_MAX);
	if (!make_token(wa, S_SRC, s, 1, 0, wtok) ||
	    !make_token(na, S_SRC, s, 1, 0, ntok))
		return itest_end();

	/* "target" scope: init-b does not map ssrc, yet may use the token */
	wut(wb, 0, next_id++, false, false, 0, wtok, d, 1, &r);
	itest_check(r.status == SCSI_STATUS_GOOD &&
	    sum_ranges(wb, 0, d, 1, BS, 0, UINT64_MAX) == hs,
	    "tpcd_token_scope target: a session without the source LU "
	    "copies with the token: %s", rs(&r));
	/* "nexus" scope (default): it may not */
	wut(nb, 0, next_id++, false, false, 0, ntok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x06), "tpcd_token_scope nexus: "
	    "a session without the source LU: TOKEN REVOKED 23/06: %s",
	    rs(&r));
	/* never across targets */
	wut(na, S_DST, next_id++, false, false, 0, wtok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x02), "token of the other "
	    "target: REMOTE TOKEN USAGE 23/02: %s", rs(&r));

	/* REPORT ALL ROD TOKENS lists what the session could use */
	itest_check(rart_lists(wb, 0, wtok, NULL), "target scope: init-b "
	    "sees the wide target's token");
	itest_check(!rart_lists(wb, 0, ntok, NULL), "init-b does not see "
	    "the other target's token");
	itest_check(rart_lists(na, S_SRC, ntok, NULL) &&
	    !rart_lists(na, S_SRC, wtok, NULL), "init-a on the narrow "
	    "target sees its token only");
	itest_check(!rart_lists(nb, 0, ntok, NULL), "nexus scope: init-b "
	    "does not see a token of an LU it does not map");
	/* a token killed by a write is not listed any more */
	fill(na, S_SRC, 120, 1, BS, 9);
	itest_check(!rart_lists(na, S_SRC, ntok, NULL) &&
	    !rart_lists(wa, S_SRC, wtok, NULL), "tokens revoked by a write "
	    "to their source are not listed");

	/* tokens survive a LUN RESET of their source (as in CTL) */
	if (make_token(na, S_SRC, s, 1, 0, ntok)) {
		hs = sum_ranges(na, S_SRC, s, 1, BS, 0, UINT64_MAX);
		itest_check(iscsi_task_mgmt_lun_reset_sync(na, S_SRC) == 0,
		    "LUN RESET of the source LU");
		itest_clear_ua(na, S_SRC);
		wut(na, S_DST, next_id++, false, false, 0, ntok, d, 1, &r);
		itest_check(r.status == SCSI_STATUS_GOOD &&
		    sum_ranges(na, S_DST, d, 1, BS, 0, UINT64_MAX) == hs,
		    "the token still works after a LUN RESET: %s", rs(&r));
		itest_check(rart_lists(na, S_SRC, ntok, NULL), "and is still "
		    "listed");
	}
	itest_close(wa);
	itest_close(wb);
	itest_close(na);
	itest_close(nb);
	return itest_end();
}

static int
do_sweep(void)
{
	struct range s[1] = { { 0, 8 } };
	struct iscsi_context *a;
	uint8_t tok[512];

	itest_begin("odx-sweep", 60);
	a = login_t(ITEST_INIT_A, NARROW_T);
	if (make_token(a, S_SRC, s, 1, 1, tok)) {
		sleep(3);
		/* nothing looked it up: only the sweep can have expired it */
		itest_check(!rart_lists(a, S_SRC, tok, NULL), "a token idle "
		    "past its 1 s timeout is not listed");
	}
	itest_close(a);
	return itest_end();
}

static void
tok_file(const char *dir, const char *name, uint8_t *tok, bool save)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, save ? "wb" : "rb");
	itest_check(f != NULL && (save ? fwrite(tok, 1, 512, f) :
	    fread(tok, 1, 512, f)) == 512, "%s %s", save ? "save" : "read",
	    path);
	if (f != NULL)
		fclose(f);
}

static int
do_reload_save(const char *dir)
{
	struct range s[1] = { { 0, 64 } };
	struct iscsi_context *a;
	uint8_t tok[512];

	itest_begin("odx-reload-save", 60);
	a = login_t(ITEST_INIT_A, WIDE_T);
	if (make_token(a, S_GONE, s, 1, 300, tok))
		tok_file(dir, "gone.token", tok, true);
	if (make_token(a, S_SRC, s, 1, 300, tok))
		tok_file(dir, "resized.token", tok, true);
	itest_close(a);
	return itest_end();
}

static int
do_reload_check(const char *dir)
{
	struct range s[1] = { { 0, 64 } }, d[1] = { { 2000, 64 } };
	struct iscsi_context *a, *na, *nb;
	uint8_t tok[512];
	struct itest_res r;

	itest_begin("odx-reload-check", 60);
	a = login_t(ITEST_INIT_A, WIDE_T);
	/* target scope: only the registry can refuse these */
	tok_file(dir, "gone.token", tok, false);
	wut(a, S_DST, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x06), "token of an LU removed "
	    "by a reload: TOKEN REVOKED 23/06: %s", rs(&r));
	tok_file(dir, "resized.token", tok, false);
	wut(a, S_DST, next_id++, false, false, 0, tok, d, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x23, 0x06), "token of an LU resized "
	    "by a reload: TOKEN REVOKED 23/06: %s", rs(&r));
	itest_close(a);
	/* the narrow target is target-wide now: no new login needed for
	 * the scope, but the sessions are new here anyway */
	na = login_t(ITEST_INIT_A, NARROW_T);
	nb = login_t(ITEST_INIT_B, NARROW_T);
	if (make_token(na, S_SRC, s, 1, 0, tok)) {
		wut(nb, 0, next_id++, false, false, 0, tok, d, 1, &r);
		itest_check(r.status == SCSI_STATUS_GOOD, "after the reload "
		    "set tpcd_token_scope target: init-b uses the token: %s",
		    rs(&r));
	}
	itest_close(na);
	itest_close(nb);
	return itest_end();
}

int
main(int argc, char **argv)
{
	struct iscsi_context *a;

	if (argc == 3 && strcmp(argv[1], "save") == 0)
		return do_save(argv[2]);
	if (argc == 3 && strcmp(argv[1], "restart") == 0)
		return do_restart(argv[2]);
	if (argc == 2 && strcmp(argv[1], "flood") == 0)
		return do_flood();
	if (argc == 2 && strcmp(argv[1], "scope") == 0)
		return do_scope();
	if (argc == 2 && strcmp(argv[1], "sweep") == 0)
		return do_sweep();
	if (argc == 3 && strcmp(argv[1], "reload-save") == 0)
		return do_reload_save(argv[2]);
	if (argc == 3 && strcmp(argv[1], "reload-check") == 0)
		return do_reload_check(argv[2]);
	itest_begin("odx", 600);
	a = login(ITEST_INIT_A);
	t_vpd(a);
	t_copies(a);
	t_sessions(a);
	t_zero(a);
	t_tamper(a);
	t_errors(a);
	t_pit(a, L_SRC, L_DST, "ext4/state dir");
	t_pit(a, L_XSRC, L_XDST, "reflink dir");
	t_immed_abort(a);
	t_tmf_wut(a);
	itest_close(a);
	return itest_end();
}
