/*
 * itest.h - shared helpers of the libiscsi integration tests.
 *
 * Every test program prints one line per check ("ok: ..." or
 * "FAIL: ...") and exits non-zero when a check failed.  The target comes
 * from the environment, so the same program runs against tpcd (started by
 * lib.sh, which exports TPCD_PORTAL and TPCD_PID) or against another
 * target set up by hand (ITEST_PORTAL, ITEST_TARGET, ITEST_LUN, ...):
 *
 *   TPCD_PORTAL / ITEST_PORTAL	"127.0.0.1:PORT"
 *   ITEST_TARGET		target IQN (default iqn.2026-11.org.tpcd:default)
 *   ITEST_LUN			LUN to use (default 0)
 */
#ifndef TPCD_ITEST_H
#define TPCD_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iscsi_context;
struct scsi_task;

#define ITEST_DEFAULT_IQN	"iqn.2026-11.org.tpcd:default"
#define ITEST_INIT_A		"iqn.2026-11.org.tpcd:init-a"
#define ITEST_INIT_B		"iqn.2026-11.org.tpcd:init-b"

struct itest_login {
	const char	*initiator;	/* NULL: ITEST_INIT_A */
	const char	*target;	/* NULL: itest_target() */
	const char	*user, *password;		/* CHAP */
	const char	*tuser, *tpassword;		/* mutual CHAP */
	bool		 header_digest;
	int		 immediate_data;	/* -1 default, 0 no, 1 yes */
	int		 initial_r2t;		/* -1 default, 0 no, 1 yes */
	uint32_t	 isid_qualifier;	/* 0: random ISID */
	bool		 discovery;
};

extern int itest_failures;

void	itest_begin(const char *name, unsigned int timeout_s);
int	itest_end(void);
void	itest_check(bool ok, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	itest_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const char *itest_env(const char *name, const char *def);
const char *itest_portal(void);
const char *itest_target(void);
int	itest_lun(void);

/* Connect and log in; NULL and *err set on failure.  No auto-reconnect. */
struct iscsi_context *itest_connect(const struct itest_login *,
	    const char **err);
/* Log in with defaults to itest_target(); NULL on failure. */
struct iscsi_context *itest_connect_default(const char *initiator);
void	itest_close(struct iscsi_context *);

/* Send TEST UNIT READY until GOOD (at most 8 times): clears startup UAs.
 * Returns 0 when the LUN answered GOOD. */
int	itest_clear_ua(struct iscsi_context *, int lun);
/* Issue TUR until GOOD; true if a UA with asc/ascq `want` came first. */
bool	itest_saw_ua(struct iscsi_context *, int lun, int want_ascq);

/* Block size and number of blocks via READ CAPACITY(16). */
int	itest_capacity(struct iscsi_context *, int lun, uint32_t *bs,
	    uint64_t *nblocks);
/* Number of LUNs in REPORT LUNS, -1 on error; luns[] gets up to max. */
int	itest_report_luns(struct iscsi_context *, uint16_t *luns, int max);

int	itest_write(struct iscsi_context *, int lun, uint64_t lba,
	    const uint8_t *buf, uint32_t len, uint32_t bs);
int	itest_read(struct iscsi_context *, int lun, uint64_t lba,
	    uint8_t *buf, uint32_t len, uint32_t bs);

/* Deterministic pattern: same (seed, offset) always gives same bytes. */
void	itest_fill(uint8_t *buf, size_t len, uint64_t seed);

/* Run the event loop of ctx until *done is set or timeout (ms); 0 ok. */
int	itest_wait(struct iscsi_context *, const int *done, int timeout_ms);

/* Big-endian fields of CDBs, parameter lists and responses. */
static inline uint16_t
itest_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
itest_be32(const uint8_t *p)
{
	return (uint32_t)itest_be16(p) << 16 | itest_be16(p + 2);
}

static inline uint64_t
itest_be64(const uint8_t *p)
{
	return (uint64_t)itest_be32(p) << 32 | itest_be32(p + 4);
}

static inline void
itest_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
itest_put32(uint8_t *p, uint32_t v)
{
	itest_put16(p, v >> 16);
	itest_put16(p + 2, v);
}

static inline void
itest_put64(uint8_t *p, uint64_t v)
{
	itest_put32(p, (uint32_t)(v >> 32));
	itest_put32(p + 4, (uint32_t)v);
}

/* Result of one raw command. */
struct itest_res {
	int	 status;	/* SCSI status, -1: transport failure */
	int	 key, asc, ascq;
	bool	 sksv;
	int	 field;
	int	 bit;		/* -1: no bit pointer */
	uint8_t	 raw[260];	/* sense data (CHECK CONDITION) */
	int	 raw_len;
	uint8_t	 data[8192];	/* Data-In (GOOD) */
	int	 data_len;
};

/* Send a 16-byte cdb with optional Data-Out (out/olen) or Data-In (ilen)
 * and wait.  Returns 0 when a status came back (see r->status), -1 on a
 * transport failure. */
int	itest_cmd(struct iscsi_context *, int lun, const uint8_t *cdb16,
	    const uint8_t *out, uint32_t olen, uint32_t ilen,
	    struct itest_res *r);
bool	itest_sense_is(const struct itest_res *, int key, int asc, int ascq);
/* The LU's NAA designator from VPD 83h: the 4-byte descriptor header and
 * the designator (8 or 16 bytes) copied to out (room for 20 bytes);
 * returns the designator length, -1 if there is none. */
int	itest_lu_naa(struct iscsi_context *, int lun, uint8_t *out);

/* Wait until the daemon's pid (TPCD_PID) is alive; true if it is or if
 * there is no pid to check. */
bool	itest_daemon_alive(void);
/* Run $ITEST_RECONF with one argument ("add", "bad"...); 0 on success. */
int	itest_reconf(const char *what);

#endif
