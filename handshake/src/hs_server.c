/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Handshake server (the validator side): listen on a path, serve many
 * handshakes at once, create the session objects, send them.
 *
 * Each connection is a small state machine (conn_input) fed by one of two
 * drivers with the same semantics:
 *  - io_uring: accept, and per connection one recv linked to a relative
 *    timeout of conn_timeout (upstream's SO_RCVTIMEO of 1 s), all in flight
 *    at once; the serving thread only wakes for completions;
 *  - poll(): a non-blocking listener and sockets, the same per-read
 *    deadlines computed by hand.
 * After each read, as upstream, a connection whose first read started more
 * than conn_timeout ago is refused with "Timeout", so a trickling client is
 * gone within 2 x conn_timeout, and one that stalls within conn_timeout of
 * its last byte, whatever the others do.
 *
 * Replies: a failure frame is written once, non-blocking, then the
 * connection is closed (as upstream); the success byte and its descriptors
 * go in one non-blocking sendmsg (the peer's receive queue is empty: it is
 * waiting for this reply, so it cannot block). Both with MSG_NOSIGNAL.
 */
#include "hs_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Handshakes in flight at once, at most (CQ: 2 completions each). */
#define XS__HS_MAX_CONNS 16384u

enum hs_op {
	OP_ACCEPT = 1,
	OP_RECV = 2,
	OP_RECV_TIMEOUT = 3,
	OP_STOP = 4,
	OP_RETRY = 5,
	OP_ACCEPT_TIMEOUT = 6,
};

/* user_data: op in bits 56..63, slot in 32..55, generation in 0..31. */
#define UD(op, slot, gen) (((uint64_t)(op) << 56) | ((uint64_t)(slot) << 32) | (uint64_t)(gen))
#define UD_OP(u)   ((unsigned)((u) >> 56))
#define UD_SLOT(u) ((uint32_t)(((u) >> 32) & 0xffffffu))
#define UD_GEN(u)  ((uint32_t)(u))

enum conn_state {
	C_FREE = 0,
	C_READING = 1, /* waiting for logon bytes */
	C_ZOMBIE = 2,  /* finished, completions still to come (io_uring) */
};

/* What conn_input decided. */
enum conn_verdict {
	V_CONTINUE = 0, /* read more */
	V_DONE = 1,     /* connection finished without a session */
	V_SESSION = 2,  /* a session was made */
};

struct hs_conn {
	int fd;
	uint32_t gen;
	uint8_t state;   /* enum conn_state */
	uint8_t pending; /* io_uring completions still to come */
	uint16_t pad_;
	uint32_t got;            /* logon bytes received */
	uint64_t id;             /* connection sequence number */
	uint64_t start_ns;       /* accept time: upstream's elapsed check starts here */
	uint64_t boot_ns;        /* accept time on CLOCK_BOOTTIME (peer pidfd check) */
	uint64_t read_deadline;  /* poll path: end of the current read */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint8_t buf[XS_HS_LOGON_BUF];
};

struct xs_hs_server {
	struct xs_hs_server_opts opts;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* our socket file, to unlink only it */
	ino_t ino;
	int lfd;
	int efd; /* stop request (eventfd) */
	const struct xs_hs_proto *proto;
	uint64_t timeout;
	int backend;
	int uring_err;
	struct io_uring ring;
	uint8_t ring_ok;
	uint8_t accept_armed;
	uint8_t stop_armed;
	uint8_t retry_armed;
	struct __kernel_timespec read_ts;  /* per-read timeout (relative) */
	struct __kernel_timespec retry_ts; /* pause after a failed accept */
	struct __kernel_timespec accept_ts; /* serve deadline (absolute) of the armed accept */
	uint64_t retry_at;                 /* poll path: end of that pause */
	struct hs_conn *conns;
	uint32_t max_conns;
	uint32_t nactive; /* connections being read (C_READING) */
	uint32_t nbusy;   /* slots not free: C_READING or C_ZOMBIE */
	uint64_t next_id;
	uint64_t n_accepted, n_sessions, n_rejected;
};

/* --------------------------------------------------------------- events */

void xs_hs_event_log(void *file, const struct xs_hs_event *ev)
{
	FILE *f = file ? file : stderr;
	static const char *kinds[] = { "?", "rejected", "failed", "accept" };

	fprintf(f,
		"xsched handshake: conn %" PRIu64 " %s after %" PRIu64 " us (%u logon bytes, pid %d uid %u): "
		"%s%s%s%s%s\n",
		ev->conn_id, kinds[ev->kind >= 1 && ev->kind <= 3 ? ev->kind : 0],
		ev->elapsed_ns / 1000, ev->received, (int)ev->peer_pid, (unsigned)ev->peer_uid,
		xs_strerror(ev->err), ev->reason && ev->reason[0] ? "; sent \"" : "",
		ev->reason ? ev->reason : "", ev->reason && ev->reason[0] ? "\"" : "",
		ev->reply_err ? "; reply not delivered" : "");
}

static void emit(struct xs_hs_server *s, const struct hs_conn *c, int kind, int err,
		 int reply_err, const char *reason)
{
	struct xs_hs_event ev = {
		.kind = kind,
		.err = err,
		.reply_err = reply_err,
		.reason = reason ? reason : "",
	};

	if (c) {
		ev.received = c->got;
		ev.conn_id = c->id;
		ev.elapsed_ns = xs__hs_now() - c->start_ns;
		ev.peer_pid = c->pid;
		ev.peer_uid = c->uid;
		ev.peer_gid = c->gid;
	}
	if (kind != XS_HS_EV_ACCEPT)
		s->n_rejected++;
	if (s->opts.on_event)
		s->opts.on_event(s->opts.event_arg, &ev);
}

/* ----------------------------------------------------------- connections */

static struct hs_conn *conn_new(struct xs_hs_server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	for (uint32_t i = 0; i < s->max_conns; i++) {
		struct hs_conn *c = &s->conns[i];

		if (c->state != C_FREE)
			continue;
		c->fd = fd;
		c->gen++;
		c->state = C_READING;
		c->pending = 0;
		c->got = 0;
		c->id = ++s->next_id;
		c->start_ns = xs__hs_now();
		c->boot_ns = xs__hs_boot_ns();
		c->read_deadline = c->start_ns + s->timeout;
		c->pid = 0;
		c->uid = 0;
		c->gid = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->pid = cred.pid;
			c->uid = cred.uid;
			c->gid = cred.gid;
		}
		s->nactive++;
		s->nbusy++;
		s->n_accepted++;
		return c;
	}
	return NULL; /* callers only accept with a free slot (nbusy < max_conns) */
}

