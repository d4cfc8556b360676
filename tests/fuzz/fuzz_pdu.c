/*
 * fuzz_pdu.c - the resumable iSCSI PDU receiver (iscsi_conn.h, struct
 * iscsi_rx): a byte stream cut at fuzzer-chosen points and fed through
 * both of its interfaces, as SPDK does for its rx state machine.
 *
 * Input:
 *   byte 0      0x01 header digest, 0x02 data digest, 0x04 use
 *               iscsi_rx_want/advance instead of iscsi_rx_feed, 0x08 place
 *               data segments in a caller buffer (the zero-copy Data-Out
 *               hook), 0x70 MaxRecvDataSegmentLength = 512 << n
 *   byte 1      number of cut points (& 15)
 *   2 bytes     each cut: the length of the next piece
 *   rest        the stream (PDUs as on the wire); the last piece is the
 *               remainder
 *
 * Properties, per delivered PDU: AHS and data lengths match the BHS; a
 * data segment over the limit is flagged and not kept; anything else is
 * kept whole.  Each good PDU is then re-serialised with iscsi_pdu_tx_iov()
 * (same digests) and must come back bit for bit, digests verified, from a
 * second receiver.  A header digest error is fatal to the stream, as on a
 * connection.
 */
#include <errno.h>

#include "fuzz.h"
#include "iscsi_conn.h"
#include "util.h"

#define FUZZ_CUTS_MAX	15
#define FUZZ_PLACE_MAX	(64u << 10)

static uint8_t fz_place_buf[FUZZ_PLACE_MAX];

static uint8_t *
fuzz_place(void *arg, const struct iscsi_pdu *pdu)
{
	(void)arg;
	/* Only SCSI Data-Out goes to a caller buffer, as in iscsi_scsi.c. */
	if (iscsi_pdu_opcode(pdu) != ISCSI_OP_DATA_OUT ||
	    pdu->data_len > FUZZ_PLACE_MAX)
		return NULL;
	return fz_place_buf;
}

/* Serialise pdu and receive it again. */
static void
fuzz_roundtrip(struct iscsi_pdu *pdu, bool hd, bool dd, uint32_t max_dsl)
{
	struct iovec iov[6];
	struct iscsi_rx rx;
	struct iscsi_pdu *back;
	uint8_t *wire, *w;
	uint32_t len;
	size_t used;
	int n, i, rc;

	len = iscsi_pdu_wire_len(pdu, hd, dd);
	wire = malloc(len);
	if (wire == NULL)
		return;
	n = iscsi_pdu_tx_iov(pdu, hd, dd, iov);
	FUZZ_CHECK(n >= 1 && n <= 6);
	w = wire;
	for (i = 0; i < n; i++) {
		FUZZ_CHECK((size_t)(w - wire) + iov[i].iov_len <= len);
		memcpy(w, iov[i].iov_base, iov[i].iov_len);
		w += iov[i].iov_len;
	}
	FUZZ_CHECK((uint32_t)(w - wire) == len);

	iscsi_rx_init(&rx, max_dsl);
	rx.hdigest = hd;
	rx.ddigest = dd;
	rc = iscsi_rx_feed(&rx, wire, len, &used);
	if (rc == -ENOMEM)
		goto out;
	FUZZ_CHECK(rc == 1 && used == len);
	back = iscsi_rx_take(&rx);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(iscsi_rx_idle(&rx));
	FUZZ_CHECK(memcmp(back->bhs, pdu->bhs, ISCSI_BHS_LEN) == 0);
	FUZZ_CHECK(back->ahs_len == pdu->ahs_len);
	FUZZ_CHECK(pdu->ahs_len == 0 ||
	    memcmp(back->ahs, pdu->ahs, pdu->ahs_len) == 0);
	FUZZ_CHECK(back->data_len == pdu->data_len);
	FUZZ_CHECK(pdu->data_len == 0 ||
	    memcmp(back->data, pdu->data, pdu->data_len) == 0);
	FUZZ_CHECK(!(back->flags & (ISCSI_PDU_DDIGEST_BAD |
	    ISCSI_PDU_DATA_TOO_LONG)));
	iscsi_pdu_free(back);
out:
	iscsi_rx_fini(&rx);
	free(wire);
}

