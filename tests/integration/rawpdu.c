/*
 * rawpdu.c - a minimal hand-made iSCSI initiator for malformed-PDU and
 * DataDigest tests.  See rawpdu.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rawpdu.h"

static uint32_t crc_table[256];

static void
crc_init(void)
{
	uint32_t i, j, c;

	if (crc_table[1])
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
raw_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	crc_init();
	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
raw_connect(struct raw_conn *c, const char *portal, int timeout_ms)
{
	struct sockaddr_in sin;
	struct timeval tv;
	char host[64];
	const char *colon = strrchr(portal, ':');
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->max_xmit = 8192;
	c->first_burst = 65536;
	if (colon == NULL || (size_t)(colon - portal) >= sizeof(host))
		return -EINVAL;
	memcpy(host, portal, (size_t)(colon - portal));
	host[colon - portal] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -EINVAL;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -errno;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = -errno;

		close(c->fd);
		c->fd = -1;
		return e;
	}
	c->itt = 0x100;
	c->cmdsn = 1;
	return 0;
}

void
raw_close(struct raw_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
raw_send_bytes(struct raw_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
raw_send(struct raw_conn *c, uint8_t *bhs, const void *ahs, size_t ahslen,
    const void *data, uint32_t dlen, enum raw_corrupt corrupt)
{
	size_t pad = (4 - (dlen & 3)) & 3;
	size_t total = RAW_BHS + ahslen + (c->hd ? 4 : 0) + dlen + pad +
	    (c->dd && dlen ? 4 : 0);
	uint8_t *buf = calloc(1, total), *p;
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	bhs[4] = (uint8_t)(ahslen / 4);
	bhs[5] = (uint8_t)(dlen >> 16);
	bhs[6] = (uint8_t)(dlen >> 8);
	bhs[7] = (uint8_t)dlen;
	memcpy(buf, bhs, RAW_BHS);
	if (ahslen)
		memcpy(buf + RAW_BHS, ahs, ahslen);
	p = buf + RAW_BHS + ahslen;
	if (c->hd) {
		uint32_t crc = raw_crc32c(0, buf, RAW_BHS + ahslen);

		if (corrupt & RAW_BAD_HDIGEST)
			crc ^= 0x5a5a5a5a;
		put_le32(p, crc);
		p += 4;
	}
	if (dlen) {
		memcpy(p, data, dlen);
		p += dlen + pad;
		if (c->dd) {
			uint32_t crc = raw_crc32c(0, p - dlen - pad, dlen + pad);

			if (corrupt & RAW_BAD_DDIGEST)
				crc ^= 0xa5a5a5a5;
			put_le32(p, crc);
		}
	}
	rc = raw_send_bytes(c, buf, total);
	free(buf);
	return rc;
}

static int
recv_all(struct raw_conn *c, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(c->fd, p, len, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
raw_pdu_free(struct raw_pdu *pdu)
{
	free(pdu->data);
	pdu->data = NULL;
	pdu->dlen = 0;
}

int
raw_recv(struct raw_conn *c, struct raw_pdu *pdu)
{
	uint8_t ahs[1024], dig[4];
	uint32_t ahslen, pad, op;
	int rc;

	memset(pdu, 0, sizeof(*pdu));
	if ((rc = recv_all(c, pdu->bhs, RAW_BHS)) != 0)
		return rc;
	ahslen = pdu->bhs[4] * 4U;
	pdu->dlen = (uint32_t)pdu->bhs[5] << 16 | (uint32_t)pdu->bhs[6] << 8 |
	    pdu->bhs[7];
	if (ahslen && (rc = recv_all(c, ahs, ahslen)) != 0)
		return rc;
	if (c->hd) {
		uint32_t crc = raw_crc32c(raw_crc32c(0, pdu->bhs, RAW_BHS),
		    ahs, ahslen);

		if ((rc = recv_all(c, dig, 4)) != 0)
			return rc;
		if (get_le32(dig) != crc)
			return -EBADMSG;
	}
	if (pdu->dlen > 16 * 1024 * 1024)
		return -EPROTO;
	pad = (4 - (pdu->dlen & 3)) & 3;
	if (pdu->dlen) {
		pdu->data = malloc(pdu->dlen + pad);
		if (pdu->data == NULL)
			return -ENOMEM;
		if ((rc = recv_all(c, pdu->data, pdu->dlen + pad)) != 0) {
			raw_pdu_free(pdu);
			return rc;
		}
		if (c->dd) {
			if ((rc = recv_all(c, dig, 4)) != 0) {
				raw_pdu_free(pdu);
				return rc;
			}
			if (get_le32(dig) != raw_crc32c(0, pdu->data,
			    pdu->dlen + pad)) {
				raw_pdu_free(pdu);
				return -EBADMSG;
			}
		}
	}
	op = pdu->bhs[0] & 0x3f;
	if (op == RAW_OP_SCSI_RSP || op == 0x22 || op == RAW_OP_LOGIN_RSP ||
	    op == 0x26 || op == RAW_OP_REJECT || op == 0x24 ||
	    (op == RAW_OP_NOP_IN &&
	    raw_get_be32(pdu->bhs + 16) != 0xffffffffU) ||
	    (op == RAW_OP_DATA_IN && (pdu->bhs[1] & 0x01)))
		c->expstatsn = raw_get_be32(pdu->bhs + 24) + 1;
	return 0;
}

/* Append "key=value\0" to a text buffer. */
static void
text_add(char *buf, size_t *len, size_t cap, const char *key,
    const char *val)
{
	int n = snprintf(buf + *len, cap - *len, "%s=%s", key, val);

	if (n > 0 && *len + (size_t)n + 1 <= cap)
		*len += (size_t)n + 1;
}

