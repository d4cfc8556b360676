/*
 * iscsi_param.c - iSCSI text keys: parsing text segments and negotiating
 * every RFC 7143 (and RFC 7144) key from one table.
 *
 * The table below is the only place that knows a key's type, range,
 * default and where it may appear; iscsi_param_negotiate() is a small
 * interpreter over it.  Results go into struct iscsi_params through a
 * second table of field offsets, so adding a key is adding two rows.
 *
 * Answers follow RFC 7143 6.2: unknown keys (including X- and X#
 * extensions) get NotUnderstood, values out of range or not in our list get
 * Reject, keys irrelevant to discovery sessions get Irrelevant, and a key
 * sent in a stage where it is not allowed is a protocol error during login
 * (the login fails with an initiator error) and a Reject in full feature
 * phase.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_param.h"
#include "util.h"

#define ISCSI_PARAM_MAX_PAIRS	256
#define ISCSI_DSL_MAX		16777215u	/* 2^24 - 1 */

static const char *const iscsi_digest_values[] = { "None", "CRC32C", NULL };
static const char *const iscsi_task_reporting_values[] = {
	"RFC3720", "ResponseFence", "FastAbort", NULL
};

#define NUM(n, u, disc, lo, hi, d, o, t) \
	{ .name = (n), .type = (t), .use = (u), .discovery_irrelevant = (disc), \
	  .min = (lo), .max = (hi), .def = (d), .ours = (o) }
#define BOOL(n, u, disc, d, o, t) \
	{ .name = (n), .type = (t), .use = (u), .discovery_irrelevant = (disc), \
	  .min = 0, .max = 1, .def = (d), .ours = (o) }
#define OTHER(n, u, t) { .name = (n), .type = (t), .use = (u) }

