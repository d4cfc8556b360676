/*
 * rawpdu.h - a minimal hand-made iSCSI initiator over a plain TCP socket,
 * for sending PDUs libiscsi would never send (malformed headers, wrong
 * digests, oversized data segments) and for the DataDigest path, which
 * libiscsi does not implement.  Login is AuthMethod=None only.
 */
#ifndef TPCD_RAWPDU_H
#define TPCD_RAWPDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAW_BHS		48

/* Opcodes (RFC 7143 11.1.1) */
#define RAW_OP_NOP_OUT		0x00
#define RAW_OP_SCSI_CMD		0x01
#define RAW_OP_LOGIN		0x03
#define RAW_OP_DATA_OUT		0x05
#define RAW_OP_NOP_IN		0x20
#define RAW_OP_SCSI_RSP		0x21
#define RAW_OP_LOGIN_RSP	0x23
#define RAW_OP_DATA_IN		0x25
#define RAW_OP_R2T		0x31
#define RAW_OP_ASYNC		0x32
#define RAW_OP_REJECT		0x3f

struct raw_conn {
	int		 fd;
	bool		 hd, dd;		/* digests in effect */
	uint32_t	 cmdsn, expstatsn, itt;
	uint32_t	 max_xmit;	/* target's MaxRecvDataSegmentLength */
	uint32_t	 first_burst;
	bool		 immediate_data;
	uint8_t		 isid[6];
	uint16_t	 tsih;
};

struct raw_pdu {
	uint8_t		 bhs[RAW_BHS];
	uint8_t		*data;		/* malloc'd, dlen bytes */
	uint32_t	 dlen;
};

enum raw_corrupt {
	RAW_OK = 0,
	RAW_BAD_HDIGEST = 1,
	RAW_BAD_DDIGEST = 2,
};

uint32_t raw_crc32c(uint32_t crc, const void *buf, size_t len);

/* Connect to "ip:port"; receive timeout in ms.  0 or -errno. */
int	raw_connect(struct raw_conn *, const char *portal, int timeout_ms);
void	raw_close(struct raw_conn *);
/* Normal-session login with AuthMethod=None; asks for CRC32C digests
 * when `digests`.  0 on success, -1 and a message in err otherwise. */
int	raw_login(struct raw_conn *, const char *initiator, const char *target,
	    bool digests, uint16_t isid_q, char *err, size_t errlen);

/* Send a PDU: bhs (length fields set from ahslen/dlen unless `raw_len`),
 * optional AHS (multiple of 4) and data, digests as negotiated. */
int	raw_send(struct raw_conn *, uint8_t *bhs, const void *ahs,
	    size_t ahslen, const void *data, uint32_t dlen,
	    enum raw_corrupt corrupt);
/* Write raw bytes as they are. */
int	raw_send_bytes(struct raw_conn *, const void *buf, size_t len);
/* Receive one PDU.  0, -ETIMEDOUT, -ECONNRESET (EOF), -EBADMSG (bad
 * digest from the target), -EPROTO. */
int	raw_recv(struct raw_conn *, struct raw_pdu *);
void	raw_pdu_free(struct raw_pdu *);

/* Build a SCSI Command BHS for `lun` with a CDB (<= 16 bytes). */
void	raw_scsi_bhs(struct raw_conn *, uint8_t *bhs, int lun,
	    const uint8_t *cdb, size_t cdblen, bool rd, bool wr,
	    uint32_t edtl);
/* Run a SCSI command to completion (immediate data, R2T, Data-In).
 * Returns the SCSI status (0 GOOD) or -errno on a transport error. */
int	raw_scsi(struct raw_conn *, int lun, const uint8_t *cdb, size_t cdblen,
	    const uint8_t *wdata, uint32_t wlen, uint8_t *rdata, uint32_t rlen);
/* NOP-Out ping with data; 0 when the echo came back intact. */
int	raw_ping(struct raw_conn *, const void *data, uint32_t len);

/* What happened after a bad PDU: a Reject (reason in *reason), the
 * connection dropped, a timeout, or some other PDU (opcode in *reason). */
enum raw_outcome {
	RAW_GOT_REJECT,
	RAW_GOT_DROP,
	RAW_GOT_TIMEOUT,
	RAW_GOT_OTHER,
};
enum raw_outcome raw_expect_reject(struct raw_conn *, int *reason);

static inline uint32_t
raw_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
raw_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
