/*
 * fuzz_login.c - a whole iSCSI connection fed from a socket: the
 * connection side's receive path, the login state machine
 * (iscsi_login_rx: stages, key negotiation, CHAP, SessionType, names),
 * session creation, and after a successful login the full feature phase
 * (SCSI commands into the engine, Data-Out, TMF, NOP, Text, Logout).
 *
 * The harness plays the initiator on one end of a socketpair; the other
 * end becomes a real struct iscsi_conn on loop 0, exactly as the listener
 * hands over an accepted socket.  The input is the byte stream the
 * initiator sends.  The harness writes it, half-closes, reads and checks
 * everything the target answers, and returns when the connection is gone
 * (iscsi_conn_set_zero_cb) and the target closed its end.  The target runs
 * the configuration below: an open demo-mode target with two "mem" LUNs,
 * a CHAP target and a discovery portal, all on 127.0.0.1:3260.
 *
 * Properties: no crash, leak or hang (a watchdog aborts after 25 s);
 * until the login is over the target only sends Login Responses with data
 * segments within the login limit of 8192 bytes (RFC 7143 6.1 and 11.12.5),
 * and whatever it sends is well formed PDUs.
 *
 * Built with -DFUZZ_FFP this is the fuzz_ffp target: the harness first
 * sends a fixed one-stage login to the open target (no digests,
 * ImmediateData=Yes, InitialR2T=No, MaxOutstandingR2T=4, our
 * MaxRecvDataSegmentLength 65536; ISID 80 00 02 3d 00 01, ITT 0, CmdSN 1)
 * and the input is only what follows: full feature phase PDUs, starting
 * at CmdSN 1.  The login must succeed, and in full feature phase every
 * target PDU must be a target opcode with a data segment within our
 * MaxRecvDataSegmentLength.
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "iscsi.h"
#include "iscsi_conn.h"
#include "log.h"
#include "loop.h"
#include "scsi.h"
#include "target.h"

#define FUZZ_WATCHDOG_MS	25000

static const char fz_conf_json[] =
"{\"storage_objects\": ["
"  {\"plugin\": \"mem\", \"name\": \"m0\", \"size\": 1048576},"
"  {\"plugin\": \"mem\", \"name\": \"m1\", \"size\": 1048576,"
"   \"attributes\": {\"block_size\": 4096}},"
"  {\"plugin\": \"mem\", \"name\": \"mc\", \"size\": 1048576}],"
" \"targets\": ["
"  {\"wwn\": \"iqn.2026-11.org.tpcd:fuzz\", \"fabric\": \"iscsi\","
"   \"tpgs\": [{\"tag\": 1, \"enable\": true,"
"    \"attributes\": {\"authentication\": 0, \"generate_node_acls\": 1,"
"     \"demo_mode_write_protect\": 0},"
"    \"portals\": [{\"ip_address\": \"127.0.0.1\", \"port\": 3260}],"
"    \"luns\": [{\"index\": 0, \"storage_object\": \"/backstores/mem/m0\"},"
"     {\"index\": 1, \"storage_object\": \"/backstores/mem/m1\"}],"
"    \"node_acls\": [],"
"    \"parameters\": {\"HeaderDigest\": \"CRC32C,None\","
"     \"DataDigest\": \"CRC32C,None\", \"MaxRecvDataSegmentLength\": \"65536\","
"     \"MaxOutstandingR2T\": \"4\"}}]},"
"  {\"wwn\": \"iqn.2026-11.org.tpcd:fuzz-chap\", \"fabric\": \"iscsi\","
"   \"tpgs\": [{\"tag\": 2, \"enable\": true,"
"    \"attributes\": {\"authentication\": 1, \"generate_node_acls\": 0},"
"    \"portals\": [{\"ip_address\": \"127.0.0.1\", \"port\": 3260}],"
"    \"luns\": [{\"index\": 0, \"storage_object\": \"/backstores/mem/mc\"}],"
"    \"node_acls\": [{\"node_wwn\": \"iqn.2026-11.org.tpcd:fuzz-init\","
"     \"mapped_luns\": [{\"index\": 0, \"tpg_lun\": 0}],"
"     \"chap_userid\": \"fuzz-user\", \"chap_password\": \"fuzz-secret-1\","
"     \"chap_mutual_userid\": \"fuzz-target\","
"     \"chap_mutual_password\": \"fuzz-secret-2\"}]}]}]}";

struct fuzz_peer {
	int		 fd;
	const uint8_t	*out;
	size_t		 out_len, out_off;
	bool		 wr_closed;
	bool		 eof;		/* the target closed its end */
	bool		 zero;		/* no connection left */
	struct iscsi_rx	 rx;		/* what the target sends */
	bool		 rx_dead;
	bool		 in_ffp;	/* final login response seen */
	uint8_t		*owned;		/* out, when the harness built it */
	struct loop_timer *watchdog;
};

