/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peer-death watcher: kill -9 of a watched process is seen by the flag, the
 * callback and xs_peer_wait(), through pidfd and through the polling
 * fallback; peers already dead or zombie at watch time; unwatch (also from
 * inside the callback); many peers at once; the race-free socket variant
 * (SO_PEERPIDFD); a process where pidfd_open fails with ENOSYS or EPERM (a
 * seccomp filter, as an old kernel or a container would) falls back to
 * polling, or refuses with XS_PEER_REQUIRE_PIDFD; no descriptor left behind.
 * Bounds are generous seconds, never timing assertions.
 */
#include "testutil.h"
#include "xsched/guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif

#define WAIT_MS 10000 /* generous: the machine may be busy */

struct cb_rec {
	int calls;
	pid_t pid;
	int unwatch_self;
	struct xs_peer_watcher *w;
};

static void on_dead(void *arg, struct xs_peer *p)
{
	struct cb_rec *r = arg;

	/* the flag is set before the callback runs */
	T_ASSERT(!xs_peer_alive(p));
	r->pid = p->pid; /* before the release below: read after wait_calls() */
	__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELEASE);
	if (r->unwatch_self)
		T_OK(xs_peer_unwatch(r->w, p));
}

static int calls(struct cb_rec *r)
{
	return __atomic_load_n(&r->calls, __ATOMIC_ACQUIRE);
}

static void wait_calls(struct cb_rec *r, int n)
{
	uint64_t t0 = t_now_ns();

	while (calls(r) < n) {
		T_ASSERT(t_now_ns() - t0 < (uint64_t)WAIT_MS * 1000000, "callback never came");
		usleep(1000);
	}
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	T_ASSERT(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	T_ASSERT(waitpid(pid, &st, 0) == pid);
}

/* A lightweight thread: spins on the flag, no syscall, until the peer dies. */
struct spinner {
	struct xs_peer *p;
	uint64_t spins;
	uint64_t seen_ns;
};

static void *spin_main(void *arg)
{
	struct spinner *s = arg;
	uint64_t t0 = t_now_ns();

	while (xs_peer_alive(s->p)) {
		s->spins++;
		xs_cpu_relax();
		if ((s->spins & 0xffff) == 0 && t_now_ns() - t0 > (uint64_t)WAIT_MS * 1000000)
			return NULL;
	}
	s->seen_ns = t_now_ns();
	return NULL;
}

static void kill_detected(unsigned flags, int want_method)
{
	struct xs_peer_watcher *w;
	struct xs_peer p;
	struct cb_rec r = {0};
	struct spinner s = {.p = &p};
	pthread_t thr;
	pid_t pid = spawn_sleeper();
	int fds = t_fd_count();

	memset(&p, 0, sizeof(p));
	T_OK(xs_peer_watcher_create(&w, flags, 1));
	T_OK(xs_peer_watch(w, &p, pid, on_dead, &r));
	T_EQ(xs_peer_method(&p), want_method);
	T_EQ(xs_peer_pid(&p), pid);
	T_ASSERT(xs_peer_alive(&p));
	T_EQ(xs_peer_wait(&p, 20), 0); /* alive: times out */
	T_EQ(calls(&r), 0);
	T_ASSERT(pthread_create(&thr, NULL, spin_main, &s) == 0);

	T_OK(kill(pid, SIGKILL));
	T_EQ(xs_peer_wait(&p, WAIT_MS), 1);
	T_ASSERT(pthread_join(thr, NULL) == 0);
	T_ASSERT(s.seen_ns != 0, "spinning thread never saw the flag");
	T_ASSERT(xs_peer_dead_ns(&p) != 0);
	wait_calls(&r, 1);
	T_EQ(r.pid, pid);
	usleep(5000);
	T_EQ(calls(&r), 1); /* exactly once */
	T_OK(xs_peer_unwatch(w, &p));
	T_ASSERT(!xs_peer_alive(&p)); /* the flag keeps its value */
	T_ERR(xs_peer_unwatch(w, &p), -XS_EMSG_PEER_UNKNOWN);
	xs_peer_watcher_destroy(w);
	reap(pid);
	T_EQ(t_fd_count(), fds); /* watcher's epoll, eventfd and pidfd all closed */
}

/* Peers that are gone, or zombies, when the watch starts. */
static void already_dead(unsigned flags)
{
	struct xs_peer_watcher *w;
	struct xs_peer reaped, zombie;
	struct cb_rec r1 = {0}, r2 = {0};
	pid_t a = fork(), b;

	T_ASSERT(a >= 0);
	if (a == 0)
		_exit(0);
	reap(a); /* gone: pidfd_open says ESRCH, /proc has no entry */
	b = fork();
	T_ASSERT(b >= 0);
	if (b == 0)
		_exit(0);
	/* b stays a zombie until reaped: exited, so dead */
	{
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		T_OK(waitid(P_PID, (id_t)b, &si, WEXITED | WNOWAIT));
	}
	memset(&reaped, 0, sizeof(reaped));
	memset(&zombie, 0, sizeof(zombie));
	T_OK(xs_peer_watcher_create(&w, flags, 1));
	T_OK(xs_peer_watch(w, &reaped, a, on_dead, &r1));
	T_ASSERT(!xs_peer_alive(&reaped), "a reaped pid must be dead at once");
	T_OK(xs_peer_watch(w, &zombie, b, on_dead, &r2));
	T_EQ(xs_peer_wait(&zombie, WAIT_MS), 1);
	wait_calls(&r1, 1);
	wait_calls(&r2, 1);
	xs_peer_watcher_destroy(w); /* unwatches both */
	T_EQ(xs_peer_method(&reaped), XS_PEER_NONE);
	reap(b);
}

/* Unwatch before death: no callback, ever; unwatch from inside the callback. */
static void unwatch_paths(void)
{
	struct xs_peer_watcher *w;
	struct xs_peer p, q;
	struct cb_rec r = {0}, rs = {0};
	pid_t a = spawn_sleeper(), b = spawn_sleeper();
	int fds = t_fd_count();

	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch(w, &p, a, on_dead, &r));
	T_ERR(xs_peer_watch(w, &p, a, on_dead, &r), -XS_EMSG_PEER_BUSY);
	T_ERR(xs_peer_watch(w, &q, 0, on_dead, &r), -EINVAL);
	T_OK(xs_peer_unwatch(w, &p));
	T_OK(kill(a, SIGKILL));
	reap(a);
	usleep(20000);
	T_EQ(calls(&r), 0);
	T_ASSERT(xs_peer_alive(&p));

	rs.unwatch_self = 1;
	rs.w = w;
	T_OK(xs_peer_watch(w, &q, b, on_dead, &rs));
	T_OK(kill(b, SIGKILL));
	wait_calls(&rs, 1);
	reap(b);
	/* the callback unwatched itself */
	{
		uint64_t t0 = t_now_ns();

		while (xs_peer_method(&q) != XS_PEER_NONE) {
			T_ASSERT(t_now_ns() - t0 < (uint64_t)WAIT_MS * 1000000);
			usleep(1000);
		}
	}
	xs_peer_watcher_destroy(w);
	T_EQ(t_fd_count(), fds);
}

