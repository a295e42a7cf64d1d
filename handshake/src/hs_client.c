/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Handshake client (the scheduler side): connect, log on, validate the
 * reply, join the objects. One code path for every VERSION; what differs is
 * read from the version's row (xs_hs_proto_get()).
 */
#include "hs_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsched/alloc.h"
#include "xsched/shm.h"

/* Room for the largest legal answer: one SCM_RIGHTS of 131 descriptors.
 * Anything bigger is cut by the kernel (MSG_CTRUNC), which we refuse. */
#define HS_CTL_SIZE CMSG_SPACE(sizeof(int) * XS_HS_MAX_FDS)

void xs_session_close(struct xs_session *s)
{
	if (!s)
		return;
	xs__hs_workers_free(s->workers, s->num_workers);
	xs_spsc_close(&s->tpu_to_pack);
	xs_spsc_close(&s->progress);
	if (s->allocs) {
		/* handles made with join_handle first, the one that mapped last */
		for (uint32_t k = s->num_allocs; k-- > 0;)
			if (s->allocs[k])
				xs_alloc_close(s->allocs[k]);
		free(s->allocs);
	}
	free(s->object_state);
	if (s->peer_pidfd >= 0)
		close(s->peer_pidfd);
	free(s);
}

static const char *obj_name(uint32_t i)
{
	if (i == 0)
		return "allocator";
	if (i == 1)
		return "tpu_to_pack";
	if (i == 2)
		return "progress_tracker";
	return (i - 3) % 2 == 0 ? "pack_to_worker" : "worker_to_pack";
}

/*
 * Check each received descriptor with one fstat and one F_GET_SEALS: a
 * regular file (memfd), its size (kept for mapping), sealed against
 * resizing or not, huge pages or not (hugetlbfs reports its page size as
 * st_blksize).
 */
static int inspect_objects(struct xs_session *s, const int *fds, size_t *sizes,
			   int require_sealed, struct xs_hs_report *rep)
{
	for (uint32_t i = 0; i < s->num_objects; i++) {
		struct stat st;
		int seals, state = 0;

		if (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
		    (uint64_t)st.st_size > SIZE_MAX) {
			rep->fd_index = (int)i;
			rep->cause = -EBADF;
			return xs_seterr(i == 0 ? -XS_EHS_ALLOC : -XS_EHS_QUEUE,
					 "descriptor %u (%s) is not a shared-memory file (mode 0%o, %lld bytes)",
					 i, obj_name(i), (unsigned)st.st_mode, (long long)st.st_size);
		}
		sizes[i] = (size_t)st.st_size;
		seals = fcntl(fds[i], F_GET_SEALS);
		if (seals > 0 && (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW))
			state |= XS_SHM_STATE_SEALED;
		if ((unsigned long)st.st_blksize >= XS_SHM_HUGE_PAGE)
			state |= XS_SHM_STATE_HUGE;
		s->object_state[i] = (uint8_t)state;
		if (state & XS_SHM_STATE_SEALED)
			s->num_sealed++;
		if (state & XS_SHM_STATE_HUGE)
			s->num_huge++;
		if (require_sealed && !(state & XS_SHM_STATE_SEALED)) {
			rep->fd_index = (int)i;
			rep->cause = -XS_ESHM_UNSEALED;
			return xs_seterr(-XS_ESHM_UNSEALED,
					 "descriptor %u (%s) is not sealed against resizing and "
					 "require_sealed is set",
					 i, obj_name(i));
		}
	}
	return 0;
}

/* Map descriptor @p i whole (size from the fstat above) and open the queue
 * end on it; the handle owns the mapping. */
static int join_queue(struct xs_spsc *q, const int *fds, const size_t *sizes, uint32_t i,
		      uint32_t elem, enum xs_shaq_format fmt, enum xs_spsc_role role,
		      struct xs_hs_report *rep)
{
	struct xs__hs_msg m;
	uint8_t *base = NULL;
	int err;

