/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the handshake client against misbehaving servers (forked
 * children speaking raw bytes) and against real ones.
 *  - a server that accepts and never answers, and one that never accepts
 *    (full backlog: connect must be bounded), end at the caller's deadline;
 *  - reply of 0 bytes, a failure frame longer than its data (then EOF, or
 *    silence), a frame in pieces, the exact rejection text, a Version
 *    rejection (with and without retry);
 *  - success without descriptors, too few / too many descriptors, control
 *    data truncated by the kernel (MSG_CTRUNC), a bad first byte;
 *  - descriptors that are not allocator / queue files (zero files, pipes,
 *    the other shaq format);
 *  - require_sealed against unsealed and sealed objects;
 *  - a server that closes at once (no SIGPIPE: the default disposition is
 *    kept in this process);
 *  - after every case the process has exactly the descriptors it had
 *    before (every received descriptor closed) and, under ASan, no leak.
 * Argument: <case> [poll] (poll forces the client's poll() path).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hs_test.h"
#include "xsched/alloc.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

static int force_poll;

enum behave {
	B_SILENT,          /* accept, read the logon, say nothing */
	B_CLOSE_AT_ONCE,   /* accept, close without reading */
	B_ZERO,            /* read the logon, close */
	B_FRAME,           /* send `frame` (frame_len bytes), close */
	B_FRAME_SILENT,    /* send `frame`, stay silent */
	B_FRAME_PIECES,    /* send `frame` in two parts 50 ms apart, close */
	B_FDS,             /* send `frame` with `nfds` descriptors of kind `fdkind` */
};

enum fdkind {
	FD_MEMFD_EMPTY,    /* 4 KiB zero memfds */
	FD_VALID_ALLOC,    /* a real allocator, then 4 KiB zero memfds */
	FD_PIPE,           /* pipes */
	FD_SHAQ_0_2,       /* a real allocator and shaq 0.2.0 queue files */
};

struct fake {
	int lfd;
	enum behave b;
	uint8_t frame[300];
	size_t frame_len;
	int nfds;
	enum fdkind fdkind;
	uint32_t workers; /* for FD_VALID_ALLOC / FD_SHAQ_0_2 */
};

static void make_fds(struct fake *f, int *fds)
{
	for (int i = 0; i < f->nfds; i++) {
		if (f->fdkind == FD_PIPE) {
			int p[2];

			T_ASSERT(pipe(p) == 0);
			fds[i] = p[0];
			continue;
		}
		fds[i] = xs_memfd_create(NULL, 0);
		T_ASSERT(fds[i] >= 0);
		if (i == 0 && (f->fdkind == FD_VALID_ALLOC || f->fdkind == FD_SHAQ_0_2)) {
			struct xs_alloc *a;

			T_OK(xs_alloc_create(&a, fds[0], 8u << 20, 1 + f->workers + 1, 2u << 20, 0));
			xs_alloc_close(a);
		} else if (f->fdkind == FD_SHAQ_0_2) {
			static const uint32_t elem[4] = { 40, 48, 32, 40 };
			struct xs_spsc q;
			uint32_t e = elem[i < 3 ? i - 1 : 2 + (i - 3) % 2];

			T_OK(xs_spsc_create(&q, fds[i], 192 + 64 * (size_t)e, e, 8, XS_SHAQ_0_2,
					    XS_SPSC_PRODUCER));
			xs_spsc_close(&q);
		} else {
			T_ASSERT(ftruncate(fds[i], 4096) == 0);
		}
	}
}

static void fake_child(void *arg)
{
	struct fake *f = arg;
	uint8_t logon[XS_HS_LOGON_BUF];
	int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC), fds[300];

	T_ASSERT(c >= 0);
	if (f->b == B_CLOSE_AT_ONCE) {
		close(c);
		return;
	}
	th_read_exact(c, logon, sizeof(logon), 3000);
	switch (f->b) {
	case B_SILENT:
		sleep(5); /* the parent kills us */
		break;
	case B_ZERO:
		break;
	case B_FRAME:
		T_OK(th_send(c, f->frame, f->frame_len));
		break;
	case B_FRAME_SILENT:
		T_OK(th_send(c, f->frame, f->frame_len));
		sleep(5);
		break;
	case B_FRAME_PIECES:
		T_OK(th_send(c, f->frame, 4));
		usleep(50000);
		T_OK(th_send(c, f->frame + 4, f->frame_len - 4));
		break;
	case B_FDS:
		make_fds(f, fds);
		T_OK(th_send_fds(c, f->frame, f->frame_len, fds, f->nfds));
		break;
	default:
		break;
	}
	close(c);
}

