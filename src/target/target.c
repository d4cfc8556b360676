/*
 * target.c - the running configuration: storage objects opened as LUs,
 * iSCSI targets with their TPGs, portals and ACLs, and the registered
 * I_T nexuses whose LUN maps follow reloads.
 *
 * target_apply() builds a complete new registry beside the running one:
 * storage objects whose configuration did not change at all keep their LU
 * (and so their open backstore, mode pages and reservations); others are
 * opened.  If any open fails the new registry is dropped and nothing
 * changed.  Otherwise the LUN map of every registered nexus is computed
 * from the new registry, and the registry and all maps are swapped under
 * the write lock; nexus_luns_replace() queues REPORTED LUNS DATA HAS
 * CHANGED where a map changed.  A session whose target, TPG or ACL
 * disappeared (or whose TPG was disabled) gets an empty map: access ends
 * at the reload, the connection stays until the initiator drops it.  ROD
 * tokens of an LU the new registry does not keep are revoked
 * (tgt_revoke_dropped).
 *
 * Locking: one rwlock guards the registry and the nexus list; readers are
 * logins, SendTargets and target_foreach_nexus() from any loop.  Lock
 * order is registry, then nexus->lock.  Only target_apply() and
 * target_shutdown() replace the registry; they are serialised by a mutex.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backstore.h"
#include "conf.h"
#include "log.h"
#include "lun.h"
#include "rod_token/rod_token.h"
#include "target.h"
#include "util.h"

struct tgt_so {
	struct conf_storage cs;		/* deep copy */
	struct lun	*lun;		/* owned; NULL: plugin not served */
};

struct tgt_portal {
	struct target_portal tp;
	int		 af;
	uint8_t		 addr[16];
	bool		 any;		/* 0.0.0.0 or :: */
};

struct tgt_lun {
	uint32_t	 index;
	struct lun	*lun;		/* borrowed from tgt_so; may be NULL */
};

struct tgt_acl {
	char		*node_wwn;
	struct tgt_lun	*mapped;	/* index = initiator's LUN */
	bool		*wp;
	unsigned int	 n_mapped;
	struct conf_chap chap;
};

struct tgt_tpg {
	uint16_t	 tag;
	bool		 enable;
	bool		 auth;
	bool		 demo;
	bool		 demo_wp;
	bool		 token_scope_wide;	/* tpcd_token_scope "target" */
	struct tgt_portal *portals;
	unsigned int	 n_portals;
	struct tgt_lun	*luns;
	unsigned int	 n_luns;
	struct tgt_acl	*acls;
	unsigned int	 n_acls;
	struct conf_chap chap;
	char		 params[sizeof(((struct target_auth *)0)->params)];
};

struct tgt_target {
	char		*wwn;
	struct tgt_tpg	*tpgs;
	unsigned int	 n_tpgs;
};

struct tgt_reg {
	struct tgt_so	*sos;
	unsigned int	 n_sos;
	struct tgt_target *targets;
	unsigned int	 n_targets;
};

static pthread_rwlock_t tgt_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t tgt_apply_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tgt_reg *tgt_cur;
static struct scsi_nexus **tgt_nx;
static unsigned int tgt_n_nx, tgt_cap_nx;

/* --- helpers --- */

