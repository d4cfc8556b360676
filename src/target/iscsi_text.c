/*
 * iscsi_text.c - Text Request/Response (RFC 7143 11.10, 11.11) in
 * discovery sessions and full feature phase: SendTargets and the keys that
 * may be renegotiated after login.
 *
 * A request may arrive in several PDUs (C bit): each part is acknowledged
 * with an empty response carrying our Target Transfer Tag, and the text is
 * accumulated up to ISCSI_LOGIN_TEXT_MAX.  A response longer than the
 * initiator's MaxRecvDataSegmentLength is sent in parts with F=0, C=1 and a
 * TTT; the initiator fetches each next part with an empty Text Request
 * carrying that TTT.  A new request (TTT 0xffffffff) drops whatever was
 * pending.  The whole response is bounded by ISCSI_TEXT_RSP_MAX.
 *
 * SendTargets=All lists the targets target_list_visible() lets this
 * initiator see through this portal; in a normal session only the
 * session's target.  Wildcard portal addresses are replaced by the local
 * address of this connection so the initiator can use them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_int.h"
#include "iscsi_login.h"
#include "log.h"
#include "target.h"
#include "util.h"

#define ISCSI_TEXT_FINAL	0x80
#define ISCSI_TEXT_CONTINUE	0x40

struct iscsi_text_visit {
	struct iscsi_param_buf *rsp;
	struct iscsi_conn *conn;
	const char	*only;		/* NULL: every visible target */
	char		 last[ISCSI_NAME_MAX + 1];
	bool		 in_target;	/* current target passed the filter */
	bool		 full;
};

static void
iscsi_text_reset(struct iscsi_text_state *t)
{
	free(t->rsp);
	free(t->req);
	t->rsp = NULL;
	t->req = NULL;
	t->rsp_len = t->rsp_off = t->req_len = 0;
	t->rsp_pending = t->req_pending = false;
	t->new_mrdsl = 0;
}

static uint32_t
iscsi_text_new_ttt(struct iscsi_text_state *t)
{
	uint32_t ttt = t->next_ttt++;

	if (ttt == ISCSI_RSVD_TAG) {
		ttt = 1;
		t->next_ttt = 2;
	}
	return ttt;
}

/* "0.0.0.0:3260,1" -> "<local ip>:3260,1" (IPv6 in brackets). */
static void
iscsi_text_fix_addr(struct iscsi_conn *conn, const char *addr, char *out,
    size_t len)
{
	const char *rest = NULL, *local;

	if (strncmp(addr, "0.0.0.0:", 8) == 0)
		rest = addr + 7;
	else if (strncmp(addr, "[::]:", 5) == 0)
		rest = addr + 4;
	local = rest != NULL ? iscsi_conn_local_ip(conn) : NULL;
	if (local == NULL || local[0] == '\0') {
		strlcpy_t(out, addr, len);
		return;
	}
	if (strchr(local, ':') != NULL)
		snprintf(out, len, "[%s]%s", local, rest);
	else
		snprintf(out, len, "%s%s", local, rest);
}

static void
iscsi_text_visit_fn(void *arg, const char *target, const char *addr)
{
	struct iscsi_text_visit *v = arg;
	char fixed[ISCSI_VALUE_MAX + 1];

	if (v->full || target == NULL)
		return;
	if (strcmp(target, v->last) != 0) {
		strlcpy_t(v->last, target, sizeof(v->last));
		v->in_target = v->only == NULL || strcmp(v->only, target) == 0;
		if (v->in_target &&
		    iscsi_param_buf_add(v->rsp, "TargetName", target) != 0) {
			v->full = true;
			return;
		}
	}
	if (!v->in_target || addr == NULL || addr[0] == '\0')
		return;
	iscsi_text_fix_addr(v->conn, addr, fixed, sizeof(fixed));
	if (iscsi_param_buf_add(v->rsp, "TargetAddress", fixed) != 0)
		v->full = true;
}

static void
iscsi_text_send_targets(struct iscsi_conn *conn, struct iscsi_login_state *st,
    bool discovery, const char *initiator, const char *value,
    struct iscsi_param_buf *rsp)
{
	struct iscsi_text_visit v;

