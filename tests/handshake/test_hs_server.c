/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the handshake server against raw clients (forked children
 * that write exact bytes and read exactly what comes back).
 *  - every bad logon gets upstream's failure frame, byte-exact with
 *    fail_*.bin (wrong version 1/3, worker_count 0/65, allocator_handles
 *    0/129, 100 bytes then EOF);
 *  - a logon cut short then silent gets the expired-read text after the
 *    per-connection timeout; a trickled logon gets "Timeout";
 *  - a client that leaves before the reply costs no SIGPIPE (failure frame
 *    and success sendmsg both), the objects of a failed success are freed;
 *  - success replies match success_handshake_*.json (descriptor order,
 *    file sizes, allocator and queue headers), objects are sealed (or not);
 *    VERSION 1 queues are shaq 0.2.0 files of the exact byte sizes;
 *  - allocator / queue creation errors give upstream's Rts alloc / Shaq text;
 *  - peer uid check, stop, serve deadline, listen path rules and mode;
 *  - after each case the server process has exactly the descriptors it had
 *    before the connection (t_fd_count).
 * Argument: <case> [poll] (poll forces the poll() path of the server).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hs_test.h"
#include "xsched/alloc.h"
#include "xsched/shm.h"

static int force_poll;

struct srv {
	struct xs_hs_server *srv;
	struct th_events ev;
	struct xs_hs_server_opts o;
	char path[108];
	int fds_before; /* descriptors of the process with the server listening */
};

static void srv_start(struct srv *s, uint32_t version)
{
	th_events_init(&s->ev);
	snprintf(s->path, sizeof(s->path), "%s", th_sock_path("srv"));
	memset(&s->o, 0, sizeof(s->o));
	s->o.path = s->path;
	s->o.version = version;
	s->o.force_poll = (uint8_t)force_poll;
	s->o.on_event = th_on_event;
	s->o.event_arg = &s->ev;
}

static void srv_listen(struct srv *s)
{
	T_OK(xs_hs_server_listen(&s->o, &s->srv));
	T_EQ(xs_hs_server_backend(s->srv), force_poll ? XS_HS_BACKEND_POLL : XS_HS_BACKEND_URING);
	s->fds_before = t_fd_count();
}

/* Serve until the child has exited and @p want_events events (and a session
 * when @p vs is given) arrived. Checks the descriptor count at the end. */
static void serve_child(struct srv *s, pid_t child, int want_events, struct xs_vsession **vs)
{
	uint64_t end = t_now_ns() + 10000000000ull;
	int exited = 0, status = 0;

	if (vs)
		*vs = NULL;
	if (child < 0) { /* already reaped by the caller */
		exited = 1;
		status = 0;
	}
	for (;;) {
		struct xs_vsession *got = NULL;
		int rc = xs_hs_server_serve(s->srv, t_now_ns() + 20000000ull, &got);

		if (rc == 0) {
			T_ASSERT(vs && !*vs, "unexpected session");
			*vs = got;
		} else {
			T_ERR(rc, -ETIMEDOUT);
		}
		if (!exited)
			exited = th_reaped(child, &status);
		if (exited && th_events_count(&s->ev) >= want_events && (!vs || *vs))
			break;
		T_ASSERT(t_now_ns() < end, "child exited %d, %d/%d events", exited,
			 th_events_count(&s->ev), want_events);
	}
	T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (0x%x)", status);
	T_EQ(th_events_count(&s->ev), want_events);
	if (vs)
		xs_vsession_close(*vs);
	T_EQ(t_fd_count(), s->fds_before);
}

static void srv_stop(struct srv *s)
{
	xs_hs_server_close(s->srv);
	T_ASSERT(access(s->path, F_OK) != 0, "socket path left behind");
}

/* ------------------------------------------------------- raw client side */

