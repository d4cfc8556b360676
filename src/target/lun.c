/*
 * lun.c - logical units (identity, refcount, mode state) and I_T nexuses
 * (LUN map, unit attention queues).
 *
 * Identity: every LU gets an NAA 6h (IEEE Registered Extended) designator
 * built from TPCD_NAA_CID and a 100-bit hash of the storage object's wwn,
 * so it is stable across restarts and differs between storage objects.
 * TPCD_NAA_CID is a Company ID in the IEEE CID space (first octet's low
 * nibble is 1010b: the "X" bit marks it locally administered), so it can
 * never collide with a vendor's registered OUI.  The unit serial number
 * (VPD 80h) is the wwn itself (printable, truncated).
 *
 * Unit attentions are a bounded FIFO per (nexus, LUN), see nexus_ua_add().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "conf.h"
#include "lun.h"
#include "lun_lock.h"
#include "pr.h"
#include "scsi_int.h"
#include "util.h"
#include "xcopy/xcopy.h"

/* Our Company ID for NAA designators: "Z p C" with the CID bits set. */
#define TPCD_NAA_CID	0x5a7043u

static uint64_t
lun_fnv1a(const char *s, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	/* final avalanche (splitmix64) */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* NAA 6h: 4 bits NAA, 24 bits CID, 36 bits VSID, 64 bits VSID ext. */
static void
lun_make_naa(uint8_t naa[LUN_NAA_LEN], const char *seed)
{
	uint64_t h1 = lun_fnv1a(seed, 0), h2 = lun_fnv1a(seed, 0x7470636475ull);
	uint8_t id[8];

	put_be64(id, h1);
	naa[0] = 0x60 | (uint8_t)(TPCD_NAA_CID >> 20);
	naa[1] = (uint8_t)(TPCD_NAA_CID >> 12);
	naa[2] = (uint8_t)(TPCD_NAA_CID >> 4);
	naa[3] = (uint8_t)((TPCD_NAA_CID & 0x0f) << 4) | (id[3] & 0x0f);
	memcpy(naa + 4, id + 4, 4);
	put_be64(naa + 8, h2);
}

static void
lun_make_serial(char *out, size_t max, const char *seed)
{
	size_t i, j;

	for (i = 0, j = 0; seed[i] != '\0' && j + 1 < max; i++) {
		unsigned char c = (unsigned char)seed[i];

		if (c > 0x20 && c < 0x7f)
			out[j++] = (char)c;
	}
	out[j] = '\0';
	if (j == 0)
		snprintf(out, max, "%016" PRIx64, lun_fnv1a(seed, 1));
}

struct lun *
lun_create(const struct conf_storage *cs, struct backstore *bs)
{
	struct lun *lun;
	const char *seed;
	const char *plugin;
	size_t i;

	if (cs == NULL || bs == NULL || bs->block_size == 0)
		return NULL;
	lun = xcalloc(1, sizeof(*lun));
	if (lun == NULL)
		return NULL;
	lun->name = xstrdup(cs->name != NULL ? cs->name : "lun");
	lun->range_lock = lun_lock_create();
	if (lun->name == NULL || lun->range_lock == NULL) {
		lun_lock_destroy(lun->range_lock);
		free(lun->name);
		free(lun);
		return NULL;
	}
	backstore_get(bs);
	lun->bs = bs;
	lun->block_size = bs->block_size;
	lun->nblocks = bs->size / bs->block_size;
	seed = cs->wwn != NULL && cs->wwn[0] != '\0' ? cs->wwn : lun->name;
	lun_make_naa(lun->naa, seed);
	lun_make_serial(lun->serial, sizeof(lun->serial), seed);
	snprintf(lun->vendor, sizeof(lun->vendor), "TPCD");
	plugin = cs->plugin != NULL ? cs->plugin : "disk";
	snprintf(lun->product, sizeof(lun->product), "%s", plugin);
	for (i = 0; lun->product[i] != '\0'; i++)
		if (lun->product[i] >= 'a' && lun->product[i] <= 'z')
			lun->product[i] = (char)(lun->product[i] - 'a' + 'A');
	snprintf(lun->revision, sizeof(lun->revision), "0001");
	lun->thin = cs->thin;
	lun->read_only = cs->read_only || bs->read_only;
	lun->wce = cs->write_back || bs->write_back;
	lun->d_sense = false;
	lun->swp = false;
	lun->refcnt = 1;
	pthread_mutex_init(&lun->lock, NULL);
	return lun;
}

struct lun *
lun_create_ident(const struct conf_storage *cs, struct backstore *bs,
    const struct lun_ident *id)
{
	struct lun *lun;

	lun = lun_create(cs, bs);
	if (lun != NULL && id != NULL)
		lun_set_ident(lun, id);
	return lun;
}

void
lun_set_ident(struct lun *lun, const struct lun_ident *id)
{
	/* an all-zero NAA keeps the current one */
	for (size_t i = 0; i < sizeof(id->naa); i++) {
		if (id->naa[i] != 0) {
			memcpy(lun->naa, id->naa, sizeof(lun->naa));
			break;
		}
	}
	if (id->serial[0] != '\0')
		snprintf(lun->serial, sizeof(lun->serial), "%s", id->serial);
	if (id->vendor[0] != '\0')
		snprintf(lun->vendor, sizeof(lun->vendor), "%s", id->vendor);
	if (id->product[0] != '\0')
		snprintf(lun->product, sizeof(lun->product), "%s",
		    id->product);
	if (id->revision[0] != '\0')
		snprintf(lun->revision, sizeof(lun->revision), "%s",
		    id->revision);
}

void
lun_get(struct lun *lun)
{
	__atomic_add_fetch(&lun->refcnt, 1, __ATOMIC_RELAXED);
}

void
lun_put(struct lun *lun)
{
	if (lun == NULL)
		return;
	if (__atomic_sub_fetch(&lun->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	backstore_put(lun->bs);
	pr_lun_destroy(lun);
	lun_lock_destroy(lun->range_lock);
	pthread_mutex_destroy(&lun->lock);
	free(lun->name);
	free(lun);
}

void
lun_mode_get(struct lun *lun, struct lun_mode *m)
{
	pthread_mutex_lock(&lun->lock);
	m->wce = lun->wce;
	m->d_sense = lun->d_sense;
	m->swp = lun->swp;
	pthread_mutex_unlock(&lun->lock);
}

/* --- nexus --- */

static uint64_t nexus_next_id;

struct scsi_nexus *
nexus_create(const char *initiator_name, const uint8_t isid[6],
    const char *target, uint16_t tpg_tag)
{
	struct scsi_nexus *nx;
	static const uint8_t zero_isid[6];
	char buf[CONF_NAME_MAX + 32];
	const uint8_t *is = isid != NULL ? isid : zero_isid;

	if (initiator_name == NULL || target == NULL)
		return NULL;
	nx = xcalloc(1, sizeof(*nx));
	if (nx == NULL)
		return NULL;
	/* iSCSI initiator port name (RFC 7143 / SPC-4 7.6.4.6) */
	snprintf(buf, sizeof(buf), "%s,i,0x%02x%02x%02x%02x%02x%02x",
	    initiator_name, is[0], is[1], is[2], is[3], is[4], is[5]);
	nx->initiator = xstrdup(buf);
	nx->initiator_name = xstrdup(initiator_name);
	nx->target = xstrdup(target);
	if (nx->initiator == NULL || nx->initiator_name == NULL ||
	    nx->target == NULL) {
		free(nx->initiator);
		free(nx->initiator_name);
		free(nx->target);
		free(nx);
		return NULL;
	}
	memcpy(nx->isid, is, sizeof(nx->isid));
	nx->tpg_tag = tpg_tag;
	nx->rel_port_id = tpg_tag != 0 ? tpg_tag : 1;
	nx->id = __atomic_add_fetch(&nexus_next_id, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&nx->lock, NULL);
	return nx;
}

static void
nexus_luns_free(struct nexus_lun *luns, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		lun_put(luns[i].lun);
	free(luns);
}

void
nexus_destroy(struct scsi_nexus *nx)
{
	if (nx == NULL)
		return;
	xcopy_nexus_fini(nx);	/* abort its copies, drop list IDs */
	nexus_luns_free(nx->luns, nx->n_luns);
	pthread_mutex_destroy(&nx->lock);
	free(nx->initiator);
	free(nx->initiator_name);
	free(nx->target);
	free(nx);
}

static struct nexus_lun *
nexus_find(struct scsi_nexus *nx, uint64_t lun_id)
{
	unsigned int i;

	for (i = 0; i < nx->n_luns; i++)
		if (nx->luns[i].lun_id == lun_id && nx->luns[i].lun != NULL)
			return &nx->luns[i];
	return NULL;
}

struct lun *
nexus_lun_get(struct scsi_nexus *nx, uint64_t lun_id, bool *write_protect)
{
	struct nexus_lun *nl;
	struct lun *lun = NULL;

	if (nx == NULL)
		return NULL;
	pthread_mutex_lock(&nx->lock);
	nl = nexus_find(nx, lun_id);
	if (nl != NULL) {
		lun = nl->lun;
		lun_get(lun);
		if (write_protect != NULL)
			*write_protect = nl->write_protect;
	}
	pthread_mutex_unlock(&nx->lock);
	return lun;
}

/*
 * Queue one UA (SAM-5 5.14).  A UA already pending is not queued twice.
 * A power-on/reset UA (29h) supersedes everything pending: the reset
 * discarded the state those UAs describe.  When the queue is full the
 * newest entry is replaced, so the oldest conditions and the latest one are
 * reported; SAM-5 lets a logical unit keep a bounded number.
 */
static void
nexus_ua_queue(struct nexus_lun *nl, uint8_t asc, uint8_t ascq)
{
	unsigned int i;

	if (asc == 0x29)
		nl->ua_n = 0;
	for (i = 0; i < nl->ua_n; i++) {
		if (nl->ua[i].asc == asc && nl->ua[i].ascq == ascq)
			return;
	}
	if (nl->ua_n == NEXUS_UA_MAX)
		nl->ua_n--;
	nl->ua[nl->ua_n].asc = asc;
	nl->ua[nl->ua_n].ascq = ascq;
	nl->ua_n++;
}

void
nexus_ua_add(struct scsi_nexus *nx, const struct lun *lun, uint8_t asc,
    uint8_t ascq)
{
	unsigned int i;

	if (nx->no_ua)
		return;
	pthread_mutex_lock(&nx->lock);
	for (i = 0; i < nx->n_luns; i++)
		if (lun == NULL || nx->luns[i].lun == lun)
			nexus_ua_queue(&nx->luns[i], asc, ascq);
	pthread_mutex_unlock(&nx->lock);
}

static bool
nexus_ua_take(struct scsi_nexus *nx, uint64_t lun_id, uint8_t *asc,
    uint8_t *ascq, bool pop)
{
	struct nexus_lun *nl;
	bool found = false;

	if (nx == NULL)
		return false;
	pthread_mutex_lock(&nx->lock);
	nl = nexus_find(nx, lun_id);
	if (nl != NULL && nl->ua_n > 0) {
		found = true;
		*asc = nl->ua[0].asc;
		*ascq = nl->ua[0].ascq;
		if (pop) {
			nl->ua_n--;
			memmove(&nl->ua[0], &nl->ua[1],
			    nl->ua_n * sizeof(nl->ua[0]));
		}
	}
	pthread_mutex_unlock(&nx->lock);
	return found;
}

bool
nexus_ua_pop(struct scsi_nexus *nx, uint64_t lun_id, uint8_t *asc,
    uint8_t *ascq)
{
	return nexus_ua_take(nx, lun_id, asc, ascq, true);
}

bool
nexus_ua_peek(struct scsi_nexus *nx, uint64_t lun_id, uint8_t *asc,
    uint8_t *ascq)
{
	return nexus_ua_take(nx, lun_id, asc, ascq, false);
}

void
nexus_ua_clear(struct scsi_nexus *nx, uint64_t lun_id, uint8_t asc,
    uint8_t ascq)
{
	struct nexus_lun *nl;
	unsigned int i;

	pthread_mutex_lock(&nx->lock);
	nl = nexus_find(nx, lun_id);
	for (i = 0; nl != NULL && i < nl->ua_n; i++) {
		if (nl->ua[i].asc != asc || nl->ua[i].ascq != ascq)
			continue;
		nl->ua_n--;
		memmove(&nl->ua[i], &nl->ua[i + 1],
		    (nl->ua_n - i) * sizeof(nl->ua[0]));
		break;
	}
	pthread_mutex_unlock(&nx->lock);
}

/*
 * Install a new LUN map.  The nexus takes ownership of luns (and of the LU
 * references in it).  Entries that map the same LU at the same number keep
 * their pending UAs.  The first map a nexus gets queues POWER ON, RESET, OR
 * BUS DEVICE RESET OCCURRED (29/00) on every LUN (SAM-5 6.3.1: a new
 * I_T nexus sees a power-on condition); later maps that differ queue
 * REPORTED LUNS DATA HAS CHANGED (3F/0E) on every LUN (SPC-4 6.33).
 */
void
nexus_luns_replace(struct scsi_nexus *nx, struct nexus_lun *luns,
    unsigned int n)
{
	struct nexus_lun *old, *o;
	unsigned int old_n, i;
	bool first, changed;

	pthread_mutex_lock(&nx->lock);
	old = nx->luns;
	old_n = nx->n_luns;
	first = nx->generation == 0 && !nx->no_ua;
	changed = n != old_n && !nx->no_ua;
	for (i = 0; i < n; i++) {
		luns[i].ua_n = 0;
		o = nexus_find(nx, luns[i].lun_id);
		if (o == NULL || o->lun != luns[i].lun) {
			changed = !nx->no_ua;
			if (first)
				nexus_ua_queue(&luns[i], 0x29, 0x00);
			continue;
		}
		memcpy(luns[i].ua, o->ua, sizeof(o->ua));
		luns[i].ua_n = o->ua_n;
	}
	if (!first && changed)
		for (i = 0; i < n; i++)
			nexus_ua_queue(&luns[i], 0x3f, 0x0e);
	nx->luns = luns;
	nx->n_luns = n;
	nx->generation++;
	pthread_mutex_unlock(&nx->lock);
	nexus_luns_free(old, old_n);
}
