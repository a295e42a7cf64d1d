/* SPDX-License-Identifier: Apache-2.0 */
#include "peer_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xsched/alloc.h"

const char *pu_sock_path(const char *tag)
{
	static char path[108];

	snprintf(path, sizeof(path), "/tmp/xs-hard-%d-%s.sock", (int)getpid(), tag);
	unlink(path);
	return path;
}

/* Handshake VERSION of the sessions (0: the library's default). */
static uint32_t pu_ver;

void pu_use_version(uint32_t version)
{
	pu_ver = version;
}

struct xs_logon pu_logon(uint64_t w)
{
	struct xs_logon lg = {
		.worker_count = w,
		.allocator_size = 16u << 20,
		.allocator_handles = 1,
		.tpu_to_pack_capacity = 64,
		.progress_tracker_capacity = 64,
		.pack_to_worker_capacity = 64,
		.worker_to_pack_capacity = 64,
		.units = XS_LOGON_ITEMS,
	};

	/* the generation's own fields: check workers and check queues */
	if (pu_ver)
		xs_hs_logon_for(xs_hs_proto_get(pu_ver), &lg, &lg);
	return lg;
}

struct xs_hs_server *pu_listen(const char *path)
{
	struct xs_hs_server_opts o = {.path = path, .replace_stale = 1, .version = pu_ver};
	struct xs_hs_server *srv = NULL;

	T_OK(xs_hs_server_listen(&o, &srv));
	return srv;
}

struct xs_vsession *pu_serve(struct xs_hs_server *srv)
{
	struct xs_vsession *vs = NULL;

	T_OK(xs_hs_server_serve(srv, t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull, &vs));
	return vs;
}

struct xs_session *pu_connect(const char *path, const struct xs_logon *lg)
{
	struct xs_hs_client_opts o = {.path = path, .version = pu_ver, .timeout_ns = 2000000000ull};
	uint64_t end = t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull;
	struct xs_session *s = NULL;
	int rc;

	/* the server may not listen yet: retry while the path is missing */
	while ((rc = xs_hs_connect(&o, lg, &s)) == -ENOENT || rc == -ECONNREFUSED) {
		T_ASSERT(t_now_ns() < end, "server never listened at %s", path);
		usleep(2000);
	}
	T_OK(rc);
	return s;
}

void pu_chan(int fds[2])
{
	T_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds));
}

void pu_send(int fd, int step)
{
	T_ASSERT(send(fd, &step, sizeof(step), MSG_NOSIGNAL) == (ssize_t)sizeof(step),
		 "step %d not sent: %s", step, strerror(errno));
}

int pu_recv(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int step = 0;
	ssize_t n;

	T_ASSERT(poll(&p, 1, PU_WAIT_MS) == 1, "no step from the peer within %d ms", PU_WAIT_MS);
	n = recv(fd, &step, sizeof(step), 0);
	if (n == 0)
		return -1;
	T_ASSERT(n == (ssize_t)sizeof(step), "step channel: %zd bytes", n);
	return step;
}

void pu_expect(int fd, int step)
{
	int got = pu_recv(fd);

	T_ASSERT(got == step, "expected step %d, got %d", step, got);
}

pid_t pu_fork(void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		fn(arg);
		/* exit(), not _exit(): LeakSanitizer checks the child too */
		exit(0);
	}
	return pid;
}

int pu_reap(pid_t pid)
{
	uint64_t end = t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull;
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (t_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_fail(__FILE__, __LINE__, "child %d did not finish in %d ms", (int)pid,
			       PU_WAIT_MS);
		}
		usleep(1000);
	}
	return st;
}

void pu_wait_ok(pid_t pid)
{
	int st = pu_reap(pid);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail(__FILE__, __LINE__, "peer process %d failed (status 0x%x%s)", (int)pid, st,
		       WIFSIGNALED(st) ? ", killed by a signal" : "");
}

int pu_pop_or_err(struct xs_spsc *q, void *out)
{
	uint64_t end = t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull;
	const void *e;

	while (!(e = xs_spsc_poll(q))) {
		if (xs_spsc_error(q))
			return xs_spsc_error(q);
		T_ASSERT(t_now_ns() < end, "queue stayed empty for %d ms", PU_WAIT_MS);
		usleep(100);
	}
	memcpy(out, e, q->elem_size);
	xs_spsc_finalize(q);
	return 0;
}

void pu_pop(struct xs_spsc *q, void *out)
{
	T_OK(pu_pop_or_err(q, out));
}

void pu_push(struct xs_spsc *q, const void *m)
{
	T_OK(xs_spsc_try_push(q, m));
}

uint64_t pu_alloc(struct xs_alloc *a, size_t len, int fill)
{
	uint64_t off;

	T_OK(xs_alloc_alloc_offset(a, len, &off));
	memset(xs_alloc_ptr(a, off), fill, len);
	return off;
}