static const char *
text_get(const struct raw_pdu *pdu, const char *key)
{
	size_t klen = strlen(key), i = 0;
	const char *d = (const char *)pdu->data;

	while (d && i < pdu->dlen) {
		size_t l = strnlen(d + i, pdu->dlen - i);

		if (l > klen && !strncmp(d + i, key, klen) &&
		    d[i + klen] == '=' && i + l < pdu->dlen)
			return d + i + klen + 1;
		i += l + 1;
	}
	return NULL;
}

static void
login_bhs(struct raw_conn *c, uint8_t *bhs, int csg, int nsg, bool transit)
{
	memset(bhs, 0, RAW_BHS);
	bhs[0] = 0x40 | RAW_OP_LOGIN;
	bhs[1] = (uint8_t)((transit ? 0x80 : 0) | csg << 2 | nsg);
	memcpy(bhs + 8, c->isid, 6);
	bhs[14] = (uint8_t)(c->tsih >> 8);
	bhs[15] = (uint8_t)c->tsih;
	raw_put_be32(bhs + 16, c->itt);
	raw_put_be32(bhs + 24, c->cmdsn);
	raw_put_be32(bhs + 28, c->expstatsn);
}

int
raw_login(struct raw_conn *c, const char *initiator, const char *target,
    bool digests, uint16_t isid_q, char *err, size_t errlen)
{
	char text[2048];
	size_t len = 0;
	uint8_t bhs[RAW_BHS];
	struct raw_pdu rsp;
	const char *v;
	int csg = 0, round, rc;
	char mrdsl[16];

	c->isid[0] = 0x80;	/* random format */
	c->isid[1] = 0x54;
	c->isid[2] = 0x50;
	c->isid[3] = 0x43;
	c->isid[4] = (uint8_t)(isid_q >> 8);
	c->isid[5] = (uint8_t)isid_q;
	text_add(text, &len, sizeof(text), "InitiatorName", initiator);
	text_add(text, &len, sizeof(text), "TargetName", target);
	text_add(text, &len, sizeof(text), "SessionType", "Normal");
	text_add(text, &len, sizeof(text), "AuthMethod", "None");
	for (round = 0; round < 8; round++) {
		int nsg = csg == 0 ? 1 : 3;

		login_bhs(c, bhs, csg, nsg, true);
		if ((rc = raw_send(c, bhs, NULL, 0, text, (uint32_t)len,
		    RAW_OK)) != 0) {
			snprintf(err, errlen, "send login: %s", strerror(-rc));
			return -1;
		}
		len = 0;
		if ((rc = raw_recv(c, &rsp)) != 0) {
			snprintf(err, errlen, "login response: %s",
			    strerror(-rc));
			return -1;
		}
		if ((rsp.bhs[0] & 0x3f) != RAW_OP_LOGIN_RSP || rsp.bhs[36]) {
			snprintf(err, errlen, "login rejected: opcode %02x "
			    "status %02x%02x", rsp.bhs[0], rsp.bhs[36],
			    rsp.bhs[37]);
			raw_pdu_free(&rsp);
			return -1;
		}
		c->tsih = (uint16_t)(rsp.bhs[14] << 8 | rsp.bhs[15]);
		c->cmdsn = raw_get_be32(rsp.bhs + 28);
		if ((v = text_get(&rsp, "MaxRecvDataSegmentLength")) != NULL)
			c->max_xmit = (uint32_t)strtoul(v, NULL, 10);
		if ((v = text_get(&rsp, "HeaderDigest")) != NULL)
			c->hd = !strcmp(v, "CRC32C");
		if ((v = text_get(&rsp, "DataDigest")) != NULL)
			c->dd = !strcmp(v, "CRC32C");
		if ((v = text_get(&rsp, "ImmediateData")) != NULL)
			c->immediate_data = !strcmp(v, "Yes");
		if ((v = text_get(&rsp, "FirstBurstLength")) != NULL)
			c->first_burst = (uint32_t)strtoul(v, NULL, 10);
		if (rsp.bhs[1] & 0x80) {	/* transit */
			int rnsg = rsp.bhs[1] & 3;

			raw_pdu_free(&rsp);
			if (rnsg == 3)
				return 0;
			csg = rnsg;
		} else {
			raw_pdu_free(&rsp);
		}
		if (csg == 1 && round == 0) {
			const char *dg = digests ? "CRC32C" : "None";

			snprintf(mrdsl, sizeof(mrdsl), "%u", 65536);
			text_add(text, &len, sizeof(text), "HeaderDigest", dg);
			text_add(text, &len, sizeof(text), "DataDigest", dg);
			text_add(text, &len, sizeof(text),
			    "MaxRecvDataSegmentLength", mrdsl);
			text_add(text, &len, sizeof(text), "ImmediateData",
			    "Yes");
			text_add(text, &len, sizeof(text), "InitialR2T", "Yes");
			text_add(text, &len, sizeof(text), "ErrorRecoveryLevel",
			    "0");
			text_add(text, &len, sizeof(text), "MaxConnections",
			    "1");
		}
	}
	snprintf(err, errlen, "login did not finish in 8 rounds");
	return -1;
}

