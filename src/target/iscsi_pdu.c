/*
 * iscsi_pdu.c - PDU objects, the resumable receive state machine and the
 * transmit iovec builder (RFC 7143 11.2).
 *
 * The receiver walks BHS -> AHS -> header digest -> data (+ padding) ->
 * data digest and can stop after any byte: the connection reads whatever
 * the socket has and calls iscsi_rx_advance(); tests split a byte stream
 * at every position.  Memory is bounded: AHS is at most 1020 bytes by
 * construction, a data segment above max_dsl is skipped through a small
 * scratch buffer instead of being allocated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "iscsi_conn.h"
#include "util.h"

#define ISCSI_PDU_POOL_MAX	512	/* spare PDUs kept per pool */

struct iscsi_pdu *
iscsi_pdu_alloc(uint32_t data_len)
{
	return iscsi_pdu_pool_get(NULL, data_len);
}

struct iscsi_pdu_pool *
iscsi_pdu_pool_create(void)
{
	return xcalloc(1, sizeof(struct iscsi_pdu_pool));
}

static void
iscsi_pdu_pool_trim(struct iscsi_pdu_pool *pool)
{
	struct iscsi_pdu *pdu;

	while ((pdu = pool->free) != NULL) {
		pool->free = pdu->next;
		free(pdu);
	}
	pool->n_free = 0;
}

void
iscsi_pdu_pool_destroy(struct iscsi_pdu_pool *pool)
{
	if (pool == NULL)
		return;
	iscsi_pdu_pool_trim(pool);
	pool->closed = true;
	if (pool->live == 0)
		free(pool);
}

struct iscsi_pdu *
iscsi_pdu_pool_get(struct iscsi_pdu_pool *pool, uint32_t data_len)
{
	struct iscsi_pdu *pdu;

	if (pool != NULL && (pdu = pool->free) != NULL) {
		pool->free = pdu->next;
		pool->n_free--;
		memset(pdu, 0, sizeof(*pdu));
	} else {
		pdu = xcalloc(1, sizeof(*pdu));
		if (pdu == NULL)
			return NULL;
	}
	if (data_len != 0) {
		pdu->data = xmalloc(data_len);
		if (pdu->data == NULL) {
			if (pool != NULL && pool->n_free < ISCSI_PDU_POOL_MAX) {
				pdu->next = pool->free;
				pool->free = pdu;
				pool->n_free++;
			} else {
				free(pdu);
			}
			return NULL;
		}
		pdu->data_len = data_len;
		pdu->data_alloc = data_len;
	}
	if (pool != NULL) {
		pdu->pool = pool;
		pool->live++;
	}
	return pdu;
}

void
iscsi_pdu_free(struct iscsi_pdu *pdu)
{
	struct iscsi_pdu_pool *pool;

	if (pdu == NULL)
		return;
	if (!pdu->data_borrowed)
		free(pdu->data);
	free(pdu->ahs);
	pool = pdu->pool;
	if (pool == NULL) {
		free(pdu);
		return;
	}
	pool->live--;
	if (!pool->closed && pool->n_free < ISCSI_PDU_POOL_MAX) {
		pdu->next = pool->free;
		pool->free = pdu;
		pool->n_free++;
		return;
	}
	free(pdu);
	if (pool->closed && pool->live == 0)
		free(pool);
}

int
iscsi_pdu_set_data(struct iscsi_pdu *pdu, const void *data, uint32_t len)
{
	uint8_t *p = NULL;

	if (len != 0) {
		p = xmalloc(len);
		if (p == NULL)
			return -ENOMEM;
		memcpy(p, data, len);
	}
	if (!pdu->data_borrowed)
		free(pdu->data);
	pdu->data = p;
	pdu->data_len = len;
	pdu->data_alloc = len;
	pdu->data_borrowed = false;
	return 0;
}

void
iscsi_pdu_init_bhs(struct iscsi_pdu *pdu, uint8_t opcode, bool final,
    uint32_t itt)
{
	memset(pdu->bhs, 0, sizeof(pdu->bhs));
	pdu->bhs[ISCSI_BHS_OPCODE] = opcode & 0x3f;
	if (final)
		pdu->bhs[ISCSI_BHS_FLAGS] = ISCSI_FLAG_FINAL;
	put_be32(pdu->bhs + ISCSI_BHS_ITT, itt);
}