/* A finished slot whose completions are all in becomes reusable. */
static void conn_release(struct xs_hs_server *s, struct hs_conn *c)
{
	c->state = C_FREE;
	s->nbusy--;
}

/* Close the socket; the slot is reused once its completions are all in. */
static void conn_finish(struct xs_hs_server *s, struct hs_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_ZOMBIE;
	s->nactive--;
	if (!c->pending)
		conn_release(s, c);
}

/* Send a failure frame (one non-blocking write, as upstream) and finish. */
static void conn_reject(struct xs_hs_server *s, struct hs_conn *c, int err, const char *reason)
{
	uint8_t frame[2 + XS_HS_MAX_REASON];
	int n = xs_hs_encode_failure(reason, frame, sizeof(frame)), reply_err = 0;
	ssize_t w = send(c->fd, frame, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0)
		reply_err = -errno;
	else if (w < n)
		reply_err = -EAGAIN; /* short write, not retried (upstream) */
	emit(s, c, XS_HS_EV_REJECTED, err, reply_err, reason);
	conn_finish(s, c);
}

/* Send the success byte with every descriptor in one SCM_RIGHTS message. */
static int send_success(int fd, const int *fds, uint32_t n)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * XS_HS_MAX_FDS)];
	} ctl;
	uint8_t byte = XS_HS_LOGON_SUCCESS;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.b,
		.msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *cm;
	ssize_t w;

	memset(ctl.b, 0, sizeof(ctl.b));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	do
		w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return w == 1 ? 0 : -EAGAIN;
}