/* Eight peers on one watcher, killed in a scrambled order. */
static void many_peers(unsigned flags)
{
	enum { N = 8 };
	struct xs_peer_watcher *w;
	struct xs_peer p[N];
	struct cb_rec r[N];
	pid_t pid[N];
	int order[N] = {3, 0, 7, 1, 6, 2, 5, 4}, i, k;

	for (i = 0; i < N; i++)
		pid[i] = spawn_sleeper();
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	T_OK(xs_peer_watcher_create(&w, flags, 1));
	for (i = 0; i < N; i++)
		T_OK(xs_peer_watch(w, &p[i], pid[i], on_dead, &r[i]));
	for (k = 0; k < N; k++) {
		i = order[k];
		T_OK(kill(pid[i], SIGKILL));
		T_EQ(xs_peer_wait(&p[i], WAIT_MS), 1);
		wait_calls(&r[i], 1);
		/* the others are untouched */
		for (int j = k + 1; j < N; j++)
			T_ASSERT(xs_peer_alive(&p[order[j]]));
		reap(pid[i]);
	}
	for (i = 0; i < N; i++)
		T_EQ(calls(&r[i]), 1);
	xs_peer_watcher_destroy(w);
}

/* A listening socket on an abstract address (nothing to clean up on the
 * filesystem) and a child connected to it, which then waits to be killed
 * (@p stay) or exits. @return the accepted connection; *ls the listener. */
static int connected_child(const char *tag, int stay, int *ls, pid_t *child)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int cs;
	pid_t pid;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "xs-peerwatch-%s-%d", tag,
		 (int)getpid());
	*ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_ASSERT(*ls >= 0);
	T_OK(bind(*ls, (struct sockaddr *)&sa, sizeof(sa)));
	T_OK(listen(*ls, 1));
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(1);
		while (stay)
			pause();
		_exit(0);
	}
	cs = accept4(*ls, NULL, NULL, SOCK_CLOEXEC);
	T_ASSERT(cs >= 0);
	*child = pid;
	return cs;
}

/* Race-free watch from a connected socket (SO_PEERPIDFD on Linux >= 6.5). */
static void socket_watch(void)
{
	struct xs_peer_watcher *w;
	struct xs_peer p;
	struct cb_rec r = {0};
	int ls, cs, fds;
	pid_t pid;

	cs = connected_child("test", 1, &ls, &pid);
	fds = t_fd_count();
	memset(&p, 0, sizeof(p));
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch_socket(w, &p, cs, on_dead, &r));
	T_EQ(xs_peer_pid(&p), pid);
	T_EQ(xs_peer_method(&p), XS_PEER_PIDFD);
	close(cs); /* the watch does not need the socket */
	close(ls);
	T_OK(kill(pid, SIGKILL));
	T_EQ(xs_peer_wait(&p, WAIT_MS), 1);
	wait_calls(&r, 1);
	xs_peer_watcher_destroy(w);
	reap(pid);
	T_EQ(t_fd_count(), fds - 2);
}

