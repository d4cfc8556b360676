/*
 * check_iscsi_login.c - the login and text state machines (iscsi_login.c,
 * iscsi_text.c) driven PDU by PDU the way libiscsi drives them.
 *
 * The connection side and the target registry are replaced by the
 * test-local definitions below: a connection records what is sent, the
 * registry knows one target with scripted credentials.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "iscsi_chap.h"
#include "iscsi_int.h"
#include "iscsi_login.h"
#include "target.h"
#include "util.h"

#define TGT	"iqn.2026-11.org.tpcd:disk"
#define INI	"iqn.2007-10.com.github:sahlberg:libiscsi"

struct iscsi_conn {
	void		*ls;
	void		(*ls_free)(void *);
	struct iscsi_pdu *sent[64];
	int		 nsent;
	bool		 closed;
	struct iscsi_params params;
	int		 complete_rc;
	int		 completes;
	struct iscsi_login_result res;
};

static struct target_auth test_auth;

/* --- the connection side, as seen by the login side --- */

struct iscsi_pdu *
iscsi_pdu_alloc(uint32_t data_len)
{
	struct iscsi_pdu *p = calloc(1, sizeof(*p));

	if (p != NULL && data_len != 0) {
		p->data = calloc(1, data_len);
		p->data_len = data_len;
	}
	return p;
}

void
iscsi_pdu_free(struct iscsi_pdu *p)
{
	if (p == NULL)
		return;
	free(p->data);
	free(p);
}

int
iscsi_pdu_set_data(struct iscsi_pdu *p, const void *data, uint32_t len)
{
	free(p->data);
	p->data = NULL;
	p->data_len = len;
	if (len != 0) {
		p->data = malloc(len);
		memcpy(p->data, data, len);
	}
	return 0;
}

void
iscsi_pdu_init_bhs(struct iscsi_pdu *p, uint8_t opcode, bool final,
    uint32_t itt)
{
	memset(p->bhs, 0, sizeof(p->bhs));
	p->bhs[0] = opcode;
	p->bhs[1] = final ? 0x80 : 0;
	put_be32(p->bhs + 16, itt);
}

void
iscsi_conn_send(struct iscsi_conn *c, struct iscsi_pdu *p)
{
	ck_assert_int_lt(c->nsent, 64);
	c->sent[c->nsent++] = p;
}

void
iscsi_conn_close(struct iscsi_conn *c, bool flush)
{
	c->closed = true;
}

const char *
iscsi_conn_portal_ip(const struct iscsi_conn *c)
{
	return "0.0.0.0";
}

uint16_t
iscsi_conn_portal_port(const struct iscsi_conn *c)
{
	return 3260;
}

const char *
iscsi_conn_local_ip(const struct iscsi_conn *c)
{
	return "127.0.0.1";
}

const struct iscsi_params *
iscsi_conn_params(const struct iscsi_conn *c)
{
	return &c->params;
}

void *
iscsi_conn_login_state(struct iscsi_conn *c)
{
	return c->ls;
}

void
iscsi_conn_set_login_state(struct iscsi_conn *c, void *s, void (*fn)(void *))
{
	c->ls = s;
	c->ls_free = fn;
}

int
iscsi_session_login_complete(struct iscsi_conn *c,
    struct iscsi_login_result *res)
{
	c->completes++;
	if (c->complete_rc != 0)
		return c->complete_rc;
	res->tsih = 0x1234;
	c->res = *res;
	c->params = res->params;
	return 0;
}

int
target_login_check(const char *target, const char *initiator,
    const char *portal_ip, uint16_t portal_port, struct target_auth *out)
{
	if (strcmp(target, TGT) != 0)
		return -ENOENT;
	if (strcmp(initiator, "iqn.bad") == 0)
		return -EACCES;
	*out = test_auth;
	return 0;
}

void
target_list_visible(const char *initiator, const char *portal_ip,
    uint16_t portal_port, target_visit_fn fn, void *arg)
{
	char name[64];
	int i;

	fn(arg, TGT, "0.0.0.0:3260,1");
	fn(arg, TGT, "[::1]:3260,1");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "iqn.2026-11.org.tpcd:t%02d", i);
		fn(arg, name, "192.0.2.1:3260,2");
	}
}

/* --- helpers --- */

