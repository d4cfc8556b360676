/*
 * iscsi_login.c - the Login phase (RFC 7143 6, 11.12, 11.13): one state
 * machine per connection fed with Login Request PDUs.
 *
 * Each request is checked (version, stage bits, ISID/TSIH/CID constant
 * across the login), its text accumulated while the C bit is set, then
 * handled in three steps: names and the ACL on the first request
 * (target_login_check), the security stage (AuthMethod None or CHAP, with
 * optional mutual CHAP), and the operational keys through iscsi_param.
 * Transit is granted when the initiator asks for it and the current stage
 * is complete; the transition to full feature phase goes through
 * iscsi_session_login_complete() before the final response is queued.
 * Any failure answers with a Login Response carrying the status class and
 * detail of RFC 7143 11.13.5 and closes the connection after it is sent.
 *
 * Towards libiscsi (our reference initiator): it re-sends InitiatorName,
 * TargetName and SessionType in the operational stage, so repeating them
 * with the same value is accepted; it never answers keys offered by the
 * target, so we only ever answer and declare.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "iscsi_int.h"
#include "iscsi_login.h"
#include "log.h"
#include "target.h"
#include "util.h"

struct iscsi_login_req {
	bool		 transit;
	bool		 cont;
	uint8_t		 csg;
	uint8_t		 nsg;
};

static void
iscsi_login_state_free(void *arg)
{
	struct iscsi_login_state *st = arg;

	if (st == NULL)
		return;
	free(st->acc);
	free(st->text.rsp);
	free(st->text.req);
	OPENSSL_cleanse(st, sizeof(*st));
	free(st);
}

struct iscsi_login_state *
iscsi_login_state_get(struct iscsi_conn *conn)
{
	struct iscsi_login_state *st;

	st = iscsi_conn_login_state(conn);
	if (st != NULL)
		return st;
	st = xcalloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->text.next_ttt = 1;
	iscsi_negot_init(&st->negot, NULL, true, false);
	iscsi_conn_set_login_state(conn, st, iscsi_login_state_free);
	return st;
}

int
iscsi_login_append(uint8_t **buf, size_t *len, const uint8_t *data,
    size_t n, size_t max)
{
	uint8_t *nb;

	if (n == 0)
		return 0;
	if (n > max || *len > max - n)
		return -E2BIG;
	nb = xrealloc(*buf, *len + n);
	if (nb == NULL)
		return -ENOMEM;
	memcpy(nb + *len, data, n);
	*buf = nb;
	*len += n;
	return 0;
}

/* --- names and access --- */

static bool
iscsi_login_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > ISCSI_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int
iscsi_login_access(struct iscsi_conn *conn, struct iscsi_login_state *st)
{
	struct iscsi_param_conf conf;
	char err[160];
	int rc;

	rc = target_login_check(st->target, st->initiator,
	    iscsi_conn_portal_ip(conn), iscsi_conn_portal_port(conn),
	    &st->auth);
	if (rc == -ENOENT)
		return ISCSI_LS_NOT_FOUND;
	if (rc == -EACCES)
		return ISCSI_LS_FORBIDDEN;
	if (rc < 0)
		return ISCSI_LS_TARGET_ERROR;
	iscsi_param_conf_default(&conf);
	if (st->auth.params[0] != '\0' &&
	    iscsi_param_conf_parse(&conf, st->auth.params, err,
	    sizeof(err)) != 0)
		log_warn("iscsi: target %s: %s (using defaults)", st->target,
		    err);
	iscsi_negot_init(&st->negot, &conf, st->tsih == 0, false);
	return 0;
}