struct raw {
	const char *path;
	uint8_t logon[XS_HS_LOGON_BUF];
	size_t send_len;       /* bytes of the logon to send */
	int shut_wr;           /* shutdown(SHUT_WR) after sending */
	int close_after;       /* close right after sending, read nothing */
	const char *vector;    /* expected reply: a vector file ... */
	const char *reason;    /* ... or a failure reason */
	int trickle_ms;        /* send the rest of the logon in 3 chunks this far apart */
	int read_ms;           /* how long to wait for the reply */
};

static void raw_child(void *arg)
{
	struct raw *r = arg;
	uint8_t reply[600];
	int fd = th_connect(r->path);
	size_t n;

	if (r->trickle_ms) {
		size_t first = 300, chunk = (XS_HS_LOGON_BUF - first + 2) / 3, off;

		T_OK(th_send(fd, r->logon, first));
		for (off = first; off < XS_HS_LOGON_BUF; off += chunk) {
			usleep((useconds_t)r->trickle_ms * 1000);
			if (th_send(fd, r->logon + off,
				    off + chunk > XS_HS_LOGON_BUF ? XS_HS_LOGON_BUF - off : chunk) < 0)
				break; /* the server may have given up already */
		}
	} else if (th_send(fd, r->logon, r->send_len) < 0) {
		/* refused before reading it all (peer check): the reply is queued */
	}
	if (r->close_after) {
		close(fd);
		return;
	}
	if (r->shut_wr)
		shutdown(fd, SHUT_WR);
	n = th_read_all(fd, reply, sizeof(reply), r->read_ms ? r->read_ms : 3000);
	close(fd);
	if (r->vector) {
		size_t vlen;
		uint8_t *v = t_read_vector(r->vector, &vlen);

		T_EQ(n, vlen);
		T_BYTES(r->vector, reply, v, vlen);
		free(v);
	}
	if (r->reason) {
		T_EQ(n, 2 + strlen(r->reason));
		T_EQ(reply[0], 2);
		T_EQ(reply[1], strlen(r->reason));
		T_ASSERT(memcmp(reply + 2, r->reason, strlen(r->reason)) == 0, "got \"%.*s\" want \"%s\"",
			 (int)n - 2, reply + 2, r->reason);
	}
}

/* One raw exchange against a fresh VERSION 2 server; one rejection event expected. */
static void reject_case(struct raw *r, int want_err, uint64_t conn_timeout_ns)
{
	struct srv s;
	pid_t pid;

	srv_start(&s, 2);
	s.o.conn_timeout_ns = conn_timeout_ns;
	srv_listen(&s);
	r->path = s.path;
	pid = th_fork(raw_child, r);
	serve_child(&s, pid, 1, NULL);
	T_EQ(s.ev.last_kind, XS_HS_EV_REJECTED);
	T_ERR(s.ev.last_err, want_err);
	if (r->reason)
		T_ASSERT(strcmp(s.ev.last_reason, r->reason) == 0);
	srv_stop(&s);
}

static void vector_case(uint64_t version, uint64_t wc, uint64_t ah, const char *vector, int err)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .vector = vector };

	th_raw_logon(r.logon, version, wc, ah);
	reject_case(&r, err, 0);
}

static void t_vec_version1(void)
{
	vector_case(1, 4, 1, "fail_version_client1.bin", -XS_EHS_VERSION);
}
static void t_vec_version3(void)
{
	vector_case(3, 4, 1, "fail_version_client3.bin", -XS_EHS_VERSION);
}
static void t_vec_workers0(void)
{
	vector_case(2, 0, 1, "fail_worker_count_0.bin", -XS_EHS_WORKER_COUNT);
}
static void t_vec_workers65(void)
{
	vector_case(2, 65, 1, "fail_worker_count_65.bin", -XS_EHS_WORKER_COUNT);
}
static void t_vec_handles0(void)
{
	vector_case(2, 4, 0, "fail_allocator_handles_0.bin", -XS_EHS_ALLOC_HANDLES);
}
static void t_vec_handles129(void)
{
	vector_case(2, 4, 129, "fail_allocator_handles_129.bin", -XS_EHS_ALLOC_HANDLES);
}

