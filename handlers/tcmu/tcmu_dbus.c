/*
 * tcmu_dbus.c - org.kernel.TCMUService1 on the system D-Bus for targetcli
 * (tcmu_dbus.h has the interface, docs/tcmu.md the user's view).
 *
 * One sd-bus connection on loop 0: its fd is watched for what
 * sd_bus_get_events() asks, sd_bus_get_timeout() arms a loop timer, and
 * every wake-up runs sd_bus_process() until it has nothing left (at most
 * TCMU_DBUS_BATCH steps, then a deferred call goes on).  Nothing blocks:
 * the name is requested asynchronously, and a method call is answered
 * only after an asynchronous GetConnectionUnixUser has told who sent it
 * (sd-bus's own privilege check would ask the bus synchronously).
 *
 * sd-bus callbacks never close the connection themselves (they run inside
 * sd_bus_process): they set `dead` and tcmu_dbus_process() closes after.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "tcmu_dbus.h"
#include "tcmu_int.h"

#ifdef HAVE_SD_BUS

#include <stdint.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "util.h"

#define TCMU_DBUS_SUBTYPE	"tpcd"
#define TCMU_DBUS_OBJ		TCMU_DBUS_PATH "/" TCMU_DBUS_SUBTYPE
/* sd_bus_process() steps per wake-up before yielding to other fds */
#define TCMU_DBUS_BATCH		64
/* method calls waiting for the caller's uid */
#define TCMU_DBUS_PENDING_MAX	32
/* LIO keeps dev_config in 256 bytes with the NUL (TCMU_CONFIG_LEN) and
 * silently truncates longer strings. */
#define TCMU_DBUS_CFG_MAX	255
#define TCMU_DBUS_MSG_MAX	512

/* RequestName replies (D-Bus specification) */
#define TCMU_DBUS_PRIMARY_OWNER	1
#define TCMU_DBUS_ALREADY_OWNER	4

static const char tcmu_dbus_desc[] =
    "tpcd serves this device with its own SCSI engine (EXTENDED COPY, "
    "ODX).\n"
    "cfgstring := SPEC [;ro=0|1] [;thin=0|1]\n"
    "SPEC is one of:\n"
    "  file=PATH   an existing regular file (its size must equal size, "
    "or be smaller: tpcd extends it)\n"
    "  block=DEV   a block device (size must equal its size)\n"
    "  nvme=DEV    an NVMe namespace, /dev/nvmeXnY or /dev/ngXnY "
    "(NVMe Copy for XCOPY)\n"
    "  NAME        storage object NAME of tpcd's own configuration\n"
    "ro=1: read-only LU; thin=0: no UNMAP (default thin=1; ignored for "
    "NAME).  Paths cannot contain ';'.\n"
    "Examples: file=/var/lib/tpcd/disk0.img  block=/dev/sdb;thin=0  "
    "so1;ro=1\n"
    "See tpcd's docs/tcmu.md.";

static const char tcmu_dbus_change_msg[] =
    "tpcd does not change the medium of a running device: delete the "
    "storage object and create it again with the new cfgstring (tpcd "
    "follows LIO's reconfiguration of the write cache, and of dev_size "
    "when it equals the backstore's size)";

struct tcmu_dbus_req {
	struct tcmu_dbus_req *next;
	struct tcmu_dbus *d;
	sd_bus_slot	*slot;		/* GetConnectionUnixUser in flight */
	sd_bus_message	*call;		/* the method call to answer */
};

struct tcmu_dbus {
	struct loop	*loop;
	sd_bus		*bus;
	int		 fd;
	uint32_t	 events;	/* as given to the loop */
	struct loop_timer *timer;
	struct tcmu_dbus_req *reqs;
	unsigned int	 n_reqs;
	bool		 owner;		/* the name is ours */
	bool		 dead;		/* close after sd_bus_process */
};

static struct tcmu_dbus *tcmu_dbus;
/* "more to process": static, as a queued node must outlive a close */
static struct loop_defer tcmu_dbus_defer;

static void	tcmu_dbus_process(struct tcmu_dbus *);

/* ---------------- CheckConfig / ChangeMedium ---------------- */

/*
 * A D-Bus string must be valid UTF-8.  Messages quote the caller's
 * string (valid UTF-8) with "%.Ns", which may cut a character: every
 * byte that does not start a complete sequence becomes '?'.
 */