/* The whole logon is in: validate, create, reply. */
static int conn_logon(struct xs_hs_server *s, struct hs_conn *c, struct xs_vsession **out)
{
	char reason[XS_HS_MAX_REASON + 1];
	int fds[XS_HS_MAX_FDS];
	struct xs_logon lg;
	struct xs_vsession *vs;
	int err, pidfd;

	err = xs_hs_parse_logon(c->buf, c->got, s->proto->version, &lg, reason, sizeof(reason));
	if (err) {
		conn_reject(s, c, err, reason);
		return V_DONE;
	}
	/* VERSION 5: the logon has no check_worker_count; the server's own
	 * setting decides how many check workers share the check queues */
	if (s->proto->nglobal == XS_HS_GLOBAL_SHMEM_CHECK &&
	    s->proto->field_off[XS_LF_CHECK_WORKER_COUNT] == XS_LF_ABSENT)
		lg.check_worker_count = s->opts.check_workers ? s->opts.check_workers : 1;
	/* The client process, for peer-death watching, while the socket is
	 * open: a client gone already (reaped) is no session. */
	pidfd = xs__hs_peer_pidfd(c->fd, c->pid, c->boot_ns, 0);
	if (pidfd == -ENOSYS) {
		pidfd = -1; /* no pidfd on this kernel: peer_pid only */
	} else if (pidfd < 0) {
		emit(s, c, XS_HS_EV_FAILED, pidfd, 0, "");
		conn_finish(s, c);
		return V_DONE;
	}
	err = xs_hs_objects_create_bound(s->proto->version, &lg, s->opts.huge, !s->opts.no_seal,
					 s->opts.bind_fn, s->opts.bind_arg, &vs, fds, reason,
					 sizeof(reason));
	if (err) {
		if (pidfd >= 0)
			close(pidfd);
		if (!reason[0])
			xs_hs_format_io(reason, sizeof(reason), err < 0 && -err < XS_E_BASE ? err : -EIO);
		conn_reject(s, c, err, reason);
		return V_DONE;
	}
	vs->peer_pidfd = pidfd; /* closed with the session from here on */
	err = send_success(c->fd, fds, vs->num_objects);
	/* the server keeps only its mappings (as upstream) */
	xs__hs_close_fds(fds, vs->num_objects);
	if (err) {
		emit(s, c, XS_HS_EV_FAILED, err, err, "");
		xs_vsession_close(vs);
		conn_finish(s, c);
		return V_DONE;
	}
	vs->peer_pid = c->pid;
	vs->peer_uid = c->uid;
	vs->peer_gid = c->gid;
	vs->backend = s->backend;
	s->n_sessions++;
	conn_finish(s, c);
	*out = vs;
	return V_SESSION;
}

/*
 * One read finished on @p c: @p res bytes (0: EOF, < 0: -errno), or the
 * per-read timeout expired (@p timed_out).
 */
static int conn_input(struct xs_hs_server *s, struct hs_conn *c, long res, int timed_out,
		      struct xs_vsession **out)
{
	char reason[160];

	if (timed_out) {
		/* what upstream's expired SO_RCVTIMEO reads as */
		xs_hs_format_io(reason, sizeof(reason), -EAGAIN);
		conn_reject(s, c, -ETIMEDOUT, reason);
		return V_DONE;
	}
	if (res < 0) {
		xs_hs_format_io(reason, sizeof(reason), (int)res);
		conn_reject(s, c, -XS_EHS_IO, reason);
		return V_DONE;
	}
	if (res == 0) {
		conn_reject(s, c, -XS_EHS_EOF, "Close during handshake");
		return V_DONE;
	}
	c->got += (uint32_t)res;
	if (xs__hs_now() - c->start_ns > s->timeout) {
		conn_reject(s, c, -ETIMEDOUT, "Timeout");
		return V_DONE;
	}
	if (c->got < XS_HS_LOGON_BUF)
		return V_CONTINUE;
	return conn_logon(s, c, out);
}

/* A new connection: check the peer, then start reading. */
static int conn_accepted(struct xs_hs_server *s, struct hs_conn *c)
{
	char reason[64];

	if (s->opts.check_uid && c->uid != s->opts.allowed_uid) {
		snprintf(reason, sizeof(reason), "Permission denied; uid=%u", (unsigned)c->uid);
		conn_reject(s, c, -XS_EHS_PEER, reason);
		return V_DONE;
	}
	return V_CONTINUE;
}