static void t_vec_eof100(void)
{
	struct raw r = { .send_len = 100, .shut_wr = 1, .vector = "fail_eof_after_100_bytes.bin" };

	th_raw_logon(r.logon, 2, 4, 1);
	reject_case(&r, -XS_EHS_EOF, 0);
}

static void t_short_silent(void)
{
	/* 100 bytes then nothing: after the (default, 1 s) read timeout the
	 * server answers what upstream's expired SO_RCVTIMEO reads as */
	struct raw r = { .send_len = 100,
			 .reason = "Io; err=Resource temporarily unavailable (os error 11)",
			 .read_ms = 4000 };
	uint64_t t0 = t_now_ns();

	th_raw_logon(r.logon, 2, 4, 1);
	reject_case(&r, -ETIMEDOUT, 0);
	T_ASSERT(t_now_ns() - t0 >= XS_HS_TIMEOUT_NS);
}

static void t_trickle(void)
{
	/* upstream: 300 bytes then three chunks 0.4 s apart under a 1 s
	 * timeout gives "Timeout"; here the same shape scaled to 400 ms */
	struct raw r = { .reason = "Timeout", .trickle_ms = 160, .read_ms = 3000 };

	th_raw_logon(r.logon, 2, 4, 1);
	reject_case(&r, -ETIMEDOUT, 400000000ull);
}

static void t_garbage(void)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF };
	uint64_t seed = 7;
	char want[64];
	uint64_t v = 0;

	for (unsigned i = 0; i < XS_HS_LOGON_BUF; i++)
		r.logon[i] = (uint8_t)t_rand(&seed);
	for (int k = 7; k >= 0; k--)
		v = (v << 8) | r.logon[k];
	snprintf(want, sizeof(want), "Version; server=2; client=%llu", (unsigned long long)v);
	r.reason = want;
	reject_case(&r, -XS_EHS_VERSION, 0);
}

/* The client is gone before the reply: no SIGPIPE, the error is reported. */
static void t_gone_before_reject(void)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .close_after = 1 };
	struct srv s;
	pid_t pid;

	th_raw_logon(r.logon, 3, 4, 1);
	srv_start(&s, 2);
	srv_listen(&s);
	r.path = s.path;
	pid = th_fork(raw_child, &r);
	th_wait(pid, 5000); /* connection queued, logon sent, client closed */
	serve_child(&s, -1, 1, NULL);
	T_EQ(s.ev.last_kind, XS_HS_EV_REJECTED);
	T_ERR(s.ev.last_reply_err, -EPIPE);
	srv_stop(&s);
}

static void t_gone_before_success(void)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .close_after = 1 };
	struct xs_logon lg = th_logon_small(4);
	struct srv s;
	pid_t pid;

	th_encode(2, &lg, r.logon);
	srv_start(&s, 2);
	srv_listen(&s);
	r.path = s.path;
	pid = th_fork(raw_child, &r);
	th_wait(pid, 5000);
	serve_child(&s, -1, 1, NULL); /* no session: the sendmsg failed */
	T_EQ(s.ev.last_kind, XS_HS_EV_FAILED);
	T_ERR(s.ev.last_err, -EPIPE);
	srv_stop(&s);
}

/* ------------------------------------------------------------- successes */