static void
tcmu_dbus_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		for (i = 1; n != 0 && i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* The whole answer of CheckConfig for config "tpcd/<cfgstring>". */
static int
tcmu_dbus_check(const char *config, char *why, size_t len)
{
	static const char prefix[] = TCMU_DBUS_SUBTYPE "/";
	size_t n = strlen(config);
	int rc;

	if (n > TCMU_DBUS_CFG_MAX) {
		snprintf(why, len, "config string is %zu bytes; LIO keeps at "
		    "most %d", n, TCMU_DBUS_CFG_MAX);
		return -ENAMETOOLONG;
	}
	if (strncmp(config, prefix, sizeof(prefix) - 1) != 0) {
		snprintf(why, len, "config string must begin with \"%s\" "
		    "(tpcd's handler)", prefix);
		return -EINVAL;
	}
	why[0] = '\0';
	rc = tcmu_cfg_check(config + sizeof(prefix) - 1, why, len);
	if (rc != 0 && why[0] == '\0')
		snprintf(why, len, "%s", strerror(-rc));
	tcmu_dbus_utf8_fix(why);
	return rc;
}

static int
tcmu_dbus_do_check(sd_bus_message *call)
{
	char why[TCMU_DBUS_MSG_MAX];
	const char *config;
	int rc;

	rc = sd_bus_message_read(call, "s", &config);
	if (rc < 0)
		return rc;
	rc = tcmu_dbus_check(config, why, sizeof(why));
	log_dbg("tcmu: D-Bus CheckConfig(\"%.300s\"): %s", config,
	    rc == 0 ? "ok" : why);
	if (rc == 0)
		return sd_bus_reply_method_return(call, "bs", 1, "OK");
	rc = sd_bus_reply_method_return(call, "bs", 0, why);
	if (rc == -EINVAL)	/* not sent: never leave the caller waiting */
		rc = sd_bus_reply_method_return(call, "bs", 0,
		    "invalid config string");
	return rc;
}

static int
tcmu_dbus_do_change(sd_bus_message *call)
{
	const char *name, *config;
	uint64_t size;
	int rc;

	rc = sd_bus_message_read(call, "sts", &name, &size, &config);
	if (rc < 0)
		return rc;
	log_dbg("tcmu: D-Bus ChangeMedium(\"%.200s\", %llu): not supported",
	    name, (unsigned long long)size);
	return sd_bus_reply_method_return(call, "is", -EOPNOTSUPP,
	    tcmu_dbus_change_msg);
}

static void
tcmu_dbus_req_free(struct tcmu_dbus_req *r)
{
	struct tcmu_dbus_req **pp;

	for (pp = &r->d->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			r->d->n_reqs--;
			break;
		}
	}
	sd_bus_slot_unref(r->slot);
	sd_bus_message_unref(r->call);
	free(r);
}

/* The bus told us the caller's uid: answer the call it made. */
static int
tcmu_dbus_uid_cb(sd_bus_message *m, void *arg, sd_bus_error *ret_error)
{
	struct tcmu_dbus_req *r = arg;
	sd_bus_message *call = r->call;
	uint32_t uid;
	int rc;

	(void)ret_error;
	if (sd_bus_message_is_method_error(m, NULL) ||
	    sd_bus_message_read(m, "u", &uid) < 0)
		uid = UINT32_MAX;
	if (uid != 0 && uid != (uint32_t)geteuid())
		rc = sd_bus_reply_method_errorf(call,
		    SD_BUS_ERROR_ACCESS_DENIED, "%s.%s: only root may call "
		    "this (it examines paths)", TCMU_DBUS_IFACE,
		    sd_bus_message_get_member(call));
	else if (sd_bus_message_is_method_call(call, NULL, "CheckConfig"))
		rc = tcmu_dbus_do_check(call);
	else
		rc = tcmu_dbus_do_change(call);
	if (rc < 0)
		(void)sd_bus_reply_method_errno(call, rc, NULL);
	tcmu_dbus_req_free(r);
	return 0;
}

/* CheckConfig and ChangeMedium: first ask who the caller is. */
static int
tcmu_dbus_method(sd_bus_message *call, void *arg, sd_bus_error *ret_error)
{
	struct tcmu_dbus *d = arg;
	struct tcmu_dbus_req *r;
	const char *sender = sd_bus_message_get_sender(call);
	int rc;

	if (sender == NULL)
		return sd_bus_error_set(ret_error, SD_BUS_ERROR_ACCESS_DENIED,
		    "no sender");
	if (d->n_reqs >= TCMU_DBUS_PENDING_MAX)
		return sd_bus_error_set(ret_error,
		    SD_BUS_ERROR_LIMITS_EXCEEDED, "too many calls at once");
	r = xcalloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->d = d;
	r->call = sd_bus_message_ref(call);
	rc = sd_bus_call_method_async(d->bus, &r->slot,
	    "org.freedesktop.DBus", "/org/freedesktop/DBus",
	    "org.freedesktop.DBus", "GetConnectionUnixUser",
	    tcmu_dbus_uid_cb, r, "s", sender);
	if (rc < 0) {
		sd_bus_message_unref(r->call);
		free(r);
		return rc;
	}
	r->next = d->reqs;
	d->reqs = r;
	d->n_reqs++;
	return 1;	/* answered later */
}

