/*
 * loop.c - the loop set: one epoll loop per thread, fd callbacks, timers
 * on one timerfd per loop, messages between loops and the blocking pool.
 *
 * Design notes.  Every loop owns an epoll fd, an eventfd for messages (and
 * for loops_stop(), which only writes to eventfds and so is
 * async-signal-safe) and a timerfd armed at the earliest deadline of its
 * timer heap.  Messages are a locked singly linked list swapped out whole
 * by the loop.  fd handlers are heap objects found through epoll_data;
 * a handler deleted while a batch of events is being dispatched is only
 * marked dead and freed after the batch.  The pool is a fixed set of
 * threads reading one job queue; a job carries its own message node, so
 * posting the result back to the asking loop never allocates and never
 * fails.  Loop and pool threads block all signals: signals are the main
 * thread's business (it runs loop 0).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "loop_int.h"
#include "util.h"

#define LOOP_MAX		64
#define LOOP_EVENTS		64

static struct loop *loops[LOOP_MAX];
static unsigned int loops_n;
static atomic_bool loops_stopping;
static __thread struct loop *loop_cur;

/* blocking pool */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct loop_pool_job *pool_head, *pool_tail;
static pthread_t *pool_threads;
static unsigned int pool_nthreads;
static bool pool_quit;

static void loop_timers_run(struct loop *, int, uint32_t, void *);
static void pool_job_done(void *);
static void loop_posts_run(struct loop *, int, uint32_t, void *);

/* --- messages --- */

void
loop_msg_enqueue(struct loop *l, struct loop_msg *m)
{
	uint64_t one = 1;
	bool was_empty;

	m->next = NULL;
	pthread_mutex_lock(&l->post_lock);
	was_empty = l->post_head == NULL;
	if (l->post_tail != NULL)
		l->post_tail->next = m;
	else
		l->post_head = m;
	l->post_tail = m;
	pthread_mutex_unlock(&l->post_lock);
	if (was_empty && write(l->post_fd, &one, sizeof(one)) < 0)
		(void)0;	/* saturated: the loop is awake anyway */
}

int
loop_post(struct loop *l, loop_fn fn, void *arg)
{
	struct loop_msg *m;

	if (l == NULL || fn == NULL)
		return -EINVAL;
	m = xmalloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->fn = fn;
	m->arg = arg;
	m->heap = true;
	loop_msg_enqueue(l, m);
	return 0;
}

static void
loop_msgs_drain(struct loop *l, bool run)
{
	struct loop_msg *m, *next;
	loop_fn fn;
	void *arg;

	pthread_mutex_lock(&l->post_lock);
	m = l->post_head;
	l->post_head = l->post_tail = NULL;
	pthread_mutex_unlock(&l->post_lock);
	for (; m != NULL; m = next) {
		next = m->next;
		fn = m->fn;
		arg = m->arg;
		if (m->heap)
			free(m);
		if (run)
			fn(arg);
		else if (fn == pool_job_done)
			free(arg);	/* result nobody will collect */
	}
}

static void
loop_posts_run(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0)
		(void)0;	/* EAGAIN: the list is checked anyway */
	loop_msgs_drain(l, true);
}

/* --- fds --- */

static int
loop_fds_grow(struct loop *l, int fd)
{
	struct loop_fdh **n;
	int cap;

	if (fd < l->nfds)
		return 0;
	cap = l->nfds ? l->nfds : 64;
	while (cap <= fd)
		cap *= 2;
	n = xrealloc(l->fds, (size_t)cap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	memset(n + l->nfds, 0, (size_t)(cap - l->nfds) * sizeof(*n));
	l->fds = n;
	l->nfds = cap;
	return 0;
}

int
loop_fd_add_int(struct loop *l, int fd, uint32_t events, loop_fd_cb cb,
    void *arg)
{
	struct epoll_event ev;
	struct loop_fdh *h;
	int rc;

	if (fd < 0 || cb == NULL)
		return -EINVAL;
	rc = loop_fds_grow(l, fd);
	if (rc != 0)
		return rc;
	if (l->fds[fd] != NULL)
		return -EEXIST;
	h = xcalloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->fd = fd;
	h->cb = cb;
	h->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rc = -errno;
		free(h);
		return rc;
	}
	l->fds[fd] = h;
	return 0;
}

int
loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb,
    void *arg)
{
	return loop_fd_add_int(l, fd, events, cb, arg);
}