/* RFC 7143 13 (and RFC 7144 for TaskReporting and iSCSIProtocolLevel). */
static const struct iscsi_key_desc iscsi_keys[ISCSI_KEY__COUNT] = {
	[ISCSI_KEY_HEADER_DIGEST] = { .name = "HeaderDigest",
	    .type = ISCSI_KT_LIST, .use = ISCSI_USE_IO, .def = 1u << 0,
	    .ours = (1u << 0) | (1u << 1), .values = iscsi_digest_values },
	[ISCSI_KEY_DATA_DIGEST] = { .name = "DataDigest",
	    .type = ISCSI_KT_LIST, .use = ISCSI_USE_IO, .def = 1u << 0,
	    .ours = (1u << 0) | (1u << 1), .values = iscsi_digest_values },
	[ISCSI_KEY_MAX_CONNECTIONS] = NUM("MaxConnections", ISCSI_USE_LO, true,
	    1, 65535, 1, 1, ISCSI_KT_MIN),
	[ISCSI_KEY_SEND_TARGETS] = OTHER("SendTargets", ISCSI_USE_FFP,
	    ISCSI_KT_CALLER),
	[ISCSI_KEY_TARGET_NAME] = OTHER("TargetName", ISCSI_USE_IO,
	    ISCSI_KT_CALLER),
	[ISCSI_KEY_INITIATOR_NAME] = OTHER("InitiatorName", ISCSI_USE_IO,
	    ISCSI_KT_CALLER),
	[ISCSI_KEY_TARGET_ALIAS] = OTHER("TargetAlias", ISCSI_USE_ALL,
	    ISCSI_KT_TARGET_ONLY),
	[ISCSI_KEY_INITIATOR_ALIAS] = OTHER("InitiatorAlias", ISCSI_USE_ALL,
	    ISCSI_KT_DECL_STR),
	[ISCSI_KEY_TARGET_ADDRESS] = OTHER("TargetAddress", ISCSI_USE_ALL,
	    ISCSI_KT_TARGET_ONLY),
	[ISCSI_KEY_TARGET_PORTAL_GROUP_TAG] = OTHER("TargetPortalGroupTag",
	    ISCSI_USE_IO, ISCSI_KT_TARGET_ONLY),
	[ISCSI_KEY_INITIAL_R2T] = BOOL("InitialR2T", ISCSI_USE_LO, true, 1, 0,
	    ISCSI_KT_OR),
	[ISCSI_KEY_IMMEDIATE_DATA] = BOOL("ImmediateData", ISCSI_USE_LO, true,
	    1, 1, ISCSI_KT_AND),
	[ISCSI_KEY_MAX_RECV_DSL] = NUM("MaxRecvDataSegmentLength",
	    ISCSI_USE_ALL, false, 512, ISCSI_DSL_MAX, 8192, 262144,
	    ISCSI_KT_DECL_NUM),
	[ISCSI_KEY_MAX_BURST_LENGTH] = NUM("MaxBurstLength", ISCSI_USE_LO,
	    true, 512, ISCSI_DSL_MAX, 262144, 1048576, ISCSI_KT_MIN),
	[ISCSI_KEY_FIRST_BURST_LENGTH] = NUM("FirstBurstLength", ISCSI_USE_LO,
	    true, 512, ISCSI_DSL_MAX, 65536, 65536, ISCSI_KT_MIN),
	[ISCSI_KEY_DEFAULT_TIME2WAIT] = NUM("DefaultTime2Wait", ISCSI_USE_LO,
	    false, 0, 3600, 2, 2, ISCSI_KT_MAX),
	[ISCSI_KEY_DEFAULT_TIME2RETAIN] = NUM("DefaultTime2Retain",
	    ISCSI_USE_LO, false, 0, 3600, 20, 20, ISCSI_KT_MIN),
	[ISCSI_KEY_MAX_OUTSTANDING_R2T] = NUM("MaxOutstandingR2T",
	    ISCSI_USE_LO, true, 1, 65535, 1, 1, ISCSI_KT_MIN),
	[ISCSI_KEY_DATA_PDU_IN_ORDER] = BOOL("DataPDUInOrder", ISCSI_USE_LO,
	    true, 1, 1, ISCSI_KT_OR),
	[ISCSI_KEY_DATA_SEQUENCE_IN_ORDER] = BOOL("DataSequenceInOrder",
	    ISCSI_USE_LO, true, 1, 1, ISCSI_KT_OR),
	[ISCSI_KEY_ERROR_RECOVERY_LEVEL] = NUM("ErrorRecoveryLevel",
	    ISCSI_USE_LO, false, 0, 2, 0, 0, ISCSI_KT_MIN),
	[ISCSI_KEY_SESSION_TYPE] = OTHER("SessionType", ISCSI_USE_LO,
	    ISCSI_KT_CALLER),
	[ISCSI_KEY_AUTH_METHOD] = OTHER("AuthMethod", ISCSI_USE_SEC,
	    ISCSI_KT_CALLER),
	[ISCSI_KEY_OF_MARKER] = BOOL("OFMarker", ISCSI_USE_IO, false, 0, 0,
	    ISCSI_KT_AND),
	[ISCSI_KEY_IF_MARKER] = BOOL("IFMarker", ISCSI_USE_IO, false, 0, 0,
	    ISCSI_KT_AND),
	[ISCSI_KEY_OF_MARK_INT] = OTHER("OFMarkInt", ISCSI_USE_IO,
	    ISCSI_KT_IRRELEVANT),
	[ISCSI_KEY_IF_MARK_INT] = OTHER("IFMarkInt", ISCSI_USE_IO,
	    ISCSI_KT_IRRELEVANT),
	[ISCSI_KEY_TASK_REPORTING] = { .name = "TaskReporting",
	    .type = ISCSI_KT_LIST, .use = ISCSI_USE_LO,
	    .discovery_irrelevant = true, .def = 1u << 0, .ours = 1u << 0,
	    .values = iscsi_task_reporting_values },
	/* RFC 7144 2.1: RFC 7143 is level 1; the result is the minimum. */
	[ISCSI_KEY_PROTOCOL_LEVEL] = NUM("iSCSIProtocolLevel", ISCSI_USE_LO,
	    true, 0, 31, 0, 1, ISCSI_KT_MIN),
	[ISCSI_KEY_CHAP_A] = OTHER("CHAP_A", ISCSI_USE_SEC, ISCSI_KT_CALLER),
	[ISCSI_KEY_CHAP_I] = OTHER("CHAP_I", ISCSI_USE_SEC, ISCSI_KT_CALLER),
	[ISCSI_KEY_CHAP_C] = OTHER("CHAP_C", ISCSI_USE_SEC, ISCSI_KT_CALLER),
	[ISCSI_KEY_CHAP_N] = OTHER("CHAP_N", ISCSI_USE_SEC, ISCSI_KT_CALLER),
	[ISCSI_KEY_CHAP_R] = OTHER("CHAP_R", ISCSI_USE_SEC, ISCSI_KT_CALLER),
};

