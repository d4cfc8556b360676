/*
 * fuzz_text_keys.c - iSCSI text segments and key negotiation
 * (iscsi_param.h): parse arbitrary "key=value\0" data the way the login
 * and text code does, negotiate it over several rounds (stages) against a
 * target configuration that is itself fuzzed, and check what the
 * connection side later relies on.
 *
 * Input:
 *   byte 0      flags: 0x01 leading connection, 0x02 discovery session,
 *               0x04 apply the configuration text below
 *   byte 1      length L of the configuration text
 *   L bytes     TPG parameters, "Key=Value" lines (iscsi_param_conf_parse)
 *   rounds      each: stage byte (& 3: 0 security, 1 operational,
 *               2/3 full feature), 16-bit big-endian length, that many
 *               bytes of text data segment
 *
 * Properties: every response segment parses back (valid keys, every pair
 * terminated, no key twice), stays within its bound, and the negotiated
 * parameters stay inside the RFC 7143 ranges (a MaxRecvDataSegmentLength
 * or MaxBurstLength below 512, FirstBurstLength above MaxBurstLength or no
 * outstanding R2T would break the data path).
 */
#include <errno.h>

#include "fuzz.h"
#include "iscsi_param.h"

#define FUZZ_ROUNDS_MAX	8

static void
fuzz_check_params(const struct iscsi_params *p)
{
	FUZZ_CHECK(p->max_xmit_dsl >= 512 && p->max_xmit_dsl <= 16777215);
	FUZZ_CHECK(p->max_recv_dsl >= 512 && p->max_recv_dsl <= 16777215);
	FUZZ_CHECK(p->max_burst >= 512 && p->max_burst <= 16777215);
	FUZZ_CHECK(p->first_burst >= 512 && p->first_burst <= p->max_burst);
	FUZZ_CHECK(p->max_outstanding_r2t >= 1 &&
	    p->max_outstanding_r2t <= 65535);
	FUZZ_CHECK(p->max_connections >= 1 && p->max_connections <= 65535);
	FUZZ_CHECK(p->error_recovery_level <= 2);
	FUZZ_CHECK(p->default_time2wait <= 3600);
	FUZZ_CHECK(p->default_time2retain <= 3600);
}

/* Our own answer must be a valid text segment. */
static void
fuzz_check_rsp(const struct iscsi_param_buf *rsp)
{
	struct iscsi_param_list back;
	unsigned int i;
	int rc;

	FUZZ_CHECK(rsp->len <= rsp->max);
	if (rsp->len == 0)
		return;
	FUZZ_CHECK(rsp->data[rsp->len - 1] == '\0');
	rc = iscsi_param_parse((const uint8_t *)rsp->data, rsp->len, &back);
	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK(rc == 0);
	for (i = 0; i < back.n; i++)
		FUZZ_CHECK(strlen(back.kv[i].value) <= ISCSI_VALUE_BIN_MAX);
	iscsi_param_list_free(&back);
}

static void
fuzz_round(struct iscsi_negot *n, const uint8_t *data, size_t len)
{
	struct iscsi_param_list list;
	struct iscsi_param_buf rsp;
	unsigned int i;
	uint32_t v;
	int rc;

	rc = iscsi_param_parse(data, len, &list);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -EEXIST || rc == -ENOMEM);
		return;
	}
	for (i = 0; i < list.n; i++) {
		FUZZ_CHECK(list.kv[i].key[0] != '\0');
		FUZZ_CHECK(strlen(list.kv[i].key) <= ISCSI_KEY_MAX);
		FUZZ_CHECK(iscsi_param_list_get(&list, list.kv[i].key) ==
		    list.kv[i].value);
		(void)iscsi_key_desc(iscsi_key_lookup(list.kv[i].key));
		(void)iscsi_param_parse_u32(list.kv[i].value, &v);
	}
	iscsi_param_buf_init(&rsp, 0);
	rc = iscsi_param_negotiate_list(n, &list, &rsp);
	if (rc == 0)
		rc = iscsi_param_declare(n, &rsp);
	(void)rc;
	fuzz_check_rsp(&rsp);
	iscsi_param_buf_fini(&rsp);
	iscsi_param_list_free(&list);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum iscsi_neg_stage stages[4] = {
		ISCSI_NEG_SECURITY, ISCSI_NEG_OPERATIONAL, ISCSI_NEG_FFP,
		ISCSI_NEG_FFP,
	};
	struct iscsi_param_conf conf;
	struct iscsi_negot *n;
	struct fuzz_in in;
	const uint8_t *p;
	char err[128], *text;
	uint8_t flags;
	size_t len, got;
	unsigned int round;
	bool use_conf = false;

	fuzz_in_init(&in, data, size);
	flags = fuzz_u8(&in);
	len = fuzz_u8(&in);
	p = fuzz_bytes(&in, len, &got);
	iscsi_param_conf_default(&conf);
	if (flags & 0x04) {
		text = fuzz_cstr(p, got);
		if (text == NULL)
			return 0;
		err[0] = '\0';
		use_conf = iscsi_param_conf_parse(&conf, text, err,
		    sizeof(err)) == 0;
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		free(text);
		if (!use_conf)
			iscsi_param_conf_default(&conf);
	}

	n = malloc(sizeof(*n));	/* big: keep it off the stack */
	if (n == NULL)
		return 0;
	iscsi_negot_init(n, use_conf ? &conf : NULL, (flags & 0x01) != 0,
	    (flags & 0x02) != 0);
	for (round = 0; round < FUZZ_ROUNDS_MAX && in.left != 0; round++) {
		n->stage = stages[fuzz_u8(&in) & 3];
		len = fuzz_u16(&in);
		p = fuzz_bytes(&in, len, &got);
		fuzz_round(n, p, got);
	}
	iscsi_param_finish(n);
	fuzz_check_params(&n->params);
	free(n);
	return 0;
}
