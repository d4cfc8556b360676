/*
 * fuzz_conf.c - the configuration parser: conf_parse() (conf.h) of
 * arbitrary bytes as saveconfig.json text, then a walk over the result the
 * way target.c and the login code use it.
 *
 * The input is the JSON text itself (a NUL inside ends it early, as for a
 * file read by conf_load()).  Nothing is applied: target_apply() would
 * open the files the configuration names.
 *
 * Properties: exactly one of a configuration and an error message comes
 * back; every storage object a TPG LUN names can be found; names fit
 * their limits; the TPG "parameters" go through the same key table as
 * login negotiation (iscsi_param_conf_set) without harm.
 */
#include <errno.h>

#include "conf.h"
#include "fuzz.h"
#include "iscsi_param.h"
#include "log.h"

static void
fuzz_walk_tpg(const struct conf *c, const struct conf_tpg *tpg)
{
	struct iscsi_param_conf pc;
	unsigned int i, j, k;
	int rc;

	for (i = 0; i < tpg->n_portals; i++)
		FUZZ_CHECK(tpg->portals[i].ip != NULL);
	for (i = 0; i < tpg->n_luns; i++) {
		FUZZ_CHECK(tpg->luns[i].storage != NULL);
		/* Validation resolved every LUN's storage object. */
		FUZZ_CHECK(conf_storage_find(c, tpg->luns[i].storage) != NULL);
	}
	for (i = 0; i < tpg->n_acls; i++) {
		FUZZ_CHECK(tpg->acls[i].node_wwn != NULL);
		FUZZ_CHECK(strlen(tpg->acls[i].node_wwn) < CONF_NAME_MAX);
		for (j = 0; j < tpg->acls[i].n_mapped_luns; j++) {
			/* Validation: each mapped LUN names a TPG LUN. */
			for (k = 0; k < tpg->n_luns; k++)
				if (tpg->luns[k].index ==
				    tpg->acls[i].mapped_luns[j].tpg_lun)
					break;
			FUZZ_CHECK(k < tpg->n_luns);
		}
	}
	iscsi_param_conf_default(&pc);
	for (i = 0; i < tpg->n_params; i++) {
		FUZZ_CHECK(tpg->params[i].key != NULL &&
		    tpg->params[i].value != NULL);
		rc = iscsi_param_conf_set(&pc, tpg->params[i].key,
		    tpg->params[i].value);
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == -EINVAL);
	}
}

static void
fuzz_walk(const struct conf *c)
{
	unsigned int i, j;

	for (i = 0; i < c->n_storage; i++) {
		FUZZ_CHECK(c->storage[i].plugin != NULL);
		FUZZ_CHECK(c->storage[i].name != NULL);
		FUZZ_CHECK(conf_storage_find(c, c->storage[i].name) != NULL);
	}
	for (i = 0; i < c->n_targets; i++) {
		FUZZ_CHECK(c->targets[i].wwn != NULL);
		FUZZ_CHECK(strlen(c->targets[i].wwn) < CONF_NAME_MAX);
		for (j = 0; j < c->targets[i].n_tpgs; j++)
			fuzz_walk_tpg(c, &c->targets[i].tpgs[j]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct conf *c;
	char *json, *err = NULL;

	if (!init) {
		/* Warnings about unknown keys would flood the output. */
		log_init(false, LOG_LVL_ERR);
		init = true;
	}
	json = fuzz_cstr(data, size);
	if (json == NULL)
		return 0;
	c = conf_parse(json, "fuzz.json", &err);
	if (c != NULL) {
		FUZZ_CHECK(err == NULL);
		fuzz_walk(c);
		conf_free(c);
	} else {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		free(err);
	}
	free(json);
	return 0;
}