	if (sizes[i] < XS_SPSC_HEADER_SIZE + elem)
		err = xs_seterr(-XS_EQ_TOO_SMALL, "queue file of %zu bytes is too small", sizes[i]);
	else
		err = xs_shm_map(fds[i], sizes[i], &base);
	if (!err) {
		err = xs_spsc_attach_mem(q, base, sizes[i], elem, XS__HS_ELEM_ALIGN, fmt, role, 0);
		if (err)
			munmap(base, sizes[i]);
		else
			q->owns_map = 1; /* xs_spsc_close() unmaps it */
	}
	if (!err)
		return 0;
	rep->fd_index = (int)i;
	rep->cause = err;
	xs__hs_errmsg(&m);
	return xs_seterr(-XS_EHS_QUEUE, "joining descriptor %u (%s) as %s failed: %s (%s)", i,
			 obj_name(i), role == XS_SPSC_PRODUCER ? "producer" : "consumer",
			 xs_strerror(err), m.s);
}

/* Join every object of a validated success reply. Descriptors are not closed. */
static int join_session(const struct xs_hs_proto *p, const struct xs_logon *logon,
			const int *fds, int require_sealed, struct xs_hs_report *rep,
			struct xs_session **out)
{
	uint32_t w = (uint32_t)logon->worker_count, h = (uint32_t)logon->allocator_handles;
	enum xs_shaq_format fmt = (enum xs_shaq_format)p->shaq;
	size_t sizes[XS_HS_MAX_FDS];
	struct xs_session *s;
	int err;

	/* The server validates both counts; a success for a logon it had to
	 * refuse is a broken peer, not a session. */
	if (logon->allocator_handles < 1 || logon->allocator_handles > XS_HS_MAX_ALLOC_HANDLES)
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "server accepted allocator_handles %" PRIu64 " (outside 1..=128)",
				 logon->allocator_handles);
	s = xs__hs_zalloc_aligned(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->peer_pidfd = -1;
	s->version = (int)p->version;
	s->num_workers = w;
	s->num_objects = XS_HS_GLOBAL_SHMEM + 2 * w;
	s->object_state = calloc(s->num_objects, 1);
	s->allocs = calloc(h, sizeof(*s->allocs));
	s->workers = xs__hs_zalloc_aligned(sizeof(*s->workers) * w);
	if (!s->object_state || !s->allocs || !s->workers) {
		err = -ENOMEM;
		goto fail;
	}
	err = inspect_objects(s, fds, sizes, require_sealed, rep);
	if (err)
		goto fail;

	/* Allocator handles first (as upstream), worker ids 1 + W + k. The
	 * first one maps the file; the others share its mapping. */
	for (uint32_t k = 0; k < h; k++) {
		uint32_t id = XS_HS_GLOBAL_ALLOCATORS + w + k;

		err = k == 0 ? xs_alloc_join(&s->allocs[0], fds[0], id)
			     : xs_alloc_join_handle(&s->allocs[k], s->allocs[0], id);
		if (err) {
			struct xs__hs_msg m;

			xs__hs_errmsg(&m);
			rep->fd_index = 0;
			rep->cause = err;
			err = xs_seterr(-XS_EHS_ALLOC, "allocator join as worker %u failed: %s (%s)",
					id, xs_strerror(err), m.s);
			goto fail;
		}
		s->num_allocs = k + 1;
	}
	s->allocator_size = xs_alloc_size(s->allocs[0]);

	err = join_queue(&s->tpu_to_pack, fds, sizes, 1, XS__HS_ELEM_TPU, fmt, XS_SPSC_CONSUMER,
			 rep);
	if (!err)
		err = join_queue(&s->progress, fds, sizes, 2, XS__HS_ELEM_PROGRESS, fmt,
				 XS_SPSC_CONSUMER, rep);
	for (uint32_t i = 0; !err && i < w; i++) {
		err = join_queue(&s->workers[i].pack_to_worker, fds, sizes, 3 + 2 * i,
				 XS__HS_ELEM_P2W, fmt, XS_SPSC_PRODUCER, rep);
		if (!err)
			err = join_queue(&s->workers[i].worker_to_pack, fds, sizes, 4 + 2 * i,
					 XS__HS_ELEM_W2P, fmt, XS_SPSC_CONSUMER, rep);
	}
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	xs_session_close(s);
	return err;
}

