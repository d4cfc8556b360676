/*
 * check_iscsi_param.c - text segment parsing and key negotiation
 * (iscsi_param.c): every key's type, range and default from the table,
 * malformed text, stages, discovery, configuration.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_param.h"

/* The answer for key in a response text, or NULL. */
static const char *
answer(const struct iscsi_param_buf *b, const char *key)
{
	size_t off = 0, kl = strlen(key);
	const char *p;

	while (off < b->len) {
		p = b->data + off;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return p + kl + 1;
		off += strlen(p) + 1;
	}
	return NULL;
}

static int
n_answers(const struct iscsi_param_buf *b)
{
	size_t off = 0;
	int n = 0;

	while (off < b->len) {
		off += strlen(b->data + off) + 1;
		n++;
	}
	return n;
}

/* Negotiate one key in a fresh leading normal login (operational). */
static int
neg1(struct iscsi_negot *n, struct iscsi_param_buf *b, const char *key,
    const char *value)
{
	iscsi_param_buf_fini(b);
	iscsi_param_buf_init(b, 0);
	return iscsi_param_negotiate(n, key, value, b);
}

START_TEST(test_parse_ok)
{
	static const char txt[] = "A=1\0B=two words\0\0\0C=\0";
	struct iscsi_param_list l;

	ck_assert_int_eq(iscsi_param_parse((const uint8_t *)txt,
	    sizeof(txt) - 1, &l), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(iscsi_param_list_get(&l, "A"), "1");
	ck_assert_str_eq(iscsi_param_list_get(&l, "B"), "two words");
	ck_assert_str_eq(iscsi_param_list_get(&l, "C"), "");
	ck_assert_ptr_null(iscsi_param_list_get(&l, "D"));
	iscsi_param_list_free(&l);
	ck_assert_int_eq(iscsi_param_parse(NULL, 0, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	iscsi_param_list_free(&l);
}
END_TEST

static int
parse_str(const char *s, size_t len)
{
	struct iscsi_param_list l;
	int rc;

	rc = iscsi_param_parse((const uint8_t *)s, len, &l);
	if (rc == 0)
		iscsi_param_list_free(&l);
	return rc;
}

START_TEST(test_parse_malformed)
{
	char big[ISCSI_VALUE_BIN_MAX + 64], key[80];
	char *many;
	size_t i, off;

	ck_assert_int_eq(parse_str("A=1", 3), -EINVAL);	/* no NUL */
	ck_assert_int_eq(parse_str("A1\0", 3), -EINVAL);	/* no '=' */
	ck_assert_int_eq(parse_str("=1\0", 3), -EINVAL);	/* empty key */
	ck_assert_int_eq(parse_str("A B=1\0", 6), -EINVAL);	/* bad char */
	ck_assert_int_eq(parse_str("A\n=1\0", 5), -EINVAL);
	ck_assert_int_eq(parse_str("A=1\0A=2\0", 8), -EEXIST);	/* twice */
	ck_assert_int_eq(parse_str("X#a.b-c+d@e_f=1\0", 16), 0);
	/* 63-byte key ok, 64 not */
	memset(key, 'K', sizeof(key));
	memcpy(key + 63, "=1", 3);
	ck_assert_int_eq(parse_str(key, 66), 0);
	memset(key, 'K', sizeof(key));
	memcpy(key + 64, "=1", 3);
	ck_assert_int_eq(parse_str(key, 67), -EINVAL);
	/* value bound */
	memset(big, 'v', sizeof(big));
	memcpy(big, "A=", 2);
	big[2 + ISCSI_VALUE_BIN_MAX] = '\0';
	ck_assert_int_eq(parse_str(big, 3 + ISCSI_VALUE_BIN_MAX), 0);
	big[2 + ISCSI_VALUE_BIN_MAX] = 'v';
	big[3 + ISCSI_VALUE_BIN_MAX] = '\0';
	ck_assert_int_eq(parse_str(big, 4 + ISCSI_VALUE_BIN_MAX), -EINVAL);
	/* pair count bound */
	many = malloc(300 * 16);
	ck_assert_ptr_nonnull(many);
	for (i = 0, off = 0; i < 300; i++)
		off += (size_t)sprintf(many + off, "K%zu=1", i) + 1;
	ck_assert_int_eq(parse_str(many, off), -EINVAL);
	free(many);
}
END_TEST

START_TEST(test_defaults_match_table)
{
	struct iscsi_params p;

	iscsi_params_default(&p);
	ck_assert(!p.header_digest && !p.data_digest);
	ck_assert_uint_eq(p.max_recv_dsl, 8192);
	ck_assert_uint_eq(p.max_xmit_dsl, 8192);
	ck_assert_uint_eq(p.max_burst,
	    iscsi_key_desc(ISCSI_KEY_MAX_BURST_LENGTH)->def);
	ck_assert_uint_eq(p.first_burst,
	    iscsi_key_desc(ISCSI_KEY_FIRST_BURST_LENGTH)->def);
	ck_assert_uint_eq(p.first_burst, 65536);
	ck_assert_uint_eq(p.max_burst, 262144);
	ck_assert(p.immediate_data && p.initial_r2t);
	ck_assert(p.data_pdu_in_order && p.data_seq_in_order);
	ck_assert_uint_eq(p.max_outstanding_r2t, 1);
	ck_assert_uint_eq(p.default_time2wait, 2);
	ck_assert_uint_eq(p.default_time2retain, 20);
	ck_assert_uint_eq(p.error_recovery_level, 0);
	ck_assert_uint_eq(p.max_connections, 1);
	ck_assert_int_eq(iscsi_key_lookup("MaxBurstLength"),
	    ISCSI_KEY_MAX_BURST_LENGTH);
	ck_assert_int_eq(iscsi_key_lookup("maxburstlength"),
	    ISCSI_KEY_UNKNOWN);
	ck_assert_ptr_null(iscsi_key_desc(ISCSI_KEY_UNKNOWN));
}
END_TEST

/* Every numerical key: below, at and above its range, junk, hex. */
START_TEST(test_numeric_sweep)
{
	struct iscsi_negot n;
	struct iscsi_param_buf b;
	const struct iscsi_key_desc *d;
	char v[32], want[32];
	uint32_t ours, res;
	int k;

	iscsi_param_buf_init(&b, 0);
	for (k = 0; k < ISCSI_KEY__COUNT; k++) {
		d = iscsi_key_desc((enum iscsi_key)k);
		if (d->type != ISCSI_KT_MIN && d->type != ISCSI_KT_MAX)
			continue;
		iscsi_negot_init(&n, NULL, true, false);
		n.stage = ISCSI_NEG_OPERATIONAL;
		ours = n.conf.val[k];
		ck_assert_uint_ge(ours, d->min);
		ck_assert_uint_le(ours, d->max);
		ck_assert_uint_ge(d->def, d->min);
		ck_assert_uint_le(d->def, d->max);
		if (d->min > 0) {
			snprintf(v, sizeof(v), "%u", d->min - 1);
			ck_assert_int_eq(neg1(&n, &b, d->name, v), 0);
			ck_assert_str_eq(answer(&b, d->name), "Reject");
		}
		snprintf(v, sizeof(v), "%u", d->max + 1);
		ck_assert_int_eq(neg1(&n, &b, d->name, v), 0);
		ck_assert_str_eq(answer(&b, d->name), "Reject");
		ck_assert_int_eq(neg1(&n, &b, d->name, "12ab"), 0);
		ck_assert_str_eq(answer(&b, d->name), "Reject");
		ck_assert_int_eq(neg1(&n, &b, d->name, ""), 0);
		ck_assert_str_eq(answer(&b, d->name), "Reject");
		ck_assert_int_eq(neg1(&n, &b, d->name, "99999999999"), 0);
		ck_assert_str_eq(answer(&b, d->name), "Reject");
		/* min and max of the range */
		snprintf(v, sizeof(v), "%u", d->min);
		ck_assert_int_eq(neg1(&n, &b, d->name, v), 0);
		res = d->type == ISCSI_KT_MIN ? d->min : ours;
		snprintf(want, sizeof(want), "%u", res);
		ck_assert_str_eq(answer(&b, d->name), want);
		snprintf(v, sizeof(v), "0x%x", d->max);
		ck_assert_int_eq(neg1(&n, &b, d->name, v), 0);
		res = d->type == ISCSI_KT_MIN ? ours : d->max;
		snprintf(want, sizeof(want), "%u", res);
		ck_assert_str_eq(answer(&b, d->name), want);
	}
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_numeric_results)
{
	struct iscsi_negot n;
	struct iscsi_param_buf b;

	iscsi_param_buf_init(&b, 0);
	iscsi_negot_init(&n, NULL, true, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	neg1(&n, &b, "MaxBurstLength", "131072");
	ck_assert_str_eq(answer(&b, "MaxBurstLength"), "131072");
	ck_assert_uint_eq(n.params.max_burst, 131072);
	neg1(&n, &b, "MaxBurstLength", "16777215");
	ck_assert_str_eq(answer(&b, "MaxBurstLength"), "1048576");
	neg1(&n, &b, "DefaultTime2Wait", "0");
	ck_assert_str_eq(answer(&b, "DefaultTime2Wait"), "2");	/* max */
	neg1(&n, &b, "DefaultTime2Wait", "10");
	ck_assert_str_eq(answer(&b, "DefaultTime2Wait"), "10");
	ck_assert_uint_eq(n.params.default_time2wait, 10);
	neg1(&n, &b, "DefaultTime2Retain", "0");
	ck_assert_str_eq(answer(&b, "DefaultTime2Retain"), "0");
	neg1(&n, &b, "ErrorRecoveryLevel", "2");
	ck_assert_str_eq(answer(&b, "ErrorRecoveryLevel"), "0");
	neg1(&n, &b, "MaxConnections", "8");
	ck_assert_str_eq(answer(&b, "MaxConnections"), "1");
	neg1(&n, &b, "iSCSIProtocolLevel", "2");
	ck_assert_str_eq(answer(&b, "iSCSIProtocolLevel"), "1");
	neg1(&n, &b, "iSCSIProtocolLevel", "32");
	ck_assert_str_eq(answer(&b, "iSCSIProtocolLevel"), "Reject");
	/* declarative: no answer, stored as the peer's limit */
	ck_assert_int_eq(neg1(&n, &b, "MaxRecvDataSegmentLength", "65536"),
	    0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(n.params.max_xmit_dsl, 65536);
	ck_assert_uint_eq(n.params.max_recv_dsl, 262144);
	neg1(&n, &b, "MaxRecvDataSegmentLength", "511");
	ck_assert_str_eq(answer(&b, "MaxRecvDataSegmentLength"), "Reject");
	ck_assert_uint_eq(n.params.max_xmit_dsl, 65536);
	neg1(&n, &b, "MaxRecvDataSegmentLength", "16777216");
	ck_assert_str_eq(answer(&b, "MaxRecvDataSegmentLength"), "Reject");
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_booleans)
{
	struct iscsi_negot n;
	struct iscsi_param_buf b;

	iscsi_param_buf_init(&b, 0);
	iscsi_negot_init(&n, NULL, true, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	/* InitialR2T is OR with our No: the offer wins */
	neg1(&n, &b, "InitialR2T", "No");
	ck_assert_str_eq(answer(&b, "InitialR2T"), "No");
	ck_assert(!n.params.initial_r2t);
	neg1(&n, &b, "InitialR2T", "Yes");
	ck_assert_str_eq(answer(&b, "InitialR2T"), "Yes");
	ck_assert(n.params.initial_r2t);
	/* ImmediateData AND with our Yes */
	neg1(&n, &b, "ImmediateData", "No");
	ck_assert_str_eq(answer(&b, "ImmediateData"), "No");
	ck_assert(!n.params.immediate_data);
	neg1(&n, &b, "ImmediateData", "Yes");
	ck_assert_str_eq(answer(&b, "ImmediateData"), "Yes");
	/* In-order keys: OR with our Yes */
	neg1(&n, &b, "DataPDUInOrder", "No");
	ck_assert_str_eq(answer(&b, "DataPDUInOrder"), "Yes");
	neg1(&n, &b, "DataSequenceInOrder", "No");
	ck_assert_str_eq(answer(&b, "DataSequenceInOrder"), "Yes");
	/* Markers: AND with No */
	neg1(&n, &b, "OFMarker", "Yes");
	ck_assert_str_eq(answer(&b, "OFMarker"), "No");
	neg1(&n, &b, "IFMarker", "No");
	ck_assert_str_eq(answer(&b, "IFMarker"), "No");
	neg1(&n, &b, "OFMarkInt", "2048~8192");
	ck_assert_str_eq(answer(&b, "OFMarkInt"), "Irrelevant");
	neg1(&n, &b, "IFMarkInt", "1");
	ck_assert_str_eq(answer(&b, "IFMarkInt"), "Irrelevant");
	/* Non-boolean values */
	neg1(&n, &b, "ImmediateData", "yes");
	ck_assert_str_eq(answer(&b, "ImmediateData"), "Reject");
	neg1(&n, &b, "InitialR2T", "");
	ck_assert_str_eq(answer(&b, "InitialR2T"), "Reject");
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_lists)
{
	struct iscsi_negot n;
	struct iscsi_param_buf b;

	iscsi_param_buf_init(&b, 0);
	iscsi_negot_init(&n, NULL, true, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	neg1(&n, &b, "HeaderDigest", "None,CRC32C");
	ck_assert_str_eq(answer(&b, "HeaderDigest"), "None");
	ck_assert(!n.params.header_digest);
	neg1(&n, &b, "HeaderDigest", "CRC32C,None");
	ck_assert_str_eq(answer(&b, "HeaderDigest"), "CRC32C");
	ck_assert(n.params.header_digest);
	neg1(&n, &b, "DataDigest", "SHA1,CRC32C");
	ck_assert_str_eq(answer(&b, "DataDigest"), "CRC32C");
	ck_assert(n.params.data_digest);
	neg1(&n, &b, "DataDigest", "SHA1");
	ck_assert_str_eq(answer(&b, "DataDigest"), "Reject");
	neg1(&n, &b, "DataDigest", "None,,CRC32C");
	ck_assert_str_eq(answer(&b, "DataDigest"), "Reject");
	neg1(&n, &b, "TaskReporting", "FastAbort,RFC3720");
	ck_assert_str_eq(answer(&b, "TaskReporting"), "RFC3720");
	neg1(&n, &b, "TaskReporting", "ResponseFence,FastAbort");
	ck_assert_str_eq(answer(&b, "TaskReporting"), "Reject");
	/* Our configuration narrows the list. */
	ck_assert_int_eq(iscsi_param_conf_set(&n.conf, "HeaderDigest",
	    "CRC32C"), 0);
	neg1(&n, &b, "HeaderDigest", "None,CRC32C");
	ck_assert_str_eq(answer(&b, "HeaderDigest"), "CRC32C");
	neg1(&n, &b, "HeaderDigest", "None");
	ck_assert_str_eq(answer(&b, "HeaderDigest"), "Reject");
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_unknown_and_special)
{
	struct iscsi_negot n;
	struct iscsi_param_buf b;

	iscsi_param_buf_init(&b, 0);
	iscsi_negot_init(&n, NULL, true, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	ck_assert_int_eq(neg1(&n, &b, "X-com.example.foo", "1"), 0);
	ck_assert_str_eq(answer(&b, "X-com.example.foo"), "NotUnderstood");
	ck_assert_int_eq(neg1(&n, &b, "X#7", "1"), 0);
	ck_assert_str_eq(answer(&b, "X#7"), "NotUnderstood");
	ck_assert_int_eq(neg1(&n, &b, "FooBar", "1"), 0);
	ck_assert_str_eq(answer(&b, "FooBar"), "NotUnderstood");
	/* answers from the initiator need no answer */
	ck_assert_int_eq(neg1(&n, &b, "MaxBurstLength", "Reject"), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(neg1(&n, &b, "HeaderDigest", "NotUnderstood"), 0);
	ck_assert_uint_eq(b.len, 0);
	/* the caller's keys */
	ck_assert_int_eq(neg1(&n, &b, "InitiatorName", "iqn.x"),
	    ISCSI_PARAM_NOT_MINE);
	ck_assert_int_eq(neg1(&n, &b, "TargetName", "iqn.x"),
	    ISCSI_PARAM_NOT_MINE);
	ck_assert_int_eq(neg1(&n, &b, "SessionType", "Normal"),
	    ISCSI_PARAM_NOT_MINE);
	ck_assert_int_eq(neg1(&n, &b, "CHAP_A", "5"), ISCSI_PARAM_NOT_MINE);
	/* InitiatorAlias is declarative */
	ck_assert_int_eq(neg1(&n, &b, "InitiatorAlias", "host"), 0);
	ck_assert_uint_eq(b.len, 0);
	/* target-only keys from the initiator */
	ck_assert_int_eq(neg1(&n, &b, "TargetAlias", "x"), -EPROTO);
	ck_assert_int_eq(neg1(&n, &b, "TargetAddress", "1.2.3.4"), -EPROTO);
	ck_assert_int_eq(neg1(&n, &b, "TargetPortalGroupTag", "1"), -EPROTO);
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_stages)
{
	struct iscsi_negot n;
	struct iscsi_param_buf b;
	char longv[ISCSI_VALUE_MAX + 2];

	iscsi_param_buf_init(&b, 0);
	/* LO keys on a non-leading connection */
	iscsi_negot_init(&n, NULL, false, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	ck_assert_int_eq(neg1(&n, &b, "MaxBurstLength", "512"), -EPROTO);
	ck_assert_int_eq(neg1(&n, &b, "HeaderDigest", "None"), 0);
	ck_assert_int_eq(neg1(&n, &b, "MaxRecvDataSegmentLength", "4096"),
	    0);
	/* Full feature phase: only ALL keys; others answered Reject */
	iscsi_negot_init(&n, NULL, true, false);
	n.stage = ISCSI_NEG_FFP;
	ck_assert_int_eq(neg1(&n, &b, "MaxBurstLength", "512"), 0);
	ck_assert_str_eq(answer(&b, "MaxBurstLength"), "Reject");
	ck_assert_int_eq(neg1(&n, &b, "HeaderDigest", "CRC32C"), 0);
	ck_assert_str_eq(answer(&b, "HeaderDigest"), "Reject");
	ck_assert_int_eq(neg1(&n, &b, "MaxRecvDataSegmentLength", "4096"),
	    0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(n.params.max_xmit_dsl, 4096);
	ck_assert_int_eq(neg1(&n, &b, "TargetAlias", "x"), 0);
	ck_assert_str_eq(answer(&b, "TargetAlias"), "Reject");
	/* SendTargets belongs to the text code, only in FFP */
	ck_assert_int_eq(neg1(&n, &b, "SendTargets", "All"),
	    ISCSI_PARAM_NOT_MINE);
	/* Over-long values */
	memset(longv, '1', sizeof(longv));
	longv[sizeof(longv) - 1] = '\0';
	n.stage = ISCSI_NEG_OPERATIONAL;
	ck_assert_int_eq(neg1(&n, &b, "MaxBurstLength", longv), -EPROTO);
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_discovery)
{
	static const char *const irr[] = { "MaxConnections", "InitialR2T",
	    "ImmediateData", "MaxBurstLength", "FirstBurstLength",
	    "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder" };
	struct iscsi_negot n;
	struct iscsi_param_buf b;
	unsigned int i;

	iscsi_param_buf_init(&b, 0);
	iscsi_negot_init(&n, NULL, true, true);
	n.stage = ISCSI_NEG_OPERATIONAL;
	for (i = 0; i < sizeof(irr) / sizeof(irr[0]); i++) {
		ck_assert_int_eq(neg1(&n, &b, irr[i], "Yes"), 0);
		ck_assert_str_eq(answer(&b, irr[i]), "Irrelevant");
	}
	neg1(&n, &b, "HeaderDigest", "CRC32C,None");
	ck_assert_str_eq(answer(&b, "HeaderDigest"), "CRC32C");
	neg1(&n, &b, "ErrorRecoveryLevel", "1");
	ck_assert_str_eq(answer(&b, "ErrorRecoveryLevel"), "0");
	neg1(&n, &b, "DefaultTime2Retain", "0");
	ck_assert_str_eq(answer(&b, "DefaultTime2Retain"), "0");
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_list_first_burst)
{
	static const char req[] = "FirstBurstLength=262144\0"
	    "MaxBurstLength=131072\0HeaderDigest=None\0X-a=1\0";
	struct iscsi_param_conf conf;
	struct iscsi_param_list l;
	struct iscsi_negot n;
	struct iscsi_param_buf b;

	iscsi_param_conf_default(&conf);
	ck_assert_int_eq(iscsi_param_conf_set(&conf, "FirstBurstLength",
	    "1048576"), 0);
	iscsi_negot_init(&n, &conf, true, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	iscsi_param_buf_init(&b, 0);
	ck_assert_int_eq(iscsi_param_parse((const uint8_t *)req,
	    sizeof(req) - 1, &l), 0);
	ck_assert_int_eq(iscsi_param_negotiate_list(&n, &l, &b), 0);
	ck_assert_str_eq(answer(&b, "MaxBurstLength"), "131072");
	ck_assert_str_eq(answer(&b, "FirstBurstLength"), "131072");
	ck_assert_str_eq(answer(&b, "X-a"), "NotUnderstood");
	ck_assert_int_eq(n_answers(&b), 4);
	ck_assert_uint_eq(n.params.first_burst, 131072);
	iscsi_param_list_free(&l);
	/* Only MaxBurstLength lowered: finish() bounds FirstBurstLength */
	iscsi_negot_init(&n, NULL, true, false);
	n.stage = ISCSI_NEG_OPERATIONAL;
	neg1(&n, &b, "MaxBurstLength", "4096");
	iscsi_param_finish(&n);
	ck_assert_uint_eq(n.params.first_burst, 4096);
	/* Declarations happen once */
	iscsi_param_buf_fini(&b);
	iscsi_param_buf_init(&b, 0);
	ck_assert_int_eq(iscsi_param_conf_set(&n.conf, "TargetAlias",
	    "disk one"), 0);
	ck_assert_int_eq(iscsi_param_declare(&n, &b), 0);
	ck_assert_str_eq(answer(&b, "MaxRecvDataSegmentLength"), "262144");
	ck_assert_str_eq(answer(&b, "TargetAlias"), "disk one");
	ck_assert_int_eq(iscsi_param_declare(&n, &b), 0);
	ck_assert_int_eq(n_answers(&b), 2);
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_conf)
{
	struct iscsi_param_conf c;
	char err[128];

	iscsi_param_conf_default(&c);
	ck_assert_int_eq(iscsi_param_conf_parse(&c,
	    "MaxBurstLength=4096\n ImmediateData = No \r\n\n"
	    "HeaderDigest=CRC32C,None\nMaxXmitDataSegmentLength=262144\n"
	    "IFMarkInt=Reject\nAuthMethod=CHAP,None\n"
	    "MaxRecvDataSegmentLength=65536", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.val[ISCSI_KEY_MAX_BURST_LENGTH], 4096);
	ck_assert_uint_eq(c.val[ISCSI_KEY_IMMEDIATE_DATA], 0);
	ck_assert_uint_eq(c.val[ISCSI_KEY_HEADER_DIGEST], 3);
	ck_assert_uint_eq(c.val[ISCSI_KEY_MAX_RECV_DSL], 65536);
	ck_assert_int_eq(iscsi_param_conf_parse(&c, "MaxBurstLength=1",
	    err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "MaxBurstLength"));
	ck_assert_int_eq(iscsi_param_conf_parse(&c, "ImmediateData=maybe",
	    err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(iscsi_param_conf_parse(&c, "HeaderDigest=MD5",
	    err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(iscsi_param_conf_parse(&c, "ErrorRecoveryLevel=1",
	    err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(iscsi_param_conf_parse(&c, "ErrorRecoveryLevel=0",
	    err, sizeof(err)), 0);
	ck_assert_int_eq(iscsi_param_conf_parse(&c, "NoEquals", err,
	    sizeof(err)), -EINVAL);
	ck_assert_int_eq(iscsi_param_conf_set(&c, "Whatever", "1"), 1);
	ck_assert_int_eq(iscsi_param_conf_set(&c, "OFMarker", "Yes"), 1);
	ck_assert_uint_eq(c.val[ISCSI_KEY_OF_MARKER], 0);
}
END_TEST

START_TEST(test_buf_bound)
{
	struct iscsi_param_buf b;
	char key[40];
	int i, rc = 0;

	iscsi_param_buf_init(&b, 100);
	for (i = 0; i < 100 && rc == 0; i++) {
		snprintf(key, sizeof(key), "Key%d", i);
		rc = iscsi_param_buf_add(&b, key, "value");
	}
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_uint_le(b.len, 100);
	ck_assert_int_eq(b.data[b.len - 1], '\0');
	iscsi_param_buf_fini(&b);
}
END_TEST

START_TEST(test_parse_u32)
{
	uint32_t v;

	ck_assert_int_eq(iscsi_param_parse_u32("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(iscsi_param_parse_u32("4294967295", &v), 0);
	ck_assert_uint_eq(v, 4294967295u);
	ck_assert_int_eq(iscsi_param_parse_u32("4294967296", &v), -EINVAL);
	ck_assert_int_eq(iscsi_param_parse_u32("0xFFffFFff", &v), 0);
	ck_assert_uint_eq(v, 0xffffffffu);
	ck_assert_int_eq(iscsi_param_parse_u32("0x", &v), -EINVAL);
	ck_assert_int_eq(iscsi_param_parse_u32("-1", &v), -EINVAL);
	ck_assert_int_eq(iscsi_param_parse_u32(" 1", &v), -EINVAL);
	ck_assert_int_eq(iscsi_param_parse_u32("", &v), -EINVAL);
}
END_TEST

static Suite *
param_suite(void)
{
	Suite *s = suite_create("iscsi_param");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_ok);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_defaults_match_table);
	tcase_add_test(tc, test_numeric_sweep);
	tcase_add_test(tc, test_numeric_results);
	tcase_add_test(tc, test_booleans);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_unknown_and_special);
	tcase_add_test(tc, test_stages);
	tcase_add_test(tc, test_discovery);
	tcase_add_test(tc, test_list_first_burst);
	tcase_add_test(tc, test_conf);
	tcase_add_test(tc, test_buf_bound);
	tcase_add_test(tc, test_parse_u32);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(param_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