/* First request: InitiatorName, SessionType, TargetName, ACL. */
static int
iscsi_login_names(struct iscsi_conn *conn, struct iscsi_login_state *st,
    const struct iscsi_param_list *l)
{
	const char *ini, *type, *tgt;
	int rc;

	ini = iscsi_param_list_get(l, "InitiatorName");
	type = iscsi_param_list_get(l, "SessionType");
	tgt = iscsi_param_list_get(l, "TargetName");
	if (ini == NULL)
		return ISCSI_LS_MISSING_PARAMETER;
	if (!iscsi_login_name_ok(ini))
		return ISCSI_LS_INITIATOR_ERROR;
	strlcpy_t(st->initiator, ini, sizeof(st->initiator));
	if (type == NULL || strcmp(type, "Normal") == 0)
		st->discovery = false;
	else if (strcmp(type, "Discovery") == 0)
		st->discovery = true;
	else
		return ISCSI_LS_SESSION_TYPE;
	iscsi_negot_init(&st->negot, NULL, st->tsih == 0, st->discovery);
	st->names_done = true;
	if (st->discovery) {
		/* Discovery: no target, no CHAP unless configured (not yet). */
		memset(&st->auth, 0, sizeof(st->auth));
		return 0;
	}
	if (tgt == NULL)
		return ISCSI_LS_MISSING_PARAMETER;
	if (!iscsi_login_name_ok(tgt))
		return ISCSI_LS_NOT_FOUND;
	strlcpy_t(st->target, tgt, sizeof(st->target));
	rc = iscsi_login_access(conn, st);
	if (rc != 0)
		log_info("iscsi: login of %s to %s refused (%04x)",
		    st->initiator, st->target, (unsigned int)rc);
	return rc;
}

/* Later requests may repeat the names (libiscsi does), never change them. */
static int
iscsi_login_names_again(const struct iscsi_login_state *st,
    const struct iscsi_param_list *l)
{
	const char *ini, *type, *tgt;

	ini = iscsi_param_list_get(l, "InitiatorName");
	type = iscsi_param_list_get(l, "SessionType");
	tgt = iscsi_param_list_get(l, "TargetName");
	if (ini != NULL && strcmp(ini, st->initiator) != 0)
		return ISCSI_LS_INITIATOR_ERROR;
	if (type != NULL && strcmp(type, st->discovery ? "Discovery" :
	    "Normal") != 0)
		return ISCSI_LS_INITIATOR_ERROR;
	if (tgt != NULL && !st->discovery && strcmp(tgt, st->target) != 0)
		return ISCSI_LS_INITIATOR_ERROR;
	return 0;
}

/* --- security stage --- */

static bool
iscsi_login_chap_configured(const struct iscsi_login_state *st)
{
	return st->auth.chap_user[0] != '\0' &&
	    st->auth.chap_secret[0] != '\0';
}

/* RFC 7143 6.2.1: the first method of the offer we support. */
static int
iscsi_login_auth_method(struct iscsi_login_state *st, const char *offer,
    struct iscsi_param_buf *rsp)
{
	const char *p = offer, *c;
	size_t len;

	if (st->auth_state != ISCSI_AUTH_START)
		return ISCSI_LS_INITIATOR_ERROR;
	for (;;) {
		c = strchr(p, ',');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == 4 && memcmp(p, "None", 4) == 0 &&
		    !st->auth.chap_required) {
			st->auth_state = ISCSI_AUTH_DONE;
			return iscsi_param_buf_add(rsp, "AuthMethod", "None") ?
			    ISCSI_LS_TARGET_ERROR : 0;
		}
		if (len == 4 && memcmp(p, "CHAP", 4) == 0 &&
		    iscsi_login_chap_configured(st)) {
			st->auth_state = ISCSI_AUTH_WAIT_A;
			return iscsi_param_buf_add(rsp, "AuthMethod", "CHAP") ?
			    ISCSI_LS_TARGET_ERROR : 0;
		}
		if (c == NULL)
			break;
		p = c + 1;
	}
	log_info("iscsi: %s offered no acceptable AuthMethod (%.64s)",
	    st->initiator, offer);
	return ISCSI_LS_AUTH_FAILED;
}

static int
iscsi_login_chap_a(struct iscsi_login_state *st, const char *a,
    struct iscsi_param_buf *rsp)
{
	char id[8], chal[2 * ISCSI_CHAP_CHALLENGE_LEN + 3];