struct hs_attempt {
	struct xs__hs_io *io;
	const struct xs_hs_client_opts *opts;
	const struct xs_logon *logon;
	const struct xs_hs_proto *proto;
	uint64_t deadline;
	struct xs_hs_report *rep;
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* Copy a rejection into the report. */
static void note_reason(struct xs_hs_report *rep, const struct xs_hs_reply *r)
{
	rep->reason_len = r->reason_len;
	memcpy(rep->reason, r->reason, r->reason_len);
	rep->reason[r->reason_len] = '\0';
	rep->server_version = r->server_version;
}

/*
 * Receive and validate the reply. On success @p fds holds the expected
 * descriptors (owned by the caller); on every error all received
 * descriptors are closed.
 */
static int recv_reply(struct hs_attempt *a, int sock, uint32_t expected, int *fds)
{
	union {
		struct cmsghdr align;
		uint8_t b[HS_CTL_SIZE];
	} ctl;
	uint8_t data[XS_HS_LOGON_BUF];
	struct xs_hs_reply *r;
	size_t have = 0;
	int rc;

	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (;;) {
		struct iovec iov = { .iov_base = data + have, .iov_len = sizeof(data) - have };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.b,
			.msg_controllen = sizeof(ctl.b),
		};
		long n = xs__hs_io_recvmsg(a->io, sock, &msg, a->deadline);

		if (n < 0 && have == 0) {
			rc = n == -ETIMEDOUT ? xs_seterr(-ETIMEDOUT, "no reply from the server before the deadline")
					     : xs_seterr((int)n, "receiving the reply: %s", strerror((int)-n));
			a->rep->cause = (int)n;
			break;
		}
		if (n < 0) {
			/* a rejection frame was cut short and nothing more came
			 * (deadline or error): report what we have */
			rc = xs_hs_parse_reply(data, have, 0, NULL, 0, expected, r);
			note_reason(a->rep, r);
			break;
		}
		if (have == 0) {
			rc = xs_hs_parse_reply(data, (size_t)n, msg.msg_flags, ctl.b, msg.msg_controllen,
					       expected, r);
		} else {
			/* continuation of a failure frame: it must carry no
			 * descriptors; close any, then parse the whole frame */
			rc = xs_hs_parse_reply(data + have, (size_t)n, msg.msg_flags, ctl.b,
					       msg.msg_controllen, expected, r);
			xs__hs_close_fds(r->fds, r->nfds);
			r->nfds = 0;
			rc = xs_hs_parse_reply(data, have + (size_t)n, 0, NULL, 0, expected, r);
			if (n == 0)
				have = sizeof(data); /* EOF: stop reading */
		}
		if (rc == 0) {
			memcpy(fds, r->fds, sizeof(int) * expected);
			break;
		}
		xs__hs_close_fds(r->fds, r->nfds);
		if ((rc == -XS_EHS_REJECTED || rc == -XS_EHS_VERSION) && !r->complete &&
		    have + (size_t)n < sizeof(data)) {
			/* the length byte promises more: read on until EOF or the deadline */
			have += (size_t)n;
			note_reason(a->rep, r);
			continue;
		}
		if (rc == -XS_EHS_REJECTED || rc == -XS_EHS_VERSION)
			note_reason(a->rep, r);
		break;
	}
	free(r);
	return rc;
}