struct success_check {
	const char *path;
	uint64_t version;
	struct xs_logon lg;
	const char *json;     /* expected layout (success_handshake_*.json) or NULL */
	int sealed;           /* objects expected sealed */
	const uint64_t *v1_sizes; /* VERSION 1: expected sizes per object */
};

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void success_child(void *arg)
{
	struct success_check *c = arg;
	union {
		struct cmsghdr a;
		uint8_t b[CMSG_SPACE(sizeof(int) * 131)];
	} ctl;
	uint8_t buf[XS_HS_LOGON_BUF], data[16];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	uint32_t w = (uint32_t)c->lg.worker_count, nfd = 3 + 2 * w;
	char *json = NULL;
	int fd, *fds;
	ssize_t n;

	th_encode(c->version, &c->lg, buf);
	fd = th_connect(c->path);
	T_OK(th_send(fd, buf, sizeof(buf)));
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	T_EQ(n, 1);
	T_EQ(data[0], 1);
	T_EQ(msg.msg_flags & MSG_CTRUNC, 0);
	T_ASSERT(CMSG_FIRSTHDR(&msg) && CMSG_FIRSTHDR(&msg)->cmsg_type == SCM_RIGHTS);
	T_EQ(CMSG_FIRSTHDR(&msg)->cmsg_len, CMSG_LEN(sizeof(int) * nfd));
	/* both sides close the socket right after the handshake */
	T_EQ(recv(fd, data, 1, 0), 0);
	close(fd);
	fds = (int *)(void *)CMSG_DATA(CMSG_FIRSTHDR(&msg));
	if (c->json) {
		size_t len;

		json = (char *)t_read_vector(c->json, &len);
		json = realloc(json, len + 1);
		json[len] = '\0';
		T_EQ(th_json_num(json, NULL, "num_fds", 0), nfd);
	}
	for (uint32_t i = 0; i < nfd; i++) {
		int f;
		struct stat st;
		uint8_t *p;
		int seals;

		memcpy(&f, (uint8_t *)fds + 4 * i, 4);
		T_ASSERT(fstat(f, &st) == 0 && S_ISREG(st.st_mode));
		T_EQ(fcntl(f, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		seals = fcntl(f, F_GET_SEALS);
		if (c->sealed)
			T_EQ(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		else
			T_ASSERT(!(seals > 0 && (seals & F_SEAL_GROW)));
		T_EQ(xs_shm_inspect(f) & XS_SHM_STATE_HUGE, 0);
		if (json)
			T_EQ(st.st_size, th_json_num(json, NULL, "file_size", (int)i));
		if (c->v1_sizes)
			T_EQ(st.st_size, c->v1_sizes[i < 3 ? i : 3 + (i - 3) % 2]);
		p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0);
		T_ASSERT(p != MAP_FAILED);
		if (i == 0) {
			T_EQ(rd64(p), 0x727473616c6f63ull);
			T_EQ(rd32(p + 8), 1);
			T_EQ(rd32(p + 12), 1 + w + c->lg.allocator_handles);
			T_EQ(rd32(p + 20), 2u << 20);
			if (json) {
				T_EQ(rd32(p + 16), th_json_num(json, NULL, "rts_num_slabs", 0));
				T_EQ(rd32(p + 36), th_json_num(json, NULL, "rts_slabs_offset", 0));
				T_EQ(rd32(p + 12), th_json_num(json, NULL, "rts_num_workers", 0));
			}
		} else {
			T_EQ(rd64(p), 0);      /* write */
			T_EQ(rd64(p + 64), 0); /* read */
			T_EQ(p[136], c->version == 2 ? 1 : 0);
			if (json)
				T_EQ(rd64(p + 128),
				     th_json_num(json, NULL, "shaq_buffer_size_items", (int)i - 1));
		}
		munmap(p, 4096);
		close(f);
	}
	free(json);
}

static void success_case(struct success_check *c, int no_seal, uint32_t huge)
{
	struct xs_vsession *vs;
	struct srv s;
	pid_t pid;

	srv_start(&s, (uint32_t)c->version);
	s.o.no_seal = (uint8_t)no_seal;
	s.o.huge = huge;
	srv_listen(&s);
	c->path = s.path;
	c->sealed = !no_seal;
	pid = th_fork(success_child, c);
	for (;;) {
		int rc = xs_hs_server_serve(s.srv, t_now_ns() + 5000000000ull, &vs);

		T_OK(rc);
		break;
	}
	T_EQ(vs->version, (int)c->version);
	T_EQ(vs->num_workers, c->lg.worker_count);
	T_EQ(vs->num_allocs, c->lg.allocator_handles);
	T_EQ(vs->num_objects, 3 + 2 * c->lg.worker_count);
	T_EQ(vs->num_sealed, no_seal ? 0 : vs->num_objects);
	T_EQ(vs->num_huge, 0);
	T_EQ(vs->logon.flags, c->lg.flags);
	T_EQ(vs->peer_pid, pid);
	T_EQ(vs->peer_uid, getuid());
	T_EQ(vs->tpu_to_pack.role, XS_SPSC_PRODUCER);
	T_EQ(vs->progress.role, XS_SPSC_PRODUCER);
	T_EQ(vs->workers[0].pack_to_worker.role, XS_SPSC_CONSUMER);
	T_EQ(vs->workers[0].worker_to_pack.role, XS_SPSC_PRODUCER);
	T_EQ(xs_alloc_base(vs->worker_allocs[0]), xs_alloc_base(vs->tpu_alloc)); /* one mapping */
	th_wait(pid, 5000);
	xs_vsession_close(vs);
	T_EQ(t_fd_count(), s.fds_before);
	T_EQ(th_events_count(&s.ev), 0);
	srv_stop(&s);
}

static struct xs_logon json_logon(const char *vector)
{
	size_t len;
	char *j = (char *)t_read_vector(vector, &len);
	struct xs_logon lg;

	j = realloc(j, len + 1);
	j[len] = '\0';
	memset(&lg, 0, sizeof(lg));
	lg.worker_count = (uint64_t)th_json_num(j, NULL, "worker_count", 0);
	lg.allocator_size = (uint64_t)th_json_num(j, NULL, "allocator_size", 0);
	lg.allocator_handles = (uint64_t)th_json_num(j, NULL, "allocator_handles", 0);
	lg.tpu_to_pack_capacity = (uint64_t)th_json_num(j, NULL, "tpu_to_pack_capacity", 0);
	lg.progress_tracker_capacity = (uint64_t)th_json_num(j, NULL, "progress_tracker_capacity", 0);
	lg.pack_to_worker_capacity = (uint64_t)th_json_num(j, NULL, "pack_to_worker_capacity", 0);
	lg.worker_to_pack_capacity = (uint64_t)th_json_num(j, NULL, "worker_to_pack_capacity", 0);
	lg.flags = (uint16_t)th_json_num(j, NULL, "flags", 0);
	free(j);
	return lg;
}

static void t_success_w2(void)
{
	struct success_check c = { .version = 2, .json = "success_handshake_w2.json" };

	c.lg = json_logon(c.json);
	success_case(&c, 0, XS_HS_HUGE_AUTO);
}

static void t_success_w1_nonpow2(void)
{
	struct success_check c = { .version = 2, .json = "success_handshake_w1_nonpow2_caps.json" };

	c.lg = json_logon(c.json);
	T_EQ(c.lg.flags, XS_LOGON_REROUTE_VOTES);
	success_case(&c, 0, XS_HS_HUGE_EACH);
}

static void t_success_no_seal(void)
{
	struct success_check c = { .version = 2, .json = "success_handshake_w2.json" };

	c.lg = json_logon(c.json);
	success_case(&c, 1, XS_HS_HUGE_NEVER);
}

static void t_success_v1(void)
{
	/* VERSION 1: queue files of exactly the byte sizes sent, shaq 0.2.0 */
	static const uint64_t sizes[5] = { 8u << 20, 192 + 1024 * 40, 192 + 64 * 48, 192 + 256 * 32,
					   192 + 512 * 40 };
	struct success_check c = { .version = 1, .v1_sizes = sizes };

	c.lg = th_logon_small(3);
	success_case(&c, 0, XS_HS_HUGE_AUTO);
}

/* ------------------------------------------------------ creation errors */

static void t_alloc_too_small(void)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .reason = "Rts alloc; err=InvalidFileSize" };
	struct xs_logon lg = th_logon_small(2);

	lg.allocator_size = 1u << 20; /* below two 2 MiB slabs */
	th_encode(2, &lg, r.logon);
	reject_case(&r, -XS_EHS_ALLOC, 0);
}