/* ------------------------------------------------------- io_uring driver */

/* Make room for @p n SQEs that must go in the same submission (a linked
 * pair must not be split: a link cut at the end of a submission runs
 * without its timeout). */
static void reserve_sqes(struct xs_hs_server *s, unsigned n)
{
	if (io_uring_sq_space_left(&s->ring) < n)
		io_uring_submit(&s->ring);
}

static struct io_uring_sqe *get_sqe(struct xs_hs_server *s)
{
	reserve_sqes(s, 1);
	return io_uring_get_sqe(&s->ring);
}

static void arm_recv(struct xs_hs_server *s, struct hs_conn *c, uint32_t slot)
{
	struct io_uring_sqe *sqe;

	reserve_sqes(s, 2);
	sqe = io_uring_get_sqe(&s->ring);

	io_uring_prep_recv(sqe, c->fd, c->buf + c->got, XS_HS_LOGON_BUF - c->got, 0);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, UD(OP_RECV, slot, c->gen));
	sqe = io_uring_get_sqe(&s->ring);
	io_uring_prep_link_timeout(sqe, &s->read_ts, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_RECV_TIMEOUT, slot, c->gen));
	c->pending += 2;
}

/*
 * Keep a stop poll and (with a free slot) an accept in flight. With a serve
 * deadline the accept is linked to an absolute timeout at it, like every
 * other wait; a cancelled accept is simply armed again by the next call.
 */
static void arm_listen(struct xs_hs_server *s, uint64_t deadline)
{
	struct io_uring_sqe *sqe;

	if (!s->stop_armed) {
		sqe = get_sqe(s);
		io_uring_prep_poll_add(sqe, s->efd, POLLIN);
		io_uring_sqe_set_data64(sqe, UD(OP_STOP, 0, 0));
		s->stop_armed = 1;
	}
	/* only with a slot free: a zombie slot (completions still to come)
	 * cannot take the connection, which would then be dropped */
	if (!s->accept_armed && !s->retry_armed && s->nbusy < s->max_conns) {
		reserve_sqes(s, deadline ? 2 : 1);
		sqe = io_uring_get_sqe(&s->ring);
		io_uring_prep_accept(sqe, s->lfd, NULL, NULL, SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, 0, 0));
		if (deadline) {
			sqe->flags |= IOSQE_IO_LINK;
			s->accept_ts.tv_sec = (long long)(deadline / 1000000000ull);
			s->accept_ts.tv_nsec = (long long)(deadline % 1000000000ull);
			sqe = io_uring_get_sqe(&s->ring);
			io_uring_prep_link_timeout(sqe, &s->accept_ts, IORING_TIMEOUT_ABS);
			io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT_TIMEOUT, 0, 0));
		}
		s->accept_armed = 1;
	}
}

/* A failed accept: out of descriptors or memory pauses accepting briefly
 * (instead of spinning); the listener itself stays. */
static void accept_failed(struct xs_hs_server *s, int err)
{
	emit(s, NULL, XS_HS_EV_ACCEPT, err, 0, "");
	if (s->ring_ok) {
		struct io_uring_sqe *sqe = get_sqe(s);

		io_uring_prep_timeout(sqe, &s->retry_ts, 0, 0);
		io_uring_sqe_set_data64(sqe, UD(OP_RETRY, 0, 0));
		s->retry_armed = 1;
	} else {
		s->retry_at = xs__hs_now() + 50000000ull;
	}
}

static int accept_transient(int err)
{
	/* -ECANCELED: its linked timeout (the serve deadline) expired */
	return err == -EINTR || err == -EAGAIN || err == -ECONNABORTED || err == -ECANCELED;
}