static bool
tgt_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static char *
tgt_dup(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = xstrdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

static void
tgt_chap_copy(struct conf_chap *d, const struct conf_chap *s, bool *oom)
{
	d->userid = tgt_dup(s->userid, oom);
	d->password = tgt_dup(s->password, oom);
	d->mutual_userid = tgt_dup(s->mutual_userid, oom);
	d->mutual_password = tgt_dup(s->mutual_password, oom);
}

static void
tgt_chap_free(struct conf_chap *c)
{
	free(c->userid);
	free(c->password);
	free(c->mutual_userid);
	free(c->mutual_password);
}

/* Parse an address (brackets allowed); v4-mapped v6 becomes v4. */
static int
tgt_addr_parse(const char *ip, uint8_t addr[16])
{
	char buf[64];
	size_t len = strlen(ip);

	if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, ip + 1, len - 2);
		buf[len - 2] = '\0';
	} else
		strlcpy_t(buf, ip, sizeof(buf));
	if (inet_pton(AF_INET, buf, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return -1;
	if (memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(addr, addr + 12, 4);
		return AF_INET;
	}
	return AF_INET6;
}

static bool
tgt_portal_match(const struct tgt_portal *p, const char *ip, uint16_t port)
{
	uint8_t addr[16];
	int af;

	if (p->tp.port != 0 && p->tp.port != port)
		return false;
	af = tgt_addr_parse(ip, addr);
	if (af < 0)
		return false;
	if (p->any)
		return p->af == AF_INET6 || af == AF_INET;
	return af == p->af &&
	    memcmp(addr, p->addr, af == AF_INET ? 4 : 16) == 0;
}

/* --- registry construction --- */

static void
tgt_tpg_free(struct tgt_tpg *g)
{
	unsigned int i;

	free(g->portals);
	free(g->luns);
	for (i = 0; g->acls != NULL && i < g->n_acls; i++) {
		free(g->acls[i].node_wwn);
		free(g->acls[i].mapped);
		free(g->acls[i].wp);
		tgt_chap_free(&g->acls[i].chap);
	}
	free(g->acls);
	tgt_chap_free(&g->chap);
}

static void
tgt_reg_free(struct tgt_reg *r)
{
	unsigned int i, k;

	if (r == NULL)
		return;
	for (i = 0; r->sos != NULL && i < r->n_sos; i++) {
		struct conf_storage *cs = &r->sos[i].cs;

		lun_put(r->sos[i].lun);
		free(cs->plugin);
		free(cs->name);
		free(cs->dev);
		free(cs->wwn);
		free(cs->config);
	}
	free(r->sos);
	for (i = 0; r->targets != NULL && i < r->n_targets; i++) {
		for (k = 0; r->targets[i].tpgs && k < r->targets[i].n_tpgs; k++)
			tgt_tpg_free(&r->targets[i].tpgs[k]);
		free(r->targets[i].tpgs);
		free(r->targets[i].wwn);
	}
	free(r->targets);
	free(r);
}

static bool
tgt_so_same(const struct conf_storage *a, const struct conf_storage *b)
{
	return tgt_streq(a->plugin, b->plugin) &&
	    tgt_streq(a->name, b->name) && tgt_streq(a->dev, b->dev) &&
	    tgt_streq(a->wwn, b->wwn) && tgt_streq(a->config, b->config) &&
	    a->size == b->size && a->block_size == b->block_size &&
	    a->write_back == b->write_back && a->thin == b->thin &&
	    a->read_only == b->read_only;
}

static int
tgt_errmsg(char **errmsg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
tgt_errmsg(char **errmsg, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (errmsg != NULL)
		*errmsg = xstrdup(buf);
	return 0;
}

/* Open (or keep from old) every storage object. */
static int
tgt_build_sos(struct tgt_reg *r, const struct conf *c,
    const struct tgt_reg *old, char **errmsg)
{
	struct backstore *bs;
	bool oom = false;
	unsigned int i, k;
	int err;

	r->sos = xcalloc(c->n_storage ? c->n_storage : 1, sizeof(*r->sos));
	if (r->sos == NULL)
		return -ENOMEM;
	for (i = 0; i < c->n_storage; i++) {
		const struct conf_storage *s = &c->storage[i];
		struct tgt_so *so = &r->sos[i];

		r->n_sos = i + 1;
		so->cs = *s;
		so->cs.plugin = tgt_dup(s->plugin, &oom);
		so->cs.name = tgt_dup(s->name, &oom);
		so->cs.dev = tgt_dup(s->dev, &oom);
		so->cs.wwn = tgt_dup(s->wwn, &oom);
		so->cs.config = tgt_dup(s->config, &oom);
		if (oom)
			return -ENOMEM;
		for (k = 0; old != NULL && k < old->n_sos; k++) {
			if (old->sos[k].lun != NULL &&
			    tgt_so_same(&old->sos[k].cs, s)) {
				so->lun = old->sos[k].lun;
				lun_get(so->lun);
				break;
			}
		}
		if (so->lun != NULL)
			continue;
		if (backstore_ops_find(s->plugin) == NULL) {
			log_warn("storage object %s: plugin %s is not served "
			    "yet; its LUNs stay unmapped", s->name, s->plugin);
			continue;
		}
		bs = backstore_open(s, &err);
		if (bs == NULL) {
			tgt_errmsg(errmsg, "storage object %s (%s): %s",
			    s->name, s->dev ? s->dev : s->plugin,
			    strerror(-err));
			return err ? err : -EIO;
		}
		so->lun = lun_create(s, bs);
		backstore_put(bs);
		if (so->lun == NULL)
			return -ENOMEM;
		log_info("storage object %s: %s, %llu bytes, block size %u",
		    s->name, s->dev ? s->dev : s->plugin,
		    (unsigned long long)so->lun->nblocks *
		    so->lun->block_size, so->lun->block_size);
	}
	return 0;
}

static struct lun *
tgt_so_lun(const struct tgt_reg *r, const char *name)
{
	for (unsigned int i = 0; i < r->n_sos; i++)
		if (strcmp(r->sos[i].cs.name, name) == 0)
			return r->sos[i].lun;
	return NULL;
}

static void
tgt_params_text(struct tgt_tpg *g, const struct conf_tpg *cg)
{
	size_t off = 0;
	int n;

	for (unsigned int i = 0; i < cg->n_params; i++) {
		const char *k = cg->params[i].key;

		/* Markers are gone from RFC 7143; never negotiate them. */
		if (strcmp(k, "IFMarker") == 0 || strcmp(k, "OFMarker") == 0 ||
		    strcmp(k, "IFMarkInt") == 0 || strcmp(k, "OFMarkInt") == 0)
			continue;
		n = snprintf(g->params + off, sizeof(g->params) - off,
		    "%s=%s\n", k, cg->params[i].value);
		if (n < 0 || (size_t)n >= sizeof(g->params) - off) {
			g->params[off] = '\0';
			log_warn("TPG %u: parameters truncated at %s", g->tag,
			    k);
			return;
		}
		off += (size_t)n;
	}
}

static int
tgt_build_tpg(struct tgt_reg *r, struct tgt_tpg *g, const struct conf_tpg *cg)
{
	bool oom = false;
	unsigned int i, k;

	g->tag = cg->tag;
	g->enable = cg->enable;
	g->auth = cg->authentication;
	g->demo = cg->generate_node_acls;
	g->demo_wp = cg->demo_mode_write_protect;
	g->token_scope_wide = cg->token_scope == CONF_TOKEN_SCOPE_TARGET;
	tgt_chap_copy(&g->chap, &cg->chap, &oom);
	tgt_params_text(g, cg);
	g->portals = xcalloc(cg->n_portals + 1, sizeof(*g->portals));
	g->luns = xcalloc(cg->n_luns + 1, sizeof(*g->luns));
	g->acls = xcalloc(cg->n_acls + 1, sizeof(*g->acls));
	if (oom || !g->portals || !g->luns || !g->acls)
		return -ENOMEM;
	for (i = 0; i < cg->n_portals; i++) {
		struct tgt_portal *p = &g->portals[i];

		strlcpy_t(p->tp.ip, cg->portals[i].ip, sizeof(p->tp.ip));
		p->tp.port = cg->portals[i].port;
		p->af = tgt_addr_parse(p->tp.ip, p->addr);
		if (p->af < 0)
			return -EINVAL;	/* conf validated it */
		p->any = memcmp(p->addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
		    p->af == AF_INET ? 4 : 16) == 0;
		g->n_portals++;
	}
	for (i = 0; i < cg->n_luns; i++) {
		g->luns[i].index = cg->luns[i].index;
		g->luns[i].lun = tgt_so_lun(r, cg->luns[i].storage);
		g->n_luns++;
	}
	for (i = 0; i < cg->n_acls; i++) {
		const struct conf_acl *ca = &cg->acls[i];
		struct tgt_acl *a = &g->acls[i];

		g->n_acls++;
		a->node_wwn = tgt_dup(ca->node_wwn, &oom);
		tgt_chap_copy(&a->chap, &ca->chap, &oom);
		a->mapped = xcalloc(ca->n_mapped_luns + 1, sizeof(*a->mapped));
		a->wp = xcalloc(ca->n_mapped_luns + 1, sizeof(*a->wp));
		if (oom || a->mapped == NULL || a->wp == NULL)
			return -ENOMEM;
		for (k = 0; k < ca->n_mapped_luns; k++) {
			const struct conf_mapped_lun *m = &ca->mapped_luns[k];

			a->mapped[k].index = m->index;
			a->wp[k] = m->write_protect;
			for (unsigned int l = 0; l < g->n_luns; l++)
				if (g->luns[l].index == m->tpg_lun)
					a->mapped[k].lun = g->luns[l].lun;
		}
		a->n_mapped = ca->n_mapped_luns;
	}
	return 0;
}

static int
tgt_build_targets(struct tgt_reg *r, const struct conf *c)
{
	unsigned int i, k, n = 0;
	bool oom = false;
	int rc;

	r->targets = xcalloc(c->n_targets + 1, sizeof(*r->targets));
	if (r->targets == NULL)
		return -ENOMEM;
	for (i = 0; i < c->n_targets; i++) {
		const struct conf_target *ct = &c->targets[i];
		struct tgt_target *t = &r->targets[n];

		if (ct->fabric != NULL && strcmp(ct->fabric, "iscsi") != 0)
			continue;
		r->n_targets = ++n;
		t->wwn = tgt_dup(ct->wwn, &oom);
		t->tpgs = xcalloc(ct->n_tpgs + 1, sizeof(*t->tpgs));
		if (oom || t->tpgs == NULL)
			return -ENOMEM;
		for (k = 0; k < ct->n_tpgs; k++) {
			t->n_tpgs = k + 1;
			rc = tgt_build_tpg(r, &t->tpgs[k], &ct->tpgs[k]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* --- lookups (registry lock held) --- */

static struct tgt_target *
tgt_find(const struct tgt_reg *r, const char *wwn)
{
	if (r == NULL || wwn == NULL)
		return NULL;
	for (unsigned int i = 0; i < r->n_targets; i++)
		if (strcasecmp(r->targets[i].wwn, wwn) == 0)
			return &r->targets[i];
	return NULL;
}

static struct tgt_acl *
tgt_acl_find(const struct tgt_tpg *g, const char *initiator)
{
	if (initiator == NULL)
		return NULL;
	for (unsigned int i = 0; i < g->n_acls; i++)
		if (strcasecmp(g->acls[i].node_wwn, initiator) == 0)
			return &g->acls[i];
	return NULL;
}

static int
tgt_map_cmp(const void *a, const void *b)
{
	const struct nexus_lun *x = a, *y = b;

	return x->lun_id < y->lun_id ? -1 : x->lun_id > y->lun_id;
}

/* The LUN map the registry gives nx: malloc'd, with LU references. */
static int
tgt_map_build(const struct tgt_reg *r, const struct scsi_nexus *nx,
    struct nexus_lun **out, unsigned int *n_out)
{
	const struct tgt_target *t = tgt_find(r, nx->target);
	const struct tgt_tpg *g = NULL;
	const struct tgt_acl *a = NULL;
	struct nexus_lun *map;
	unsigned int i, n = 0, max = 0;

	for (i = 0; t != NULL && i < t->n_tpgs; i++)
		if (t->tpgs[i].tag == nx->tpg_tag && t->tpgs[i].enable)
			g = &t->tpgs[i];
	if (g != NULL) {
		a = tgt_acl_find(g, nx->initiator_name);
		max = a != NULL ? a->n_mapped : g->demo ? g->n_luns : 0;
	}
	map = xcalloc(max + 1, sizeof(*map));
	if (map == NULL)
		return -ENOMEM;
	for (i = 0; i < max; i++) {
		const struct tgt_lun *l = a != NULL ? &a->mapped[i] :
		    &g->luns[i];

		if (l->lun == NULL)
			continue;
		map[n].lun_id = l->index;
		map[n].lun = l->lun;
		map[n].write_protect = a != NULL ? a->wp[i] : g->demo_wp;
		lun_get(l->lun);
		n++;
	}
	qsort(map, n, sizeof(*map), tgt_map_cmp);
	*out = map;
	*n_out = n;
	return 0;
}

static void
tgt_map_free(struct nexus_lun *map, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		lun_put(map[i].lun);
	free(map);
}

/*
 * ROD tokens name their creator LU object.  An LU the new registry does not
 * keep (storage object removed, or changed -- a resize included -- and so
 * reopened as a new LU) is gone for good: writes now reach the new LU and
 * would never revoke the old one's tokens, so revoke them all now and let
 * them drop their LU references.  r NULL: every LU (shutdown).
 */
static void
tgt_revoke_dropped(const struct tgt_reg *old, const struct tgt_reg *r)
{
	unsigned int i, k;

	for (i = 0; old != NULL && i < old->n_sos; i++) {
		struct lun *l = old->sos[i].lun;

		if (l == NULL)
			continue;
		for (k = 0; r != NULL && k < r->n_sos; k++)
			if (r->sos[k].lun == l)
				break;
		if (r == NULL || k == r->n_sos)
			rod_registry_revoke_lun(l);
	}
}

/* --- public --- */

int
target_apply(const struct conf *c, char **errmsg)
{
	struct nexus_lun **maps = NULL;
	unsigned int *nmaps = NULL, i;
	struct tgt_reg *r, *old;
	int rc;

	if (errmsg != NULL)
		*errmsg = NULL;
	pthread_mutex_lock(&tgt_apply_lock);
	r = xcalloc(1, sizeof(*r));
	if (r == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = tgt_build_sos(r, c, tgt_cur, errmsg);
	if (rc == 0)
		rc = tgt_build_targets(r, c);
	if (rc != 0)
		goto fail;

	pthread_rwlock_wrlock(&tgt_lock);
	maps = xcalloc(tgt_n_nx + 1, sizeof(*maps));
	nmaps = xcalloc(tgt_n_nx + 1, sizeof(*nmaps));
	rc = maps && nmaps ? 0 : -ENOMEM;
	for (i = 0; rc == 0 && i < tgt_n_nx; i++)
		rc = tgt_map_build(r, tgt_nx[i], &maps[i], &nmaps[i]);
	if (rc != 0) {
		for (i = 0; maps != NULL && i < tgt_n_nx; i++)
			if (maps[i] != NULL)
				tgt_map_free(maps[i], nmaps[i]);
		pthread_rwlock_unlock(&tgt_lock);
		goto fail;
	}
	for (i = 0; i < tgt_n_nx; i++)
		nexus_luns_replace(tgt_nx[i], maps[i], nmaps[i]);
	old = tgt_cur;
	tgt_cur = r;
	pthread_rwlock_unlock(&tgt_lock);
	free(maps);
	free(nmaps);
	tgt_revoke_dropped(old, r);	/* old still holds its LUs */
	tgt_reg_free(old);
	pthread_mutex_unlock(&tgt_apply_lock);
	log_info("configuration %s applied: %u storage objects, %u targets",
	    c->path ? c->path : "(default)", c->n_storage, r->n_targets);
	return 0;
fail:
	free(maps);
	free(nmaps);
	tgt_reg_free(r);
	pthread_mutex_unlock(&tgt_apply_lock);
	if (errmsg != NULL && *errmsg == NULL)
		tgt_errmsg(errmsg, "cannot apply configuration: %s",
		    strerror(-rc));
	return rc;
}

void
target_shutdown(void)
{
	struct tgt_reg *old;

	pthread_mutex_lock(&tgt_apply_lock);
	pthread_rwlock_wrlock(&tgt_lock);
	old = tgt_cur;
	tgt_cur = NULL;
	free(tgt_nx);
	tgt_nx = NULL;
	tgt_n_nx = tgt_cap_nx = 0;
	pthread_rwlock_unlock(&tgt_lock);
	tgt_revoke_dropped(old, NULL);
	tgt_reg_free(old);
	pthread_mutex_unlock(&tgt_apply_lock);
}

static void
tgt_auth_fill(struct target_auth *out, const struct tgt_tpg *g,
    const struct conf_chap *ch)
{
	memset(out, 0, sizeof(*out));
	out->tpg_tag = g->tag;
	out->chap_required = g->auth;
	if (ch->userid != NULL && ch->password != NULL) {
		strlcpy_t(out->chap_user, ch->userid, sizeof(out->chap_user));
		strlcpy_t(out->chap_secret, ch->password,
		    sizeof(out->chap_secret));
	}
	if (ch->mutual_userid != NULL && ch->mutual_password != NULL) {
		strlcpy_t(out->mutual_user, ch->mutual_userid,
		    sizeof(out->mutual_user));
		strlcpy_t(out->mutual_secret, ch->mutual_password,
		    sizeof(out->mutual_secret));
	}
	strlcpy_t(out->params, g->params, sizeof(out->params));
}

static const struct tgt_tpg *
tgt_tpg_by_portal(const struct tgt_target *t, const char *ip, uint16_t port)
{
	for (unsigned int i = 0; i < t->n_tpgs; i++) {
		const struct tgt_tpg *g = &t->tpgs[i];

		if (!g->enable)
			continue;
		for (unsigned int k = 0; k < g->n_portals; k++)
			if (tgt_portal_match(&g->portals[k], ip, port))
				return g;
	}
	return NULL;
}

int
target_login_check(const char *target, const char *initiator,
    const char *portal_ip, uint16_t portal_port, struct target_auth *out)
{
	const struct tgt_target *t;
	const struct tgt_tpg *g = NULL;
	const struct tgt_acl *a;
	int rc = 0;

	if (target == NULL || initiator == NULL || portal_ip == NULL)
		return -ENOENT;
	pthread_rwlock_rdlock(&tgt_lock);
	t = tgt_find(tgt_cur, target);
	if (t != NULL)
		g = tgt_tpg_by_portal(t, portal_ip, portal_port);
	if (g == NULL) {
		rc = -ENOENT;
		goto out;
	}
	a = tgt_acl_find(g, initiator);
	if (a == NULL && !g->demo) {
		log_info("login: %s has no ACL on %s TPG %u", initiator,
		    target, g->tag);
		rc = -EACCES;
		goto out;
	}
	tgt_auth_fill(out, g, a != NULL ? &a->chap : &g->chap);
	if (out->chap_required && out->chap_secret[0] == '\0') {
		log_warn("login: %s on %s TPG %u: authentication is on but no "
		    "CHAP secret is configured for it", initiator, target,
		    g->tag);
		rc = -EACCES;
	}
out:
	pthread_rwlock_unlock(&tgt_lock);
	return rc;
}

void
target_list_visible(const char *initiator, const char *portal_ip,
    uint16_t portal_port, target_visit_fn fn, void *arg)
{
	char addr[96], local[64];
	uint8_t bin[16];
	int laf;

	laf = portal_ip != NULL ? tgt_addr_parse(portal_ip, bin) : -1;
	if (laf >= 0)
		inet_ntop(laf, bin, local, sizeof(local));
	pthread_rwlock_rdlock(&tgt_lock);
	for (unsigned int i = 0; tgt_cur != NULL && i < tgt_cur->n_targets;
	    i++) {
		const struct tgt_target *t = &tgt_cur->targets[i];

		for (unsigned int k = 0; k < t->n_tpgs; k++) {
			const struct tgt_tpg *g = &t->tpgs[k];

			if (!g->enable ||
			    (!g->demo && tgt_acl_find(g, initiator) == NULL))
				continue;
			for (unsigned int p = 0; p < g->n_portals; p++) {
				const struct tgt_portal *tp = &g->portals[p];
				const char *ip = tp->tp.ip;
				int af = tp->af;
				uint16_t port = tp->tp.port;

				/* A wildcard portal is reported as the
				 * address the initiator reached us on. */
				if (tp->any) {
					if (laf < 0 || (laf == AF_INET6 &&
					    tp->af == AF_INET))
						continue;
					ip = local;
					af = laf;
				}
				if (port == 0)
					port = portal_port;
				snprintf(addr, sizeof(addr), af == AF_INET6 ?
				    "[%s]:%u,%u" : "%s:%u,%u", ip, port,
				    g->tag);
				fn(arg, t->wwn, addr);
			}
		}
	}
	pthread_rwlock_unlock(&tgt_lock);
}

int
target_nexus_register(struct scsi_nexus *nx)
{
	struct scsi_nexus **a;
	struct nexus_lun *map;
	unsigned int n;
	int rc;

	pthread_rwlock_wrlock(&tgt_lock);
	if (tgt_n_nx == tgt_cap_nx) {
		unsigned int cap = tgt_cap_nx ? tgt_cap_nx * 2 : 16;

		a = xrealloc(tgt_nx, cap * sizeof(*a));
		if (a == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		tgt_nx = a;
		tgt_cap_nx = cap;
	}
	rc = tgt_map_build(tgt_cur, nx, &map, &n);
	if (rc != 0)
		goto out;
	nexus_luns_replace(nx, map, n);
	tgt_nx[tgt_n_nx++] = nx;
out:
	pthread_rwlock_unlock(&tgt_lock);
	return rc;
}

void
target_nexus_unregister(struct scsi_nexus *nx)
{
	pthread_rwlock_wrlock(&tgt_lock);
	for (unsigned int i = 0; i < tgt_n_nx; i++) {
		if (tgt_nx[i] == nx) {
			tgt_nx[i] = tgt_nx[--tgt_n_nx];
			break;
		}
	}
	pthread_rwlock_unlock(&tgt_lock);
}

void
target_foreach_nexus(const struct lun *lun,
    void (*fn)(struct scsi_nexus *, void *), void *arg)
{
	pthread_rwlock_rdlock(&tgt_lock);
	for (unsigned int i = 0; i < tgt_n_nx; i++) {
		struct scsi_nexus *nx = tgt_nx[i];
		bool has = lun == NULL;

		pthread_mutex_lock(&nx->lock);
		for (unsigned int k = 0; !has && k < nx->n_luns; k++)
			has = nx->luns[k].lun == lun;
		pthread_mutex_unlock(&nx->lock);
		if (has)
			fn(nx, arg);
	}
	pthread_rwlock_unlock(&tgt_lock);
}

bool
target_token_scope_wide(const struct scsi_nexus *nx)
{
	const struct tgt_target *t;
	bool wide = false;

	if (nx == NULL)
		return false;
	pthread_rwlock_rdlock(&tgt_lock);
	t = tgt_find(tgt_cur, nx->target);
	for (unsigned int i = 0; t != NULL && i < t->n_tpgs; i++)
		if (t->tpgs[i].tag == nx->tpg_tag && t->tpgs[i].enable)
			wide = t->tpgs[i].token_scope_wide;
	pthread_rwlock_unlock(&tgt_lock);
	return wide;
}

struct backstore *
target_backstore_get(const char *name)
{
	struct backstore *bs = NULL;
	struct lun *lun;

	if (name == NULL)
		return NULL;
	pthread_rwlock_rdlock(&tgt_lock);
	lun = tgt_cur != NULL ? tgt_so_lun(tgt_cur, name) : NULL;
	if (lun != NULL && lun->bs != NULL) {
		bs = lun->bs;
		backstore_get(bs);
	}
	pthread_rwlock_unlock(&tgt_lock);
	return bs;
}

int
target_portals(struct target_portal **out, unsigned int *n)
{
	struct target_portal *v = NULL, *nv;
	unsigned int cnt = 0, i, k, p, q;
	int rc = 0;

	pthread_rwlock_rdlock(&tgt_lock);
	for (i = 0; tgt_cur != NULL && i < tgt_cur->n_targets; i++) {
		const struct tgt_target *t = &tgt_cur->targets[i];

		for (k = 0; k < t->n_tpgs; k++) {
			const struct tgt_tpg *g = &t->tpgs[k];

			for (p = 0; g->enable && p < g->n_portals; p++) {
				const struct target_portal *tp =
				    &g->portals[p].tp;

				for (q = 0; q < cnt; q++)
					if (v[q].port == tp->port &&
					    strcmp(v[q].ip, tp->ip) == 0)
						break;
				if (q < cnt)
					continue;
				nv = xrealloc(v, (cnt + 1) * sizeof(*v));
				if (nv == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				v = nv;
				v[cnt++] = *tp;
			}
		}
	}
out:
	pthread_rwlock_unlock(&tgt_lock);
	if (rc != 0) {
		free(v);
		v = NULL;
		cnt = 0;
	}
	*out = v;
	*n = cnt;
	return rc;
}