void
raw_scsi_bhs(struct raw_conn *c, uint8_t *bhs, int lun, const uint8_t *cdb,
    size_t cdblen, bool rd, bool wr, uint32_t edtl)
{
	memset(bhs, 0, RAW_BHS);
	bhs[0] = RAW_OP_SCSI_CMD;
	bhs[1] = (uint8_t)(0x80 | (rd ? 0x40 : 0) | (wr ? 0x20 : 0) | 0x01);
	bhs[9] = (uint8_t)lun;
	raw_put_be32(bhs + 16, ++c->itt);
	raw_put_be32(bhs + 20, edtl);
	raw_put_be32(bhs + 24, c->cmdsn++);
	raw_put_be32(bhs + 28, c->expstatsn);
	memcpy(bhs + 32, cdb, cdblen > 16 ? 16 : cdblen);
}

static int
send_data_out(struct raw_conn *c, int lun, uint32_t itt, uint32_t ttt,
    const uint8_t *wdata, uint32_t wlen, uint32_t off, uint32_t len)
{
	uint32_t datasn = 0;
	uint8_t bhs[RAW_BHS];
	int rc;

	if (off > wlen || len > wlen - off)
		return -EPROTO;
	while (len) {
		uint32_t n = len < c->max_xmit ? len : c->max_xmit;

		memset(bhs, 0, RAW_BHS);
		bhs[0] = RAW_OP_DATA_OUT;
		bhs[1] = n == len ? 0x80 : 0;
		bhs[9] = (uint8_t)lun;
		raw_put_be32(bhs + 16, itt);
		raw_put_be32(bhs + 20, ttt);
		raw_put_be32(bhs + 28, c->expstatsn);
		raw_put_be32(bhs + 36, datasn++);
		raw_put_be32(bhs + 40, off);
		if ((rc = raw_send(c, bhs, NULL, 0, wdata + off, n,
		    RAW_OK)) != 0)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int
raw_scsi(struct raw_conn *c, int lun, const uint8_t *cdb, size_t cdblen,
    const uint8_t *wdata, uint32_t wlen, uint8_t *rdata, uint32_t rlen)
{
	uint8_t bhs[RAW_BHS];
	uint32_t imm = 0, itt;
	struct raw_pdu pdu;
	int rc;

	raw_scsi_bhs(c, bhs, lun, cdb, cdblen, rlen > 0, wlen > 0,
	    wlen ? wlen : rlen);
	itt = raw_get_be32(bhs + 16);
	if (wlen && c->immediate_data) {
		imm = wlen < c->first_burst ? wlen : c->first_burst;
		if (imm > c->max_xmit)
			imm = c->max_xmit;
	}
	if ((rc = raw_send(c, bhs, NULL, 0, wdata, imm, RAW_OK)) != 0)
		return rc;
	for (;;) {
		uint8_t op;

		if ((rc = raw_recv(c, &pdu)) != 0)
			return rc;
		op = pdu.bhs[0] & 0x3f;
		if (op == RAW_OP_R2T) {
			rc = send_data_out(c, lun, itt,
			    raw_get_be32(pdu.bhs + 20), wdata, wlen,
			    raw_get_be32(pdu.bhs + 40),
			    raw_get_be32(pdu.bhs + 44));
		} else if (op == RAW_OP_DATA_IN) {
			uint32_t off = raw_get_be32(pdu.bhs + 40);

			if (off > rlen || pdu.dlen > rlen - off)
				rc = -EPROTO;
			else if (pdu.dlen)
				memcpy(rdata + off, pdu.data, pdu.dlen);
			if (rc == 0 && (pdu.bhs[1] & 0x01)) {
				rc = pdu.bhs[3];
				raw_pdu_free(&pdu);
				return rc;
			}
		} else if (op == RAW_OP_SCSI_RSP) {
			rc = pdu.bhs[2] ? -EIO : pdu.bhs[3];
			raw_pdu_free(&pdu);
			return rc;
		} else if (op == RAW_OP_REJECT) {
			rc = -EPROTO;
		}
		raw_pdu_free(&pdu);
		if (rc)
			return rc;
	}
}

int
raw_ping(struct raw_conn *c, const void *data, uint32_t len)
{
	uint8_t bhs[RAW_BHS];
	struct raw_pdu pdu;
	uint32_t itt;
	int rc;

	memset(bhs, 0, RAW_BHS);
	bhs[0] = 0x40 | RAW_OP_NOP_OUT;
	bhs[1] = 0x80;
	itt = ++c->itt;
	raw_put_be32(bhs + 16, itt);
	raw_put_be32(bhs + 20, 0xffffffffU);
	raw_put_be32(bhs + 24, c->cmdsn);
	raw_put_be32(bhs + 28, c->expstatsn);
	if ((rc = raw_send(c, bhs, NULL, 0, data, len, RAW_OK)) != 0)
		return rc;
	for (;;) {
		if ((rc = raw_recv(c, &pdu)) != 0)
			return rc;
		if ((pdu.bhs[0] & 0x3f) == RAW_OP_NOP_IN &&
		    raw_get_be32(pdu.bhs + 16) == itt) {
			rc = pdu.dlen == len && (len == 0 ||
			    !memcmp(pdu.data, data, len)) ? 0 : -EPROTO;
			raw_pdu_free(&pdu);
			return rc;
		}
		raw_pdu_free(&pdu);
	}
}

enum raw_outcome
raw_expect_reject(struct raw_conn *c, int *reason)
{
	struct raw_pdu pdu;
	int rc, i;

	*reason = 0;
	for (i = 0; i < 16; i++) {
		uint8_t op;

		rc = raw_recv(c, &pdu);
		if (rc == -ETIMEDOUT)
			return RAW_GOT_TIMEOUT;
		if (rc != 0)
			return RAW_GOT_DROP;
		op = pdu.bhs[0] & 0x3f;
		if (op == RAW_OP_REJECT) {
			*reason = pdu.bhs[2];
			raw_pdu_free(&pdu);
			return RAW_GOT_REJECT;
		}
		raw_pdu_free(&pdu);
		if (op == RAW_OP_ASYNC)
			continue;	/* e.g. "dropping the connection" */
		*reason = op;
		return RAW_GOT_OTHER;
	}
	return RAW_GOT_OTHER;
}