/* Handle one completion. @return a verdict or a negative stop code. */
static int uring_dispatch(struct xs_hs_server *s, uint64_t ud, int res, struct xs_vsession **out)
{
	uint32_t slot = UD_SLOT(ud);
	struct hs_conn *c = slot < s->max_conns ? &s->conns[slot] : NULL;
	int v;

	switch (UD_OP(ud)) {
	case OP_ACCEPT:
		s->accept_armed = 0;
		if (res < 0) {
			if (!accept_transient(res))
				accept_failed(s, res);
			return V_CONTINUE;
		}
		c = conn_new(s, res);
		if (!c) {
			close(res);
			return V_CONTINUE;
		}
		if (conn_accepted(s, c) == V_CONTINUE)
			arm_recv(s, c, (uint32_t)(c - s->conns));
		return V_CONTINUE;
	case OP_RECV:
		if (!c || c->gen != UD_GEN(ud))
			return V_CONTINUE;
		c->pending--;
		if (c->state != C_READING) {
			if (!c->pending)
				conn_release(s, c);
			return V_CONTINUE;
		}
		/* -ECANCELED: the linked timeout fired and cancelled the recv */
		v = conn_input(s, c, res, res == -ECANCELED, out);
		if (v == V_CONTINUE)
			arm_recv(s, c, slot);
		return v;
	case OP_RECV_TIMEOUT:
		if (!c || c->gen != UD_GEN(ud))
			return V_CONTINUE;
		c->pending--;
		if (c->state == C_ZOMBIE && !c->pending)
			conn_release(s, c);
		return V_CONTINUE;
	case OP_STOP:
		s->stop_armed = 0;
		return -XS_EHS_STOPPED;
	case OP_RETRY:
		s->retry_armed = 0;
		return V_CONTINUE;
	case OP_ACCEPT_TIMEOUT: /* the accept's own completion says what happened */
	default:
		return V_CONTINUE;
	}
}

static int uring_serve(struct xs_hs_server *s, uint64_t deadline, struct xs_vsession **out)
{
	for (;;) {
		struct __kernel_timespec ts;
		struct io_uring_cqe *cqe;
		int err;

		arm_listen(s, deadline);
		if (deadline) {
			uint64_t now = xs__hs_now(), left = now < deadline ? deadline - now : 0;

			ts.tv_sec = (long long)(left / 1000000000ull);
			ts.tv_nsec = (long long)(left % 1000000000ull);
		}
		err = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, deadline ? &ts : NULL, NULL);
		if (err < 0 && err != -ETIME && err != -EINTR)
			return xs_seterr(err, "io_uring wait: %s", strerror(-err));
		while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			int res = cqe->res, v;

			io_uring_cqe_seen(&s->ring, cqe);
			v = uring_dispatch(s, ud, res, out);
			if (v == V_SESSION || v < 0) {
				io_uring_submit(&s->ring); /* re-arms for the next call */
				if (v == -XS_EHS_STOPPED) {
					uint64_t val;

					if (read(s->efd, &val, sizeof(val)) < 0) {
						/* already drained: nothing to clear */
					}
					return xs_seterr(-XS_EHS_STOPPED, "handshake server stopped");
				}
				return v == V_SESSION ? 0 : v;
			}
		}
		if (deadline && xs__hs_now() >= deadline) {
			io_uring_submit(&s->ring);
			return xs_seterr(-ETIMEDOUT, "no handshake completed before the deadline");
		}
	}
}

/* ----------------------------------------------------------- poll driver */