/* Where each negotiated key lands in struct iscsi_params. */
struct iscsi_param_field {
	size_t		 off;
	bool		 is_bool;
	bool		 valid;
};

#define U32F(k, f) [k] = { offsetof(struct iscsi_params, f), false, true }
#define BOOLF(k, f) [k] = { offsetof(struct iscsi_params, f), true, true }

static const struct iscsi_param_field iscsi_fields[ISCSI_KEY__COUNT] = {
	BOOLF(ISCSI_KEY_HEADER_DIGEST, header_digest),
	BOOLF(ISCSI_KEY_DATA_DIGEST, data_digest),
	U32F(ISCSI_KEY_MAX_CONNECTIONS, max_connections),
	BOOLF(ISCSI_KEY_INITIAL_R2T, initial_r2t),
	BOOLF(ISCSI_KEY_IMMEDIATE_DATA, immediate_data),
	U32F(ISCSI_KEY_MAX_RECV_DSL, max_xmit_dsl),
	U32F(ISCSI_KEY_MAX_BURST_LENGTH, max_burst),
	U32F(ISCSI_KEY_FIRST_BURST_LENGTH, first_burst),
	U32F(ISCSI_KEY_DEFAULT_TIME2WAIT, default_time2wait),
	U32F(ISCSI_KEY_DEFAULT_TIME2RETAIN, default_time2retain),
	U32F(ISCSI_KEY_MAX_OUTSTANDING_R2T, max_outstanding_r2t),
	BOOLF(ISCSI_KEY_DATA_PDU_IN_ORDER, data_pdu_in_order),
	BOOLF(ISCSI_KEY_DATA_SEQUENCE_IN_ORDER, data_seq_in_order),
	U32F(ISCSI_KEY_ERROR_RECOVERY_LEVEL, error_recovery_level),
};

void
iscsi_params_default(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->header_digest = false;
	p->data_digest = false;
	p->max_recv_dsl = 8192;
	p->max_xmit_dsl = 8192;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->immediate_data = true;
	p->initial_r2t = true;
	p->max_outstanding_r2t = 1;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->error_recovery_level = 0;
	p->max_connections = 1;
}

enum iscsi_key
iscsi_key_lookup(const char *name)
{
	unsigned int i;

	for (i = 0; i < ISCSI_KEY__COUNT; i++)
		if (strcmp(iscsi_keys[i].name, name) == 0)
			return (enum iscsi_key)i;
	return ISCSI_KEY_UNKNOWN;
}

const struct iscsi_key_desc *
iscsi_key_desc(enum iscsi_key k)
{
	if ((int)k < 0 || k >= ISCSI_KEY__COUNT)
		return NULL;
	return &iscsi_keys[k];
}

/* --- text segments --- */

static bool
iscsi_param_key_char_ok(unsigned char c)
{
	/* RFC 7143 6.1 key-name characters, plus '#' for X# keys. */
	return isalnum(c) || c == '.' || c == '-' || c == '+' || c == '@' ||
	    c == '_' || c == '#';
}

static int
iscsi_param_check_pair(const char *p, const char *eq, const char *end)
{
	const char *c;
	size_t klen = (size_t)(eq - p);

	if (klen == 0 || klen > ISCSI_KEY_MAX)
		return -EINVAL;
	for (c = p; c < eq; c++)
		if (!iscsi_param_key_char_ok((unsigned char)*c))
			return -EINVAL;
	if ((size_t)(end - eq - 1) > ISCSI_VALUE_BIN_MAX)
		return -EINVAL;
	return 0;
}