	memset(&v, 0, sizeof(v));
	v.rsp = rsp;
	v.conn = conn;
	if (strcmp(value, "All") == 0) {
		/* RFC 7143 13.7/A: a normal session sees only its target. */
		if (!discovery)
			v.only = st->target[0] != '\0' ? st->target : NULL;
	} else if (value[0] == '\0') {
		if (discovery)
			return;		/* nothing to report */
		v.only = st->target;
		if (v.only[0] == '\0')
			return;
	} else {
		v.only = value;
		if (!discovery && st->target[0] != '\0' &&
		    strcmp(value, st->target) != 0)
			return;
	}
	target_list_visible(initiator, iscsi_conn_portal_ip(conn),
	    iscsi_conn_portal_port(conn), iscsi_text_visit_fn, &v);
	if (v.full)
		log_warn("iscsi: SendTargets answer for %s truncated at %zu "
		    "bytes", initiator, rsp->len);
}

/* Build the whole answer to a complete request text; *mrdsl gets a newly
 * declared MaxRecvDataSegmentLength (0: none).  -EBADMSG for text that
 * does not parse. */
static int
iscsi_text_answer(struct iscsi_conn *conn, struct iscsi_login_state *st,
    bool discovery, const char *initiator, const uint8_t *text, size_t len,
    struct iscsi_param_buf *rsp, uint32_t *mrdsl)
{
	struct iscsi_param_list l;
	unsigned int i;
	uint32_t old;
	int rc;

	*mrdsl = 0;
	rc = iscsi_param_parse(text, len, &l);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return -EBADMSG;
	st->negot.stage = ISCSI_NEG_FFP;
	st->negot.discovery = discovery;
	/* A valid declaration is stored here (invalid: "Reject"). */
	old = st->negot.params.max_xmit_dsl;
	st->negot.params.max_xmit_dsl = 0;
	for (i = 0; i < l.n && rc >= 0; i++) {
		if (strcmp(l.kv[i].key, "SendTargets") == 0) {
			iscsi_text_send_targets(conn, st, discovery, initiator,
			    l.kv[i].value, rsp);
			continue;
		}
		rc = iscsi_param_negotiate(&st->negot, l.kv[i].key,
		    l.kv[i].value, rsp);
		/* Names, AuthMethod, CHAP_*: not negotiable any more. */
		if (rc == ISCSI_PARAM_NOT_MINE)
			rc = iscsi_param_buf_add(rsp, l.kv[i].key, "Reject");
	}
	iscsi_param_list_free(&l);
	*mrdsl = st->negot.params.max_xmit_dsl;
	st->negot.params.max_xmit_dsl = *mrdsl != 0 ? *mrdsl : old;
	return rc < 0 ? rc : 0;
}

/* Reject (RFC 7143 11.17) a malformed request and forget the exchange. */
static void
iscsi_text_reject(struct iscsi_conn *conn, struct iscsi_text_state *t,
    const struct iscsi_pdu *req, uint8_t reason, const char *why)
{
	struct iscsi_pdu *pdu;

	log_info("iscsi: text request rejected: %s", why);
	iscsi_text_reset(t);
	pdu = iscsi_pdu_alloc(0);
	if (pdu == NULL ||
	    iscsi_pdu_set_data(pdu, req->bhs, ISCSI_BHS_LEN) != 0) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_REJECT, true, ISCSI_RSVD_TAG);
	pdu->bhs[2] = reason;
	iscsi_conn_send(conn, pdu);
}

static void
iscsi_text_send(struct iscsi_conn *conn, const struct iscsi_pdu *req,
    uint8_t flags, uint32_t ttt, const uint8_t *data, size_t len,
    uint32_t new_mrdsl)
{
	struct iscsi_pdu *pdu;

	pdu = iscsi_pdu_alloc(0);
	if (pdu == NULL || iscsi_pdu_set_data(pdu, data, (uint32_t)len) != 0) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_TEXT_RSP, false, iscsi_pdu_itt(req));
	pdu->bhs[ISCSI_BHS_FLAGS] = flags;
	memcpy(pdu->bhs + ISCSI_BHS_LUN, req->bhs + ISCSI_BHS_LUN, 8);
	put_be32(pdu->bhs + ISCSI_BHS_TTT, ttt);
	if (new_mrdsl != 0) {
		pdu->flags |= ISCSI_PDU_SET_MAX_XMIT_DSL;
		pdu->new_max_xmit_dsl = new_mrdsl;
	}
	iscsi_conn_send(conn, pdu);
}