struct iscsi_pdu *
iscsi_pdu_reject(const uint8_t *bad_bhs, uint8_t reason)
{
	struct iscsi_pdu *pdu;

	pdu = iscsi_pdu_alloc(ISCSI_BHS_LEN);
	if (pdu == NULL)
		return NULL;
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_REJECT, true, ISCSI_RSVD_TAG);
	pdu->bhs[2] = reason;
	memcpy(pdu->data, bad_bhs, ISCSI_BHS_LEN);
	return pdu;
}

/* ---------------- receive ---------------- */

void
iscsi_rx_init(struct iscsi_rx *rx, uint32_t max_dsl)
{
	memset(rx, 0, sizeof(*rx));
	rx->state = ISCSI_RX_BHS;
	rx->need = ISCSI_BHS_LEN;
	rx->max_dsl = max_dsl;
}

void
iscsi_rx_fini(struct iscsi_rx *rx)
{
	iscsi_pdu_free(rx->pdu);
	rx->pdu = NULL;
	rx->state = ISCSI_RX_BHS;
	rx->off = 0;
	rx->need = ISCSI_BHS_LEN;
}

bool
iscsi_rx_idle(const struct iscsi_rx *rx)
{
	return rx->state == ISCSI_RX_BHS && rx->off == 0;
}

/* Header (and header digest) are in: find room for the data. */
static int
iscsi_rx_data_buf(struct iscsi_rx *rx)
{
	struct iscsi_pdu *pdu = rx->pdu;
	uint8_t *p = NULL;

	if (pdu->data_len == 0 || rx->discard)
		return 0;
	rx->place_owned = false;
	if (rx->place != NULL)
		p = rx->place(rx->place_arg, pdu);
	if (p != NULL) {
		pdu->data = p;
		pdu->data_borrowed = !rx->place_owned;
		if (rx->place_owned) {
			pdu->flags |= ISCSI_PDU_DATA_POOLED;
			pdu->data_class = rx->place_class;
		}
		rx->place_owned = false;
		return 0;
	}
	pdu->data = xmalloc(pdu->data_len);
	if (pdu->data == NULL)
		return -ENOMEM;
	pdu->data_alloc = pdu->data_len;
	return 0;
}

/* Enter state st, skipping empty states; returns 1 when the PDU is done. */
static int
iscsi_rx_enter(struct iscsi_rx *rx, enum iscsi_rx_state st)
{
	struct iscsi_pdu *pdu = rx->pdu;

	for (;;) {
		rx->state = st;
		rx->off = 0;
		switch (st) {
		case ISCSI_RX_AHS:
			rx->need = pdu->ahs_len;
			break;
		case ISCSI_RX_HDIGEST:
			rx->need = rx->cur_hdigest ? 4 : 0;
			break;
		case ISCSI_RX_DATA:
			rx->need = pdu->data_len + rx->pad;
			if (rx->need != 0 && iscsi_rx_data_buf(rx) != 0)
				return -ENOMEM;
			/* Header checked, data over the limit: tell the owner
			 * now rather than after skipping up to 16 MiB. */
			if (rx->discard)
				rx->too_long_hdr = true;
			break;
		case ISCSI_RX_DDIGEST:
			rx->need = rx->cur_ddigest && pdu->data_len != 0 ? 4 : 0;
			break;
		case ISCSI_RX_DONE:
			rx->need = 0;
			return 1;
		case ISCSI_RX_BHS:
			rx->need = ISCSI_BHS_LEN;
			return 0;
		}
		if (rx->need != 0)
			return 0;
		st = (enum iscsi_rx_state)(st + 1);
	}
}

