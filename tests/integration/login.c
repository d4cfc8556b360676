/*
 * login.c - login, authentication, ACL, discovery, NOP, logout and
 * session reinstatement against the targets of conf/login.json.
 *
 * Target names can be overridden (ITEST_T_OPEN, ITEST_T_CHAP,
 * ITEST_T_MUTUAL, ITEST_T_ACL) to run against another target.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define CHAP_USER	"init-a-user"
#define CHAP_PASS	"init-a-secret1"
#define MUTUAL_USER	"target-user"
#define MUTUAL_PASS	"target-secret1"

static const char *t_open, *t_chap, *t_mutual, *t_acl;

static struct itest_login
base(const char *ini, const char *target)
{
	struct itest_login l = {
		.initiator = ini, .target = target, .immediate_data = -1,
		.initial_r2t = -1,
	};

	return l;
}

/* Log in; expect success or failure; on success check TUR works. */
static void
try_login(const struct itest_login *l, bool expect_ok, const char *what)
{
	const char *err = NULL;
	struct iscsi_context *ctx = itest_connect(l, &err);

	if (expect_ok) {
		itest_check(ctx != NULL, "%s: login accepted%s%s", what,
		    err ? ": " : "", err ? err : "");
		if (ctx && !l->discovery)
			itest_check(itest_clear_ua(ctx, itest_lun()) == 0,
			    "%s: TEST UNIT READY good", what);
	} else {
		itest_check(ctx == NULL, "%s: login refused (%s)", what,
		    err ? err : "unexpectedly logged in");
	}
	itest_close(ctx);
}

struct nop_state {
	int	done;
	int	status;
	char	data[64];
	size_t	len;
};

static void
nop_cb(struct iscsi_context *ctx, int status, void *command_data, void *priv)
{
	struct nop_state *ns = priv;
	struct iscsi_data *d = command_data;

	(void)ctx;
	ns->status = status;
	if (d && d->data && d->size <= sizeof(ns->data)) {
		memcpy(ns->data, d->data, d->size);
		ns->len = d->size;
	}
	ns->done = 1;
}

static void
test_nop_logout(void)
{
	struct itest_login l = base(ITEST_INIT_B, t_open);
	struct iscsi_context *ctx;
	struct nop_state ns = { 0 };
	char ping[] = "tpcd-nop-ping-data";
	const char *err;
	int rc;

	ctx = itest_connect(&l, &err);
	itest_check(ctx != NULL, "nop: login to open target");
	if (ctx == NULL)
		return;
	rc = iscsi_nop_out_async(ctx, nop_cb, (unsigned char *)ping,
	    (int)strlen(ping), &ns);
	itest_check(rc == 0 && itest_wait(ctx, &ns.done, 10000) == 0 &&
	    ns.status == SCSI_STATUS_GOOD, "nop: NOP-Out answered by NOP-In");
	/* libiscsi may hand back the segment with its pad bytes. */
	itest_check(ns.len >= strlen(ping) && ns.len <= (strlen(ping) + 3) /
	    4 * 4 && !memcmp(ns.data, ping, strlen(ping)),
	    "nop: ping data echoed (%zu bytes)", ns.len);
	itest_check(iscsi_logout_sync(ctx) == 0, "logout: response received");
	iscsi_disconnect(ctx);
	iscsi_destroy_context(ctx);
	try_login(&l, true, "re-login after logout");
}

