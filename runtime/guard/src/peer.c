/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peer-death watcher: one thread asleep in epoll_wait over an eventfd (control)
 * and one pidfd per watched peer. A pidfd becomes readable when its process
 * has exited (it is a zombie or gone), so the thread sleeps until the kernel
 * has something to say. Fallback without pidfd_open: the same thread wakes
 * every poll period and reads /proc/<pid>/stat of each polled peer.
 *
 * Lifetime rules (see guard.h): every list and registration field is guarded
 * by the watcher's mutex; the dead flag is the only field lightweight threads
 * read, through one acquire load. epoll events carry a registration id, never
 * a pointer, so an event that races with xs_peer_unwatch() is simply dropped.
 */
#include "xsched/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

XS_LINK_ERROR_TEXTS(xs_strerror_msg);

/* Static links: pull the error texts of this module in with this object
 * (xs_strerror() only refers to them weakly). */
static const void *const keep_strerror_ __attribute__((used)) = (const void *)xs_strerror_msg;

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 (asm-generic/socket.h); older kernels: ENOPROTOOPT */
#endif

/** Registration id of the control eventfd in the epoll set. */
#define WAKE_ID 0u

struct xs_peer_watcher {
	pthread_mutex_t mu;
	pthread_cond_t cv; /**< CLOCK_MONOTONIC; signalled on deaths, callback ends, unwatch */
	pthread_t thr;
	int epfd;
	int evfd;
	unsigned flags;
	unsigned poll_ms;
	int stop;        /**< set under mu, thread exits */
	int no_pidfd;    /**< pidfd_open found unusable: new peers are polled */
	unsigned npoll;  /**< peers watched by polling and not yet dead */
	uint64_t next_id;
	struct xs_peer *head;
	struct xs_peer *running; /**< peer whose callback runs now (outside mu) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int sys_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	long r = syscall(SYS_pidfd_open, pid, 0);

	return r < 0 ? -errno : (int)r;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

/*
 * /proc/<pid>/stat of a live process: 0 and its state letter and start time
 * (field 22, clock ticks since boot), or -errno. The command name (field 2)
 * may hold spaces and parentheses, so fields are counted after the last ')'.
 */
static int proc_stat(pid_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH; /* reaped between open and read: empty */
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EPROTO;
	p += 2;
	*state = *p;
	/* p is at field 3; advance to field 22 */
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EPROTO;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

/** Polling verdict: 1 when the process recorded in @p p no longer runs. */
static int poll_dead(const struct xs_peer *p)
{
	uint64_t start;
	char st;
	int err;

	if (p->pidfd >= 0) { /* a caller's pidfd, polled (XS_PEER_FORCE_POLL) */
		struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

		return poll(&pfd, 1, 0) == 1;
	}
	err = proc_stat(p->pid, &st, &start);

	if (err == -ENOENT || err == -ESRCH)
		return 1;
	if (err < 0)
		return 0; /* transient (EMFILE ...): look again next period */
	/* a zombie has exited; a different start time means the pid was reused */
	return st == 'Z' || st == 'X' || st == 'x' || start != p->start_time;
}

static struct xs_peer *find_id(struct xs_peer_watcher *w, uint64_t id)
{
	struct xs_peer *p;

	for (p = w->head; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/* Under mu. Sets the flag; the callback is delivered by dispatch(). */
static void mark_dead(struct xs_peer_watcher *w, struct xs_peer *p)
{
	if (p->dead)
		return;
	if (p->method == XS_PEER_PIDFD)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, p->pidfd, NULL); /* level-triggered: stop it */
	else if (p->method == XS_PEER_POLL)
		w->npoll--;
	p->dead_ns = now_ns();
	/* Ordering: Release pairs with the Acquire load in xs_peer_alive(): a
	 * thread that sees the flag also sees dead_ns. */
	__atomic_store_n(&p->dead, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cv);
}

/* Under mu, returns under mu. Delivers every pending callback, one at a time
 * with mu released; the list may change meanwhile, so rescan after each. */
static void dispatch(struct xs_peer_watcher *w)
{
	struct xs_peer *p;

again:
	for (p = w->head; p; p = p->next) {
		if (!p->dead || p->fired)
			continue;
		p->fired = 1;
		if (!p->fn)
			continue;
		w->running = p;
		pthread_mutex_unlock(&w->mu);
		p->fn(p->arg, p);
		pthread_mutex_lock(&w->mu);
		w->running = NULL;
		pthread_cond_broadcast(&w->cv);
		goto again;
	}
}

static void *watcher_main(void *arg)
{
	struct xs_peer_watcher *w = arg;
	struct epoll_event ev[16];

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		int timeout = w->npoll ? (int)w->poll_ms : -1;
		int n, i;

		pthread_mutex_unlock(&w->mu);
		n = epoll_wait(w->epfd, ev, 16, timeout);
		pthread_mutex_lock(&w->mu);
		if (n < 0 && errno != EINTR)
			n = 0; /* EBADF/EINVAL cannot happen on our own epfd; do not spin on it */
		for (i = 0; i < n; i++) {
			struct xs_peer *p;

			if (ev[i].data.u64 == WAKE_ID) {
				uint64_t v;

				/* drain; EAGAIN when another wake-up already did */
				if (read(w->evfd, &v, sizeof(v)) < 0)
					v = 0;
				continue;
			}
			p = find_id(w, ev[i].data.u64);
			if (p) /* else: unwatched after epoll_wait returned */
				mark_dead(w, p);
		}
		if (w->npoll) {
			struct xs_peer *p;

			for (p = w->head; p; p = p->next)
				if (p->method == XS_PEER_POLL && !p->dead && poll_dead(p))
					mark_dead(w, p);
		}
		dispatch(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void wake(struct xs_peer_watcher *w)
{
	uint64_t one = 1;

	/* cannot fail short of a counter overflow, which a read resets */
	if (write(w->evfd, &one, sizeof(one)) < 0)
		return;
}

int xs_peer_watcher_create(struct xs_peer_watcher **out, unsigned flags, unsigned poll_ms)
{
	struct xs_peer_watcher *w;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_ID};
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	*out = NULL;
	if ((flags & XS_PEER_REQUIRE_PIDFD) && (flags & XS_PEER_FORCE_POLL))
		return xs_seterr(-EINVAL, "peer watcher: REQUIRE_PIDFD and FORCE_POLL exclude each other");
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->flags = flags;
	w->poll_ms = poll_ms ? poll_ms : XS_PEER_POLL_MS_DEFAULT;
	w->no_pidfd = !!(flags & XS_PEER_FORCE_POLL);
	w->next_id = WAKE_ID + 1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->evfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0) {
		err = xs_seterr(-errno, "peer watcher: epoll/eventfd setup failed: %s",
				strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);

	/* The watcher must never take a process signal meant for the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&w->thr, NULL, watcher_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		xs_seterr(err, "peer watcher: pthread_create failed: %s", strerror(-err));
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	pthread_setname_np(w->thr, "xs-peerwatch");
	*out = w;
	return 0;
fail:
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	free(w);
	return err;
}

/* Under mu: take @p p off the list and out of epoll; close its pidfd. */
static void detach(struct xs_peer_watcher *w, struct xs_peer *p)
{
	struct xs_peer **pp;

	for (pp = &w->head; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (!p->dead) {
		if (p->method == XS_PEER_PIDFD)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
		else if (p->method == XS_PEER_POLL)
			w->npoll--;
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->next = NULL;
	p->id = 0;
	/* Ordering: Relaxed; the getters read these without the lock and
	 * only need a value that was stored, not an ordering. */
	__atomic_store_n(&p->w, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&p->method, XS_PEER_NONE, __ATOMIC_RELAXED);
}

void xs_peer_watcher_destroy(struct xs_peer_watcher *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_mutex_unlock(&w->mu);
	wake(w);
	pthread_join(w->thr, NULL);
	while (w->head)
		detach(w, w->head);
	close(w->epfd);
	close(w->evfd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/*
 * Register @p p. @p pidfd >= 0: watch it (ownership taken, closed on every
 * error; @p pid is only recorded, 0 when unknown); with XS_PEER_FORCE_POLL it
 * is polled instead of sleeping in epoll. @p pidfd == -1: open one for
 * @p pid or fall back to polling; with @p gone the process is known to have
 * exited already (registered dead, its pid never looked up again: it may
 * belong to another process by now).
 */
static int watch(struct xs_peer_watcher *w, struct xs_peer *p, pid_t pid, int pidfd,
		 xs_peer_fn fn, void *arg, int gone)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int err;
	char st;

	if (pid <= 0 && pidfd < 0) {
		return xs_seterr(-EINVAL, "peer watch: invalid pid %d", (int)pid);
	}
	pthread_mutex_lock(&w->mu);
	if (p->w) {
		pthread_mutex_unlock(&w->mu);
		if (pidfd >= 0)
			close(pidfd);
		return xs_seterr(-XS_EMSG_PEER_BUSY, "peer watch: handle already watches pid %d",
				 (int)p->pid);
	}
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->pidfd = -1;
	p->fn = fn;
	p->arg = arg;

	if (pidfd < 0 && !w->no_pidfd && !gone) {
		pidfd = sys_pidfd_open(pid);
		if (pidfd == -ESRCH) {
			gone = 1;
		} else if (pidfd == -ENOSYS || pidfd == -EPERM) {
			/* kernel without pidfd_open, or a seccomp filter refusing it */
			if (w->flags & XS_PEER_REQUIRE_PIDFD) {
				pthread_mutex_unlock(&w->mu);
				return xs_seterr(-XS_EMSG_NO_PIDFD,
						 "peer watch: pidfd_open(%d) unavailable (%s) and "
						 "polling fallback refused",
						 (int)pid, strerror(-pidfd));
			}
			w->no_pidfd = 1;
		} else if (pidfd < 0) {
			pthread_mutex_unlock(&w->mu);
			return xs_seterr(pidfd, "peer watch: pidfd_open(%d) failed: %s", (int)pid,
					 strerror(-pidfd));
		}
	}

	if (pidfd >= 0 && (w->flags & XS_PEER_FORCE_POLL)) {
		p->method = XS_PEER_POLL; /* poll_dead() polls the pidfd */
		p->pidfd = pidfd;
	} else if (pidfd >= 0) {
		p->method = XS_PEER_PIDFD;
		p->pidfd = pidfd;
	} else if (!gone) {
		err = proc_stat(pid, &st, &p->start_time);
		if (err == -ENOENT || err == -ESRCH) {
			gone = 1;
		} else if (err < 0) {
			pthread_mutex_unlock(&w->mu);
			return xs_seterr(err, "peer watch: cannot poll /proc/%d/stat: %s", (int)pid,
					 strerror(-err));
		} else {
			gone = st == 'Z' || st == 'X' || st == 'x';
		}
		p->method = XS_PEER_POLL;
	} else {
		p->method = XS_PEER_POLL; /* already gone: nothing to hold */
	}
	p->id = w->next_id++;
	p->w = w;
	if (p->method == XS_PEER_PIDFD) {
		ev.data.u64 = p->id;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0) {
			err = -errno;
			close(pidfd);
			memset(p, 0, sizeof(*p));
			p->pidfd = -1;
			pthread_mutex_unlock(&w->mu);
			return xs_seterr(err, "peer watch: epoll_ctl(pidfd of %d) failed: %s",
					 (int)pid, strerror(-err));
		}
	} else {
		w->npoll++;
	}
	p->next = w->head;
	w->head = p;
	if (gone)
		mark_dead(w, p); /* flag now; the callback comes from the watcher thread */
	pthread_mutex_unlock(&w->mu);
	/* The thread recomputes its epoll timeout (polling) and delivers callbacks. */
	wake(w);
	return 0;
}

int xs_peer_watch(struct xs_peer_watcher *w, struct xs_peer *p, pid_t pid, xs_peer_fn fn,
		  void *arg)
{
	return watch(w, p, pid, -1, fn, arg, 0);
}

int xs_peer_watch_socket(struct xs_peer_watcher *w, struct xs_peer *p, int sock, xs_peer_fn fn,
			 void *arg)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd = -1, err;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return xs_seterr(-errno, "peer watch: SO_PEERCRED on fd %d failed: %s", sock,
				 strerror(errno));
	if (!(w->flags & XS_PEER_FORCE_POLL)) {
		len = sizeof(pidfd);
		if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
			err = errno;
			pidfd = -1;
			/* The connecting process is already gone (reaped: ESRCH, or
			 * EINVAL before Linux 6.15): register it dead. Looking its pid
			 * up again could find a new process given the same pid. */
			if (err == ESRCH || (err == EINVAL && cred.pid > 0))
				return watch(w, p, cred.pid, -1, fn, arg, 1);
			/* ENOPROTOOPT before Linux 6.5: SO_PEERCRED's pid below */
		} else if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
			err = -errno;
			close(pidfd);
			return xs_seterr(err, "peer watch: FD_CLOEXEC on a pidfd failed");
		}
	}
	return watch(w, p, cred.pid, pidfd, fn, arg, 0);
}

/* The pid a pidfd refers to (its fdinfo "Pid:" line): > 0, or 0 when not
 * known (no /proc, a process of another pid namespace, or already reaped). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &v) == 1)
			break;
	fclose(f);
	return v > 0 ? (pid_t)v : 0;
}

int xs_peer_watch_pidfd(struct xs_peer_watcher *w, struct xs_peer *p, int pidfd, xs_peer_fn fn,
			void *arg)
{
	int fd;

	if (pidfd < 0)
		return xs_seterr(-EBADF, "peer watch: no pidfd (%d)", pidfd);
	/* our own descriptor: the caller keeps (and closes) its one */
	fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return xs_seterr(-errno, "peer watch: duplicating pidfd %d failed: %s", pidfd,
				 strerror(errno));
	return watch(w, p, pidfd_pid(fd), fd, fn, arg, 0);
}

int xs_peer_unwatch(struct xs_peer_watcher *w, struct xs_peer *p)
{
	int self;

	pthread_mutex_lock(&w->mu);
	if (p->w != w || !p->id) {
		pthread_mutex_unlock(&w->mu);
		return xs_seterr(-XS_EMSG_PEER_UNKNOWN, "peer unwatch: handle not watched here");
	}
	detach(w, p);
	/* The callback of @p p may be running with mu released: wait for it,
	 * unless we are that callback (then it ends when we return). */
	self = pthread_equal(pthread_self(), w->thr);
	while (!self && w->running == p)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_cond_broadcast(&w->cv); /* release xs_peer_wait() callers */
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int xs_peer_wait(struct xs_peer *p, int timeout_ms)
{
	struct xs_peer_watcher *w = p->w;
	struct timespec dl;
	int dead;

	if (!w)
		return __atomic_load_n(&p->dead, __ATOMIC_ACQUIRE)
			       ? 1
			       : xs_seterr(-XS_EMSG_PEER_UNKNOWN, "peer wait: handle not watched");
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms > 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&w->mu);
	while (!(dead = (int)p->dead) && p->w == w && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&w->cv, &w->mu);
		else if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT)
			break;
	}
	dead = (int)p->dead;
	pthread_mutex_unlock(&w->mu);
	return dead ? 1 : 0;
}

pid_t xs_peer_pid(const struct xs_peer *p)
{
	/* Ordering: Relaxed, see detach(); pid is set before the handle is
	 * published to other threads by the caller. */
	return __atomic_load_n(&p->w, __ATOMIC_RELAXED) ? p->pid : 0;
}

int xs_peer_method(const struct xs_peer *p)
{
	return __atomic_load_n(&p->method, __ATOMIC_RELAXED);
}

uint64_t xs_peer_dead_ns(const struct xs_peer *p)
{
	/* Ordering: Acquire pairs with the Release store of the flag in mark_dead(). */
	return __atomic_load_n(&p->dead, __ATOMIC_ACQUIRE) ? p->dead_ns : 0;
}