static struct iscsi_conn *
conn_new(void)
{
	struct iscsi_conn *c = calloc(1, sizeof(*c));

	iscsi_params_default(&c->params);
	return c;
}

static void
conn_free(struct iscsi_conn *c)
{
	int i;

	for (i = 0; i < c->nsent; i++)
		iscsi_pdu_free(c->sent[i]);
	if (c->ls_free != NULL)
		c->ls_free(c->ls);
	free(c);
}

static struct iscsi_pdu *
login_pdu(uint8_t flags, uint16_t tsih, const char *text, size_t len)
{
	struct iscsi_pdu *p = iscsi_pdu_alloc(0);

	p->bhs[0] = 0x40 | ISCSI_OP_LOGIN_REQ;
	p->bhs[1] = flags;
	p->bhs[2] = 0;
	p->bhs[3] = 0;
	memcpy(p->bhs + 8, "\x80\x00\x00\x01\x02\x03", 6);
	put_be16(p->bhs + 14, tsih);
	put_be32(p->bhs + 16, 0xabcd);
	put_be32(p->bhs + 24, 100);
	iscsi_pdu_set_data(p, text, (uint32_t)len);
	return p;
}

#define T	0x80
#define C	0x40
#define F(csg, nsg)	(uint8_t)((csg) << 2 | (nsg))

static const char *
rsp_get(const struct iscsi_pdu *p, const char *key)
{
	size_t off = 0, kl = strlen(key);
	const char *s;

	while (off < p->data_len) {
		s = (const char *)p->data + off;
		if (strncmp(s, key, kl) == 0 && s[kl] == '=')
			return s + kl + 1;
		off += strlen(s) + 1;
	}
	return NULL;
}

static struct iscsi_pdu *
last(struct iscsi_conn *c)
{
	ck_assert_int_gt(c->nsent, 0);
	return c->sent[c->nsent - 1];
}

static int
status(const struct iscsi_pdu *p)
{
	return p->bhs[36] << 8 | p->bhs[37];
}

#define OPNEG_KEYS \
	"InitiatorName=" INI "\0TargetName=" TGT "\0SessionType=Normal\0" \
	"HeaderDigest=None,CRC32C\0DataDigest=None\0InitialR2T=No\0" \
	"ImmediateData=Yes\0MaxBurstLength=262144\0FirstBurstLength=262144\0" \
	"DefaultTime2Wait=2\0DefaultTime2Retain=0\0MaxOutstandingR2T=1\0" \
	"ErrorRecoveryLevel=0\0IFMarker=No\0OFMarker=No\0MaxConnections=1\0" \
	"MaxRecvDataSegmentLength=262144\0DataPDUInOrder=Yes\0" \
	"DataSequenceInOrder=Yes\0"

static void
setup(void)
{
	memset(&test_auth, 0, sizeof(test_auth));
	test_auth.tpg_tag = 1;
	iscsi_chap_recent_reset();
}

START_TEST(test_login_no_auth)
{
	struct iscsi_conn *c = conn_new();
	struct iscsi_pdu *r;

	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, OPNEG_KEYS,
	    sizeof(OPNEG_KEYS) - 1));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_int_eq(r->bhs[0], ISCSI_OP_LOGIN_RSP);
	ck_assert_int_eq(r->bhs[1], T | F(1, 3));
	ck_assert_int_eq(get_be16(r->bhs + 14), 0x1234);
	ck_assert_uint_eq(get_be32(r->bhs + 16), 0xabcd);
	ck_assert_mem_eq(r->bhs + 8, "\x80\x00\x00\x01\x02\x03", 6);
	ck_assert(r->flags & ISCSI_PDU_LOGIN_FINAL);
	ck_assert_str_eq(rsp_get(r, "HeaderDigest"), "None");
	ck_assert_str_eq(rsp_get(r, "InitialR2T"), "No");
	ck_assert_str_eq(rsp_get(r, "FirstBurstLength"), "65536");
	ck_assert_str_eq(rsp_get(r, "MaxBurstLength"), "262144");
	ck_assert_str_eq(rsp_get(r, "IFMarker"), "No");
	ck_assert_str_eq(rsp_get(r, "TargetPortalGroupTag"), "1");
	ck_assert_str_eq(rsp_get(r, "MaxRecvDataSegmentLength"), "262144");
	ck_assert_ptr_null(rsp_get(r, "InitiatorName"));
	ck_assert_int_eq(c->completes, 1);
	ck_assert_str_eq(c->res.initiator, INI);
	ck_assert_str_eq(c->res.target, TGT);
	ck_assert(!c->res.discovery);
	ck_assert_uint_eq(c->res.exp_cmdsn, 100);
	ck_assert_uint_eq(c->res.tpg_tag, 1);
	ck_assert_uint_eq(c->res.params.max_xmit_dsl, 262144);
	ck_assert_uint_eq(c->res.params.first_burst, 65536);
	ck_assert(!c->res.params.initial_r2t);
	ck_assert(!c->closed);
	/* nothing more after the final response */
	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, OPNEG_KEYS,
	    sizeof(OPNEG_KEYS) - 1));
	ck_assert_int_eq(c->nsent, 1);
	conn_free(c);
}
END_TEST