static int
tcmu_dbus_prop(sd_bus *bus, const char *path, const char *iface,
    const char *prop, sd_bus_message *reply, void *arg,
    sd_bus_error *ret_error)
{
	(void)bus;
	(void)path;
	(void)iface;
	(void)arg;
	(void)ret_error;
	if (strcmp(prop, "ConfigDesc") == 0)
		return sd_bus_message_append(reply, "s", tcmu_dbus_desc);
	return sd_bus_message_append(reply, "s", TCMU_DBUS_SUBTYPE);
}

static const sd_bus_vtable tcmu_dbus_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("ConfigDesc", "s", tcmu_dbus_prop, 0,
	    SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SubType", "s", tcmu_dbus_prop, 0,
	    SD_BUS_VTABLE_PROPERTY_CONST),
	/* UNPRIVILEGED: sd-bus would check the caller synchronously;
	 * tcmu_dbus_method() does it asynchronously. */
	SD_BUS_METHOD("CheckConfig", "s", "bs", tcmu_dbus_method,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("ChangeMedium", "sts", "is", tcmu_dbus_method,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

/* ---------------- the bus name ---------------- */

static int
tcmu_dbus_name_cb(sd_bus_message *m, void *arg, sd_bus_error *ret_error)
{
	struct tcmu_dbus *d = arg;
	const sd_bus_error *e;
	uint32_t res = 0;

	(void)ret_error;
	e = sd_bus_message_get_error(m);
	if (e != NULL) {
		log_warn("tcmu: cannot own the D-Bus name %s (%s): targetcli "
		    "will not list user:%s (is conf/dbus/tpcd-tcmu.conf "
		    "installed in the bus's system.d?)", TCMU_DBUS_NAME,
		    e->message != NULL ? e->message : e->name,
		    TCMU_DBUS_SUBTYPE);
		d->dead = true;
		return 0;
	}
	if (sd_bus_message_read(m, "u", &res) < 0 ||
	    (res != TCMU_DBUS_PRIMARY_OWNER &&
	    res != TCMU_DBUS_ALREADY_OWNER)) {
		log_warn("tcmu: the D-Bus name %s belongs to another process "
		    "(tcmu-runner?): targetcli will not list user:%s; tpcd "
		    "goes on without D-Bus", TCMU_DBUS_NAME,
		    TCMU_DBUS_SUBTYPE);
		d->dead = true;
		return 0;
	}
	d->owner = true;
	log_info("tcmu: D-Bus %s: targetcli can create user:%s backstores",
	    TCMU_DBUS_NAME, TCMU_DBUS_SUBTYPE);
	return 0;
}

/* ---------------- loop glue ---------------- */

static uint64_t
tcmu_dbus_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Watch what sd-bus waits for: fd events and its next timeout. */
static int
tcmu_dbus_rearm(struct tcmu_dbus *d)
{
	uint64_t until, now;
	uint32_t ev = 0;
	int rc;

	rc = sd_bus_get_events(d->bus);
	if (rc < 0)
		return rc;
	if (rc & POLLIN)
		ev |= EPOLLIN;
	if (rc & POLLOUT)
		ev |= EPOLLOUT;
	if (ev != d->events) {
		rc = loop_fd_mod(d->loop, d->fd, ev);
		if (rc != 0)
			return rc;
		d->events = ev;
	}
	rc = sd_bus_get_timeout(d->bus, &until);
	if (rc < 0)
		return rc;
	if (until == UINT64_MAX) {
		loop_timer_cancel(d->timer);
		return 0;
	}
	now = tcmu_dbus_now_us();
	if (until <= now)
		loop_defer(d->loop, &tcmu_dbus_defer);
	else
		loop_timer_arm(d->timer, (until - now + 999) / 1000);
	return 0;
}

static void
tcmu_dbus_process(struct tcmu_dbus *d)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < TCMU_DBUS_BATCH && !d->dead; i++) {
		rc = sd_bus_process(d->bus, NULL);
		if (rc <= 0)
			break;
	}
	if (!d->dead && rc < 0) {
		log_warn("tcmu: D-Bus connection failed (%s): targetcli no "
		    "longer lists user:%s", strerror(-rc), TCMU_DBUS_SUBTYPE);
		d->dead = true;
	}
	if (!d->dead && !sd_bus_is_open(d->bus)) {
		log_warn("tcmu: the D-Bus system bus went away: targetcli no "
		    "longer lists user:%s", TCMU_DBUS_SUBTYPE);
		d->dead = true;
	}
	if (!d->dead && i == TCMU_DBUS_BATCH)
		loop_defer(d->loop, &tcmu_dbus_defer);
	if (!d->dead && (rc = tcmu_dbus_rearm(d)) < 0) {
		log_warn("tcmu: D-Bus: %s", strerror(-rc));
		d->dead = true;
	}
	if (d->dead)
		tcmu_dbus_close();
}

