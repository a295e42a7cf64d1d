/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client I/O: one socket operation at a time under an absolute deadline.
 *
 * io_uring: the operation SQE is linked (IOSQE_IO_LINK) to an
 * IORING_OP_LINK_TIMEOUT with IORING_TIMEOUT_ABS on CLOCK_MONOTONIC, so
 * every step ends by the caller's single deadline however the peer behaves.
 * Both completions are always posted (the timeout's is -ECANCELED when the
 * operation won). When the timer fires the operation completes with
 * -ECANCELED (it was waiting on poll) or -EINTR (a blocking connect running
 * in an io-wq worker), and we report -ETIMEDOUT once, here.
 *
 * poll: the same contract with a non-blocking socket and ppoll(); connect is
 * bounded with SO_SNDTIMEO, which AF_UNIX connect honours while it waits
 * for room in the listener's backlog (a non-blocking AF_UNIX connect would
 * return EAGAIN at once instead of waiting).
 */
#include "hs_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 (asm-generic/socket.h); older kernels: ENOPROTOOPT */
#endif

#define HS_UD_OP      1u
#define HS_UD_TIMEOUT 2u

int xs__hs_sockaddr(struct sockaddr_un *sa, const char *path)
{
	size_t n;

	if (!path || !path[0])
		return xs_seterr(-EINVAL, "handshake socket path is empty");
	n = strlen(path);
	memset(sa, 0, sizeof(*sa));
	if (n >= sizeof(sa->sun_path))
		return xs_seterr(-ENAMETOOLONG, "socket path of %zu bytes exceeds the %zu of sun_path",
				 n, sizeof(sa->sun_path) - 1);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return (int)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

void xs__hs_close_fds(const int *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void *xs__hs_zalloc_aligned(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, XS_CACHE_LINE, size ? size : XS_CACHE_LINE))
		return NULL;
	memset(p, 0, size);
	return p;
}

void xs__hs_workers_free(struct xs_hs_worker *w, uint32_t n)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < n; i++) {
		xs_spsc_close(&w[i].pack_to_worker);
		xs_spsc_close(&w[i].worker_to_pack);
	}
	free(w);
}

/* ------------------------------------------------------------ peer pidfd */

uint64_t xs__hs_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Start time of process @p pid (/proc/<pid>/stat field 22, clock ticks
 * since boot). The command name (field 2) may hold spaces and parentheses,
 * so fields are counted after the last ')'. */
static int proc_start_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EPROTO;
	p += 2; /* field 3 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EPROTO;
		p++;
	}
	*ticks = strtoull(p, NULL, 10);
	return 0;
}

/*
 * pidfd_open() on a pid read earlier, then proof that the descriptor names
 * the peer: while the pidfd's process has not exited it owns the pid, so
 * the /proc/<pid>/stat read before the exit check is its own; a process
 * that started after the connection was made cannot be the one that made
 * it (the peer died and its pid was given to another process). A process
 * found already exited is returned as is: it is the peer, or it proves the
 * peer gone before it; either way the watcher sees an exit at once.
 */
static int pidfd_checked(pid_t pid, uint64_t since_boot_ns)
{
	long tck = sysconf(_SC_CLK_TCK);
	struct pollfd pfd;
	uint64_t start;
	int fd, err;

#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0); /* always close-on-exec */
	if (fd < 0)
		err = -errno;
#else
	fd = -1;
	err = -ENOSYS;
#endif
	if (fd < 0) {
		if (err == -ENOSYS || err == -EPERM) /* old kernel, seccomp filter */
			return xs_seterr(-ENOSYS, "pidfd_open(%d) is unavailable (%s)", (int)pid,
					 strerror(-err));
		if (err == -ESRCH)
			return xs_seterr(-ESRCH, "peer process %d has exited", (int)pid);
		return xs_seterr(err, "pidfd_open(%d): %s", (int)pid, strerror(-err));
	}
	err = proc_start_ticks(pid, &start);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) == 1)
		return fd; /* exited: see above */
	if (err == 0 && tck > 0 && start > since_boot_ns / (1000000000ull / (uint64_t)tck)) {
		close(fd);
		return xs_seterr(-ESRCH, "peer process %d has exited: pid %d now names a process "
				 "started after the connection (start %llu ticks after boot, "
				 "connection at %llu ns)", (int)pid, (int)pid,
				 (unsigned long long)start, (unsigned long long)since_boot_ns);
	}
	/* err != 0: /proc of another pid namespace, or none; the pidfd of a
	 * live process taken while the connection stands is kept as is */
	return fd;
}