/* The BHS is in: size the PDU. */
static int
iscsi_rx_bhs_done(struct iscsi_rx *rx)
{
	struct iscsi_pdu *pdu = rx->pdu;
	uint32_t dsl;

	pdu->ahs_len = (uint32_t)pdu->bhs[ISCSI_BHS_AHSLEN] * 4;
	dsl = iscsi_bhs_dsl(pdu->bhs);
	rx->cur_hdigest = rx->hdigest;
	rx->cur_ddigest = rx->ddigest;
	rx->discard = false;
	rx->pad = (4 - (dsl & 3)) & 3;
	if (pdu->ahs_len != 0) {
		pdu->ahs = xmalloc(pdu->ahs_len);
		if (pdu->ahs == NULL)
			return -ENOMEM;
	}
	pdu->data_len = dsl;
	if (dsl > rx->max_dsl) {
		pdu->flags |= ISCSI_PDU_DATA_TOO_LONG;
		rx->discard = true;
	}
	return iscsi_rx_enter(rx, ISCSI_RX_AHS);
}

size_t
iscsi_rx_want(struct iscsi_rx *rx, uint8_t **buf)
{
	struct iscsi_pdu *pdu = rx->pdu;
	uint32_t left = rx->need - rx->off;

	switch (rx->state) {
	case ISCSI_RX_BHS:
		if (pdu == NULL) {
			/* Allocation happens in advance(); use scratch. */
			*buf = rx->scratch + rx->off;
			return left;
		}
		*buf = pdu->bhs + rx->off;
		return left;
	case ISCSI_RX_AHS:
		*buf = pdu->ahs + rx->off;
		return left;
	case ISCSI_RX_HDIGEST:
	case ISCSI_RX_DDIGEST:
		*buf = rx->digest + rx->off;
		return left;
	case ISCSI_RX_DATA:
		if (rx->discard) {
			*buf = rx->scratch;
			return MIN(left, sizeof(rx->scratch));
		}
		if (rx->off < pdu->data_len) {
			*buf = pdu->data + rx->off;
			return pdu->data_len - rx->off;
		}
		*buf = rx->scratch + (rx->off - pdu->data_len);
		return left;
	case ISCSI_RX_DONE:
		break;
	}
	*buf = rx->scratch;
	return 0;
}

static bool
iscsi_rx_hdigest_ok(struct iscsi_rx *rx)
{
	struct iscsi_pdu *pdu = rx->pdu;
	uint32_t crc;

	crc = crc32c_update(~0u, pdu->bhs, ISCSI_BHS_LEN);
	if (pdu->ahs_len != 0)
		crc = crc32c_update(crc, pdu->ahs, pdu->ahs_len);
	return ~crc == crc32c_get(rx->digest);
}

static bool
iscsi_rx_ddigest_ok(struct iscsi_rx *rx)
{
	static const uint8_t zero[4];
	struct iscsi_pdu *pdu = rx->pdu;
	uint32_t crc;

	crc = crc32c_update(~0u, pdu->data, pdu->data_len);
	crc = crc32c_update(crc, zero, rx->pad);
	return ~crc == crc32c_get(rx->digest);
}

int
iscsi_rx_advance(struct iscsi_rx *rx, size_t n)
{
	if (n == 0)
		return 0;
	if (rx->state == ISCSI_RX_BHS && rx->pdu == NULL) {
		/* First bytes of a PDU landed in scratch. */
		rx->pdu = iscsi_pdu_pool_get(rx->pool, 0);
		if (rx->pdu == NULL)
			return -ENOMEM;
		memcpy(rx->pdu->bhs, rx->scratch, rx->off + n);
	}
	rx->off += (uint32_t)n;
	if (rx->off < rx->need)
		return 0;
	switch (rx->state) {
	case ISCSI_RX_BHS:
		return iscsi_rx_bhs_done(rx);
	case ISCSI_RX_AHS:
		return iscsi_rx_enter(rx, ISCSI_RX_HDIGEST);
	case ISCSI_RX_HDIGEST:
		if (!iscsi_rx_hdigest_ok(rx))
			return -EBADMSG;
		return iscsi_rx_enter(rx, ISCSI_RX_DATA);
	case ISCSI_RX_DATA:
		return iscsi_rx_enter(rx, ISCSI_RX_DDIGEST);
	case ISCSI_RX_DDIGEST:
		if (!rx->discard && !iscsi_rx_ddigest_ok(rx))
			rx->pdu->flags |= ISCSI_PDU_DDIGEST_BAD;
		return iscsi_rx_enter(rx, ISCSI_RX_DONE);
	case ISCSI_RX_DONE:
		return 1;
	}
	return 0;
}