int
iscsi_param_parse(const uint8_t *data, size_t len,
    struct iscsi_param_list *out)
{
	char *p, *end, *e, *eq;
	unsigned int i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->buf = xmalloc(len + 1);
	out->kv = xcalloc(ISCSI_PARAM_MAX_PAIRS, sizeof(*out->kv));
	if (out->buf == NULL || out->kv == NULL) {
		iscsi_param_list_free(out);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(out->buf, data, len);
	out->buf[len] = '\0';
	end = out->buf + len;
	for (p = out->buf; p < end; p = e + 1) {
		e = memchr(p, '\0', (size_t)(end - p));
		if (e == NULL) {
			rc = -EINVAL;		/* last pair not terminated */
			goto fail;
		}
		if (e == p)
			continue;		/* padding or stray NUL */
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq == NULL || iscsi_param_check_pair(p, eq, e) != 0 ||
		    out->n == ISCSI_PARAM_MAX_PAIRS) {
			rc = -EINVAL;
			goto fail;
		}
		*eq = '\0';
		for (i = 0; i < out->n; i++) {
			if (strcmp(out->kv[i].key, p) == 0) {
				rc = -EEXIST;	/* RFC 7143 6.1 */
				goto fail;
			}
		}
		out->kv[out->n].key = p;
		out->kv[out->n].value = eq + 1;
		out->n++;
	}
	return 0;
fail:
	iscsi_param_list_free(out);
	return rc;
}

void
iscsi_param_list_free(struct iscsi_param_list *l)
{
	free(l->kv);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

const char *
iscsi_param_list_get(const struct iscsi_param_list *l, const char *key)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, key) == 0)
			return l->kv[i].value;
	return NULL;
}

void
iscsi_param_buf_init(struct iscsi_param_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max != 0 ? max : ISCSI_LOGIN_DSL;
}

void
iscsi_param_buf_fini(struct iscsi_param_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int
iscsi_param_buf_add(struct iscsi_param_buf *b, const char *key,
    const char *value)
{
	size_t kl = strlen(key), vl = strlen(value), need, ncap;
	char *n;

	need = kl + vl + 2;
	if (need > b->max || b->len > b->max - need)
		return -ENOSPC;
	if (b->len + need > b->cap) {
		ncap = MAX(b->cap * 2, b->len + need);
		ncap = MAX(ncap, (size_t)256);
		n = xrealloc(b->data, ncap);
		if (n == NULL)
			return -ENOMEM;
		b->data = n;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, key, kl);
	b->data[b->len + kl] = '=';
	memcpy(b->data + b->len + kl + 1, value, vl);
	b->data[b->len + kl + 1 + vl] = '\0';
	b->len += need;
	return 0;
}

int
iscsi_param_buf_add_u32(struct iscsi_param_buf *b, const char *key,
    uint32_t value)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", value);
	return iscsi_param_buf_add(b, key, num);
}

/* --- values --- */

