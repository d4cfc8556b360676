/*
 * log.c - log to stderr (foreground, with a timestamp and level) or to
 * syslog (daemon).
 *
 * Each message is formatted into one buffer and written with a single
 * write(2) so lines from different loop threads do not interleave.
 * log_ratelimited() lets a call site emit a burst of LOG_RL_BURST messages
 * per LOG_RL_INTERVAL_MS window; the caller keeps the state word.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_RL_INTERVAL_MS	1000u
#define LOG_RL_BURST		5u

static atomic_int log_level_cur = LOG_LVL_INFO;
static atomic_bool log_use_syslog;

static const char *const log_level_names[] = {
	[LOG_LVL_ERR] = "ERR",
	[LOG_LVL_WARN] = "WARN",
	[LOG_LVL_INFO] = "INFO",
	[LOG_LVL_DBG] = "DBG",
};

static const int log_syslog_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DBG] = LOG_DEBUG,
};

void
log_init(bool use_syslog, enum log_level level)
{
	if (use_syslog && !atomic_load(&log_use_syslog))
		openlog("tpcd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && atomic_load(&log_use_syslog))
		closelog();
	atomic_store(&log_use_syslog, use_syslog);
	log_set_level(level);
}

void
log_set_level(enum log_level level)
{
	if ((int)level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	if (level > LOG_LVL_DBG)
		level = LOG_LVL_DBG;
	atomic_store(&log_level_cur, (int)level);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level_cur);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t off;
	int n, saved_errno;

	if ((int)level > atomic_load(&log_level_cur))
		return;
	if ((int)level < LOG_LVL_ERR || level > LOG_LVL_DBG)
		level = LOG_LVL_ERR;
	saved_errno = errno;
	if (atomic_load(&log_use_syslog)) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		syslog(log_syslog_prio[level], "%s", buf);
		errno = saved_errno;
		return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	off = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(buf + off, sizeof(buf) - off, ".%03ld %-4s ",
	    (long)(tv.tv_usec / 1000), log_level_names[level]);
	if (n > 0)
		off += (size_t)n;
	if (off < sizeof(buf)) {
		va_start(ap, fmt);
		n = vsnprintf(buf + off, sizeof(buf) - off, fmt, ap);
		va_end(ap);
		if (n > 0)
			off += (size_t)n;
	}
	if (off > sizeof(buf) - 2)
		off = sizeof(buf) - 2;
	if (off > 0 && buf[off - 1] == '\n')
		off--;
	buf[off++] = '\n';
	/* One write per line; a short write on stderr is not worth a loop. */
	if (write(STDERR_FILENO, buf, off) < 0)
		(void)0;
	errno = saved_errno;
}

/*
 * The caller's state word holds the start of the current window (now_ms()
 * modulo 2^28, upper 28 bits) and the number of messages let through in
 * it (low 4 bits).  Updated with a compare-and-swap: call sites are shared
 * by every loop thread.
 */
bool
log_ratelimited(unsigned int *state_ms)
{
	unsigned int now, old, start, count, next;

	now = (unsigned int)(now_ms() & 0x0fffffffu);
	old = __atomic_load_n(state_ms, __ATOMIC_RELAXED);
	for (;;) {
		start = old >> 4;
		count = old & 0xfu;
		if (old == 0 || ((now - start) & 0x0fffffffu) >=
		    LOG_RL_INTERVAL_MS)
			next = (now << 4) | 1u;
		else if (count < LOG_RL_BURST)
			next = (start << 4) | (count + 1);
		else
			return false;
		if (__atomic_compare_exchange_n(state_ms, &old, next, false,
		    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	}
}