struct run {
	struct xs_hs_client_opts o;
	struct xs_hs_report rep;
	struct xs_logon lg;
	struct xs_session *s;
	uint64_t elapsed_ns;
	int rc;
};

/* One client connect against @p f (served by a child). */
static void run_fake(struct fake *f, struct run *r, uint64_t timeout_ns)
{
	const char *path = th_sock_path("cli");
	int before;
	pid_t pid;

	f->lfd = th_listen_raw(path, 8);
	pid = th_fork(fake_child, f);
	close(f->lfd);
	before = t_fd_count();
	memset(&r->o, 0, sizeof(r->o));
	r->o.path = path;
	r->o.timeout_ns = timeout_ns ? timeout_ns : 3000000000ull;
	r->o.force_poll = (uint8_t)force_poll;
	r->o.report = &r->rep;
	if (!r->lg.worker_count)
		r->lg = th_logon_small(2);
	{
		uint64_t t0 = t_now_ns();

		r->rc = xs_hs_connect(&r->o, &r->lg, &r->s);
		r->elapsed_ns = t_now_ns() - t0;
	}
	if (getenv("TH_VERBOSE"))
		fprintf(stderr, "connect: %d (%s) after %llu us: %s\n", r->rc, xs_strerror(r->rc),
			(unsigned long long)(r->elapsed_ns / 1000), xs_errmsg());
	T_EQ(r->rep.backend, force_poll ? XS_HS_BACKEND_POLL : XS_HS_BACKEND_URING);
	if (r->rc == 0)
		xs_session_close(r->s);
	else
		T_ASSERT(r->s == NULL);
	T_EQ(t_fd_count(), before);
	if (f->b == B_SILENT || f->b == B_FRAME_SILENT)
		kill(pid, SIGKILL);
	{
		int st;

		while (!th_reaped(pid, &st))
			usleep(1000);
	}
	unlink(path);
}

static void expect_within(const struct run *r, uint64_t timeout_ns)
{
	/* the deadline is met: not before it, and within a margin after it */
	T_ASSERT(r->elapsed_ns >= timeout_ns - 1000000ull, "returned after %llu ns",
		 (unsigned long long)r->elapsed_ns);
	T_ASSERT(r->elapsed_ns < timeout_ns + 500000000ull, "returned %llu ns after a %llu ns deadline",
		 (unsigned long long)r->elapsed_ns, (unsigned long long)timeout_ns);
}

static void t_never_answers(void)
{
	struct fake f = { .b = B_SILENT };
	struct run r = { 0 };

	run_fake(&f, &r, 300000000ull);
	T_ERR(r.rc, -ETIMEDOUT);
	expect_within(&r, 300000000ull);
}

static void t_never_accepts(void)
{
	const char *path = th_sock_path("noacc");
	int lfd = th_listen_raw(path, 0), filler = th_connect(path), before = t_fd_count();
	struct xs_hs_client_opts o = { .path = path, .force_poll = (uint8_t)force_poll };
	struct xs_hs_report rep;
	struct xs_logon lg = th_logon_small(1);
	struct xs_session *s = NULL;
	uint64_t t0 = t_now_ns();
	struct run r;

	/* backlog 0 holds one connection: the filler. Our connect must wait,
	 * bounded by the deadline. */
	o.deadline_ns = t0 + 300000000ull;
	o.report = &rep;
	T_ERR(xs_hs_connect(&o, &lg, &s), -ETIMEDOUT);
	r.elapsed_ns = t_now_ns() - t0;
	expect_within(&r, 300000000ull);
	T_ASSERT(rep.connect_ns >= 290000000ull, "the time went into connect");
	T_EQ(t_fd_count(), before);
	close(filler);
	close(lfd);
	unlink(path);
}