static void t_queue_too_small_v1(void)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .reason = "Shaq; err=InvalidBufferSize" };
	struct xs_logon lg = th_logon_small(2);
	struct srv s;
	pid_t pid;

	lg.units = XS_LOGON_BYTES;
	lg.tpu_to_pack_capacity = 192 + 40 * 8;
	lg.progress_tracker_capacity = 192 + 48 * 8;
	lg.pack_to_worker_capacity = 100; /* no room for one message after the header */
	lg.worker_to_pack_capacity = 192 + 40 * 8;
	th_encode(1, &lg, r.logon);
	srv_start(&s, 1);
	srv_listen(&s);
	r.path = s.path;
	pid = th_fork(raw_child, &r);
	serve_child(&s, pid, 1, NULL);
	T_ERR(s.ev.last_err, -XS_EHS_QUEUE);
	srv_stop(&s);
}

static void t_queue_overflow(void)
{
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .reason = "Shaq; err=InvalidBufferSize" };
	struct xs_logon lg = th_logon_small(1);

	lg.worker_to_pack_capacity = UINT64_MAX / 8;
	th_encode(2, &lg, r.logon);
	reject_case(&r, -XS_EHS_QUEUE, 0);
}

/* --------------------------------------------------------- credentials */

static void uid_case(int allowed)
{
	char want[64];
	struct raw r = { .send_len = XS_HS_LOGON_BUF };
	struct xs_logon lg = th_logon_small(1);
	struct xs_vsession *vs;
	struct srv s;
	pid_t pid;

	th_encode(2, &lg, r.logon);
	snprintf(want, sizeof(want), "Permission denied; uid=%u", (unsigned)getuid());
	srv_start(&s, 2);
	s.o.check_uid = 1;
	s.o.allowed_uid = allowed ? getuid() : getuid() + 1;
	srv_listen(&s);
	r.path = s.path;
	if (!allowed) {
		r.reason = want;
		pid = th_fork(raw_child, &r);
		serve_child(&s, pid, 1, NULL);
		T_ERR(s.ev.last_err, -XS_EHS_PEER);
		T_EQ(s.ev.last_received, 0);
	} else {
		r.read_ms = 300; /* reads the success byte, then EOF */
		pid = th_fork(raw_child, &r);
		serve_child(&s, pid, 0, &vs);
	}
	srv_stop(&s);
}