static struct fuzz_peer fz_peer;

static void
fuzz_init(void)
{
	struct iscsi_globals g = { .login_timeout_s = 5 };
	struct conf *c;
	char *err = NULL;

	signal(SIGPIPE, SIG_IGN);
	log_init(false, getenv("FUZZ_LOG") != NULL ? LOG_LVL_DBG :
	    LOG_LVL_ERR);
	iscsi_set_globals(&g);
	if (loops_init(1) != 0)
		abort();
	scsi_init();
	c = conf_parse(fz_conf_json, "fuzz_login", &err);
	if (c == NULL || target_apply(c, &err) != 0) {
		fprintf(stderr, "fuzz_login: configuration: %s\n",
		    err != NULL ? err : "?");
		abort();
	}
	conf_free(c);
}

static void
fuzz_maybe_stop(struct fuzz_peer *fp)
{
	if (!fp->eof || !fp->zero)
		return;
	loop_timer_destroy(fp->watchdog);
	fp->watchdog = NULL;
	loops_stop();
}

#ifdef FUZZ_FFP
#define FUZZ_FFP_ON	1
#else
#define FUZZ_FFP_ON	0
#endif
#define FUZZ_FFP_MRDSL	65536

static const char fz_ffp_login[] =
    "InitiatorName=iqn.2026-11.org.tpcd:fuzz-init\0"
    "TargetName=iqn.2026-11.org.tpcd:fuzz\0"
    "SessionType=Normal\0"
    "HeaderDigest=None\0"
    "DataDigest=None\0"
    "InitialR2T=No\0"
    "ImmediateData=Yes\0"
    "MaxBurstLength=262144\0"
    "FirstBurstLength=65536\0"
    "MaxOutstandingR2T=4\0"
    "MaxRecvDataSegmentLength=65536\0"
    "ErrorRecoveryLevel=0\0"
    "MaxConnections=1";

/* The fixed login PDU followed by the input. */
static uint8_t *
fuzz_ffp_stream(const uint8_t *data, size_t size, size_t *len)
{
	static const uint8_t isid[6] = { 0x80, 0x00, 0x02, 0x3d, 0x00, 0x01 };
	size_t tl = sizeof(fz_ffp_login), pl = (tl + 3) & ~(size_t)3;
	uint8_t *b;

	*len = ISCSI_BHS_LEN + pl + size;
	b = calloc(1, *len);
	if (b == NULL)
		abort();
	b[0] = ISCSI_OP_IMMEDIATE | ISCSI_OP_LOGIN_REQ;
	b[1] = ISCSI_LOGIN_TRANSIT | ISCSI_STAGE_OPNEG << 2 | ISCSI_STAGE_FFP;
	b[5] = (uint8_t)(tl >> 16);
	b[6] = (uint8_t)(tl >> 8);
	b[7] = (uint8_t)tl;
	memcpy(b + 8, isid, sizeof(isid));
	b[27] = 1;				/* CmdSN */
	memcpy(b + ISCSI_BHS_LEN, fz_ffp_login, tl);
	if (size != 0)
		memcpy(b + ISCSI_BHS_LEN + pl, data, size);
	return b;
}

/* A PDU the target sent in full feature phase. */
static void
fuzz_check_ffp_pdu(const struct iscsi_pdu *pdu)
{
	switch (iscsi_pdu_opcode(pdu)) {
	case ISCSI_OP_NOP_IN:
	case ISCSI_OP_SCSI_RSP:
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_DATA_IN:
	case ISCSI_OP_LOGOUT_RSP:
	case ISCSI_OP_R2T:
	case ISCSI_OP_ASYNC_MSG:
	case ISCSI_OP_REJECT:
		break;
	default:
		FUZZ_CHECK(!"not a target opcode");
	}
	/* Never more than the initiator's MaxRecvDataSegmentLength. */
	FUZZ_CHECK(!(pdu->flags & ISCSI_PDU_DATA_TOO_LONG));
	FUZZ_CHECK(!(pdu->bhs[0] & ISCSI_OP_IMMEDIATE));
}