static void t_close_at_once(void)
{
	struct fake f = { .b = B_CLOSE_AT_ONCE };
	struct run r = { 0 };

	/* SIGPIPE keeps its default action here: only MSG_NOSIGNAL saves us */
	T_ASSERT(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	run_fake(&f, &r, 0);
	T_ASSERT(r.rc == -EPIPE || r.rc == -ECONNRESET || r.rc == -XS_EHS_EOF, "rc %d", r.rc);
}

static void t_zero_bytes(void)
{
	struct fake f = { .b = B_ZERO };
	struct run r = { 0 };

	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_EOF);
}

static void t_failure_past_data(void)
{
	struct fake f = { .b = B_FRAME, .frame = { 2, 50, 'a', 'b', 'c' }, .frame_len = 5 };
	struct run r = { 0 };

	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_REJECTED);
	T_EQ(r.rep.reason_len, 3);
	T_ASSERT(strcmp(r.rep.reason, "abc") == 0);
}

static void t_failure_past_data_silent(void)
{
	struct fake f = { .b = B_FRAME_SILENT, .frame = { 2, 50, 'a', 'b', 'c' }, .frame_len = 5 };
	struct run r = { 0 };

	/* the length promises more; nothing comes: the deadline ends it, and
	 * the rejection is still what is reported */
	run_fake(&f, &r, 300000000ull);
	T_ERR(r.rc, -XS_EHS_REJECTED);
	T_ASSERT(strcmp(r.rep.reason, "abc") == 0);
	expect_within(&r, 300000000ull);
}

static void t_failure_pieces(void)
{
	struct fake f = { .b = B_FRAME_PIECES, .frame = { 2, 6, 'a', 'b', 'c', 'd', 'e', 'f' },
			  .frame_len = 8 };
	struct run r = { 0 };

	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_REJECTED);
	T_ASSERT(strcmp(r.rep.reason, "abcdef") == 0, "%s", r.rep.reason);
}

static void t_rejected_text(void)
{
	struct fake f = { .b = B_FRAME };
	struct run r = { 0 };

	f.frame_len = (size_t)xs_hs_encode_failure("Worker count; count=0", f.frame, sizeof(f.frame));
	r.lg = th_logon_small(1);
	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_REJECTED);
	T_ASSERT(strcmp(r.rep.reason, "Worker count; count=0") == 0);
	T_ASSERT(strstr(xs_errmsg(), "Worker count; count=0") != NULL);
}

static void t_version_rejected(void)
{
	struct fake f = { .b = B_FRAME };
	struct run r = { 0 };

	f.frame_len = (size_t)xs_hs_encode_failure("Version; server=1; client=2", f.frame,
						   sizeof(f.frame));
	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_VERSION);
	T_EQ(r.rep.server_version, 1);
	T_EQ(r.rep.retried, 0);
}

static void fds_case(uint8_t first, int nfds, enum fdkind kind, int want, int fd_index)
{
	struct fake f = { .b = B_FDS, .frame = { first }, .frame_len = 1, .nfds = nfds,
			  .fdkind = kind, .workers = 2 };
	struct run r = { 0 };

	run_fake(&f, &r, 0);
	T_ERR(r.rc, want);
	if (fd_index >= 0)
		T_EQ(r.rep.fd_index, fd_index);
}

static void t_success_no_fds(void)
{
	fds_case(1, 0, FD_MEMFD_EMPTY, -XS_EHS_PROTOCOL, -1);
}

static void t_too_few_fds(void)
{
	fds_case(1, 5, FD_MEMFD_EMPTY, -XS_EHS_PROTOCOL, -1);
}

static void t_too_many_fds(void)
{
	fds_case(1, 9, FD_MEMFD_EMPTY, -XS_EHS_PROTOCOL, -1);
}