static void t_uid_denied(void)
{
	uid_case(0);
}

static void t_uid_allowed(void)
{
	uid_case(1);
}

/* ---------------------------------------------------- serve and listen */

static void t_stop_and_deadline(void)
{
	struct xs_vsession *vs;
	struct srv s;
	uint64_t t0;

	srv_start(&s, 2);
	srv_listen(&s);
	xs_hs_server_stop(s.srv);
	T_ERR(xs_hs_server_serve(s.srv, 0, &vs), -XS_EHS_STOPPED);
	T_ASSERT(vs == NULL);
	t0 = t_now_ns();
	T_ERR(xs_hs_server_serve(s.srv, t0 + 30000000ull, &vs), -ETIMEDOUT);
	T_ASSERT(t_now_ns() - t0 >= 30000000ull);
	T_EQ(t_fd_count(), s.fds_before);
	srv_stop(&s);
}

static void t_listen_live(void)
{
	struct xs_hs_server *other = NULL;
	struct srv s;
	struct raw r = { .send_len = XS_HS_LOGON_BUF, .vector = "fail_version_client3.bin" };
	pid_t pid;

	srv_start(&s, 2);
	srv_listen(&s);
	s.o.replace_stale = 1; /* even so, a live socket is never taken over */
	T_ERR(xs_hs_server_listen(&s.o, &other), -EADDRINUSE);
	T_ASSERT(other == NULL);
	s.fds_before = t_fd_count();
	/* the probe looked like a client that left at once: one event */
	th_raw_logon(r.logon, 3, 4, 1);
	r.path = s.path;
	pid = th_fork(raw_child, &r);
	serve_child(&s, pid, 2, NULL);
	srv_stop(&s);
}