static void
test_auth(void)
{
	struct itest_login l;

	l = base(ITEST_INIT_B, t_open);
	try_login(&l, true, "no auth, open target");

	l = base(ITEST_INIT_A, t_chap);
	l.user = CHAP_USER;
	l.password = CHAP_PASS;
	try_login(&l, true, "CHAP good password");
	l.password = "wrong-secret99";
	try_login(&l, false, "CHAP bad password");
	l.user = "nobody-user";
	l.password = CHAP_PASS;
	try_login(&l, false, "CHAP unknown user");
	l = base(ITEST_INIT_A, t_chap);
	try_login(&l, false, "CHAP target without credentials");

	l = base(ITEST_INIT_A, t_mutual);
	l.user = CHAP_USER;
	l.password = CHAP_PASS;
	l.tuser = MUTUAL_USER;
	l.tpassword = MUTUAL_PASS;
	try_login(&l, true, "mutual CHAP good");
	l.tpassword = "not-the-target9";
	try_login(&l, false, "mutual CHAP, target proves wrong secret");
	l.tpassword = MUTUAL_PASS;
	l.password = "wrong-secret99";
	try_login(&l, false, "mutual CHAP, bad initiator password");

	l = base(ITEST_INIT_A, t_acl);
	try_login(&l, true, "ACL: listed initiator");
	l = base(ITEST_INIT_B, t_acl);
	try_login(&l, false, "ACL: initiator not in node_acls");
}

static void
test_digest(void)
{
	struct itest_login l = base(ITEST_INIT_B, t_open);
	struct iscsi_context *ctx;
	uint8_t *wbuf, *rbuf;
	uint32_t bs, len = 1024 * 1024;
	uint64_t nb;
	const char *err;

	l.header_digest = true;
	ctx = itest_connect(&l, &err);
	itest_check(ctx != NULL, "HeaderDigest=CRC32C: login%s%s",
	    err ? ": " : "", err ? err : "");
	if (ctx == NULL)
		return;
	itest_clear_ua(ctx, itest_lun());
	wbuf = malloc(len);
	rbuf = malloc(len);
	if (itest_capacity(ctx, itest_lun(), &bs, &nb) == 0 && wbuf && rbuf) {
		itest_fill(wbuf, len, 77);
		itest_check(itest_write(ctx, itest_lun(), 0, wbuf, len, bs) == 0
		    && itest_read(ctx, itest_lun(), 0, rbuf, len, bs) == 0 &&
		    !memcmp(wbuf, rbuf, len),
		    "HeaderDigest=CRC32C: 1 MiB written and read back");
	} else {
		itest_check(false, "HeaderDigest=CRC32C: READ CAPACITY(16)");
	}
	free(wbuf);
	free(rbuf);
	itest_close(ctx);
}

static bool
listed(struct iscsi_discovery_address *da, const char *name)
{
	for (; da; da = da->next)
		if (!strcmp(da->target_name, name))
			return true;
	return false;
}

static void
test_discovery(const char *ini, bool sees_acl)
{
	struct itest_login l = base(ini, NULL);
	struct iscsi_discovery_address *da, *p;
	struct iscsi_context *ctx;
	const char *err;
	int n = 0;

	l.discovery = true;
	ctx = itest_connect(&l, &err);
	itest_check(ctx != NULL, "discovery %s: login%s%s", ini,
	    err ? ": " : "", err ? err : "");
	if (ctx == NULL)
		return;
	da = iscsi_discovery_sync(ctx);
	itest_check(da != NULL, "discovery %s: SendTargets=All answered", ini);
	for (p = da; p; p = p->next) {
		itest_note("%s sees %s at %s", ini, p->target_name,
		    p->portals ? p->portals->portal : "(no portal)");
		n++;
	}
	itest_check(listed(da, t_open), "discovery %s: open target listed",
	    ini);
	if (sees_acl)
		itest_check(listed(da, t_acl),
		    "discovery %s: ACL target listed for a listed initiator",
		    ini);
	else
		itest_check(!listed(da, t_acl) && !listed(da, t_chap) &&
		    !listed(da, t_mutual),
		    "discovery %s: targets that deny it are not listed", ini);
	if (da)
		iscsi_free_discovery_data(ctx, da);
	itest_close(ctx);
}