/* Send the next part of the pending response. */
static void
iscsi_text_send_part(struct iscsi_conn *conn, struct iscsi_text_state *t,
    const struct iscsi_pdu *req)
{
	const struct iscsi_params *p = iscsi_conn_params(conn);
	size_t max = p != NULL ? p->max_xmit_dsl : 8192, left, n;

	if (max < 512)
		max = 512;
	left = t->rsp_len - t->rsp_off;
	n = MIN(left, max);
	if (n < left) {
		t->ttt = iscsi_text_new_ttt(t);
		iscsi_text_send(conn, req, ISCSI_TEXT_CONTINUE, t->ttt,
		    t->rsp + t->rsp_off, n, 0);
		t->rsp_off += n;
		return;
	}
	iscsi_text_send(conn, req, ISCSI_TEXT_FINAL, ISCSI_RSVD_TAG,
	    t->rsp != NULL ? t->rsp + t->rsp_off : NULL, n, t->new_mrdsl);
	iscsi_text_reset(t);
}

void
iscsi_text_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu,
    bool discovery, const char *initiator)
{
	struct iscsi_login_state *st;
	struct iscsi_text_state *t;
	struct iscsi_param_buf rsp;
	uint32_t itt, ttt, mrdsl = 0;
	bool cont, final;
	int rc;

	st = iscsi_login_state_get(conn);
	if (st == NULL) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	t = &st->text;
	itt = iscsi_pdu_itt(pdu);
	ttt = get_be32(pdu->bhs + ISCSI_BHS_TTT);
	cont = (pdu->bhs[ISCSI_BHS_FLAGS] & ISCSI_TEXT_CONTINUE) != 0;
	final = (pdu->bhs[ISCSI_BHS_FLAGS] & ISCSI_TEXT_FINAL) != 0;
	/* RFC 7143 11.10.1, 11.10.2: C and F together; ITT reserved. */
	if (cont && final) {
		iscsi_text_reject(conn, t, pdu, ISCSI_REJECT_PROTOCOL,
		    "F and C bits both set");
		goto out;
	}
	if (itt == ISCSI_RSVD_TAG) {
		iscsi_text_reject(conn, t, pdu, ISCSI_REJECT_PROTOCOL,
		    "reserved ITT");
		goto out;
	}
	if (ttt != ISCSI_RSVD_TAG && t->rsp_pending && ttt == t->ttt &&
	    itt == t->itt) {
		iscsi_text_send_part(conn, t, pdu);	/* next part */
		goto out;
	}
	if (ttt != ISCSI_RSVD_TAG && (!t->req_pending || ttt != t->ttt ||
	    itt != t->itt)) {
		/* 11.10.4: a TTT we did not issue for this exchange. */
		iscsi_text_reject(conn, t, pdu, ISCSI_REJECT_INVALID_FIELD,
		    "unknown Target Transfer Tag");
		goto out;
	}
	if (ttt == ISCSI_RSVD_TAG)
		iscsi_text_reset(t);		/* a new exchange */
	t->itt = itt;
	rc = iscsi_login_append(&t->req, &t->req_len, pdu->data,
	    pdu->data_len, ISCSI_LOGIN_TEXT_MAX);
	if (rc == -E2BIG) {
		iscsi_text_reject(conn, t, pdu, ISCSI_REJECT_PROTOCOL,
		    "request text too long");
		goto out;
	}
	if (rc == 0 && cont) {
		t->req_pending = true;
		t->ttt = iscsi_text_new_ttt(t);
		iscsi_text_send(conn, pdu, 0, t->ttt, NULL, 0, 0);
		iscsi_pdu_free(pdu);
		return;
	}
	iscsi_param_buf_init(&rsp, ISCSI_TEXT_RSP_MAX);
	if (rc == 0)
		rc = iscsi_text_answer(conn, st, discovery, initiator, t->req,
		    t->req_len, &rsp, &mrdsl);
	if (rc == -EBADMSG) {
		iscsi_param_buf_fini(&rsp);
		iscsi_text_reject(conn, t, pdu, ISCSI_REJECT_PROTOCOL,
		    "text does not parse");
		goto out;
	}
	iscsi_text_reset(t);
	if (rc != 0) {
		/* Out of memory or room: answer with nothing. */
		log_info("iscsi: text request from %s not answered (%d)",
		    initiator, rc);
		rsp.len = 0;
		mrdsl = 0;
	}
	t->itt = itt;
	t->rsp = (uint8_t *)rsp.data;
	t->rsp_len = rsp.len;
	t->rsp_off = 0;
	t->rsp_pending = true;
	t->new_mrdsl = mrdsl;
	rsp.data = NULL;
	iscsi_text_send_part(conn, t, pdu);
	iscsi_param_buf_fini(&rsp);
out:
	iscsi_pdu_free(pdu);
}