struct iscsi_pdu *
iscsi_rx_take(struct iscsi_rx *rx)
{
	struct iscsi_pdu *pdu;

	if (rx->state != ISCSI_RX_DONE)
		return NULL;
	pdu = rx->pdu;
	rx->pdu = NULL;
	if (rx->discard) {
		pdu->data = NULL;
		pdu->data_borrowed = false;
	}
	rx->state = ISCSI_RX_BHS;
	rx->off = 0;
	rx->need = ISCSI_BHS_LEN;
	rx->discard = false;
	return pdu;
}

int
iscsi_rx_feed(struct iscsi_rx *rx, const uint8_t *buf, size_t len,
    size_t *used)
{
	uint8_t *dst;
	size_t want, n, done = 0;
	int rc = 0;

	if (rx->state == ISCSI_RX_DONE) {
		*used = 0;
		return 1;
	}
	while (done < len) {
		want = iscsi_rx_want(rx, &dst);
		n = MIN(want, len - done);
		memcpy(dst, buf + done, n);
		done += n;
		rc = iscsi_rx_advance(rx, n);
		if (rc != 0)
			break;
	}
	*used = done;
	return rc;
}

/* ---------------- transmit ---------------- */

uint32_t
iscsi_pdu_wire_len(const struct iscsi_pdu *pdu, bool hdigest, bool ddigest)
{
	uint32_t len;

	len = ISCSI_BHS_LEN + pdu->ahs_len + (hdigest ? 4 : 0);
	if (pdu->data_len != 0)
		len += ((pdu->data_len + 3) & ~3u) + (ddigest ? 4 : 0);
	return len;
}

int
iscsi_pdu_tx_iov(struct iscsi_pdu *pdu, bool hdigest, bool ddigest,
    struct iovec iov[6])
{
	static const uint8_t zero[4];
	uint32_t crc, pad;
	int n = 0;

	pdu->bhs[ISCSI_BHS_AHSLEN] = (uint8_t)(pdu->ahs_len / 4);
	put_be24(pdu->bhs + ISCSI_BHS_DSL, pdu->data_len);
	iov[n].iov_base = pdu->bhs;
	iov[n++].iov_len = ISCSI_BHS_LEN;
	if (pdu->ahs_len != 0) {
		iov[n].iov_base = pdu->ahs;
		iov[n++].iov_len = pdu->ahs_len;
	}
	if (hdigest) {
		if (pdu->flags & ISCSI_PDU_TX_READY)
			goto hdigest_done;
		crc = crc32c_update(~0u, pdu->bhs, ISCSI_BHS_LEN);
		if (pdu->ahs_len != 0)
			crc = crc32c_update(crc, pdu->ahs, pdu->ahs_len);
		crc32c_put(pdu->hdigest, ~crc);
hdigest_done:
		iov[n].iov_base = pdu->hdigest;
		iov[n++].iov_len = 4;
	}
	if (pdu->data_len == 0) {
		pdu->flags |= ISCSI_PDU_TX_READY;
		return n;
	}
	pad = (4 - (pdu->data_len & 3)) & 3;
	iov[n].iov_base = pdu->data;
	iov[n++].iov_len = pdu->data_len;
	if (pad != 0) {
		iov[n].iov_base = (void *)(uintptr_t)zero;
		iov[n++].iov_len = pad;
	}
	if (ddigest) {
		if (!(pdu->flags & ISCSI_PDU_TX_READY)) {
			crc = crc32c_update(~0u, pdu->data, pdu->data_len);
			crc = crc32c_update(crc, zero, pad);
			crc32c_put(pdu->ddigest, ~crc);
		}
		iov[n].iov_base = pdu->ddigest;
		iov[n++].iov_len = 4;
	}
	pdu->flags |= ISCSI_PDU_TX_READY;
	return n;
}