int
iscsi_param_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10, d, digits = 0;
	int c;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s != '\0'; s++) {
		c = hex_digit((unsigned char)*s);
		if (c < 0 || (unsigned int)c >= base)
			return -EINVAL;
		d = (unsigned int)c;
		v = v * base + d;
		if (v > UINT32_MAX)
			return -EINVAL;
		digits++;
	}
	if (digits == 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
iscsi_param_parse_bool(const char *s, uint32_t *out)
{
	if (strcmp(s, "Yes") == 0)
		*out = 1;
	else if (strcmp(s, "No") == 0)
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static int
iscsi_param_value_index(const struct iscsi_key_desc *d, const char *v,
    size_t len)
{
	unsigned int i;

	for (i = 0; d->values[i] != NULL; i++)
		if (strlen(d->values[i]) == len &&
		    memcmp(d->values[i], v, len) == 0)
			return (int)i;
	return -1;
}

/* Parse a comma list into a mask of known values.  Unknown values are
 * skipped when skip_unknown (offers), else an error (configuration). */
static int
iscsi_param_parse_list(const struct iscsi_key_desc *d, const char *s,
    bool skip_unknown, uint32_t *mask)
{
	const char *p = s, *c;
	size_t len;
	int idx;

	*mask = 0;
	for (;;) {
		c = strchr(p, ',');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == 0)
			return -EINVAL;
		idx = iscsi_param_value_index(d, p, len);
		if (idx < 0 && !skip_unknown)
			return -EINVAL;
		if (idx >= 0)
			*mask |= 1u << idx;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return 0;
}

/* RFC 7143 6.2.1: the first value of the offer that we support. */
static int
iscsi_param_pick(const struct iscsi_key_desc *d, const char *s,
    uint32_t ours)
{
	const char *p = s, *c;
	uint32_t mask;
	size_t len;
	int idx;

	if (iscsi_param_parse_list(d, s, true, &mask) != 0)
		return -EINVAL;		/* empty element */
	for (;;) {
		c = strchr(p, ',');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		idx = iscsi_param_value_index(d, p, len);
		if (idx >= 0 && (ours & (1u << idx)) != 0)
			return idx;
		if (c == NULL)
			return -ENOENT;
		p = c + 1;
	}
}

/* --- our side --- */

void
iscsi_param_conf_default(struct iscsi_param_conf *c)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ISCSI_KEY__COUNT; i++)
		c->val[i] = iscsi_keys[i].ours;
}

int
iscsi_param_conf_set(struct iscsi_param_conf *c, const char *key,
    const char *value)
{
	enum iscsi_key k = iscsi_key_lookup(key);
	const struct iscsi_key_desc *d;
	uint32_t v;

	if (k == ISCSI_KEY_UNKNOWN)
		return 1;
	d = &iscsi_keys[k];
	switch (k) {
	case ISCSI_KEY_TARGET_ALIAS:
		if (strlen(value) > ISCSI_VALUE_MAX)
			return -EINVAL;
		strlcpy_t(c->target_alias, value, sizeof(c->target_alias));
		return 0;
	case ISCSI_KEY_ERROR_RECOVERY_LEVEL:
		/* Only level 0 is implemented. */
		if (iscsi_param_parse_u32(value, &v) != 0 || v != 0)
			return -EINVAL;
		return 0;
	case ISCSI_KEY_OF_MARKER:
	case ISCSI_KEY_IF_MARKER:
	case ISCSI_KEY_TASK_REPORTING:
	case ISCSI_KEY_PROTOCOL_LEVEL:
		return 1;		/* not configurable */
	default:
		break;
	}
	switch (d->type) {
	case ISCSI_KT_LIST:
		if (iscsi_param_parse_list(d, value, false, &v) != 0 || v == 0)
			return -EINVAL;
		break;
	case ISCSI_KT_AND:
	case ISCSI_KT_OR:
		if (iscsi_param_parse_bool(value, &v) != 0)
			return -EINVAL;
		break;
	case ISCSI_KT_MIN:
	case ISCSI_KT_MAX:
	case ISCSI_KT_DECL_NUM:
		if (iscsi_param_parse_u32(value, &v) != 0 || v < d->min ||
		    v > d->max)
			return -EINVAL;
		break;
	default:
		return 1;
	}
	c->val[k] = v;
	return 0;
}

static void
iscsi_param_trim(char **s)
{
	char *e;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	e = *s + strlen(*s);
	while (e > *s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
}

int
iscsi_param_conf_parse(struct iscsi_param_conf *c, const char *text,
    char *err, size_t errlen)
{
	char line[1024], *key, *value, *eq;
	const char *p = text, *nl;
	size_t len;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(line)) {
			snprintf(err, errlen, "iSCSI parameter line too long");
			return -EINVAL;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl != NULL ? nl + 1 : NULL;
		key = line;
		iscsi_param_trim(&key);
		if (*key == '\0')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "iSCSI parameter '%.64s' has "
			    "no '='", key);
			return -EINVAL;
		}
		*eq = '\0';
		value = eq + 1;
		iscsi_param_trim(&key);
		iscsi_param_trim(&value);
		if (iscsi_param_conf_set(c, key, value) < 0) {
			snprintf(err, errlen, "iSCSI parameter %.64s: bad "
			    "value '%.64s'", key, value);
			return -EINVAL;
		}
	}
	return 0;
}