int xs__hs_peer_pidfd(int sock, pid_t pid, uint64_t since_boot_ns, unsigned flags)
{
	socklen_t len;
	int fd = -1, err;

	if (!(flags & XS__HS_PIDFD_NO_SOCKOPT)) {
		len = sizeof(fd);
		if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0) {
			/* the kernel's pidfd is not close-on-exec */
			if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
				err = -errno;
				close(fd);
				return xs_seterr(err, "FD_CLOEXEC on the peer's pidfd: %s",
						 strerror(-err));
			}
			return fd;
		}
		err = errno;
		/* The connecting (or listening) process is gone: reaped (ESRCH
		 * since Linux 6.15, EINVAL before). Its pid may name another
		 * process by now: never look it up. */
		if (err == ESRCH || err == EINVAL)
			return xs_seterr(-ESRCH, "peer process %d has exited (SO_PEERPIDFD: %s)",
					 (int)pid, strerror(err));
		if (err != ENOPROTOOPT && err != EOPNOTSUPP)
			return xs_seterr(-err, "SO_PEERPIDFD: %s", strerror(err));
		/* before Linux 6.5: pidfd_open on the SO_PEERCRED pid, checked */
	}
	if (pid <= 0)
		return xs_seterr(-ESRCH, "the socket names no peer process (pid %d)", (int)pid);
	return pidfd_checked(pid, since_boot_ns ? since_boot_ns : xs__hs_boot_ns());
}

int xs__hs_io_init(struct xs__hs_io *io, int force_poll)
{
	struct io_uring *r;
	int err;

	memset(io, 0, sizeof(*io));
	io->backend = XS_HS_BACKEND_POLL;
	if (force_poll)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	/* Few entries: one operation and its timeout at a time. Single issuer
	 * + deferred task work (6.1+) keeps completions on our own syscall;
	 * older kernels refuse the flags with -EINVAL, then plain setup. */
	err = io_uring_queue_init(4, r, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (err == -EINVAL)
		err = io_uring_queue_init(4, r, 0);
	if (err < 0) {
		/* disabled by sysctl (-EPERM), seccomp (-EPERM/-ENOSYS), no memory:
		 * the poll path has the same semantics */
		free(r);
		io->uring_err = err;
		return 0;
	}
	io->ring = r;
	io->backend = XS_HS_BACKEND_URING;
	return 0;
}

void xs__hs_io_fini(struct xs__hs_io *io)
{
	if (io->ring) {
		io_uring_queue_exit(io->ring);
		free(io->ring);
	}
	io->ring = NULL;
}

int xs__hs_io_socket(struct xs__hs_io *io)
{
	/* Blocking in both cases: io_uring polls sockets itself and needs a
	 * blocking connect to wait for backlog room; the poll path switches
	 * to non-blocking once connected. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)io;
	return fd < 0 ? xs_seterr(-errno, "socket(AF_UNIX): %s", strerror(errno)) : fd;
}

/* ------------------------------------------------------------ io_uring */

/*
 * Submit the prepared @p sqe linked to an absolute timeout at @p deadline,
 * wait for both completions. @return the operation's result, or -ETIMEDOUT.
 */
static long uring_run(struct io_uring *r, struct io_uring_sqe *sqe, uint64_t deadline)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(deadline / 1000000000ull),
		.tv_nsec = (long long)(deadline % 1000000000ull),
	};
	struct io_uring_sqe *t;
	long op_res = 0, to_res = 0;
	int seen = 0, err;

	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, HS_UD_OP);
	t = io_uring_get_sqe(r);
	/* 4 entries and at most 2 in use: there is always room */
	io_uring_prep_link_timeout(t, &ts, IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(t, HS_UD_TIMEOUT);

	/* One io_uring_enter submits both and waits for both completions. A
	 * signal before anything was submitted gives -EINTR: submit again (once
	 * submitted, the call returns the count even if the wait was cut). */
	do
		err = io_uring_submit_and_wait(r, 2);
	while (err == -EINTR);
	if (err < 0)
		return xs_seterr(err, "io_uring_submit: %s", strerror(-err));
	while (seen < 2) {
		struct io_uring_cqe *cqe;

		err = io_uring_wait_cqe(r, &cqe); /* returns at once when already there */
		if (err == -EINTR)
			continue;
		if (err < 0)
			return xs_seterr(err, "io_uring_wait_cqe: %s", strerror(-err));
		if (io_uring_cqe_get_data64(cqe) == HS_UD_OP)
			op_res = cqe->res;
		else
			to_res = cqe->res;
		io_uring_cqe_seen(r, cqe);
		seen++;
	}
	if (op_res >= 0)
		return op_res; /* won the race, even if the timer fired too */
	/* The timer fired (its result is -ETIME, or -EALREADY/-ENOENT when
	 * it had to interrupt a running worker) and cancelled the operation. */
	if (to_res != -ECANCELED && (op_res == -ECANCELED || op_res == -EINTR))
		return -ETIMEDOUT;
	return op_res;
}