	if (st->auth_state != ISCSI_AUTH_WAIT_A)
		return ISCSI_LS_AUTH_FAILED;
	if (iscsi_chap_select_alg(a) != ISCSI_CHAP_ALG_MD5) {
		log_info("iscsi: %s: CHAP_A=%.32s not supported",
		    st->initiator, a);
		return ISCSI_LS_AUTH_FAILED;
	}
	if (iscsi_chap_challenge(&st->chap, id, sizeof(id), chal,
	    sizeof(chal)) != 0)
		return ISCSI_LS_TARGET_ERROR;
	if (iscsi_param_buf_add(rsp, "CHAP_A", "5") != 0 ||
	    iscsi_param_buf_add(rsp, "CHAP_I", id) != 0 ||
	    iscsi_param_buf_add(rsp, "CHAP_C", chal) != 0)
		return ISCSI_LS_TARGET_ERROR;
	st->auth_state = ISCSI_AUTH_WAIT_R;
	return 0;
}

static int
iscsi_login_chap_mutual(struct iscsi_login_state *st, const char *i,
    const char *c, struct iscsi_param_buf *rsp)
{
	char r[2 * ISCSI_CHAP_MD5_LEN + 3];
	int rc;

	if (i == NULL || c == NULL)
		return ISCSI_LS_AUTH_FAILED;
	if (st->auth.mutual_user[0] == '\0' ||
	    st->auth.mutual_secret[0] == '\0') {
		log_info("iscsi: %s asked for mutual CHAP, none configured",
		    st->initiator);
		return ISCSI_LS_AUTH_FAILED;
	}
	/* RFC 7143 12.1.3: one secret must not serve both directions. */
	if (strcmp(st->auth.mutual_secret, st->auth.chap_secret) == 0) {
		log_warn("iscsi: target %s: mutual CHAP secret equals the "
		    "initiator secret, refusing", st->target);
		return ISCSI_LS_AUTH_FAILED;
	}
	rc = iscsi_chap_mutual(&st->chap, i, c, st->auth.mutual_secret, r,
	    sizeof(r));
	if (rc != 0) {
		log_info("iscsi: %s: mutual CHAP challenge refused (%d)",
		    st->initiator, rc);
		return ISCSI_LS_AUTH_FAILED;
	}
	if (iscsi_param_buf_add(rsp, "CHAP_N", st->auth.mutual_user) != 0 ||
	    iscsi_param_buf_add(rsp, "CHAP_R", r) != 0)
		return ISCSI_LS_TARGET_ERROR;
	return 0;
}

static int
iscsi_login_chap_r(struct iscsi_login_state *st,
    const struct iscsi_param_list *l, struct iscsi_param_buf *rsp)
{
	const char *n = iscsi_param_list_get(l, "CHAP_N");
	const char *r = iscsi_param_list_get(l, "CHAP_R");
	const char *i = iscsi_param_list_get(l, "CHAP_I");
	const char *c = iscsi_param_list_get(l, "CHAP_C");
	int rc;

	if (st->auth_state != ISCSI_AUTH_WAIT_R || n == NULL || r == NULL)
		return ISCSI_LS_AUTH_FAILED;
	if (strcmp(n, st->auth.chap_user) != 0 ||
	    iscsi_chap_verify(&st->chap, st->auth.chap_secret, r) != 0) {
		log_info("iscsi: CHAP authentication of %s failed",
		    st->initiator);
		return ISCSI_LS_AUTH_FAILED;
	}
	/* A challenge answers once. */
	st->chap.challenge_len = 0;
	if (i != NULL || c != NULL) {
		rc = iscsi_login_chap_mutual(st, i, c, rsp);
		if (rc != 0)
			return rc;
	}
	st->auth_state = ISCSI_AUTH_DONE;
	return 0;
}