/* Check the target's PDUs while the login phase lasts. */
static void
fuzz_rx_target(struct fuzz_peer *fp, const uint8_t *buf, size_t len)
{
	struct iscsi_pdu *pdu;
	size_t used;
	uint8_t op;
	int rc;

	while (len != 0 && !fp->rx_dead && (!fp->in_ffp || FUZZ_FFP_ON)) {
		rc = iscsi_rx_feed(&fp->rx, buf, len, &used);
		buf += used;
		len -= used;
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == -ENOMEM);
		if (rc != 1) {
			fp->rx_dead = rc < 0;
			continue;
		}
		pdu = iscsi_rx_take(&fp->rx);
		op = iscsi_pdu_opcode(pdu);
		if (fp->in_ffp) {
			fuzz_check_ffp_pdu(pdu);
			iscsi_pdu_free(pdu);
			continue;
		}
		FUZZ_CHECK(op == ISCSI_OP_LOGIN_RSP);
		FUZZ_CHECK(!(pdu->flags & ISCSI_PDU_DATA_TOO_LONG));
		FUZZ_CHECK(pdu->ahs_len == 0);
		/* T=1, NSG=FFP, status success: digests may start now. */
		if ((pdu->bhs[1] & ISCSI_LOGIN_TRANSIT) &&
		    ISCSI_LOGIN_NSG(pdu->bhs[1]) == ISCSI_STAGE_FFP &&
		    pdu->bhs[36] == 0) {
			fp->in_ffp = true;
			fp->rx.max_dsl = FUZZ_FFP_MRDSL;
		}
		iscsi_pdu_free(pdu);
	}
}

static void
fuzz_peer_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct fuzz_peer *fp = arg;
	uint8_t buf[16384];
	ssize_t n = 0;

	if ((events & EPOLLOUT) && !fp->wr_closed) {
		while (fp->out_off < fp->out_len) {
			n = write(fd, fp->out + fp->out_off,
			    fp->out_len - fp->out_off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			fp->out_off += (size_t)n;
		}
		if (fp->out_off == fp->out_len ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			shutdown(fd, SHUT_WR);
			fp->wr_closed = true;
			loop_fd_mod(l, fd, EPOLLIN);
		}
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		fuzz_rx_target(fp, buf, (size_t)n);
	}
	/* EOF or error: the target is done with us. */
	loop_fd_del(l, fd);
	close(fd);
	fp->fd = -1;
	fp->eof = true;
	fuzz_maybe_stop(fp);
}

static void
fuzz_zero(void *arg)
{
	struct fuzz_peer *fp = arg;

	fp->zero = true;
	fuzz_maybe_stop(fp);
}

static void
fuzz_watchdog(void *arg)
{
	struct fuzz_peer *fp = arg;

	fprintf(stderr, "fuzz_login: connection still alive after %u ms "
	    "(eof %d, zero %d, %zu/%zu bytes written)\n", FUZZ_WATCHDOG_MS,
	    fp->eof, fp->zero, fp->out_off, fp->out_len);
	abort();
}

static void
fuzz_start(void *arg)
{
	struct fuzz_peer *fp = arg;
	struct loop *l = loop_get(0);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		abort();
	if (iscsi_conn_create(sv[0], l, "127.0.0.1", 3260) == NULL)
		abort();
	fp->fd = sv[1];
	if (loop_fd_add(l, sv[1], EPOLLIN | EPOLLOUT, fuzz_peer_io, fp) != 0)
		abort();
	fp->watchdog = loop_timer_create(l, fuzz_watchdog, fp);
	if (fp->watchdog == NULL)
		abort();
	loop_timer_arm(fp->watchdog, FUZZ_WATCHDOG_MS);
	iscsi_conn_set_zero_cb(fuzz_zero, fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct fuzz_peer *fp = &fz_peer;

	if (!init) {
		fuzz_init();
		init = true;
	}
	memset(fp, 0, sizeof(*fp));
	fp->fd = -1;
	fp->out = data;
	fp->out_len = size;
	if (FUZZ_FFP_ON) {
		fp->owned = fuzz_ffp_stream(data, size, &fp->out_len);
		fp->out = fp->owned;
	}
	iscsi_rx_init(&fp->rx, ISCSI_LOGIN_MAX_DSL);
	if (loop_post(loop_get(0), fuzz_start, fp) != 0)
		abort();
	if (loops_run() != 0)
		abort();
	FUZZ_CHECK(fp->eof && fp->zero);
	FUZZ_CHECK(iscsi_conn_count() == 0);
	/* The fixed login always works. */
	FUZZ_CHECK(!FUZZ_FFP_ON || fp->in_ffp);
	iscsi_rx_fini(&fp->rx);
	free(fp->owned);
	return 0;
}
