/*
 * iscsi_listen.c - listening portals (IPv4 and IPv6) on loop 0, accept,
 * the front end's global knobs and shutdown (iscsi.h).
 *
 * iscsi_listeners_sync() reconciles the open listeners with the portal
 * list: new portals are bound (port 0 picks an ephemeral port, reported by
 * iscsi_listener_port()), removed ones are closed, existing sessions stay.
 * Accepted sockets are made non-blocking with TCP_NODELAY and handed to
 * iscsi_conn_create() on loop 0, which runs login.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iscsi.h"
#include "iscsi_conn.h"
#include "log.h"
#include "loop.h"
#include "pr.h"
#include "target.h"
#include "util.h"

#define ISCSI_LISTEN_BACKLOG	128
#define ISCSI_LISTEN_MAX	64

struct iscsi_listener {
	char		 ip[64];
	uint16_t	 port;		/* as configured (0: ephemeral) */
	uint16_t	 bound_port;
	int		 fd;
};

static struct iscsi_listener iscsi_listeners[ISCSI_LISTEN_MAX];
static unsigned int iscsi_n_listeners;
/* Index in the last portal list -> listener slot. */
static int iscsi_portal_map[ISCSI_LISTEN_MAX];
static unsigned int iscsi_n_portals;

static struct iscsi_globals iscsi_globals = {
	.nop_interval_s = 30,
	.nop_timeout_s = 30,
	.login_timeout_s = 15,
};

void
iscsi_set_globals(const struct iscsi_globals *g)
{
	iscsi_globals = *g;
	/* PREEMPT AND ABORT reaches the preempted nexuses' tasks here. */
	pr_set_abort_hook(iscsi_pr_abort);
	if (iscsi_globals.login_timeout_s == 0)
		iscsi_globals.login_timeout_s = 15;
	if (iscsi_globals.nop_interval_s != 0 &&
	    iscsi_globals.nop_timeout_s == 0)
		iscsi_globals.nop_timeout_s = 30;
}

const struct iscsi_globals *
iscsi_get_globals(void)
{
	return &iscsi_globals;
}

static void
iscsi_listen_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct iscsi_listener *li = arg;
	static unsigned int rl;
	int cfd, one = 1, n;

	for (n = 0; n < 64; n++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    log_ratelimited(&rl))
				log_warn("iscsi: accept on %s:%u: %s", li->ip,
				    li->bound_port, strerror(errno));
			return;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (iscsi_conn_create(cfd, l, li->ip, li->bound_port) == NULL) {
			if (log_ratelimited(&rl))
				log_warn("iscsi: out of memory for a new "
				    "connection");
			close(cfd);
		}
	}
}

static int
iscsi_listen_open(struct iscsi_listener *li)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	char host[64];
	size_t hl;
	int fd, one = 1, err;

	/* Accept "[::1]" as well as "::1". */
	strlcpy_t(host, li->ip, sizeof(host));
	hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(li->port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(li->port);
		sl = sizeof(*sin6);
	} else {
		log_err("iscsi: portal address '%s' is not numeric", li->ip);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, ISCSI_LISTEN_BACKLOG) != 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	li->bound_port = ntohs(ss.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port);
	err = loop_fd_add(loop_get(0), fd, EPOLLIN, iscsi_listen_accept, li);
	if (err != 0) {
		close(fd);
		log_err("iscsi: cannot watch listener %s:%u: %s", li->ip,
		    li->port, strerror(-err));
		return err;
	}
	li->fd = fd;
	log_info("iscsi: listening on %s:%u", li->ip, li->bound_port);
	return 0;
fail:
	err = -errno;
	log_err("iscsi: cannot listen on %s:%u: %s", li->ip, li->port,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	return err;
}

static void
iscsi_listen_close(struct iscsi_listener *li)
{
	if (li->fd < 0)
		return;
	loop_fd_del(loop_get(0), li->fd);
	close(li->fd);
	log_info("iscsi: stopped listening on %s:%u", li->ip, li->bound_port);
	li->fd = -1;
}

static int
iscsi_listen_find(const char *ip, uint16_t port)
{
	unsigned int i;

	for (i = 0; i < iscsi_n_listeners; i++)
		if (iscsi_listeners[i].fd >= 0 &&
		    strcmp(iscsi_listeners[i].ip, ip) == 0 &&
		    iscsi_listeners[i].port == port)
			return (int)i;
	return -1;
}

int
iscsi_listeners_sync(const struct target_portal *portals, unsigned int n)
{
	bool keep[ISCSI_LISTEN_MAX] = { false };
	struct iscsi_listener *li;
	unsigned int i, j;
	int idx, rc, first_err = 0;

	if (n > ISCSI_LISTEN_MAX) {
		log_err("iscsi: %u portals, at most %u supported", n,
		    ISCSI_LISTEN_MAX);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		iscsi_portal_map[i] = -1;
		idx = iscsi_listen_find(portals[i].ip, portals[i].port);
		if (idx >= 0) {
			keep[idx] = true;
			iscsi_portal_map[i] = idx;
			continue;
		}
		/* Find a free slot (closed ones can be reused later). */
		for (j = 0; j < ISCSI_LISTEN_MAX; j++)
			if (j >= iscsi_n_listeners ||
			    (iscsi_listeners[j].fd < 0 && !keep[j]))
				break;
		if (j == ISCSI_LISTEN_MAX) {
			first_err = first_err ? first_err : -E2BIG;
			continue;
		}
		li = &iscsi_listeners[j];
		memset(li, 0, sizeof(*li));
		li->fd = -1;
		strlcpy_t(li->ip, portals[i].ip, sizeof(li->ip));
		li->port = portals[i].port;
		if (j >= iscsi_n_listeners)
			iscsi_n_listeners = j + 1;
		rc = iscsi_listen_open(li);
		if (rc != 0) {
			first_err = first_err ? first_err : rc;
			continue;
		}
		keep[j] = true;
		iscsi_portal_map[i] = (int)j;
	}
	for (j = 0; j < iscsi_n_listeners; j++)
		if (!keep[j])
			iscsi_listen_close(&iscsi_listeners[j]);
	iscsi_n_portals = n;
	return first_err;
}

uint16_t
iscsi_listener_port(unsigned int idx)
{
	int j;

	if (idx >= iscsi_n_portals)
		return 0;
	j = iscsi_portal_map[idx];
	if (j < 0 || iscsi_listeners[j].fd < 0)
		return 0;
	return iscsi_listeners[j].bound_port;
}

void
iscsi_listeners_close_all(void)
{
	unsigned int j;

	for (j = 0; j < iscsi_n_listeners; j++)
		iscsi_listen_close(&iscsi_listeners[j]);
	iscsi_n_portals = 0;
}

/* ---------------- shutdown ---------------- */

void
iscsi_shutdown(void (*done)(void *), void *arg)
{
	iscsi_listeners_close_all();
	iscsi_conn_set_zero_cb(done, arg);
	iscsi_conn_close_all();
}