/* --- negotiation --- */

void
iscsi_negot_init(struct iscsi_negot *n, const struct iscsi_param_conf *c,
    bool leading, bool discovery)
{
	memset(n, 0, sizeof(*n));
	if (c != NULL)
		n->conf = *c;
	else
		iscsi_param_conf_default(&n->conf);
	iscsi_params_default(&n->params);
	n->params.max_recv_dsl = n->conf.val[ISCSI_KEY_MAX_RECV_DSL];
	n->stage = ISCSI_NEG_SECURITY;
	n->leading = leading;
	n->discovery = discovery;
}

static bool
iscsi_param_use_ok(const struct iscsi_negot *n, const struct iscsi_key_desc *d)
{
	if (n->stage == ISCSI_NEG_FFP)
		return d->use == ISCSI_USE_ALL || d->use == ISCSI_USE_FFP;
	switch (d->use) {
	case ISCSI_USE_LO:
		return n->leading;
	case ISCSI_USE_SEC:
		return n->stage == ISCSI_NEG_SECURITY;
	case ISCSI_USE_FFP:
		return false;
	default:
		return true;
	}
}

static void
iscsi_param_store(struct iscsi_negot *n, enum iscsi_key k, uint32_t v)
{
	const struct iscsi_param_field *f = &iscsi_fields[k];
	char *base = (char *)&n->params;

	if (!f->valid)
		return;
	if (f->is_bool) {
		bool b = v != 0;

		memcpy(base + f->off, &b, sizeof(b));
	} else {
		memcpy(base + f->off, &v, sizeof(v));
	}
}

static bool
iscsi_param_is_answer(const char *v)
{
	return strcmp(v, "NotUnderstood") == 0 ||
	    strcmp(v, "Irrelevant") == 0 || strcmp(v, "Reject") == 0;
}

static int
iscsi_param_numeric(struct iscsi_negot *n, enum iscsi_key k,
    const struct iscsi_key_desc *d, const char *key, const char *value,
    struct iscsi_param_buf *rsp)
{
	uint32_t v, ours = n->conf.val[k], res;

	if (iscsi_param_parse_u32(value, &v) != 0 || v < d->min ||
	    v > d->max)
		return iscsi_param_buf_add(rsp, key, "Reject");
	switch (d->type) {
	case ISCSI_KT_MIN:
		res = MIN(v, ours);
		/* RFC 7143 13.14: FirstBurstLength <= MaxBurstLength. */
		if (k == ISCSI_KEY_FIRST_BURST_LENGTH) {
			res = MIN(res, n->params.max_burst);
			n->first_burst_set = true;
		}
		if (k == ISCSI_KEY_PROTOCOL_LEVEL) {
			n->protocol_level = res;
			n->protocol_level_set = true;
		}
		break;
	case ISCSI_KT_MAX:
		res = MAX(v, ours);
		break;
	default:			/* declarative */
		iscsi_param_store(n, k, v);
		return 0;
	}
	iscsi_param_store(n, k, res);
	return iscsi_param_buf_add_u32(rsp, key, res);
}