static void
md5_hex(uint8_t id, const char *secret, const uint8_t *chal, size_t n,
    char *out)
{
	uint8_t buf[256], d[16];
	unsigned int olen, i;
	size_t sl = strlen(secret);

	buf[0] = id;
	memcpy(buf + 1, secret, sl);
	memcpy(buf + 1 + sl, chal, n);
	EVP_Digest(buf, 1 + sl + n, d, &olen, EVP_md5(), NULL);
	strcpy(out, "0x");
	for (i = 0; i < 16; i++)
		sprintf(out + 2 + 2 * i, "%02x", d[i]);
}

static void
chap_login(bool mutual, bool good, int want3)
{
	static const char first[] = "InitiatorName=" INI "\0TargetName=" TGT
	    "\0SessionType=Normal\0AuthMethod=CHAP,None\0";
	struct iscsi_conn *c = conn_new();
	struct iscsi_pdu *r;
	uint8_t chal[64], ichal[32];
	char text[512], resp[40], want[40];
	const char *ci, *cc;
	size_t len;
	int id, n, i;

	strcpy(test_auth.chap_user, "user1");
	strcpy(test_auth.chap_secret, "initiator-secret");
	strcpy(test_auth.mutual_user, "tgtuser");
	strcpy(test_auth.mutual_secret, "target-secret-x");
	test_auth.chap_required = true;

	iscsi_login_rx(c, login_pdu(T | F(0, 1), 0, first, sizeof(first) - 1));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_int_eq(r->bhs[1], F(0, 0));		/* T=0 */
	ck_assert_str_eq(rsp_get(r, "AuthMethod"), "CHAP");
	ck_assert_str_eq(rsp_get(r, "TargetPortalGroupTag"), "1");

	iscsi_login_rx(c, login_pdu(F(0, 1), 0, "CHAP_A=5", 9));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_str_eq(rsp_get(r, "CHAP_A"), "5");
	ci = rsp_get(r, "CHAP_I");
	cc = rsp_get(r, "CHAP_C");
	ck_assert_ptr_nonnull(ci);
	ck_assert_ptr_nonnull(cc);
	id = atoi(ci);
	n = iscsi_chap_decode(cc, chal, sizeof(chal));
	ck_assert_int_ge(n, 16);
	md5_hex((uint8_t)id, good ? "initiator-secret" : "wrong", chal,
	    (size_t)n, resp);
	len = (size_t)snprintf(text, sizeof(text), "CHAP_N=user1%cCHAP_R=%s%c",
	    0, resp, 0);
	if (mutual) {
		for (i = 0; i < 32; i++)
			ichal[i] = (uint8_t)(i * 7 + 3);
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "CHAP_I=9%cCHAP_C=0x", 0);
		for (i = 0; i < 32; i++)
			len += (size_t)sprintf(text + len, "%02x", ichal[i]);
		len++;
	}
	iscsi_login_rx(c, login_pdu(T | F(0, 1), 0, text, len));
	r = last(c);
	if (want3 != 0) {
		ck_assert_int_eq(status(r), want3);
		ck_assert(c->closed);
		ck_assert_uint_eq(r->data_len, 0);
		conn_free(c);
		return;
	}
	ck_assert_int_eq(status(r), 0);
	ck_assert_int_eq(r->bhs[1], T | F(0, 1));
	if (mutual) {
		ck_assert_str_eq(rsp_get(r, "CHAP_N"), "tgtuser");
		md5_hex(9, "target-secret-x", ichal, 32, want);
		ck_assert_str_eq(rsp_get(r, "CHAP_R"), want);
	} else {
		ck_assert_ptr_null(rsp_get(r, "CHAP_R"));
	}
	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, OPNEG_KEYS,
	    sizeof(OPNEG_KEYS) - 1));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_int_eq(r->bhs[1], T | F(1, 3));
	ck_assert_int_eq(c->completes, 1);
	conn_free(c);
}