static void
fuzz_check_pdu(struct iscsi_pdu *pdu, bool hd, bool dd, uint32_t max_dsl)
{
	uint32_t dsl = iscsi_bhs_dsl(pdu->bhs);

	FUZZ_CHECK(pdu->ahs_len == (uint32_t)pdu->bhs[ISCSI_BHS_AHSLEN] * 4);
	FUZZ_CHECK(pdu->ahs_len == 0 || pdu->ahs != NULL);
	FUZZ_CHECK(pdu->data_len == dsl);
	if (dsl > max_dsl) {
		FUZZ_CHECK(pdu->flags & ISCSI_PDU_DATA_TOO_LONG);
		FUZZ_CHECK(pdu->data == NULL);
		return;
	}
	FUZZ_CHECK(!(pdu->flags & ISCSI_PDU_DATA_TOO_LONG));
	FUZZ_CHECK(dsl == 0 || pdu->data != NULL);
	if (pdu->data_borrowed)
		FUZZ_CHECK(pdu->data == fz_place_buf);
	if (pdu->flags & ISCSI_PDU_DDIGEST_BAD) {
		FUZZ_CHECK(dd && dsl != 0);
		return;
	}
	fuzz_roundtrip(pdu, hd, dd, max_dsl);
}

/* Feed one piece; returns false when the stream is dead. */
static bool
fuzz_piece(struct iscsi_rx *rx, const uint8_t *p, size_t len, bool want_api,
    bool hd, bool dd)
{
	struct iscsi_pdu *pdu;
	uint8_t *dst;
	size_t used, want, n;
	int rc;

	while (len != 0) {
		if (want_api) {
			want = iscsi_rx_want(rx, &dst);
			FUZZ_CHECK(want > 0);
			n = MIN(want, len);
			memcpy(dst, p, n);
			rc = iscsi_rx_advance(rx, n);
			used = n;
		} else {
			rc = iscsi_rx_feed(rx, p, len, &used);
			FUZZ_CHECK(used <= len);
		}
		p += used;
		len -= used;
		if (rc < 0) {
			FUZZ_CHECK(rc == -EBADMSG || rc == -ENOMEM);
			FUZZ_CHECK(rc != -EBADMSG || hd);
			return false;
		}
		if (rc == 1) {
			pdu = iscsi_rx_take(rx);
			FUZZ_CHECK(pdu != NULL);
			fuzz_check_pdu(pdu, hd, dd, rx->max_dsl);
			iscsi_pdu_free(pdu);
		} else {
			FUZZ_CHECK(rc == 0);
			FUZZ_CHECK(used != 0 || len == 0);
		}
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	struct iscsi_rx rx;
	uint16_t cuts[FUZZ_CUTS_MAX];
	const uint8_t *p;
	unsigned int ncut, i;
	uint8_t flags;
	bool hd, dd, alive = true;
	size_t got;

	fuzz_in_init(&in, data, size);
	flags = fuzz_u8(&in);
	ncut = fuzz_u8(&in) & 15;
	for (i = 0; i < ncut; i++)
		cuts[i] = fuzz_u16(&in);
	hd = (flags & 0x01) != 0;
	dd = (flags & 0x02) != 0;
	iscsi_rx_init(&rx, 512u << ((flags >> 4) & 7));
	rx.hdigest = hd;
	rx.ddigest = dd;
	if (flags & 0x08)
		rx.place = fuzz_place;
	for (i = 0; i <= ncut && alive; i++) {
		p = fuzz_bytes(&in, i < ncut ? cuts[i] : in.left, &got);
		alive = fuzz_piece(&rx, p, got, (flags & 0x04) != 0, hd, dd);
	}
	iscsi_rx_fini(&rx);
	return 0;
}