int
iscsi_param_negotiate(struct iscsi_negot *n, const char *key,
    const char *value, struct iscsi_param_buf *rsp)
{
	enum iscsi_key k = iscsi_key_lookup(key);
	const struct iscsi_key_desc *d;
	uint32_t v, ours;
	int idx;

	if (k == ISCSI_KEY_UNKNOWN)	/* includes X- and X# keys */
		return iscsi_param_buf_add(rsp, key, "NotUnderstood");
	d = &iscsi_keys[k];
	if (d->type == ISCSI_KT_CALLER)
		return ISCSI_PARAM_NOT_MINE;
	if (!iscsi_param_use_ok(n, d) || d->type == ISCSI_KT_TARGET_ONLY ||
	    strlen(value) > ISCSI_VALUE_MAX) {
		if (n->stage != ISCSI_NEG_FFP)
			return -EPROTO;
		return iscsi_param_buf_add(rsp, key, "Reject");
	}
	if (iscsi_param_is_answer(value))
		return 0;		/* an answer, not an offer: nothing due */
	if (n->discovery && d->discovery_irrelevant)
		return iscsi_param_buf_add(rsp, key, "Irrelevant");
	ours = n->conf.val[k];
	switch (d->type) {
	case ISCSI_KT_LIST:
		idx = iscsi_param_pick(d, value, ours);
		if (idx < 0)
			return iscsi_param_buf_add(rsp, key, "Reject");
		iscsi_param_store(n, k, (uint32_t)idx);
		return iscsi_param_buf_add(rsp, key, d->values[idx]);
	case ISCSI_KT_AND:
	case ISCSI_KT_OR:
		if (iscsi_param_parse_bool(value, &v) != 0)
			return iscsi_param_buf_add(rsp, key, "Reject");
		v = d->type == ISCSI_KT_AND ? (v && ours) : (v || ours);
		iscsi_param_store(n, k, v);
		return iscsi_param_buf_add(rsp, key, v ? "Yes" : "No");
	case ISCSI_KT_MIN:
	case ISCSI_KT_MAX:
	case ISCSI_KT_DECL_NUM:
		return iscsi_param_numeric(n, k, d, key, value, rsp);
	case ISCSI_KT_IRRELEVANT:
		return iscsi_param_buf_add(rsp, key, "Irrelevant");
	case ISCSI_KT_DECL_STR:
	default:
		return 0;
	}
}

int
iscsi_param_negotiate_list(struct iscsi_negot *n,
    const struct iscsi_param_list *l, struct iscsi_param_buf *rsp)
{
	const char *first_burst = NULL;
	unsigned int i;
	int rc;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->kv[i].key, "FirstBurstLength") == 0) {
			first_burst = l->kv[i].value;
			continue;
		}
		rc = iscsi_param_negotiate(n, l->kv[i].key, l->kv[i].value,
		    rsp);
		if (rc < 0)
			return rc;
	}
	if (first_burst != NULL) {
		rc = iscsi_param_negotiate(n, "FirstBurstLength", first_burst,
		    rsp);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Does rsp already hold a pair for key (an answer to the initiator's
 * declaration, e.g. "Reject")?  A key appears once per text (RFC 7143
 * 6.1), so our own declaration then waits for the next response. */
static bool
iscsi_param_buf_has(const struct iscsi_param_buf *rsp, const char *key)
{
	size_t off = 0, klen = strlen(key);

	while (off < rsp->len) {
		const char *pair = rsp->data + off;
		size_t n = strnlen(pair, rsp->len - off);

		if (n > klen && pair[klen] == '=' &&
		    memcmp(pair, key, klen) == 0)
			return true;
		off += n + 1;
	}
	return false;
}

int
iscsi_param_declare(struct iscsi_negot *n, struct iscsi_param_buf *rsp)
{
	int rc;

	if (!n->mrdsl_declared &&
	    !iscsi_param_buf_has(rsp, "MaxRecvDataSegmentLength")) {
		rc = iscsi_param_buf_add_u32(rsp, "MaxRecvDataSegmentLength",
		    n->params.max_recv_dsl);
		if (rc != 0)
			return rc;
		n->mrdsl_declared = true;
	}
	/* a key answered in this response (e.g. an initiator's TargetAlias,
	 * rejected) must not appear twice: declare it in a later one */
	if (!n->alias_declared && n->conf.target_alias[0] != '\0' &&
	    !n->discovery && !iscsi_param_buf_has(rsp, "TargetAlias")) {
		rc = iscsi_param_buf_add(rsp, "TargetAlias",
		    n->conf.target_alias);
		if (rc != 0)
			return rc;
		n->alias_declared = true;
	}
	return 0;
}

void
iscsi_param_finish(struct iscsi_negot *n)
{
	if (n->params.first_burst > n->params.max_burst)
		n->params.first_burst = n->params.max_burst;
}