static int
iscsi_login_security(struct iscsi_login_state *st,
    const struct iscsi_param_list *l, struct iscsi_param_buf *rsp)
{
	const char *am = iscsi_param_list_get(l, "AuthMethod");
	const char *a = iscsi_param_list_get(l, "CHAP_A");
	int rc;

	if (am != NULL) {
		rc = iscsi_login_auth_method(st, am, rsp);
		if (rc != 0)
			return rc;
	}
	if (a != NULL)
		return iscsi_login_chap_a(st, a, rsp);
	if (iscsi_param_list_get(l, "CHAP_N") != NULL ||
	    iscsi_param_list_get(l, "CHAP_R") != NULL ||
	    iscsi_param_list_get(l, "CHAP_I") != NULL ||
	    iscsi_param_list_get(l, "CHAP_C") != NULL)
		return iscsi_login_chap_r(st, l, rsp);
	return 0;
}

static bool
iscsi_login_has_security_keys(const struct iscsi_param_list *l)
{
	const struct iscsi_key_desc *d;
	unsigned int i;

	for (i = 0; i < l->n; i++) {
		d = iscsi_key_desc(iscsi_key_lookup(l->kv[i].key));
		if (d != NULL && d->use == ISCSI_USE_SEC)
			return true;
	}
	return false;
}

/* --- one request --- */

static int
iscsi_login_check_bhs(struct iscsi_login_state *st, const struct iscsi_pdu *pdu,
    struct iscsi_login_req *req)
{
	const uint8_t *bhs = pdu->bhs;
	uint8_t flags = bhs[ISCSI_BHS_FLAGS];

	req->transit = (flags & ISCSI_LOGIN_TRANSIT) != 0;
	req->cont = (flags & ISCSI_LOGIN_CONTINUE) != 0;
	req->csg = ISCSI_LOGIN_CSG(flags);
	req->nsg = ISCSI_LOGIN_NSG(flags);
	if (!st->started) {
		/* RFC 7143 11.12.4: we only speak version 0x00. */
		if (bhs[3] > 0 || bhs[2] < bhs[3])
			return ISCSI_LS_UNSUPPORTED_VERSION;
		memcpy(st->isid, bhs + 8, sizeof(st->isid));
		st->tsih = get_be16(bhs + 14);
		st->cid = get_be16(bhs + 20);
		st->cmdsn = get_be32(bhs + ISCSI_BHS_CMDSN);
		if (req->csg != ISCSI_NEG_SECURITY &&
		    req->csg != ISCSI_NEG_OPERATIONAL)
			return ISCSI_LS_INITIATOR_ERROR;
		st->stage = (enum iscsi_neg_stage)req->csg;
		st->started = true;
	} else if (memcmp(st->isid, bhs + 8, sizeof(st->isid)) != 0 ||
	    st->tsih != get_be16(bhs + 14) || st->cid != get_be16(bhs + 20)) {
		return ISCSI_LS_INITIATOR_ERROR;
	}
	if (pdu->flags & (ISCSI_PDU_DATA_TOO_LONG | ISCSI_PDU_DDIGEST_BAD))
		return ISCSI_LS_INITIATOR_ERROR;
	if ((req->transit && req->cont) || req->csg != st->stage)
		return ISCSI_LS_INITIATOR_ERROR;
	if (req->transit && (req->nsg <= req->csg || req->nsg == 2))
		return ISCSI_LS_INITIATOR_ERROR;
	return 0;
}

/* May the stage end now?  1 yes, 0 not yet (CHAP under way), or status. */
static int
iscsi_login_may_transit(const struct iscsi_login_state *st)
{
	if (st->stage != ISCSI_NEG_SECURITY)
		return 1;
	switch (st->auth_state) {
	case ISCSI_AUTH_DONE:
		return 1;
	case ISCSI_AUTH_START:
		/* RFC 7143 13.1 AuthMethod default None. */
		return st->auth.chap_required ? -ISCSI_LS_AUTH_FAILED : 1;
	default:
		return 0;
	}
}

static int
iscsi_login_text(struct iscsi_conn *conn, struct iscsi_login_state *st,
    const struct iscsi_param_list *l, const struct iscsi_login_req *req,
    struct iscsi_param_buf *rsp)
{
	const char *alias;
	int rc;