int
loop_fd_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev;

	if (fd < 0 || fd >= l->nfds || l->fds[fd] == NULL)
		return -ENOENT;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = l->fds[fd];
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void
loop_fd_del(struct loop *l, int fd)
{
	struct loop_fdh *h;

	if (fd < 0 || fd >= l->nfds || l->fds[fd] == NULL)
		return;
	h = l->fds[fd];
	l->fds[fd] = NULL;
	/* Fails harmlessly if the caller already closed fd. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	h->dead = true;
	h->next_dead = l->dead_fdhs;
	l->dead_fdhs = h;
}

static void
loop_fdhs_reap(struct loop *l)
{
	struct loop_fdh *h;

	while ((h = l->dead_fdhs) != NULL) {
		l->dead_fdhs = h->next_dead;
		free(h);
	}
}

/* --- timers --- */

static bool
timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->seq < b->seq;
}

static void
heap_set(struct loop *l, int i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void
heap_up(struct loop *l, int i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 0) {
		int p = (i - 1) / 2;

		if (!timer_before(t, l->heap[p]))
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void
heap_down(struct loop *l, int i)
{
	struct loop_timer *t = l->heap[i];

	for (;;) {
		int c = 2 * i + 1;

		if (c >= l->heap_len)
			break;
		if (c + 1 < l->heap_len && timer_before(l->heap[c + 1],
		    l->heap[c]))
			c++;
		if (!timer_before(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void
heap_remove(struct loop *l, struct loop_timer *t)
{
	int i = t->heap_idx;
	struct loop_timer *last;

	assert(i >= 0 && i < l->heap_len && l->heap[i] == t);
	t->heap_idx = -1;
	last = l->heap[--l->heap_len];
	if (last == t)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->heap_idx);
}

/* Point the timerfd at the earliest deadline (or disarm it). */
static void
loop_timerfd_update(struct loop *l)
{
	struct itimerspec its;
	uint64_t want;

	want = l->heap_len > 0 ? l->heap[0]->deadline_ns : 0;
	if (want == l->timer_armed_ns)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(want / 1000000000ULL);
	its.it_value.tv_nsec = (long)(want % 1000000000ULL);
	if (timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_err("loop %u: timerfd_settime: %s", l->idx,
		    strerror(errno));
		return;
	}
	l->timer_armed_ns = want;
}

struct loop_timer *
loop_timer_create(struct loop *l, loop_fn fn, void *arg)
{
	struct loop_timer *t;

	if (l == NULL || fn == NULL)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->loop = l;
	t->fn = fn;
	t->arg = arg;
	t->heap_idx = -1;
	return t;
}

void
loop_timer_arm(struct loop_timer *t, uint64_t ms)
{
	struct loop *l = t->loop;
	struct loop_timer **nh;
	uint64_t now;

	if (t->heap_idx >= 0)
		heap_remove(l, t);
	if (l->heap_len == l->heap_cap) {
		int cap = l->heap_cap ? l->heap_cap * 2 : 16;

		/* Growing is the only failure; the timer stays unarmed. */
		nh = xrealloc(l->heap, (size_t)cap * sizeof(*nh));
		if (nh == NULL) {
			log_err("loop %u: no memory to arm a timer", l->idx);
			return;
		}
		l->heap = nh;
		l->heap_cap = cap;
	}
	now = now_ns();
	if (ms > (UINT64_MAX - now) / 1000000ULL)
		t->deadline_ns = UINT64_MAX / 2;
	else
		t->deadline_ns = now + ms * 1000000ULL;
	t->seq = l->timer_seq++;
	l->heap[l->heap_len] = t;
	t->heap_idx = l->heap_len++;
	heap_up(l, t->heap_idx);
	loop_timerfd_update(l);
}

void
loop_timer_cancel(struct loop_timer *t)
{
	if (t == NULL || t->heap_idx < 0)
		return;
	heap_remove(t->loop, t);
	loop_timerfd_update(t->loop);
}

void
loop_timer_destroy(struct loop_timer *t)
{
	if (t == NULL)
		return;
	loop_timer_cancel(t);
	free(t);
}

static void
loop_timers_run(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct loop_timer *t;
	uint64_t cnt, now;

	if (read(fd, &cnt, sizeof(cnt)) < 0)
		(void)0;	/* EAGAIN after a re-arm: nothing to do */
	/* The fd fired (or was re-armed); it is no longer armed. */
	l->timer_armed_ns = 0;
	now = now_ns();
	while (l->heap_len > 0 && l->heap[0]->deadline_ns <= now) {
		t = l->heap[0];
		heap_remove(l, t);
		/* t may be re-armed or destroyed by its callback. */
		t->fn(t->arg);
	}
	loop_timerfd_update(l);
}

/* --- the loop --- */

static int
loop_create(unsigned int idx, struct loop **out)
{
	struct loop *l;
	int rc;

	l = xcalloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->idx = idx;
	l->epfd = l->post_fd = l->timer_fd = l->uring_efd = -1;
	pthread_mutex_init(&l->post_lock, NULL);
	*out = l;		/* loop_destroy() copes with partial setup */
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->post_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->post_fd < 0)
		return -errno;
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->timer_fd < 0)
		return -errno;
	rc = loop_fd_add_int(l, l->post_fd, EPOLLIN, loop_posts_run, NULL);
	if (rc == 0)
		rc = loop_fd_add_int(l, l->timer_fd, EPOLLIN,
		    loop_timers_run, NULL);
	if (rc != 0)
		return rc;
	loop_io_setup(l);
	return 0;
}

static void
loop_destroy(struct loop *l)
{
	int i;

	if (l == NULL)
		return;
	loop_io_teardown(l);
	loop_msgs_drain(l, false);
	for (i = 0; i < l->nfds; i++)
		if (l->fds[i] != NULL)
			loop_fd_del(l, i);
	loop_fdhs_reap(l);
	free(l->fds);
	/* Armed timers still belong to their owners; just forget them. */
	for (i = 0; i < l->heap_len; i++)
		l->heap[i]->heap_idx = -1;
	free(l->heap);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
	if (l->post_fd >= 0)
		close(l->post_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	pthread_mutex_destroy(&l->post_lock);
	free(l);
}

/* --- deferred calls --- */

void
loop_defer(struct loop *l, struct loop_defer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = NULL;
	if (l->defer_tail != NULL)
		l->defer_tail->next = d;
	else
		l->defer_head = d;
	l->defer_tail = d;
}

/* Calls deferred while these run are run too. */
static void
loop_defers_run(struct loop *l)
{
	struct loop_defer *d;

	while ((d = l->defer_head) != NULL) {
		l->defer_head = d->next;
		if (l->defer_head == NULL)
			l->defer_tail = NULL;
		d->next = NULL;
		d->queued = false;
		d->fn(d->arg);
	}
}

static void
loop_run_one(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];
	struct loop_fdh *h;
	int n, i;

	loop_cur = l;
	while (!atomic_load(&loops_stopping)) {
		loop_io_flush(l);
		n = epoll_wait(l->epfd, evs, LOOP_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("loop %u: epoll_wait: %s", l->idx,
			    strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			h = evs[i].data.ptr;
			if (h->dead)
				continue;
			h->cb(l, h->fd, evs[i].events, h->arg);
		}
		loop_defers_run(l);
		loop_fdhs_reap(l);
	}
	/* Let already-posted messages run once more (e.g. pool results). */
	loop_msgs_drain(l, true);
	loop_defers_run(l);
	loop_cur = NULL;
}

static void *
loop_thread_main(void *arg)
{
	loop_run_one(arg);
	return NULL;
}

/* --- blocking pool --- */

static void
pool_job_done(void *arg)
{
	struct loop_pool_job *job = arg;
	loop_fn done = job->done;
	void *jarg = job->arg;

	free(job);
	if (done != NULL)
		done(jarg);
}

static void *
pool_thread_main(void *unused)
{
	struct loop_pool_job *job;

	for (;;) {
		pthread_mutex_lock(&pool_lock);
		while (pool_head == NULL && !pool_quit)
			pthread_cond_wait(&pool_cond, &pool_lock);
		job = pool_head;
		if (job == NULL) {
			pthread_mutex_unlock(&pool_lock);
			return NULL;
		}
		pool_head = job->next;
		if (pool_head == NULL)
			pool_tail = NULL;
		pthread_mutex_unlock(&pool_lock);
		if (job->fn != NULL)
			job->fn(job->arg);
		job->msg.fn = pool_job_done;
		job->msg.arg = job;
		job->msg.heap = false;
		loop_msg_enqueue(job->loop, &job->msg);
	}
}

int
loop_pool_queue(struct loop_pool_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&pool_lock);
	if (pool_nthreads == 0) {
		pthread_mutex_unlock(&pool_lock);
		return -ESHUTDOWN;
	}
	if (pool_tail != NULL)
		pool_tail->next = job;
	else
		pool_head = job;
	pool_tail = job;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	return 0;
}

int
loop_pool_run(struct loop *l, loop_fn fn, loop_fn done, void *arg)
{
	struct loop_pool_job *job;
	int rc;

	if (l == NULL || fn == NULL)
		return -EINVAL;
	job = xcalloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->fn = fn;
	job->done = done;
	job->arg = arg;
	job->loop = l;
	rc = loop_pool_queue(job);
	if (rc != 0)
		free(job);
	return rc;
}

static void
pool_stop(void)
{
	unsigned int i, n;

	pthread_mutex_lock(&pool_lock);
	pool_quit = true;
	n = pool_nthreads;
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	/* Threads finish the queue before they leave. */
	for (i = 0; i < n; i++)
		pthread_join(pool_threads[i], NULL);
	pthread_mutex_lock(&pool_lock);
	pool_nthreads = 0;
	pool_quit = false;
	pthread_mutex_unlock(&pool_lock);
	free(pool_threads);
	pool_threads = NULL;
}

/* Start a thread with every signal blocked. */
static int
thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

static int
pool_start(unsigned int n)
{
	unsigned int i;
	int rc;

	pool_threads = xcalloc(n, sizeof(*pool_threads));
	if (pool_threads == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rc = thread_start(&pool_threads[i], pool_thread_main, NULL);
		if (rc != 0)
			break;
		pthread_mutex_lock(&pool_lock);
		pool_nthreads++;
		pthread_mutex_unlock(&pool_lock);
	}
	if (i == n)
		return 0;
	log_err("pool: cannot start thread %u: %s", i, strerror(-rc));
	pool_stop();
	return rc;
}

/* --- loop set --- */

int
loops_init(unsigned int n)
{
	unsigned int i;
	int rc;

	if (n == 0 || n > LOOP_MAX)
		return -EINVAL;
	if (loops_n != 0)
		return -EBUSY;
	atomic_store(&loops_stopping, false);
	for (i = 0; i < n; i++) {
		rc = loop_create(i, &loops[i]);
		if (rc != 0) {
			log_err("loop %u: setup failed: %s", i,
			    strerror(-rc));
			goto fail;
		}
	}
	loops_n = n;
	rc = pool_start(n);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	for (i = 0; i < LOOP_MAX; i++) {
		loop_destroy(loops[i]);
		loops[i] = NULL;
	}
	loops_n = 0;
	return rc;
}

void
loops_fini(void)
{
	unsigned int i;

	if (loops_n == 0)
		return;
	pool_stop();
	for (i = 0; i < loops_n; i++) {
		loop_destroy(loops[i]);
		loops[i] = NULL;
	}
	loops_n = 0;
}

int
loops_run(void)
{
	unsigned int i;
	int rc = 0;

	if (loops_n == 0)
		return -EINVAL;
	/* All at once, before any thread runs: see loop_io_submit(). */
	for (i = 0; i < loops_n; i++)
		atomic_store(&loops[i]->running, true);
	for (i = 1; i < loops_n; i++) {
		rc = thread_start(&loops[i]->thread, loop_thread_main,
		    loops[i]);
		if (rc != 0) {
			log_err("loop %u: cannot start thread: %s", i,
			    strerror(-rc));
			loops_stop();
			break;
		}
		loops[i]->thread_started = true;
	}
	if (rc == 0)
		loop_run_one(loops[0]);
	for (i = 1; i < loops_n; i++) {
		if (loops[i]->thread_started) {
			pthread_join(loops[i]->thread, NULL);
			loops[i]->thread_started = false;
		}
	}
	for (i = 0; i < loops_n; i++)
		atomic_store(&loops[i]->running, false);
	/* Allow loops_run() again after a stop (tests do). */
	atomic_store(&loops_stopping, false);
	return rc;
}

void
loops_stop(void)
{
	uint64_t one = 1;
	unsigned int i;

	atomic_store(&loops_stopping, true);
	for (i = 0; i < loops_n; i++) {
		if (write(loops[i]->post_fd, &one, sizeof(one)) < 0)
			(void)0;
	}
}

unsigned int
loops_count(void)
{
	return loops_n;
}

struct loop *
loop_get(unsigned int idx)
{
	return idx < loops_n ? loops[idx] : NULL;
}

struct loop *
loop_current(void)
{
	return loop_cur;
}

unsigned int
loop_index(const struct loop *l)
{
	return l->idx;
}

struct loop *
loop_least_loaded(void)
{
	struct loop *best = NULL;
	int best_load = 0, v;
	unsigned int i;

	for (i = 0; i < loops_n; i++) {
		v = atomic_load(&loops[i]->load);
		if (best == NULL || v < best_load) {
			best = loops[i];
			best_load = v;
		}
	}
	return best;
}

void
loop_load_add(struct loop *l, int delta)
{
	atomic_fetch_add(&l->load, delta);
}
