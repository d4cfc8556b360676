/*
 * log.h - logging to stderr (foreground) or syslog (daemon).
 *
 * log_err/warn/info/dbg take printf formats.  Per-I/O messages must use
 * log_ratelimited() so a failing disk cannot flood the log.
 */
#ifndef TPCD_LOG_H
#define TPCD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DBG,
};

void	log_init(bool use_syslog, enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* True at most a few times a second per call site key. */
bool	log_ratelimited(unsigned int *state_ms);

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_dbg(...)	do { if (log_get_level() >= LOG_LVL_DBG) \
		log_msg(LOG_LVL_DBG, __VA_ARGS__); } while (0)

#endif