static void
test_reinstatement(void)
{
	struct itest_login l = base(ITEST_INIT_B, t_open);
	struct iscsi_context *c1, *c2;
	struct scsi_task *t;
	const char *err;

	l.isid_qualifier = 0x4242;
	c1 = itest_connect(&l, &err);
	itest_check(c1 != NULL, "reinstatement: first session");
	if (c1 == NULL)
		return;
	itest_clear_ua(c1, itest_lun());
	c2 = itest_connect(&l, &err);
	itest_check(c2 != NULL, "reinstatement: login with same ISID and "
	    "initiator accepted%s%s", err ? ": " : "", err ? err : "");
	if (c2)
		itest_check(itest_clear_ua(c2, itest_lun()) == 0,
		    "reinstatement: new session serves commands");
	t = iscsi_testunitready_sync(c1, itest_lun());
	itest_check(t == NULL || t->status != SCSI_STATUS_GOOD,
	    "reinstatement: old session was closed by the target");
	if (t)
		scsi_free_scsi_task(t);
	iscsi_disconnect(c1);
	iscsi_destroy_context(c1);
	itest_close(c2);
}

static void
busy_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	(void)ctx;
	(void)status;
	(void)priv;
	scsi_free_scsi_task(data);
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reinstatement is asynchronous (the old session closes on its own loop,
 * the new login's final response follows): an old session with writes in
 * flight, a chain of reinstatements in quick succession, and another
 * initiator logging in meanwhile. */
static void
test_reinstatement_async(void)
{
	struct itest_login l = base(ITEST_INIT_B, t_open);
	struct itest_login other = base(ITEST_INIT_A, t_open);
	struct iscsi_context *old, *c, *o;
	static uint8_t buf[1024 * 1024];
	const char *err;
	long long t0, worst = 0, dt;
	int i, k, ok = 0;

	l.isid_qualifier = 0x4343;
	other.isid_qualifier = 0x4344;
	old = itest_connect(&l, &err);
	itest_check(old != NULL, "reinstatement async: first session");
	if (old == NULL)
		return;
	itest_clear_ua(old, itest_lun());
	/* Writes in flight on the old session when it is reinstated. */
	for (k = 0; k < 8; k++)
		(void)iscsi_write16_task(old, itest_lun(),
		    (uint64_t)k * sizeof(buf) / 512, buf, sizeof(buf), 512,
		    0, 0, 0, 0, 0, busy_cb, NULL);
	for (k = 0; k < 20; k++)
		(void)iscsi_service(old, POLLOUT);
	for (i = 0; i < 10; i++) {
		t0 = ms_now();
		c = itest_connect(&l, &err);
		dt = ms_now() - t0;
		if (dt > worst)
			worst = dt;
		if (c == NULL) {
			itest_check(false, "reinstatement async: login %d: %s",
			    i, err ? err : "?");
			break;
		}
		/* Another initiator is served meanwhile. */
		o = itest_connect(&other, &err);
		itest_check(o != NULL, "reinstatement async: other login %d",
		    i);
		if (o)
			itest_close(o);
		if (itest_clear_ua(c, itest_lun()) == 0)
			ok++;
		if (old != NULL) {
			iscsi_disconnect(old);
			iscsi_destroy_context(old);
		}
		old = c;
	}
	itest_check(ok == i && i == 10, "reinstatement async: %d of 10 "
	    "reinstated sessions serve commands", ok);
	itest_check(worst < 3000, "reinstatement async: slowest login %lld "
	    "ms", worst);
	if (old != NULL)
		itest_close(old);
}

int
main(void)
{
	itest_begin("login", 240);
	t_open = itest_env("ITEST_T_OPEN", "iqn.2026-11.org.tpcd:test-open");
	t_chap = itest_env("ITEST_T_CHAP", "iqn.2026-11.org.tpcd:test-chap");
	t_mutual = itest_env("ITEST_T_MUTUAL",
	    "iqn.2026-11.org.tpcd:test-mutual");
	t_acl = itest_env("ITEST_T_ACL", "iqn.2026-11.org.tpcd:test-acl");

	test_auth();
	test_nop_logout();
	test_digest();
	test_discovery(ITEST_INIT_B, false);
	test_discovery(ITEST_INIT_A, true);
	test_reinstatement();
	test_reinstatement_async();
	itest_check(itest_daemon_alive(), "daemon still running");
	return itest_end();
}
