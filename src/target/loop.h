/*
 * loop.h - event loops (one thread each), timers, cross-loop messages, the
 * blocking-call pool and asynchronous data I/O.
 *
 * Every loop is a thread running epoll.  Objects created on a loop
 * (connections, commands, in-flight I/O) belong to it and are touched only
 * from it.  Other threads talk to a loop with loop_post(), which queues a
 * function on a locked list and wakes the loop through an eventfd.
 *
 * Data I/O goes through loop_io_submit(): an io_uring per loop when the
 * kernel has one (completions arrive through a registered eventfd), else the
 * blocking pool.  Calls that may block (fsync, copy_file_range, ioctls,
 * open) go to the pool with loop_pool_run(); the result is posted back to
 * the loop that asked.
 */
#ifndef TPCD_LOOP_H
#define TPCD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct loop;
struct loop_timer;

/* epoll events (EPOLLIN, EPOLLOUT, ...) are passed through as-is. */
typedef void (*loop_fd_cb)(struct loop *, int fd, uint32_t events, void *arg);
typedef void (*loop_fn)(void *arg);

/* --- loop set --- */
/* Start n loops (n >= 1); loop 0 runs in the caller of loops_run(). */
int	 loops_init(unsigned int n);
void	 loops_fini(void);
/* Runs loop 0 in the calling thread and the others in their own threads;
 * returns after loops_stop(). */
int	 loops_run(void);
void	 loops_stop(void);		/* async-signal-safe */
unsigned int loops_count(void);
struct loop *loop_get(unsigned int idx);
struct loop *loop_current(void);	/* NULL off-loop */
unsigned int loop_index(const struct loop *);
/* The loop with the fewest attached load units; load is a hint. */
struct loop *loop_least_loaded(void);
void	 loop_load_add(struct loop *, int delta);

/* --- fds (only from the owning loop) --- */
int	 loop_fd_add(struct loop *, int fd, uint32_t events, loop_fd_cb,
	    void *arg);
int	 loop_fd_mod(struct loop *, int fd, uint32_t events);
void	 loop_fd_del(struct loop *, int fd);

/* --- messages (any thread) --- */
int	 loop_post(struct loop *, loop_fn, void *arg);

/* --- deferred calls (only from the owning loop) --- */
/* Run fn(arg) once after the current batch of events, before the loop
 * sleeps again (used to coalesce socket writes).  The node is embedded
 * in its owner and must stay valid until fn has run; deferring a node
 * already queued does nothing. */
struct loop_defer {
	loop_fn		 fn;
	void		*arg;
	struct loop_defer *next;
	bool		 queued;
};

void	 loop_defer(struct loop *, struct loop_defer *);

/* --- timers (only from the owning loop) --- */
/* One-shot after ms; re-arm with loop_timer_arm().  Callback on the loop. */
struct loop_timer *loop_timer_create(struct loop *, loop_fn, void *arg);
void	 loop_timer_arm(struct loop_timer *, uint64_t ms);
void	 loop_timer_cancel(struct loop_timer *);
void	 loop_timer_destroy(struct loop_timer *);

/* --- blocking pool --- */
/* fn runs on a pool thread; done(arg) then runs on loop l. */
int	 loop_pool_run(struct loop *l, loop_fn fn, loop_fn done, void *arg);

/* --- data I/O --- */
enum loop_io_op {
	LOOP_IO_READ,
	LOOP_IO_WRITE,
	LOOP_IO_FSYNC,		/* fdatasync */
	LOOP_IO_WRITE_DSYNC,	/* write, durable when done (RWF_DSYNC) */
};

struct loop_io {
	enum loop_io_op	 op;
	int		 fd;
	uint64_t	 offset;
	struct iovec	*iov;
	int		 iovcnt;
	/* Result: bytes transferred or -errno.  Short transfers are retried
	 * internally, so res is either the full length or an error. */
	ssize_t		 res;
	void		(*done)(struct loop_io *);
	void		*priv;
	/* private to loop.c */
	size_t		 _total;
	size_t		 _done;
	struct iovec	 _iov_small[4];
	struct loop	*_loop;
	struct loop_io	*_next;		/* waiting for ring space */
};

/* Submit from loop l; io->done runs later on l.  Returns 0 or -errno
 * (then done is not called). */
int	 loop_io_submit(struct loop *l, struct loop_io *io);
/* Test hook: force the pool path even where io_uring works. */
void	 loop_io_force_pool(bool);
bool	 loop_io_uses_uring(const struct loop *);

#endif
