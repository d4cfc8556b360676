/*
 * loop_int.h - internals shared by loop.c (loops, fds, messages, timers,
 * pool) and loop_io.c (io_uring and pool-backed data I/O).  Nothing outside
 * these two files includes it.
 */
#ifndef TPCD_LOOP_INT_H
#define TPCD_LOOP_INT_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

/* A registered fd.  epoll_data.ptr points here; deleted handlers are
 * freed only after the current epoll batch so stale events are skipped. */
struct loop_fdh {
	int		 fd;
	bool		 dead;
	loop_fd_cb	 cb;
	void		*arg;
	struct loop_fdh	*next_dead;
};

/* A queued message.  Heap messages come from loop_post(); embedded ones
 * (pool jobs) are owned by their container. */
struct loop_msg {
	struct loop_msg	*next;
	loop_fn		 fn;
	void		*arg;
	bool		 heap;
};

struct loop_pool_job {
	struct loop_msg	 msg;		/* done, on the asker */
	struct loop_pool_job *next;	/* pool queue */
	loop_fn		 fn;
	loop_fn		 done;
	void		*arg;
	struct loop	*loop;
};

struct loop_timer {
	struct loop	*loop;
	loop_fn		 fn;
	void		*arg;
	uint64_t	 deadline_ns;
	uint64_t	 seq;		/* FIFO among equal deadlines */
	int		 heap_idx;	/* -1 when not armed */
};

struct loop {
	unsigned int	 idx;
	int		 epfd;
	int		 post_fd;	/* eventfd: messages and stop */
	int		 timer_fd;
	pthread_t	 thread;
	bool		 thread_started;
	atomic_bool	 running;	/* inside loops_run() */
	atomic_int	 load;

	pthread_mutex_t	 post_lock;
	struct loop_msg	*post_head;
	struct loop_msg	*post_tail;

	/* fd table, indexed by fd, owned by the loop thread */
	struct loop_fdh	**fds;
	int		 nfds;
	struct loop_fdh	*dead_fdhs;

	/* timers: binary min-heap on (deadline, seq) */
	struct loop_timer **heap;
	int		 heap_len;
	int		 heap_cap;
	uint64_t	 timer_seq;
	uint64_t	 timer_armed_ns;	/* timer_fd setting, 0 = off */

	/* deferred calls, run before the next epoll_wait */
	struct loop_defer *defer_head;
	struct loop_defer *defer_tail;

	/* io_uring (loop_io.c) */
	bool		 uring_ok;
	struct io_uring	 ring;
	int		 uring_efd;
	unsigned int	 uring_inflight;
	unsigned int	 uring_max;
	bool		 uring_dirty;	/* SQEs not yet submitted */
	struct loop_io	*pend_head;	/* waiting for ring space */
	struct loop_io	*pend_tail;
};

/* loop.c */
void	loop_msg_enqueue(struct loop *, struct loop_msg *);
int	loop_pool_queue(struct loop_pool_job *);
int	loop_fd_add_int(struct loop *, int fd, uint32_t events, loop_fd_cb,
	    void *arg);

/* loop_io.c */
void	loop_io_setup(struct loop *);
void	loop_io_teardown(struct loop *);
void	loop_io_flush(struct loop *);

#endif