START_TEST(test_login_chap)
{
	chap_login(false, true, 0);
}
END_TEST

START_TEST(test_login_chap_mutual)
{
	chap_login(true, true, 0);
}
END_TEST

START_TEST(test_login_chap_bad)
{
	chap_login(false, false, ISCSI_LS_AUTH_FAILED);
}
END_TEST

START_TEST(test_login_chap_replay)
{
	/* The same initiator challenge in a second login is refused. */
	chap_login(true, true, 0);
	chap_login(true, true, ISCSI_LS_AUTH_FAILED);
}
END_TEST

/* One request, expected status of the (only) response. */
static void
one(uint8_t flags, uint16_t tsih, const char *text, size_t len, int want)
{
	struct iscsi_conn *c = conn_new();
	struct iscsi_pdu *r;

	iscsi_login_rx(c, login_pdu(flags, tsih, text, len));
	r = last(c);
	ck_assert_int_eq(status(r), want);
	ck_assert_int_eq(c->closed, want != 0);
	conn_free(c);
}

#define S(x)	x, sizeof(x) - 1

START_TEST(test_login_errors)
{
	struct iscsi_conn *c;
	struct iscsi_pdu *p;

	one(T | F(1, 3), 0, S("TargetName=" TGT "\0"),
	    ISCSI_LS_MISSING_PARAMETER);
	one(T | F(1, 3), 0, S("InitiatorName=" INI "\0"),
	    ISCSI_LS_MISSING_PARAMETER);
	one(T | F(1, 3), 0, S("InitiatorName=" INI "\0TargetName=iqn.x\0"),
	    ISCSI_LS_NOT_FOUND);
	one(T | F(1, 3), 0, S("InitiatorName=iqn.bad\0TargetName=" TGT "\0"),
	    ISCSI_LS_FORBIDDEN);
	one(T | F(1, 3), 0, S("InitiatorName=" INI "\0SessionType=Foo\0"),
	    ISCSI_LS_SESSION_TYPE);
	one(T | C | F(1, 3), 0, S("InitiatorName=" INI "\0"),
	    ISCSI_LS_INITIATOR_ERROR);
	one(T | F(1, 1), 0, S(OPNEG_KEYS), ISCSI_LS_INITIATOR_ERROR);
	one(T | F(1, 2), 0, S(OPNEG_KEYS), ISCSI_LS_INITIATOR_ERROR);
	one(T | F(3, 3), 0, S(OPNEG_KEYS), ISCSI_LS_INITIATOR_ERROR);
	one(T | F(1, 3), 0, S(OPNEG_KEYS "InitialR2T=Yes\0"),
	    ISCSI_LS_INITIATOR_ERROR);			/* duplicate */
	one(T | F(1, 3), 0, S(OPNEG_KEYS "Junk\0"), ISCSI_LS_INITIATOR_ERROR);
	one(T | F(1, 3), 0, S(OPNEG_KEYS "TargetAlias=x\0"),
	    ISCSI_LS_INITIATOR_ERROR);
	one(T | F(1, 3), 0, S(OPNEG_KEYS "CHAP_A=5\0"),
	    ISCSI_LS_INITIATOR_ERROR);		/* security key in opneg */
	/* LO keys on a connection joining a session */
	one(T | F(1, 3), 7, S(OPNEG_KEYS), ISCSI_LS_INITIATOR_ERROR);
	one(T | F(1, 3), 7, S("InitiatorName=" INI "\0TargetName=" TGT
	    "\0HeaderDigest=None\0"), 0);
	/* CHAP required, security stage skipped */
	test_auth.chap_required = true;
	one(T | F(1, 3), 0, S(OPNEG_KEYS), ISCSI_LS_AUTH_FAILED);
	/* CHAP required, only None offered */
	one(T | F(0, 1), 0, S("InitiatorName=" INI "\0TargetName=" TGT
	    "\0AuthMethod=None\0"), ISCSI_LS_AUTH_FAILED);
	/* CHAP required, no AuthMethod at all, transit asked */
	one(T | F(0, 1), 0, S("InitiatorName=" INI "\0TargetName=" TGT "\0"),
	    ISCSI_LS_AUTH_FAILED);
	test_auth.chap_required = false;
	/* unsupported version */
	p = login_pdu(T | F(1, 3), 0, S(OPNEG_KEYS));
	p->bhs[2] = 2;
	p->bhs[3] = 1;
	c = conn_new();
	iscsi_login_rx(c, p);
	ck_assert_int_eq(status(last(c)), ISCSI_LS_UNSUPPORTED_VERSION);
	conn_free(c);
	/* the session side refuses */
	c = conn_new();
	c->complete_rc = ISCSI_LS_NO_SESSION;
	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, S(OPNEG_KEYS)));
	ck_assert_int_eq(status(last(c)), ISCSI_LS_NO_SESSION);
	ck_assert(c->closed);
	conn_free(c);
	/* ISID changes in the middle of a login */
	c = conn_new();
	iscsi_login_rx(c, login_pdu(F(0, 1), 0, S("InitiatorName=" INI
	    "\0TargetName=" TGT "\0")));
	ck_assert_int_eq(status(last(c)), 0);
	p = login_pdu(T | F(0, 1), 0, NULL, 0);
	p->bhs[13] ^= 1;
	iscsi_login_rx(c, p);
	ck_assert_int_eq(status(last(c)), ISCSI_LS_INITIATOR_ERROR);
	conn_free(c);
}
END_TEST