static void
tcmu_dbus_fd_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	tcmu_dbus_process(arg);
}

/* The timer and the deferred call (which may outlive a connection). */
static void
tcmu_dbus_kick(void *arg)
{
	(void)arg;
	if (tcmu_dbus != NULL)
		tcmu_dbus_process(tcmu_dbus);
}

/* ---------------- open / close ---------------- */

int
tcmu_dbus_open(struct loop *l)
{
	struct tcmu_dbus *d;
	int rc;

	if (tcmu_dbus != NULL)
		return 0;
	d = xcalloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->loop = l;
	d->fd = -1;
	rc = sd_bus_open_system(&d->bus);
	if (rc < 0) {
		log_warn("tcmu: no system D-Bus (%s): targetcli will not list "
		    "user:%s (docs/tcmu.md)", strerror(-rc),
		    TCMU_DBUS_SUBTYPE);
		free(d);
		return rc;
	}
	rc = sd_bus_add_object_manager(d->bus, NULL, TCMU_DBUS_PATH);
	if (rc >= 0)
		rc = sd_bus_add_object_vtable(d->bus, NULL, TCMU_DBUS_OBJ,
		    TCMU_DBUS_IFACE, tcmu_dbus_vtable, d);
	if (rc >= 0)
		rc = sd_bus_request_name_async(d->bus, NULL, TCMU_DBUS_NAME,
		    0, tcmu_dbus_name_cb, d);
	if (rc >= 0)
		rc = d->fd = sd_bus_get_fd(d->bus);
	if (rc >= 0) {
		d->timer = loop_timer_create(l, tcmu_dbus_kick, NULL);
		rc = d->timer != NULL ? loop_fd_add(l, d->fd, 0,
		    tcmu_dbus_fd_cb, d) : -ENOMEM;
	}
	if (rc < 0) {
		log_warn("tcmu: cannot serve %s on D-Bus: %s", TCMU_DBUS_NAME,
		    strerror(-rc));
		loop_timer_destroy(d->timer);
		sd_bus_close_unref(d->bus);
		free(d);
		return rc;
	}
	tcmu_dbus = d;
	tcmu_dbus_defer.fn = tcmu_dbus_kick;
	loop_defer(l, &tcmu_dbus_defer);	/* send Hello, RequestName */
	return 0;
}

void
tcmu_dbus_close(void)
{
	struct tcmu_dbus *d = tcmu_dbus;

	if (d == NULL)
		return;
	tcmu_dbus = NULL;
	while (d->reqs != NULL)
		tcmu_dbus_req_free(d->reqs);
	loop_fd_del(d->loop, d->fd);
	loop_timer_destroy(d->timer);
	/* Closing releases the name; the bus drops what is unsent. */
	sd_bus_close_unref(d->bus);
	if (d->owner)
		log_info("tcmu: left D-Bus (%s)", TCMU_DBUS_NAME);
	free(d);
}

bool
tcmu_dbus_serving(void)
{
	return tcmu_dbus != NULL && tcmu_dbus->owner;
}

#else /* !HAVE_SD_BUS */

int
tcmu_dbus_open(struct loop *l)
{
	static bool said;

	(void)l;
	if (!said)
		log_info("tcmu: built without sd-bus (libsystemd-dev): no "
		    "D-Bus %s, targetcli will not list user:tpcd",
		    TCMU_DBUS_NAME);
	said = true;
	return -ENOTSUP;
}

void
tcmu_dbus_close(void)
{
}

bool
tcmu_dbus_serving(void)
{
	return false;
}

#endif /* HAVE_SD_BUS */