static int poll_serve(struct xs_hs_server *s, uint64_t deadline, struct xs_vsession **out)
{
	struct pollfd *pfd = malloc(sizeof(*pfd) * (s->max_conns + 2));
	uint32_t *slot_of = malloc(sizeof(*slot_of) * (s->max_conns + 2));
	int rc = 0;

	if (!pfd || !slot_of) {
		free(pfd);
		free(slot_of);
		return -ENOMEM;
	}
	for (;;) {
		uint64_t now = xs__hs_now(), wake = deadline ? deadline : UINT64_MAX;
		nfds_t n = 0;
		int accepting = s->nbusy < s->max_conns && now >= s->retry_at;
		struct timespec ts;
		int k;

		pfd[n++] = (struct pollfd){ .fd = s->efd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = accepting ? s->lfd : -1, .events = POLLIN };
		if (!accepting && s->nbusy < s->max_conns && s->retry_at < wake)
			wake = s->retry_at;
		for (uint32_t i = 0; i < s->max_conns; i++) {
			struct hs_conn *c = &s->conns[i];

			if (c->state != C_READING)
				continue;
			if (c->read_deadline < wake)
				wake = c->read_deadline;
			slot_of[n] = i;
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		}
		if (wake != UINT64_MAX) {
			uint64_t left = wake > now ? wake - now : 0;

			ts.tv_sec = (time_t)(left / 1000000000ull);
			ts.tv_nsec = (long)(left % 1000000000ull);
		}
		k = ppoll(pfd, n, wake != UINT64_MAX ? &ts : NULL, NULL);
		if (k < 0 && errno != EINTR) {
			rc = xs_seterr(-errno, "poll: %s", strerror(errno));
			break;
		}
		if (k > 0 && (pfd[0].revents & POLLIN)) {
			uint64_t val;

			if (read(s->efd, &val, sizeof(val)) < 0) {
				/* drained by a racing stop: still a stop */
			}
			rc = xs_seterr(-XS_EHS_STOPPED, "handshake server stopped");
			break;
		}
		/* readable connections first: they were waiting longest */
		for (nfds_t j = 2; k > 0 && j < n; j++) {
			struct hs_conn *c = &s->conns[slot_of[j]];
			ssize_t r;
			int v;

			if (!pfd[j].revents || c->state != C_READING)
				continue;
			r = recv(c->fd, c->buf + c->got, XS_HS_LOGON_BUF - c->got, MSG_DONTWAIT);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			v = conn_input(s, c, r < 0 ? -errno : r, 0, out);
			if (v == V_CONTINUE)
				c->read_deadline = xs__hs_now() + s->timeout; /* next read */
			if (v == V_SESSION)
				goto done;
		}
		now = xs__hs_now();
		for (uint32_t i = 0; i < s->max_conns; i++) {
			struct hs_conn *c = &s->conns[i];

			if (c->state == C_READING && c->read_deadline <= now)
				conn_input(s, c, 0, 1, out);
		}
		if (k > 0 && (pfd[1].revents & POLLIN)) {
			while (s->nbusy < s->max_conns) {
				int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				struct hs_conn *c;

				if (fd < 0) {
					int e = errno;

					if (e == EINTR || e == ECONNABORTED)
						continue;
					if (e != EAGAIN)
						accept_failed(s, -e);
					break;
				}
				c = conn_new(s, fd);
				if (!c) {
					close(fd);
					break;
				}
				conn_accepted(s, c);
			}
		}
		if (deadline && xs__hs_now() >= deadline) {
			rc = xs_seterr(-ETIMEDOUT, "no handshake completed before the deadline");
			break;
		}
	}
done:
	free(pfd);
	free(slot_of);
	return rc;
}

/* --------------------------------------------------------------- public */

int xs_hs_server_serve(struct xs_hs_server *s, uint64_t deadline_ns, struct xs_vsession **out)
{
	if (!s || !out)
		return xs_seterr(-EINVAL, "xs_hs_server_serve: server and out are required");
	*out = NULL;
	return s->ring_ok ? uring_serve(s, deadline_ns, out) : poll_serve(s, deadline_ns, out);
}

void xs_hs_server_stop(struct xs_hs_server *s)
{
	uint64_t one = 1;

	if (s && write(s->efd, &one, sizeof(one)) < 0) {
		/* counter saturated: a stop is already pending */
	}
}

int xs_hs_server_backend(const struct xs_hs_server *s)
{
	return s->backend;
}

int xs_hs_server_uring_err(const struct xs_hs_server *s)
{
	return s->uring_err;
}

void xs_hs_server_stats(const struct xs_hs_server *s, uint64_t *accepted, uint64_t *sessions,
			uint64_t *rejected)
{
	if (accepted)
		*accepted = s->n_accepted;
	if (sessions)
		*sessions = s->n_sessions;
	if (rejected)
		*rejected = s->n_rejected;
}

/*
 * What is at the path: nothing (0), a live socket (-EADDRINUSE), a stale
 * one (1), or something else (-EEXIST). A socket is live when a connect
 * succeeds or would wait for backlog room.
 */
/* "<dir>/.<base>.<pid>.tmp" beside @p path, or "" when it does not fit a
 * sockaddr_un. */