	if (!st->names_done) {
		rc = iscsi_login_names(conn, st, l);
		if (rc != 0)
			return rc;
		if (st->stage == ISCSI_NEG_OPERATIONAL && st->auth.chap_required)
			return ISCSI_LS_AUTH_FAILED;	/* skipped security */
	} else {
		rc = iscsi_login_names_again(st, l);
		if (rc != 0)
			return rc;
	}
	alias = iscsi_param_list_get(l, "InitiatorAlias");
	if (alias != NULL)
		strlcpy_t(st->alias, alias, sizeof(st->alias));
	if (st->stage == ISCSI_NEG_SECURITY) {
		rc = iscsi_login_security(st, l, rsp);
		if (rc != 0)
			return rc;
	} else if (iscsi_login_has_security_keys(l)) {
		return ISCSI_LS_INITIATOR_ERROR;
	}
	st->negot.stage = st->stage;
	rc = iscsi_param_negotiate_list(&st->negot, l, rsp);
	if (rc == -EPROTO)
		return ISCSI_LS_INITIATOR_ERROR;
	if (rc == -ENOMEM)
		return ISCSI_LS_OUT_OF_RESOURCES;
	if (rc < 0)
		return ISCSI_LS_TARGET_ERROR;
	/* RFC 7143 13.9: TPGT in the first response naming a target. */
	if (!st->discovery && !st->tpgt_sent) {
		if (iscsi_param_buf_add_u32(rsp, "TargetPortalGroupTag",
		    st->auth.tpg_tag) != 0)
			return ISCSI_LS_TARGET_ERROR;
		st->tpgt_sent = true;
	}
	if (st->stage == ISCSI_NEG_OPERATIONAL ||
	    (req->transit && req->nsg == ISCSI_NEG_FFP)) {
		if (iscsi_param_declare(&st->negot, rsp) != 0)
			return ISCSI_LS_TARGET_ERROR;
	}
	return 0;
}

static int
iscsi_login_complete(struct iscsi_conn *conn, struct iscsi_login_state *st,
    uint16_t *tsih)
{
	struct iscsi_login_result *res;
	int rc;

	res = xcalloc(1, sizeof(*res));
	if (res == NULL)
		return ISCSI_LS_OUT_OF_RESOURCES;
	iscsi_param_finish(&st->negot);
	res->discovery = st->discovery;
	strlcpy_t(res->initiator, st->initiator, sizeof(res->initiator));
	strlcpy_t(res->target, st->target, sizeof(res->target));
	strlcpy_t(res->initiator_alias, st->alias,
	    sizeof(res->initiator_alias));
	memcpy(res->isid, st->isid, sizeof(res->isid));
	res->tsih = st->tsih;
	res->cid = st->cid;
	res->tpg_tag = st->auth.tpg_tag;
	res->exp_cmdsn = st->cmdsn;
	res->params = st->negot.params;
	rc = iscsi_session_login_complete(conn, res);
	*tsih = res->tsih;
	free(res);
	if (rc < 0)
		return ISCSI_LS_TARGET_ERROR;
	if (rc != 0)
		log_info("iscsi: session for %s refused (%04x)", st->initiator,
		    (unsigned int)rc);
	return rc;
}