static void t_listen_stale(void)
{
	struct xs_hs_server *srv = NULL;
	struct xs_hs_server_opts o = { .force_poll = (uint8_t)force_poll };
	const char *path = th_sock_path("stale");
	int fd = th_listen_raw(path, 1), before = t_fd_count();

	close(fd); /* the file stays, nobody listens */
	o.path = path;
	T_ERR(xs_hs_server_listen(&o, &srv), -EADDRINUSE);
	T_EQ(t_fd_count(), before - 1);
	T_ASSERT(access(path, F_OK) == 0);
	o.replace_stale = 1;
	T_OK(xs_hs_server_listen(&o, &srv));
	xs_hs_server_close(srv);
	T_ASSERT(access(path, F_OK) != 0);
}

static void t_listen_not_socket(void)
{
	struct xs_hs_server *srv = NULL;
	struct xs_hs_server_opts o = { .replace_stale = 1 };
	const char *path = th_sock_path("file");
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	T_ASSERT(fd >= 0);
	close(fd);
	o.path = path;
	T_ERR(xs_hs_server_listen(&o, &srv), -EEXIST);
	T_ASSERT(access(path, F_OK) == 0, "a regular file was removed");
	unlink(path);
}

static void t_listen_mode(void)
{
	struct xs_hs_server *srv = NULL;
	struct xs_hs_server_opts o = { .force_poll = (uint8_t)force_poll };
	struct stat st;
	mode_t old = umask(0);

	o.path = th_sock_path("mode");
	T_OK(xs_hs_server_listen(&o, &srv));
	T_ASSERT(stat(o.path, &st) == 0 && S_ISSOCK(st.st_mode));
	T_EQ(st.st_mode & 0777, 0600);
	xs_hs_server_close(srv);
	o.mode = 0660;
	T_OK(xs_hs_server_listen(&o, &srv));
	T_ASSERT(stat(o.path, &st) == 0);
	T_EQ(st.st_mode & 0777, 0660);
	xs_hs_server_close(srv);
	umask(old);
}

/* The socket path appears only once it accepts connections (bound under a
 * temporary name, listening, then renamed), leaves no temporary file behind,
 * and a path too long for the temporary name still works. */
static void connect_now(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	T_ASSERT(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	T_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", path,
		 strerror(errno));
	close(fd);
}

static void t_listen_atomic(void)
{
	struct xs_hs_server *srv = NULL;
	struct xs_hs_server_opts o = { .force_poll = (uint8_t)force_poll };
	char tmp[200], longp[108];
	struct stat st;
	int before = t_fd_count();

	o.path = th_sock_path("atomic");
	T_OK(xs_hs_server_listen(&o, &srv));
	connect_now(o.path); /* listening the moment the path exists */
	snprintf(tmp, sizeof(tmp), "/tmp/.%s.%ld.tmp", o.path + 5, (long)getpid());
	T_ASSERT(stat(tmp, &st) != 0, "temporary name %s left behind", tmp);
	xs_hs_server_close(srv);
	T_ASSERT(stat(o.path, &st) != 0, "socket not removed at close");

	/* 107 bytes: no room for the temporary name, bound directly. */
	memset(longp, 'q', sizeof(longp) - 1);
	memcpy(longp, "/tmp/xs-hs-long-", 16);
	longp[sizeof(longp) - 1] = '\0';
	unlink(longp);
	o.path = longp;
	T_OK(xs_hs_server_listen(&o, &srv));
	connect_now(longp);
	xs_hs_server_close(srv);
	T_EQ(t_fd_count(), before);
}