static void t_truncated_control(void)
{
	/* more than the 131 the control buffer holds: the kernel cuts them */
	fds_case(1, 140, FD_MEMFD_EMPTY, -XS_EHS_PROTOCOL, -1);
}

static void t_bad_first_byte(void)
{
	fds_case(7, 7, FD_MEMFD_EMPTY, -XS_EHS_PROTOCOL, -1);
}

static void t_not_allocator(void)
{
	fds_case(1, 7, FD_MEMFD_EMPTY, -XS_EHS_ALLOC, 0);
}

static void t_not_queue(void)
{
	fds_case(1, 7, FD_VALID_ALLOC, -XS_EHS_QUEUE, 1);
}

static void t_pipes(void)
{
	fds_case(1, 7, FD_PIPE, -XS_EHS_ALLOC, 0);
}

static void t_accepted_bad_handles(void)
{
	struct fake f = { .b = B_FDS, .frame = { 1 }, .frame_len = 1, .nfds = 7,
			  .fdkind = FD_VALID_ALLOC, .workers = 2 };
	struct run r = { 0 };

	/* a server that accepts a logon it had to refuse is not trusted */
	r.lg = th_logon_small(2);
	r.lg.allocator_handles = 0;
	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_PROTOCOL);
}

static void t_wrong_shaq_format(void)
{
	struct fake f = { .b = B_FDS, .frame = { 1 }, .frame_len = 1, .nfds = 7,
			  .fdkind = FD_SHAQ_0_2, .workers = 2 };
	struct run r = { 0 };

	/* VERSION 2 needs shaq 1.0.x files (version byte 1) */
	run_fake(&f, &r, 0);
	T_ERR(r.rc, -XS_EHS_QUEUE);
	T_ERR(r.rep.cause, -XS_EQ_VERSION);
	T_EQ(r.rep.fd_index, 1);
}

/* ------------------------------------------------------- real servers */

struct real {
	const char *path;
	uint32_t version;
	int no_seal;
	int ready[2];
};

static void real_child(void *arg)
{
	struct real *rs = arg;
	struct xs_hs_server_opts o = { .path = rs->path, .version = rs->version,
				       .no_seal = (uint8_t)rs->no_seal };
	struct xs_hs_server *srv;
	struct xs_vsession *vs = NULL;
	char one = 1;

	T_OK(xs_hs_server_listen(&o, &srv));
	T_EQ(write(rs->ready[1], &one, 1), 1);
	T_OK(xs_hs_server_serve(srv, t_now_ns() + 5000000000ull, &vs));
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
}

static pid_t real_start(struct real *rs)
{
	char c;
	pid_t pid;

	rs->path = th_sock_path("real");
	T_ASSERT(pipe2(rs->ready, O_CLOEXEC) == 0);
	pid = th_fork(real_child, rs);
	T_EQ(read(rs->ready[0], &c, 1), 1);
	close(rs->ready[0]);
	close(rs->ready[1]);
	return pid;
}

static void real_case(uint32_t sv, uint32_t cv, int no_seal, int require_sealed, int retry,
		      int want)
{
	struct real rs = { .version = sv, .no_seal = no_seal };
	struct xs_hs_report rep;
	struct xs_logon lg = th_logon_small(2);
	struct xs_session *s = NULL;
	pid_t pid = real_start(&rs);
	int before = t_fd_count(), rc;
	struct xs_hs_client_opts o = {
		.path = rs.path, .version = cv, .timeout_ns = 3000000000ull,
		.require_sealed = (uint8_t)require_sealed, .allow_version_retry = (uint8_t)retry,
		.force_poll = (uint8_t)force_poll, .report = &rep,
	};

	rc = xs_hs_connect(&o, &lg, &s);
	T_ERR(rc, want);
	if (rc == 0) {
		T_EQ(s->version, (int)sv);
		T_EQ(rep.version, sv);
		T_EQ(s->num_objects, 7);
		T_EQ(s->num_sealed, no_seal ? 0 : 7);
		T_EQ(s->num_huge, 0);
		T_EQ(s->num_allocs, 1);
		T_EQ(s->peer_pid, pid);
		T_EQ(s->peer_uid, getuid());
		T_EQ(s->backend, force_poll ? XS_HS_BACKEND_POLL : XS_HS_BACKEND_URING);
		for (uint32_t i = 0; i < 7; i++)
			T_EQ(!!(s->object_state[i] & XS_SHM_STATE_SEALED), !no_seal);
		xs_session_close(s);
		th_wait(pid, 5000);
	} else {
		kill(pid, SIGKILL);
		while (!th_reaped(pid, &rc))
			usleep(1000);
	}
	if (retry && sv != cv) {
		T_EQ(rep.retried, 1);
		T_EQ(rep.server_version, sv);
	}
	if (want == -XS_ESHM_UNSEALED)
		T_EQ(rep.fd_index, 0);
	T_EQ(t_fd_count(), before);
}