static void
iscsi_login_respond(struct iscsi_conn *conn, struct iscsi_login_state *st,
    const struct iscsi_pdu *req_pdu, uint8_t flags, uint16_t tsih, int status,
    const struct iscsi_param_buf *rsp)
{
	struct iscsi_pdu *pdu;

	pdu = iscsi_pdu_alloc(0);
	if (pdu == NULL || (status == 0 && rsp->len > 0 &&
	    iscsi_pdu_set_data(pdu, rsp->data, (uint32_t)rsp->len) != 0)) {
		iscsi_pdu_free(pdu);
		st->failed = true;
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_LOGIN_RSP, false,
	    iscsi_pdu_itt(req_pdu));
	pdu->bhs[ISCSI_BHS_FLAGS] = flags;
	pdu->bhs[2] = 0;			/* Version-max */
	pdu->bhs[3] = 0;			/* Version-active */
	memcpy(pdu->bhs + 8, st->isid, sizeof(st->isid));
	put_be16(pdu->bhs + 14, tsih);
	pdu->bhs[36] = (uint8_t)(status >> 8);	/* Status-Class */
	pdu->bhs[37] = (uint8_t)status;		/* Status-Detail */
	if (status != 0) {
		pdu->flags |= ISCSI_PDU_CLOSE_AFTER;
		st->failed = true;
	} else if ((flags & ISCSI_LOGIN_TRANSIT) &&
	    ISCSI_LOGIN_NSG(flags) == ISCSI_NEG_FFP) {
		pdu->flags |= ISCSI_PDU_LOGIN_FINAL;
		st->done = true;
		/* The state lives on for Text Requests: drop the secrets. */
		OPENSSL_cleanse(&st->auth, sizeof(st->auth));
		OPENSSL_cleanse(&st->chap, sizeof(st->chap));
	}
	iscsi_conn_send(conn, pdu);
	if (status != 0)
		iscsi_conn_close(conn, true);
}

/* Handle a complete (C=0) request; returns status, sets the answer. */
static int
iscsi_login_step(struct iscsi_conn *conn, struct iscsi_login_state *st,
    const struct iscsi_login_req *req, struct iscsi_param_buf *rsp,
    uint8_t *flags, uint16_t *tsih)
{
	struct iscsi_param_list l;
	int rc, may;

	rc = iscsi_param_parse(st->acc, st->acc_len, &l);
	free(st->acc);
	st->acc = NULL;
	st->acc_len = 0;
	if (rc == -ENOMEM)
		return ISCSI_LS_OUT_OF_RESOURCES;
	if (rc != 0)
		return ISCSI_LS_INITIATOR_ERROR;
	rc = iscsi_login_text(conn, st, &l, req, rsp);
	iscsi_param_list_free(&l);
	if (rc != 0)
		return rc;
	*flags = (uint8_t)(req->csg << 2);
	if (!req->transit)
		return 0;
	may = iscsi_login_may_transit(st);
	if (may < 0)
		return -may;
	if (may == 0)
		return 0;			/* T=0: CHAP goes on */
	*flags |= ISCSI_LOGIN_TRANSIT | req->nsg;
	if (req->nsg == ISCSI_NEG_FFP)
		return iscsi_login_complete(conn, st, tsih);
	st->stage = (enum iscsi_neg_stage)req->nsg;
	return 0;
}

void
iscsi_login_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	struct iscsi_login_state *st;
	struct iscsi_login_req req;
	struct iscsi_param_buf rsp;
	uint16_t tsih;
	uint8_t flags;
	int status, rc;

	st = iscsi_login_state_get(conn);
	if (st == NULL) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	if (st->failed || st->done) {
		iscsi_pdu_free(pdu);
		return;
	}
	iscsi_param_buf_init(&rsp, ISCSI_LOGIN_DSL);
	status = iscsi_login_check_bhs(st, pdu, &req);
	flags = (uint8_t)(req.csg << 2);
	tsih = get_be16(pdu->bhs + 14);
	if (status == 0) {
		rc = iscsi_login_append(&st->acc, &st->acc_len, pdu->data,
		    pdu->data_len, ISCSI_LOGIN_TEXT_MAX);
		if (rc == -ENOMEM)
			status = ISCSI_LS_OUT_OF_RESOURCES;
		else if (rc != 0)
			status = ISCSI_LS_INITIATOR_ERROR;
	}
	/* RFC 7143 6.1: answer a C=1 request with an empty response. */
	if (status == 0 && !req.cont)
		status = iscsi_login_step(conn, st, &req, &rsp, &flags, &tsih);
	if (status != 0) {
		flags = (uint8_t)((req.csg & 3) << 2);
		log_dbg("iscsi: login failed with status %04x",
		    (unsigned int)status);
	}
	iscsi_login_respond(conn, st, pdu, flags, tsih, status, &rsp);
	iscsi_param_buf_fini(&rsp);
	iscsi_pdu_free(pdu);
}