START_TEST(test_login_continuation)
{
	static const char txt[] = OPNEG_KEYS;
	struct iscsi_conn *c = conn_new();
	struct iscsi_pdu *r;
	size_t cut = 37;

	iscsi_login_rx(c, login_pdu(C | F(1, 3), 0, txt, cut));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_uint_eq(r->data_len, 0);
	ck_assert_int_eq(r->bhs[1] & (T | C), 0);
	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, txt + cut,
	    sizeof(txt) - 1 - cut));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_int_eq(r->bhs[1], T | F(1, 3));
	ck_assert_str_eq(rsp_get(r, "MaxBurstLength"), "262144");
	conn_free(c);
}
END_TEST

static struct iscsi_pdu *
text_pdu(uint8_t flags, uint32_t itt, uint32_t ttt, const char *t,
    size_t len)
{
	struct iscsi_pdu *p = iscsi_pdu_alloc(0);

	p->bhs[0] = ISCSI_OP_TEXT_REQ;
	p->bhs[1] = flags;
	put_be32(p->bhs + 16, itt);
	put_be32(p->bhs + 20, ttt);
	iscsi_pdu_set_data(p, t, (uint32_t)len);
	return p;
}

START_TEST(test_discovery_send_targets)
{
	static const char disc[] = "InitiatorName=" INI
	    "\0SessionType=Discovery\0MaxBurstLength=262144\0"
	    "HeaderDigest=None\0";
	struct iscsi_conn *c = conn_new();
	struct iscsi_pdu *r;
	char all[8192];
	size_t len = 0;
	int parts = 0;

	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, S(disc)));
	r = last(c);
	ck_assert_int_eq(status(r), 0);
	ck_assert_str_eq(rsp_get(r, "MaxBurstLength"), "Irrelevant");
	ck_assert_ptr_null(rsp_get(r, "TargetPortalGroupTag"));
	ck_assert(c->res.discovery);
	c->params.max_xmit_dsl = 512;
	iscsi_text_rx(c, text_pdu(0x80, 77, ISCSI_RSVD_TAG,
	    S("SendTargets=All\0")), true, INI);
	for (;;) {
		r = last(c);
		ck_assert_int_eq(r->bhs[0], ISCSI_OP_TEXT_RSP);
		ck_assert_uint_eq(get_be32(r->bhs + 16), 77);
		ck_assert_uint_le(r->data_len, 512);
		ck_assert_uint_lt(len + r->data_len, sizeof(all));
		memcpy(all + len, r->data, r->data_len);
		len += r->data_len;
		parts++;
		if (r->bhs[1] & 0x80) {
			ck_assert_uint_eq(get_be32(r->bhs + 20),
			    ISCSI_RSVD_TAG);
			break;
		}
		ck_assert(r->bhs[1] & 0x40);
		ck_assert_uint_ne(get_be32(r->bhs + 20), ISCSI_RSVD_TAG);
		iscsi_text_rx(c, text_pdu(0x80, 77, get_be32(r->bhs + 20),
		    NULL, 0), true, INI);
	}
	ck_assert_int_gt(parts, 2);
	ck_assert_int_eq(all[len - 1], '\0');
	ck_assert_ptr_nonnull(memmem(all, len, "TargetName=" TGT "\0"
	    "TargetAddress=127.0.0.1:3260,1\0TargetAddress=[::1]:3260,1\0",
	    sizeof("TargetName=" TGT) + sizeof("TargetAddress=127.0.0.1:3260,1")
	    + sizeof("TargetAddress=[::1]:3260,1")));
	ck_assert_ptr_nonnull(memmem(all, len,
	    "TargetName=iqn.2026-11.org.tpcd:t39\0TargetAddress=192.0.2.1",
	    59));
	/* A named target only; an unknown key in FFP */
	iscsi_text_rx(c, text_pdu(0x80, 78, ISCSI_RSVD_TAG,
	    S("SendTargets=iqn.2026-11.org.tpcd:t07\0X-foo=1\0")), true, INI);
	r = last(c);
	ck_assert_int_eq(r->bhs[1], 0x80);
	ck_assert_str_eq(rsp_get(r, "TargetName"), "iqn.2026-11.org.tpcd:t07");
	ck_assert_str_eq(rsp_get(r, "X-foo"), "NotUnderstood");
	/* A request in two parts (C bit) */
	iscsi_text_rx(c, text_pdu(0x40, 79, ISCSI_RSVD_TAG,
	    "SendTarg", 8), true, INI);
	r = last(c);
	ck_assert_uint_eq(r->data_len, 0);
	ck_assert_int_eq(r->bhs[1], 0);
	iscsi_text_rx(c, text_pdu(0x80, 79, get_be32(r->bhs + 20),
	    S("ets=iqn.2026-11.org.tpcd:t08\0")), true, INI);
	r = last(c);
	ck_assert_str_eq(rsp_get(r, "TargetName"), "iqn.2026-11.org.tpcd:t08");
	conn_free(c);
}
END_TEST