static void t_require_sealed_refused(void)
{
	real_case(2, 2, 1, 1, 0, -XS_ESHM_UNSEALED);
}

static void t_require_sealed_ok(void)
{
	real_case(2, 2, 0, 1, 0, 0);
}

static void t_unsealed_reported(void)
{
	real_case(2, 2, 1, 0, 0, 0);
}

static void t_version_retry_to_1(void)
{
	real_case(1, 2, 0, 0, 1, 0);
}

static void t_version_retry_to_2(void)
{
	real_case(2, 1, 0, 0, 1, 0);
}

static void t_no_server(void)
{
	struct xs_hs_client_opts o = { .force_poll = (uint8_t)force_poll };
	struct xs_logon lg = th_logon_small(1);
	struct xs_session *s = NULL;
	const char *path = th_sock_path("none");
	int before = t_fd_count(), lfd;

	o.path = path;
	T_ERR(xs_hs_connect(&o, &lg, &s), -ENOENT);
	lfd = th_listen_raw(path, 1);
	close(lfd); /* stale socket file */
	T_ERR(xs_hs_connect(&o, &lg, &s), -ECONNREFUSED);
	unlink(path);
	o.deadline_ns = t_now_ns() - 1; /* already over */
	T_ERR(xs_hs_connect(&o, &lg, &s), -ETIMEDOUT);
	o.path = NULL;
	T_ERR(xs_hs_connect(&o, &lg, &s), -EINVAL);
	o.path = path;
	o.version = 9;
	T_ERR(xs_hs_connect(&o, &lg, &s), -EINVAL);
	T_EQ(t_fd_count(), before);
}

static const struct th_case cases[] = {
	{ "never_answers", t_never_answers },
	{ "never_accepts", t_never_accepts },
	{ "close_at_once", t_close_at_once },
	{ "zero_bytes", t_zero_bytes },
	{ "failure_past_data", t_failure_past_data },
	{ "failure_past_data_silent", t_failure_past_data_silent },
	{ "failure_pieces", t_failure_pieces },
	{ "rejected_text", t_rejected_text },
	{ "version_rejected", t_version_rejected },
	{ "success_no_fds", t_success_no_fds },
	{ "too_few_fds", t_too_few_fds },
	{ "too_many_fds", t_too_many_fds },
	{ "truncated_control", t_truncated_control },
	{ "bad_first_byte", t_bad_first_byte },
	{ "not_allocator", t_not_allocator },
	{ "not_queue", t_not_queue },
	{ "pipes", t_pipes },
	{ "wrong_shaq_format", t_wrong_shaq_format },
	{ "accepted_bad_handles", t_accepted_bad_handles },
	{ "require_sealed_refused", t_require_sealed_refused },
	{ "require_sealed_ok", t_require_sealed_ok },
	{ "unsealed_reported", t_unsealed_reported },
	{ "version_retry_to_1", t_version_retry_to_1 },
	{ "version_retry_to_2", t_version_retry_to_2 },
	{ "no_server", t_no_server },
};

int main(int argc, char **argv)
{
	force_poll = argc > 2 && strcmp(argv[2], "poll") == 0;
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