static void t_listen_bad_args(void)
{
	struct xs_hs_server *srv = NULL;
	struct xs_hs_server_opts o = { 0 };
	char longp[200];
	int before = t_fd_count();

	memset(longp, 'p', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	o.path = longp;
	T_ERR(xs_hs_server_listen(&o, &srv), -ENAMETOOLONG);
	o.path = th_sock_path("args");
	o.version = 9; /* not a row */
	T_ERR(xs_hs_server_listen(&o, &srv), -EINVAL);
	o.version = 5;
	o.check_workers = XS_HS_MAX_CHECK_WORKERS + 1;
	T_ERR(xs_hs_server_listen(&o, &srv), -EINVAL);
	o.check_workers = 0;
	o.version = 0;
	o.huge = 9;
	T_ERR(xs_hs_server_listen(&o, &srv), -EINVAL);
	o.path = "/nonexistent-dir-xsched/s.sock";
	o.huge = 0;
	T_ERR(xs_hs_server_listen(&o, &srv), -ENOENT);
	T_ASSERT(srv == NULL);
	T_EQ(t_fd_count(), before);
}

static void t_close_keeps_replacement(void)
{
	struct xs_hs_server *srv = NULL;
	struct xs_hs_server_opts o = { .force_poll = (uint8_t)force_poll };
	int fd;

	o.path = th_sock_path("repl");
	T_OK(xs_hs_server_listen(&o, &srv));
	/* someone replaced the socket file: close must not remove theirs */
	unlink(o.path);
	fd = open(o.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	T_ASSERT(fd >= 0);
	close(fd);
	xs_hs_server_close(srv);
	T_ASSERT(access(o.path, F_OK) == 0);
	unlink(o.path);
}

static const struct th_case cases[] = {
	{ "vec_version1", t_vec_version1 },
	{ "vec_version3", t_vec_version3 },
	{ "vec_workers0", t_vec_workers0 },
	{ "vec_workers65", t_vec_workers65 },
	{ "vec_handles0", t_vec_handles0 },
	{ "vec_handles129", t_vec_handles129 },
	{ "vec_eof100", t_vec_eof100 },
	{ "short_silent", t_short_silent },
	{ "trickle", t_trickle },
	{ "garbage", t_garbage },
	{ "gone_before_reject", t_gone_before_reject },
	{ "gone_before_success", t_gone_before_success },
	{ "success_w2", t_success_w2 },
	{ "success_w1_nonpow2", t_success_w1_nonpow2 },
	{ "success_no_seal", t_success_no_seal },
	{ "success_v1", t_success_v1 },
	{ "alloc_too_small", t_alloc_too_small },
	{ "queue_too_small_v1", t_queue_too_small_v1 },
	{ "queue_overflow", t_queue_overflow },
	{ "uid_denied", t_uid_denied },
	{ "uid_allowed", t_uid_allowed },
	{ "stop_and_deadline", t_stop_and_deadline },
	{ "listen_live", t_listen_live },
	{ "listen_stale", t_listen_stale },
	{ "listen_not_socket", t_listen_not_socket },
	{ "listen_mode", t_listen_mode },
	{ "listen_bad_args", t_listen_bad_args },
	{ "listen_atomic", t_listen_atomic },
	{ "close_keeps_replacement", t_close_keeps_replacement },
};

int main(int argc, char **argv)
{
	force_poll = argc > 2 && strcmp(argv[2], "poll") == 0;
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
