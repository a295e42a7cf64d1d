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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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
