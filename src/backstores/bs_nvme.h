/*
 * bs_nvme.h - internals of the "nvme" backstore, shared by bs_nvme.c
 * (open, passthrough commands on the blocking pool, the copy() hook) and
 * bs_nvme_id.c (the pure parts: Identify Controller / Namespace decoding,
 * the Copy and Dataset Management range planners, NVMe status -> errno),
 * and by its unit test.
 *
 * NVMe data structures are little-endian: they are read and written
 * byte by byte with get_le*() / put_le*() below, never through casts.
 * Field offsets cite NVM Express Base 2.0 (Identify Controller, figure
 * 275), the NVM Command Set 1.0 (Identify Namespace figure 97, Copy
 * 3.2.2, Dataset Management 3.2.3, Write Zeroes 3.2.8).
 */
#ifndef TPCD_BS_NVME_H
#define TPCD_BS_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes */
#define NVME_ADM_IDENTIFY	0x06
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE_ZEROES	0x08
#define NVME_CMD_DSM		0x09
#define NVME_CMD_COPY		0x19

/* Identify CNS values */
#define NVME_CNS_NS		0x00
#define NVME_CNS_CTRL		0x01
#define NVME_CNS_CTRL_NVM	0x06	/* I/O command set specific, CSI 0 */

/* ONCS bits (Identify Controller bytes 521:520) */
#define NVME_ONCS_DSM		(1u << 2)
#define NVME_ONCS_WRITE_ZEROES	(1u << 3)
#define NVME_ONCS_COPY		(1u << 8)

#define BS_NVME_ID_LEN		4096
#define BS_NVME_RANGE_LEN	32	/* Copy source range, format 0 */
#define BS_NVME_DSM_RANGE_LEN	16
#define BS_NVME_MAX_RANGES	256	/* NR is 8 bits, 0-based */
#define BS_NVME_MAX_NLB		65536u	/* 16-bit 0-based NLB fields */

/* Status field of a completion (the ioctl's positive return value). */
#define NVME_SCT(st)		(((st) >> 8) & 0x7)
#define NVME_SC(st)		((st) & 0xff)

struct bs_nvme_ctrl_id {
	uint16_t	 vid;
	char		 serial[21];	/* trailing spaces removed */
	char		 model[41];
	char		 fw[9];
	uint8_t		 mdts;
	uint8_t		 vwc;		/* bit 0: volatile write cache */
	uint16_t	 oncs;
	uint16_t	 ocfs;		/* copy formats supported */
};

struct bs_nvme_ns_id {
	uint64_t	 nsze;		/* blocks */
	uint64_t	 ncap;
	uint8_t		 nsfeat;
	uint8_t		 nlbaf;		/* 0-based */
	uint8_t		 lbaf;		/* format in use (FLBAS) */
	uint16_t	 ms;		/* metadata bytes per block */
	uint32_t	 lba_size;	/* bytes */
	uint8_t		 dlfeat;
	uint16_t	 mssrl;		/* blocks per source range */
	uint32_t	 mcl;		/* blocks per Copy command */
	uint8_t		 msrc;		/* source ranges per Copy, 0-based */
};

/* What a Copy command may carry. */
struct bs_nvme_copy_limits {
	uint32_t	 mssrl;		/* blocks per range (<= 65536) */
	uint32_t	 mcl;		/* blocks per command */
	uint32_t	 nranges;	/* ranges per command, 1..256 (MSRC+1) */
};

static inline uint16_t
get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

static inline void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Decode Identify data (len must be BS_NVME_ID_LEN).  0 or -EINVAL. */
int	bs_nvme_parse_ctrl(const uint8_t *id, size_t len,
	    struct bs_nvme_ctrl_id *);
/* -EINVAL for malformed data (format index beyond NLBAF, LBADS out of
 * 9..12), -EOPNOTSUPP for a format with metadata (ms != 0). */
int	bs_nvme_parse_ns(const uint8_t *id, size_t len, struct bs_nvme_ns_id *);
/* DMRSL (Identify Controller NVM, CNS 06h, bytes 7:4): blocks per DSM
 * range, 0 = no limit reported. */
uint32_t bs_nvme_parse_dmrsl(const uint8_t *id, size_t len);
/* Deallocated blocks read back as zeroes (DLFEAT bits 2:0 = 001b)? */
bool	bs_nvme_dealloc_zeroes(uint8_t dlfeat);

/* Limits from Identify; false when Copy must never be sent: ONCS bit 8
 * clear or MSSRL / MCL zero (the spec forbids that with Copy). */
bool	bs_nvme_copy_limits(const struct bs_nvme_ctrl_id *,
	    const struct bs_nvme_ns_id *, struct bs_nvme_copy_limits *);
/* Test knob: "MSSRL,MCL,MSRC" (MSRC 0-based, as in Identify) replaces
 * the limits.  0 or -EINVAL (then *lim is untouched). */
int	bs_nvme_limits_parse(const char *s, struct bs_nvme_copy_limits *lim);

/*
 * One Copy command for the start of [slba, slba + nlb): writes up to
 * lim->nranges format-0 source ranges of at most lim->mssrl blocks into
 * ranges (room for BS_NVME_MAX_RANGES), at most lim->mcl blocks in all.
 * Returns the blocks covered (the destination advances by as much) and
 * sets *nr to the range count; 0 when nlb is 0 or the limits are unusable.
 */
uint64_t bs_nvme_copy_plan(const struct bs_nvme_copy_limits *lim,
	    uint64_t slba, uint64_t nlb, uint8_t *ranges, unsigned int *nr);
/*
 * One Dataset Management (deallocate) command for the start of
 * [slba, slba + nlb): up to 256 ranges of at most max_range blocks
 * (0: 2^32 - 1) into buf (room for BS_NVME_MAX_RANGES).  Returns the
 * blocks covered and sets *nr.
 */
uint64_t bs_nvme_dsm_plan(uint32_t max_range, uint64_t slba, uint64_t nlb,
	    uint8_t *buf, unsigned int *nr);

/* Completion of a passthrough ioctl (its return value: -errno, 0, or
 * an NVMe status) as 0 / -errno.  Unsupported-offload statuses (Invalid
 * Opcode, Invalid Field, Command Size Limit Exceeded) give -EOPNOTSUPP;
 * Internal Error gives -EREMOTEIO (HARDWARE ERROR 44h/00h at the SCSI
 * edge); media and data-integrity errors give -EIO (MEDIUM ERROR). */
int	bs_nvme_status_errno(int rc);
/* Short name of a status for logs ("Internal Error"). */
const char *bs_nvme_status_str(int rc);

#endif