/* The process behind a socket exited and was reaped before the watch: it is
 * reported dead, never looked up again by its (reusable) pid. */
static void socket_watch_reaped(void)
{
	struct xs_peer_watcher *w;
	struct xs_peer p;
	struct cb_rec r = {0};
	int ls, cs, fds;
	pid_t pid;

	cs = connected_child("reaped", 0, &ls, &pid);
	reap(pid);
	fds = t_fd_count();
	memset(&p, 0, sizeof(p));
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch_socket(w, &p, cs, on_dead, &r));
	/* Linux >= 6.16 hands out a pidfd of the reaped process (readable at
	 * once); older kernels refuse it and the peer is registered dead */
	T_EQ(xs_peer_wait(&p, WAIT_MS), 1);
	T_EQ(xs_peer_pid(&p), pid);
	wait_calls(&r, 1);
	xs_peer_watcher_destroy(w);
	T_EQ(t_fd_count(), fds);
	close(cs);
	close(ls);
}

/* Create/destroy churn: no thread, descriptor or memory left behind. */
static void churn(void)
{
	int fds = t_fd_count(), i;

	for (i = 0; i < 200; i++) {
		struct xs_peer_watcher *w;
		struct xs_peer p;

		memset(&p, 0, sizeof(p));
		T_OK(xs_peer_watcher_create(&w, i & 1 ? XS_PEER_FORCE_POLL : 0, 1));
		T_OK(xs_peer_watch(w, &p, getpid(), NULL, NULL));
		if (i & 2)
			T_OK(xs_peer_unwatch(w, &p));
		xs_peer_watcher_destroy(w);
		T_ASSERT(xs_peer_alive(&p));
	}
	T_EQ(t_fd_count(), fds);
}

#if defined(__x86_64__)
/* Make pidfd_open fail with @p err in this process (and its children). */
static void deny_pidfd_open(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	T_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	T_OK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));
	T_ASSERT(syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == err);
}

/* In a child: pidfd_open unavailable -> polling fallback, or the error. */
static void no_pidfd(int err)
{
	pid_t child = fork();

	T_ASSERT(child >= 0);
	if (child == 0) {
		struct xs_peer_watcher *w;
		struct xs_peer p;
		struct cb_rec r = {0};
		pid_t victim = spawn_sleeper();

		deny_pidfd_open(err);
		memset(&p, 0, sizeof(p));
		T_OK(xs_peer_watcher_create(&w, XS_PEER_REQUIRE_PIDFD, 0));
		T_ERR(xs_peer_watch(w, &p, victim, on_dead, &r), -XS_EMSG_NO_PIDFD);
		T_ASSERT(strstr(xs_errmsg(), "pidfd_open") != NULL, "%s", xs_errmsg());
		xs_peer_watcher_destroy(w);
		T_OK(xs_peer_watcher_create(&w, 0, 1));
		T_OK(xs_peer_watch(w, &p, victim, on_dead, &r));
		T_EQ(xs_peer_method(&p), XS_PEER_POLL);
		T_OK(kill(victim, SIGKILL));
		T_EQ(xs_peer_wait(&p, WAIT_MS), 1);
		wait_calls(&r, 1);
		xs_peer_watcher_destroy(w);
		reap(victim);
		exit(0);
	}
	{
		int st;

		T_ASSERT(waitpid(child, &st, 0) == child);
		T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "no-pidfd child failed (0x%x)", st);
	}
}
#endif

int main(void)
{
	struct xs_peer_watcher *w;

	T_ERR(xs_peer_watcher_create(&w, XS_PEER_REQUIRE_PIDFD | XS_PEER_FORCE_POLL, 0), -EINVAL);
	kill_detected(0, XS_PEER_PIDFD);
	kill_detected(XS_PEER_REQUIRE_PIDFD, XS_PEER_PIDFD);
	kill_detected(XS_PEER_FORCE_POLL, XS_PEER_POLL);
	already_dead(0);
	already_dead(XS_PEER_FORCE_POLL);
	unwatch_paths();
	many_peers(0);
	many_peers(XS_PEER_FORCE_POLL);
	socket_watch();
	socket_watch_reaped();
	churn();
#if defined(__x86_64__)
	no_pidfd(ENOSYS); /* a kernel before 5.3 */
	no_pidfd(EPERM);  /* a seccomp profile that refuses it */
#endif
	printf("test_peer_watch: ok\n");
	return 0;
}