/* ----------------------------------------------------------------- poll */

/* Wait for @p events on @p fd until @p deadline. @return 0, -ETIMEDOUT or -errno. */
static int poll_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t now = xs__hs_now(), left;
		struct timespec ts;
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		left = deadline - now;
		ts.tv_sec = (time_t)(left / 1000000000ull);
		ts.tv_nsec = (long)(left % 1000000000ull);
		n = ppoll(&p, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0; /* readable/writable, or HUP/ERR: the syscall reports it */
	}
}

static int poll_connect(int fd, const struct sockaddr_un *sa, socklen_t len, uint64_t deadline)
{
	for (;;) {
		uint64_t now = xs__hs_now(), left;
		struct timeval tv;
		int flags;

		if (now >= deadline)
			return -ETIMEDOUT;
		left = deadline - now;
		/* round up: a zero timeval would mean "wait forever" */
		tv.tv_sec = (time_t)(left / 1000000000ull);
		tv.tv_usec = (suseconds_t)((left % 1000000000ull + 999) / 1000);
		if (tv.tv_usec >= 1000000) {
			tv.tv_sec++;
			tv.tv_usec -= 1000000;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)sa, len) == 0) {
			static const struct timeval zero;

			/* non-blocking from here; clear the send timeout again */
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero));
			flags = fcntl(fd, F_GETFL);
			if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
				return -errno;
			return 0;
		}
		if (errno == EINTR)
			continue;
		/* the backlog stayed full for the whole SO_SNDTIMEO (rounded to
		 * jiffies, so it may end a little early): wait out the rest */
		if (errno == EAGAIN || errno == EINPROGRESS)
			continue;
		return -errno;
	}
}

/* ----------------------------------------------------------- operations */

int xs__hs_io_connect(struct xs__hs_io *io, int fd, const struct sockaddr_un *sa, socklen_t len,
		      uint64_t deadline)
{
	if (io->ring) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(io->ring);

		if (xs__hs_now() >= deadline)
			return -ETIMEDOUT;
		io_uring_prep_connect(sqe, fd, (const struct sockaddr *)sa, len);
		return (int)uring_run(io->ring, sqe, deadline);
	}
	return poll_connect(fd, sa, len, deadline);
}

int xs__hs_io_send_all(struct xs__hs_io *io, int fd, const void *buf, size_t len,
		       uint64_t deadline)
{
	const uint8_t *p = buf;

	while (len) {
		long n;

		if (xs__hs_now() >= deadline)
			return -ETIMEDOUT;
		if (io->ring) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(io->ring);

			io_uring_prep_send(sqe, fd, p, len, MSG_NOSIGNAL);
			n = uring_run(io->ring, sqe, deadline);
		} else {
			n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				n = -errno;
				if (n == -EAGAIN || n == -EINTR) {
					int err = poll_wait(fd, POLLOUT, deadline);

					if (err)
						return err;
					continue;
				}
			}
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long xs__hs_io_recvmsg(struct xs__hs_io *io, int fd, struct msghdr *msg, uint64_t deadline)
{
	size_t ctl = msg->msg_controllen;

	for (;;) {
		long n;

		if (xs__hs_now() >= deadline)
			return -ETIMEDOUT;
		msg->msg_controllen = ctl;
		msg->msg_flags = 0;
		if (io->ring) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(io->ring);

			/* the kernel writes msg_controllen and msg_flags back */
			io_uring_prep_recvmsg(sqe, fd, msg, MSG_CMSG_CLOEXEC);
			return uring_run(io->ring, sqe, deadline);
		}
		n = recvmsg(fd, msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		n = poll_wait(fd, POLLIN, deadline);
		if (n)
			return n;
	}
}