static int attempt(struct hs_attempt *a, struct xs_session **out)
{
	const struct xs_logon *lg = a->logon;
	struct xs_hs_report *rep = a->rep;
	struct sockaddr_un sa;
	uint8_t buf[XS_HS_LOGON_BUF];
	int fds[XS_HS_MAX_FDS];
	uint32_t expected;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uint64_t t0, t1, boot = 0;
	int sock, len, err, pidfd = -1;

	rep->version = a->proto->version;
	len = xs__hs_sockaddr(&sa, a->opts->path);
	if (len < 0)
		return len;
	err = xs_hs_encode_logon(a->proto->version, lg, buf);
	if (err < 0)
		return err;
	/* The reply we accept carries 3 + 2W descriptors; a logon the server
	 * must refuse (W outside 1..=64) is still sent: the server decides,
	 * and no success reply can match it. */
	expected = lg->worker_count >= 1 && lg->worker_count <= XS_HS_MAX_WORKERS
			   ? XS_HS_GLOBAL_SHMEM + 2 * (uint32_t)lg->worker_count
			   : 0;

	sock = xs__hs_io_socket(a->io);
	if (sock < 0)
		return sock;
	t0 = xs__hs_now();
	err = xs__hs_io_connect(a->io, sock, &sa, (socklen_t)len, a->deadline);
	t1 = xs__hs_now();
	rep->connect_ns = t1 - t0;
	if (err) {
		rep->cause = err;
		err = err == -ETIMEDOUT
			      ? xs_seterr(-ETIMEDOUT, "connect to %s not done before the deadline", a->opts->path)
			      : xs_seterr(err, "connect to %s: %s", a->opts->path, strerror(-err));
		goto out;
	}
	boot = xs__hs_boot_ns();
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		a->pid = cred.pid;
		a->uid = cred.uid;
		a->gid = cred.gid;
	}
	err = xs__hs_io_send_all(a->io, sock, buf, sizeof(buf), a->deadline);
	t0 = xs__hs_now();
	rep->logon_ns = t0 - t1;
	if (err) {
		rep->cause = err;
		err = err == -ETIMEDOUT
			      ? xs_seterr(-ETIMEDOUT, "logon not sent before the deadline")
			      : xs_seterr(err, "sending the logon: %s", strerror(-err));
		goto out;
	}
	err = recv_reply(a, sock, expected, fds);
	t1 = xs__hs_now();
	rep->reply_ns = t1 - t0;
	/* The server process, for peer-death watching: taken from the socket
	 * while it is open (a pid read now could be reused once it closes). */
	if (!err) {
		pidfd = xs__hs_peer_pidfd(sock, a->pid, boot, 0);
		if (pidfd == -ENOSYS) {
			pidfd = -1; /* no pidfd on this kernel: peer_pid only */
		} else if (pidfd < 0) {
			struct xs__hs_msg m;

			xs__hs_errmsg(&m);
			err = xs_seterr(pidfd, "the server process exited during the handshake: %s",
					m.s);
			rep->cause = pidfd;
			pidfd = -1;
			xs__hs_close_fds(fds, expected);
		}
	}
	/* The socket only carries the handshake: both sides close it now. */
	close(sock);
	sock = -1;
	if (err)
		goto out;
	err = join_session(a->proto, lg, fds, a->opts->require_sealed, rep, out);
	/* the mappings keep the objects alive */
	xs__hs_close_fds(fds, expected);
	rep->join_ns = xs__hs_now() - t1;
	if (err && pidfd >= 0)
		close(pidfd);
	if (!err) {
		(*out)->peer_pidfd = pidfd;
		(*out)->peer_pid = a->pid;
		(*out)->peer_uid = a->uid;
		(*out)->peer_gid = a->gid;
		(*out)->backend = a->io->backend;
	}
out:
	if (sock >= 0)
		close(sock);
	return err;
}

int xs_hs_connect(const struct xs_hs_client_opts *opts, const struct xs_logon *logon,
		  struct xs_session **out)
{
	struct xs_hs_report local;
	struct xs__hs_io io;
	struct hs_attempt a;
	uint64_t version;
	int err;

	if (!out)
		return xs_seterr(-EINVAL, "xs_hs_connect: out is NULL");
	*out = NULL;
	if (!opts || !logon || !opts->path)
		return xs_seterr(-EINVAL, "xs_hs_connect: options, logon and path are required");
	memset(&a, 0, sizeof(a));
	a.rep = opts->report ? opts->report : &local;
	memset(a.rep, 0, sizeof(*a.rep));
	a.rep->fd_index = -1;
	a.opts = opts;
	a.logon = logon;
	if (opts->deadline_ns)
		a.deadline = opts->deadline_ns;
	else
		a.deadline = xs__hs_now() + (opts->timeout_ns ? opts->timeout_ns : XS_HS_CLIENT_TIMEOUT_NS);
	version = opts->version ? opts->version : XS_HS_VERSION_DEFAULT;
	a.proto = xs_hs_proto_get(version);
	if (!a.proto || !a.proto->sessions)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken%s", version,
				 a.proto ? " by the client yet (wire codecs only)" : "");

	err = xs__hs_io_init(&io, opts->force_poll);
	if (err)
		return err;
	a.io = &io;
	a.rep->backend = io.backend;
	a.rep->uring_err = io.uring_err;

	err = attempt(&a, out);
	if (err == -XS_EHS_VERSION && opts->allow_version_retry && a.rep->server_version &&
	    a.rep->server_version != a.proto->version && xs_hs_proto_get(a.rep->server_version) &&
	    xs_hs_proto_get(a.rep->server_version)->sessions) {
		/* Retry once with the server's VERSION, under the same deadline. */
		a.proto = xs_hs_proto_get(a.rep->server_version);
		a.rep->retried = 1;
		a.rep->reason_len = 0;
		a.rep->reason[0] = '\0';
		a.rep->cause = 0;
		err = attempt(&a, out);
	}
	xs__hs_io_fini(&io);
	return err;
}
