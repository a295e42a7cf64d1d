/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The peer's pidfd of a session (xs_session.peer_pidfd, xs_vsession.peer_pidfd):
 * taken from the handshake socket before it is closed, it survives the
 * socket, names the very process on the other end (its fdinfo pid), is
 * close-on-exec, becomes readable when that process exits, and is closed
 * with the session. The fallback without SO_PEERPIDFD (pidfd_open on the
 * SO_PEERCRED pid, checked against the connection's time) refuses a pid that
 * now names a process started after the connection, and a reaped one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hs_pvt.h"
#include "hs_test.h"
#include "xsched/guard.h"

/* The pid the kernel reports for @p pidfd (fdinfo "Pid:"), -2 when absent. */
static long fdinfo_pid(int pidfd)
{
	char path[64], line[128];
	long v = -2;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	T_ASSERT(f != NULL, "cannot read %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* 1 when the pidfd's process has exited (readable), within @p ms. */
static int exited(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Descriptors of this process that are sockets. */
static int socket_fds(void)
{
	char path[64], link[128];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t k;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		n += !strncmp(link, "socket:", 7);
	}
	return n;
}

/* ------------------------------------------------ client side (server child) */

struct srv_arg {
	const char *path;
	int go[2]; /* parent -> child: "exit now" */
};

static void serve_one(void *arg)
{
	struct srv_arg *a = arg;
	struct xs_hs_server_opts so;
	struct xs_hs_server *srv;
	struct xs_vsession *vs = NULL;
	char c;

	memset(&so, 0, sizeof(so));
	so.path = a->path;
	T_OK(xs_hs_server_listen(&so, &srv));
	T_OK(xs_hs_server_serve(srv, t_now_ns() + 10000000000ull, &vs));
	xs_hs_server_close(srv);
	T_EQ(read(a->go[0], &c, 1), 1);
	xs_vsession_close(vs);
}

static void client_side(void)
{
	struct srv_arg a = { .path = th_sock_path("pidfd_c") };
	struct xs_hs_client_opts co;
	struct xs_logon lg = th_logon_small(1);
	struct xs_session *s = NULL;
	struct xs_peer_watcher *w, *wp;
	static struct xs_peer peer, polled;
	int pidfd, before, st;
	pid_t child;

	T_OK(pipe(a.go));
	child = th_fork(serve_one, &a);
	memset(&co, 0, sizeof(co));
	co.path = a.path;
	co.timeout_ns = 10000000000ull;
	before = t_fd_count();
	for (int i = 0; i < 300; i++) { /* until the child listens */
		if (xs_hs_connect(&co, &lg, &s) == 0)
			break;
		usleep(10000);
	}
	T_ASSERT(s != NULL, "no session with the child server: %s", xs_errmsg());
	pidfd = s->peer_pidfd;
	T_ASSERT(pidfd >= 0, "no peer pidfd in the client session");
	T_EQ(fcntl(pidfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* the handshake socket is gone; the pidfd is the one descriptor kept */
	T_EQ(socket_fds(), 0);
	T_EQ(t_fd_count(), before + 1);
	T_EQ(fdinfo_pid(pidfd), child);
	T_EQ(s->peer_pid, child);
	T_ASSERT(!exited(pidfd, 0), "the server is still running");

	/* the guard watches through it (its own duplicate) */
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch_pidfd(w, &peer, pidfd, NULL, NULL));
	T_EQ(xs_peer_pid(&peer), child);
	T_EQ(xs_peer_method(&peer), XS_PEER_PIDFD);
	T_EQ(xs_peer_wait(&peer, 0), 0);
	/* the polling fallback polls the same pidfd (never a pid) */
	T_OK(xs_peer_watcher_create(&wp, XS_PEER_FORCE_POLL, 1));
	T_OK(xs_peer_watch_pidfd(wp, &polled, pidfd, NULL, NULL));
	T_EQ(xs_peer_method(&polled), XS_PEER_POLL);
	T_EQ(xs_peer_pid(&polled), child);
	T_EQ(xs_peer_wait(&polled, 20), 0);

	/* the server exits and is reaped: its pid is free for reuse, the
	 * pidfd still names the process that took part, now exited */
	T_EQ(write(a.go[1], "x", 1), 1);
	T_EQ(waitpid(child, &st, 0), child);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server child failed (0x%x)", st);
	T_ASSERT(exited(pidfd, 5000), "pidfd not readable after the server exited");
	T_EQ(xs_peer_wait(&peer, 5000), 1);
	T_EQ(xs_peer_wait(&polled, 5000), 1);
	xs_peer_watcher_destroy(w);
	xs_peer_watcher_destroy(wp);
	T_ERR(xs_peer_watch_pidfd(NULL, &peer, -1, NULL, NULL), -EBADF);

	xs_session_close(s); /* closes the pidfd */
	T_EQ(t_fd_count(), before);
	T_ERR(fcntl(pidfd, F_GETFD), -1);
	close(a.go[0]);
	close(a.go[1]);
}

/* ------------------------------------------------ server side (client child) */

struct cli_arg {
	const char *path;
	int go[2];
};

static void connect_one(void *arg)
{
	struct cli_arg *a = arg;
	struct xs_hs_client_opts co;
	struct xs_logon lg = th_logon_small(2);
	struct xs_session *s = NULL;
	char c;

	memset(&co, 0, sizeof(co));
	co.path = a->path;
	co.timeout_ns = 10000000000ull;
	for (int i = 0; i < 300 && xs_hs_connect(&co, &lg, &s) != 0; i++)
		usleep(10000);
	T_ASSERT(s != NULL, "child: no session: %s", xs_errmsg());
	T_EQ(read(a->go[0], &c, 1), 1);
	xs_session_close(s);
}

static void server_side(void)
{
	struct cli_arg a = { .path = th_sock_path("pidfd_s") };
	struct xs_hs_server_opts so;
	struct xs_hs_server *srv;
	struct xs_vsession *vs = NULL;
	int pidfd, before, st;
	pid_t child;

	T_OK(pipe(a.go));
	before = t_fd_count();
	memset(&so, 0, sizeof(so));
	so.path = a.path;
	T_OK(xs_hs_server_listen(&so, &srv));
	child = th_fork(connect_one, &a);
	T_OK(xs_hs_server_serve(srv, t_now_ns() + 10000000000ull, &vs));
	xs_hs_server_close(srv);
	pidfd = vs->peer_pidfd;
	T_ASSERT(pidfd >= 0, "no peer pidfd in the validator session");
	T_EQ(fcntl(pidfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	T_EQ(socket_fds(), 0);
	T_EQ(t_fd_count(), before + 1);
	T_EQ(fdinfo_pid(pidfd), child);
	T_EQ(vs->peer_pid, child);
	T_ASSERT(!exited(pidfd, 0), "the client is still running");
	T_EQ(write(a.go[1], "x", 1), 1);
	T_EQ(waitpid(child, &st, 0), child);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client child failed (0x%x)", st);
	T_ASSERT(exited(pidfd, 5000), "pidfd not readable after the client exited");
	xs_vsession_close(vs);
	T_EQ(t_fd_count(), before);
	close(a.go[0]);
	close(a.go[1]);
}

/* A session made without a socket has no pidfd (and closing it closes nothing). */
static void socketless(void)
{
	struct xs_logon lg = th_logon_small(1);
	struct xs_vsession *vs;
	int fds[XS_HS_MAX_FDS], before = t_fd_count();
	char reason[XS_HS_MAX_REASON + 1];

	T_OK(xs_hs_objects_create(2, &lg, XS_HS_HUGE_NEVER, 1, &vs, fds, reason, sizeof(reason)));
	xs__hs_close_fds(fds, vs->num_objects);
	T_EQ(vs->peer_pidfd, -1);
	xs_vsession_close(vs);
	T_EQ(t_fd_count(), before);
}

/* ------------------------------------------------ fallback: pidfd_open + start time */

static void child_wait(void *arg)
{
	int *go = arg;
	char c;

	if (read(go[0], &c, 1) != 1)
		_exit(3);
}

static void fallback(void)
{
	int sv[2], go[2], fd, st;
	uint64_t t0;
	pid_t child;

	/* a socketpair's peer credentials are our own */
	T_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fd = xs__hs_peer_pidfd(sv[0], getpid(), 0, XS__HS_PIDFD_NO_SOCKOPT);
	T_OK(fd);
	T_EQ(fdinfo_pid(fd), getpid());
	T_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* and through SO_PEERPIDFD where the kernel has it */
	fd = xs__hs_peer_pidfd(sv[0], getpid(), 0, 0);
	T_OK(fd);
	T_EQ(fdinfo_pid(fd), getpid());
	T_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);

	/* a process started after the connection was made cannot be the peer:
	 * pretend the connection is 1 s old and look up a fresh child's pid */
	T_OK(pipe(go));
	t0 = xs__hs_boot_ns();
	child = th_fork(child_wait, go);
	T_ERR(xs__hs_peer_pidfd(sv[0], child, t0 - 1000000000ull, XS__HS_PIDFD_NO_SOCKOPT),
	      -ESRCH);
	T_ASSERT(strstr(xs_errmsg(), "started after the connection") != NULL, "%s", xs_errmsg());
	/* the same child, with a connection made after it started: accepted */
	usleep(20000); /* past the 10 ms start-time granularity */
	fd = xs__hs_peer_pidfd(sv[0], child, xs__hs_boot_ns(), XS__HS_PIDFD_NO_SOCKOPT);
	T_OK(fd);
	T_EQ(fdinfo_pid(fd), child);
	T_EQ(write(go[1], "x", 1), 1);
	T_EQ(waitpid(child, &st, 0), child);
	T_ASSERT(exited(fd, 5000), "pidfd of the reaped child not readable");
	close(fd);
	/* reaped: the pid names nothing (or someone else): refused */
	T_ERR(xs__hs_peer_pidfd(sv[0], child, t0, XS__HS_PIDFD_NO_SOCKOPT), -ESRCH);
	close(go[0]);
	close(go[1]);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	static const struct th_case cases[] = {
		{ "client_side", client_side },
		{ "server_side", server_side },
		{ "socketless", socketless },
		{ "fallback", fallback },
	};

	signal(SIGPIPE, SIG_IGN);
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