START_TEST(test_ffp_send_targets_own_target)
{
	struct iscsi_conn *c = conn_new();
	struct iscsi_pdu *r;

	iscsi_login_rx(c, login_pdu(T | F(1, 3), 0, S(OPNEG_KEYS)));
	ck_assert_int_eq(status(last(c)), 0);
	iscsi_text_rx(c, text_pdu(0x80, 5, ISCSI_RSVD_TAG,
	    S("SendTargets=All\0MaxRecvDataSegmentLength=65536\0"
	    "MaxBurstLength=4096\0")), false, INI);
	r = last(c);
	ck_assert_int_eq(r->bhs[1], 0x80);
	ck_assert_str_eq(rsp_get(r, "TargetName"), TGT);
	ck_assert_ptr_null(memmem(r->data, r->data_len, ":t0", 3));
	ck_assert_str_eq(rsp_get(r, "MaxBurstLength"), "Reject");
	ck_assert_ptr_null(rsp_get(r, "MaxRecvDataSegmentLength"));
	conn_free(c);
}
END_TEST

static Suite *
login_suite(void)
{
	Suite *s = suite_create("iscsi_login");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_login_no_auth);
	tcase_add_test(tc, test_login_chap);
	tcase_add_test(tc, test_login_chap_mutual);
	tcase_add_test(tc, test_login_chap_bad);
	tcase_add_test(tc, test_login_chap_replay);
	tcase_add_test(tc, test_login_errors);
	tcase_add_test(tc, test_login_continuation);
	tcase_add_test(tc, test_discovery_send_targets);
	tcase_add_test(tc, test_ffp_send_targets_own_target);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(login_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