static const char *bind_tmp_name(char *buf, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path + 1) : 0;
	int n = snprintf(buf, size, "%.*s.%s.%ld.tmp", dl, path, slash ? slash + 1 : path,
			 (long)getpid());

	if (n < 0 || (size_t)n >= size)
		buf[0] = '\0';
	return buf;
}

static int probe_path(const struct sockaddr_un *sa, socklen_t len, const char *path)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : xs_seterr(-errno, "lstat(%s): %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return xs_seterr(-EEXIST, "%s exists and is not a socket: left alone", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, len);
	r = r == 0 ? 0 : errno;
	close(fd);
	if (r == 0 || r == EAGAIN || r == EINPROGRESS)
		return xs_seterr(-EADDRINUSE, "a server is already listening on %s", path);
	if (r == ECONNREFUSED)
		return 1;
	return xs_seterr(-EADDRINUSE, "cannot tell whether %s is in use: %s", path, strerror(r));
}

int xs_hs_server_listen(const struct xs_hs_server_opts *opts, struct xs_hs_server **out)
{
	struct xs_hs_server *s;
	struct sockaddr_un sa;
	uint64_t version;
	struct stat st;
	mode_t mode;
	int len, err, st_path;
	struct sockaddr_un tmp_sa;
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *bound;
	int tmp_len;

	if (!out)
		return xs_seterr(-EINVAL, "xs_hs_server_listen: out is NULL");
	*out = NULL;
	if (!opts || !opts->path)
		return xs_seterr(-EINVAL, "xs_hs_server_listen: options and path are required");
	version = opts->version ? opts->version : XS_HS_VERSION_DEFAULT;
	if (!xs_hs_proto_get(version) || !xs_hs_proto_get(version)->sessions)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken%s", version,
				 xs_hs_proto_get(version) ? " by the server yet (wire codecs only)" : "");
	if (opts->huge > XS_HS_HUGE_EACH)
		return xs_seterr(-EINVAL, "huge-page policy %u unknown", opts->huge);
	if (opts->check_workers > XS_HS_MAX_CHECK_WORKERS)
		return xs_seterr(-EINVAL, "check_workers %u outside 1..=%u", opts->check_workers,
				 XS_HS_MAX_CHECK_WORKERS);
	len = xs__hs_sockaddr(&sa, opts->path);
	if (len < 0)
		return len;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opts = *opts;
	s->lfd = s->efd = -1;
	s->proto = xs_hs_proto_get(version);
	snprintf(s->path, sizeof(s->path), "%s", opts->path);
	s->opts.path = s->path;
	s->timeout = opts->conn_timeout_ns ? opts->conn_timeout_ns : XS_HS_TIMEOUT_NS;
	s->read_ts.tv_sec = (long long)(s->timeout / 1000000000ull);
	s->read_ts.tv_nsec = (long long)(s->timeout % 1000000000ull);
	s->retry_ts.tv_nsec = 50000000; /* 50 ms */
	s->max_conns = opts->max_conns ? opts->max_conns : 128;
	if (s->max_conns > XS__HS_MAX_CONNS)
		s->max_conns = XS__HS_MAX_CONNS;
	s->conns = calloc(s->max_conns, sizeof(*s->conns));
	if (!s->conns) {
		err = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < s->max_conns; i++)
		s->conns[i].fd = -1;

	/* Never take over a live socket; replace a stale one only when asked. */
	st_path = probe_path(&sa, (socklen_t)len, s->path);
	if (st_path < 0) {
		err = st_path;
		goto fail;
	}
	if (st_path == 1) {
		if (!opts->replace_stale) {
			err = xs_seterr(-EADDRINUSE,
					"stale socket at %s (nothing listening); set replace_stale to replace it",
					s->path);
			goto fail;
		}
		if (unlink(s->path) < 0 && errno != ENOENT) {
			err = xs_seterr(-errno, "unlink stale %s: %s", s->path, strerror(errno));
			goto fail;
		}
	}

	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		err = xs_seterr(-errno, "socket: %s", strerror(errno));
		goto fail;
	}
	/* The socket inode's mode (minus the umask) is the file's mode at
	 * bind: no window where the path is more open than asked. */
	mode = opts->mode ? (mode_t)opts->mode : 0600;
	if (fchmod(s->lfd, mode) < 0) {
		err = xs_seterr(-errno, "fchmod socket: %s", strerror(errno));
		goto fail;
	}
	/* The path must appear only once the socket listens: a client that
	 * waits for the file and connects at once would otherwise be refused
	 * in the window between bind() and listen(). So bind a temporary name
	 * in the same directory, listen, then rename it into place
	 * (RENAME_NOREPLACE: a socket that appeared since the probe is not
	 * taken over). A path too long for the temporary name binds directly. */
	tmp_len = xs__hs_sockaddr(&tmp_sa, bind_tmp_name(tmp, sizeof(tmp), s->path));
	if (tmp_len < 0 || !tmp[0]) {
		tmp[0] = '\0';
		tmp_sa = sa;
		tmp_len = len;
	}
	if (tmp[0])
		unlink(tmp); /* our own leftover from a crashed run with this pid */
	if (bind(s->lfd, (const struct sockaddr *)&tmp_sa, (socklen_t)tmp_len) < 0) {
		err = xs_seterr(-errno, "bind %s: %s", tmp[0] ? tmp : s->path, strerror(errno));
		goto fail;
	}
	bound = tmp[0] ? tmp : s->path;
	if (chmod(bound, mode) < 0 || listen(s->lfd, opts->backlog ? opts->backlog : 128) < 0) {
		err = xs_seterr(-errno, "chmod/listen %s: %s", s->path, strerror(errno));
		unlink(bound);
		goto fail;
	}
	if (tmp[0] && renameat2(AT_FDCWD, tmp, AT_FDCWD, s->path, RENAME_NOREPLACE) < 0) {
		err = xs_seterr(errno == EEXIST ? -EADDRINUSE : -errno,
				"publishing the socket at %s: %s", s->path, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	if (stat(s->path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		err = xs_seterr(-errno, "eventfd: %s", strerror(errno));
		unlink(s->path);
		goto fail;
	}

	s->backend = XS_HS_BACKEND_POLL;
	if (!opts->force_poll) {
		struct io_uring_params p;
		/* Submissions are flushed whenever the SQ is full, so it can be
		 * small; the CQ holds every completion that can be pending: two
		 * per connection, accept, stop, retry. */
		unsigned entries = 2 * s->max_conns + 8 < 256 ? 2 * s->max_conns + 8 : 256;

		/* No SINGLE_ISSUER: listen() and serve() may run on different
		 * threads. COOP_TASKRUN (5.19+) spares us IPIs; else plain. */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
		p.cq_entries = 2 * s->max_conns + 16;
		err = io_uring_queue_init_params(entries, &s->ring, &p);
		if (err == -EINVAL) {
			memset(&p, 0, sizeof(p));
			p.flags = IORING_SETUP_CQSIZE;
			p.cq_entries = 2 * s->max_conns + 16;
			err = io_uring_queue_init_params(entries, &s->ring, &p);
		}
		if (err == 0) {
			s->ring_ok = 1;
			s->backend = XS_HS_BACKEND_URING;
		} else {
			s->uring_err = err;
		}
	}
	if (!s->ring_ok) {
		int fl = fcntl(s->lfd, F_GETFL);

		if (fl < 0 || fcntl(s->lfd, F_SETFL, fl | O_NONBLOCK) < 0) {
			err = xs_seterr(-errno, "listener O_NONBLOCK: %s", strerror(errno));
			unlink(s->path);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	if (s->efd >= 0)
		close(s->efd);
	if (s->lfd >= 0)
		close(s->lfd);
	free(s->conns);
	free(s);
	return err;
}

void xs_hs_server_close(struct xs_hs_server *s)
{
	struct stat st;

	if (!s)
		return;
	/* Tear the ring down first: it cancels every accept/recv in flight. */
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	for (uint32_t i = 0; i < s->max_conns; i++)
		if (s->conns[i].state != C_FREE && s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	if (s->lfd >= 0)
		close(s->lfd);
	/* unlink only the socket we bound, not one that replaced it */
	if (s->ino && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	if (s->efd >= 0)
		close(s->efd);
	free(s->conns);
	free(s);
}
