/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the session glue's peer watch, both directions. Two peer
 * processes are forked before any thread exists: a validator (handshake
 * server that then just holds its session) and a scheduler (handshake client
 * likewise). For each, this process does a real handshake with it, builds the
 * standard plan of its own side with on_peer_death + stop_on_peer_death,
 * starts the runtime, kills the peer with SIGKILL and checks that the runtime
 * stops by itself: xs_rt_join() returns -XS_ERT_PEER_GONE, the callback ran
 * once with the peer's pid, xs_rt_peer()'s flag reads dead. Everything is
 * then destroyed and the fd count is back to its baseline. Also: the build
 * refuses a watch without a peer pid (-XS_ERT_SESSION) and a second watch on
 * one runtime (-XS_ERT_STATE); without the fields there is no watch.
 * Waits are bounded in seconds; nothing asserts a timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/runtime.h"

#define W 1
#define STOP_DEADLINE_NS (20ull * 1000000000ull)

static const struct xs_logon logon = {
	.worker_count = W,
	.allocator_size = 4ull * 1024 * 1024,
	.allocator_handles = 1,
	.tpu_to_pack_capacity = 256,
	.progress_tracker_capacity = 64,
	.pack_to_worker_capacity = 64,
	.worker_to_pack_capacity = 64,
	.units = XS_LOGON_ITEMS,
};

/* ------------------------------------------------------------ peers */

/* Block until the parent kills us (or closes the pipe: then leave). */
static _Noreturn void hold(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Validator peer: listen, tell the parent, serve one client, hold. */
static _Noreturn void child_server(const char *path, int ready_w, int hold_r)
{
	struct xs_hs_server_opts so;
	struct xs_hs_server *srv;
	struct xs_vsession *vs;

	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	if (xs_hs_server_listen(&so, &srv) < 0)
		_exit(3);
	if (write(ready_w, "r", 1) != 1)
		_exit(4);
	if (xs_hs_server_serve(srv, t_now_ns() + 10000000000ull, &vs) < 0)
		_exit(5);
	xs_hs_server_close(srv);
	hold(hold_r);
}

/* Scheduler peer: wait for the parent's go (its server listens), connect, hold. */
static _Noreturn void child_client(const char *path, int go_r, int hold_r)
{
	struct xs_hs_client_opts co;
	struct xs_session *s;
	char c;

	if (read(go_r, &c, 1) != 1)
		_exit(6);
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.timeout_ns = 5000000000ull;
	if (xs_hs_connect(&co, &logon, &s) < 0)
		_exit(7);
	hold(hold_r);
}

struct peer {
	pid_t pid;
	int sync;   /* parent's end of the ready / go pipe */
	int hold_w; /* parent's end of the hold pipe */
};

static struct peer spawn(const char *path, int server)
{
	int sp[2], hp[2];
	struct peer p;

	T_ASSERT(pipe(sp) == 0 && pipe(hp) == 0);
	p.pid = fork();
	T_ASSERT(p.pid >= 0);
	if (p.pid == 0) {
		close(hp[1]);
		if (server) {
			close(sp[0]);
			child_server(path, sp[1], hp[0]);
		}
		close(sp[1]);
		child_client(path, sp[0], hp[0]);
	}
	close(hp[0]);
	if (server) {
		close(sp[1]);
		p.sync = sp[0];
	} else {
		close(sp[0]);
		p.sync = sp[1];
	}
	p.hold_w = hp[1];
	return p;
}

static void reap(struct peer *p, int killed)
{
	int st;

	if (!killed)
		kill(p->pid, SIGKILL);
	T_EQ(waitpid(p->pid, &st, 0), p->pid);
	T_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "peer status %#x", st);
	close(p->sync);
	close(p->hold_w);
}

/* ------------------------------------------------------------ this side */

struct seen {
	_Atomic int calls;
	_Atomic int pid;
	_Atomic int flag_dead; /* xs_rt_peer()'s flag as the callback saw it */
	struct xs_rt *_Atomic rt;
};

static void on_death(void *user, pid_t pid)
{
	struct seen *sn = user;
	const struct xs_peer *p = xs_rt_peer(atomic_load(&sn->rt));

	atomic_store(&sn->flag_dead, p && !xs_peer_alive(p));
	atomic_store(&sn->pid, (int)pid);
	atomic_fetch_add(&sn->calls, 1);
}

static struct xs_rt *runtime(const struct xs_topo *sys)
{
	struct xs_rt_params prm;
	struct xs_rt *rt;

	xs_rt_params_init(&prm);
	prm.topo = sys;
	prm.pin = XS_RT_PIN_NONE;
	prm.idle = XS_IDLE_YIELD; /* share the 2 CPUs with the peer and the watcher */
	prm.spin_rounds = 64;
	prm.flags = XS_RT_ALLOW_SHARED;
	T_OK(xs_rt_create(&rt, &prm));
	return rt;
}

static void plan_opts(struct xs_plan_opts *po)
{
	xs_plan_opts_init(po);
	po->policy = XS_PLACE_PACKED;
	po->flags = XS_PLACE_USE_HOUSEKEEPING;
}

/* Start @p rt, kill the peer, wait (bounded) for the runtime to stop alone. */
static void kill_and_check(struct xs_rt *rt, struct seen *sn, struct peer *p)
{
	uint64_t t0;
	int r;

	T_ASSERT(xs_rt_peer(rt) != NULL);
	T_ASSERT(xs_peer_alive(xs_rt_peer(rt)));
	T_OK(xs_rt_start(rt));
	usleep(20000); /* let the lthreads poll a little; not required */
	T_ASSERT(!xs_rt_stopping(rt));
	T_EQ(atomic_load(&sn->calls), 0);
	T_ASSERT(kill(p->pid, SIGKILL) == 0);
	t0 = t_now_ns();
	while (!xs_rt_stopping(rt)) {
		if (t_now_ns() - t0 > STOP_DEADLINE_NS) {
			xs_rt_stop(rt);
			xs_rt_join(rt);
			T_ASSERT(0, "runtime did not stop within %llu s of the peer's SIGKILL",
				 STOP_DEADLINE_NS / 1000000000ull);
		}
		usleep(1000);
	}
	r = xs_rt_join(rt);
	T_ERR(r, -XS_ERT_PEER_GONE);
	T_ASSERT(xs_strerror(r) != NULL);
	printf("peer %d gone: join -> %d (%s), detected %.3f ms after the kill was sent\n",
	       (int)p->pid, r, xs_strerror(r),
	       (double)(xs_peer_dead_ns(xs_rt_peer(rt)) - t0) / 1e6);
	T_EQ(atomic_load(&sn->calls), 1);
	T_EQ(atomic_load(&sn->pid), (int)p->pid);
	T_EQ(atomic_load(&sn->flag_dead), 1);
	T_ASSERT(!xs_peer_alive(xs_rt_peer(rt)));
	T_EQ(xs_peer_pid(xs_rt_peer(rt)), p->pid);
	reap(p, 1);
}

/* This process is the scheduler; the forked validator dies. */
static void client_side(const struct xs_topo *sys, const char *path, struct peer *p)
{
	struct xs_hs_client_opts co;
	struct xs_plan_opts po;
	struct xs_session *s;
	struct xs_plan *plan;
	struct xs_rt *rt, *rt2;
	struct seen sn;
	struct xs_rt_client_cbs cbs;
	pid_t pid;
	int pidfd;
	char c;

	T_EQ(read(p->sync, &c, 1), 1); /* the peer listens */
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &logon, &s));
	T_EQ(s->peer_pid, p->pid);
	plan_opts(&po);
	memset(&sn, 0, sizeof(sn));
	memset(&cbs, 0, sizeof(cbs));
	cbs.user = &sn;

	/* no peer fields: no watch */
	rt = runtime(sys);
	T_EQ(xs_rt_client_build(rt, NULL, s, sys, &po, &cbs), 0);
	T_ASSERT(xs_rt_peer(rt) == NULL);
	xs_rt_destroy(rt);

	cbs.on_peer_death = on_death;
	cbs.stop_on_peer_death = 1;
	/* the handshake kept the server's pidfd, which names the server */
	T_ASSERT(s->peer_pidfd >= 0);
	T_EQ(fcntl(s->peer_pidfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* a session without a peer pidfd or pid cannot be watched */
	rt = runtime(sys);
	pid = s->peer_pid;
	pidfd = s->peer_pidfd;
	s->peer_pid = 0;
	s->peer_pidfd = -1;
	T_ERR(xs_rt_client_build(rt, NULL, s, sys, &po, &cbs), -XS_ERT_SESSION);
	s->peer_pid = pid;
	s->peer_pidfd = pidfd;
	xs_rt_destroy(rt);

	rt = runtime(sys);
	atomic_store(&sn.rt, rt);
	T_EQ(xs_rt_client_build(rt, &plan, s, sys, &po, &cbs), 0);
	/* one watched session per runtime */
	T_ERR(xs_rt_client_build(rt, NULL, s, sys, &po, &cbs), -XS_ERT_STATE);
	/* a runtime that is never started still tears its watch down */
	rt2 = runtime(sys);
	T_EQ(xs_rt_client_build(rt2, NULL, s, sys, &po, &cbs), 0);
	T_ASSERT(xs_rt_peer(rt2) && xs_rt_peer(rt2) != xs_rt_peer(rt));
	xs_rt_destroy(rt2);

	kill_and_check(rt, &sn, p);
	xs_rt_destroy(rt);
	xs_plan_destroy(plan);
	xs_session_close(s);
}

struct server {
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	int rc;
};

/* This process is the validator; the forked scheduler dies. */
static void validator_side(const struct xs_topo *sys, const char *path, struct peer *p)
{
	struct xs_hs_server_opts so;
	struct xs_plan_opts po;
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	struct xs_plan *plan;
	struct xs_rt *rt;
	struct seen sn;
	struct xs_rt_validator_cbs cbs;

	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	T_OK(xs_hs_server_listen(&so, &srv));
	T_EQ(write(p->sync, "g", 1), 1); /* the peer may connect */
	T_OK(xs_hs_server_serve(srv, t_now_ns() + 10000000000ull, &vs));
	xs_hs_server_close(srv);
	T_EQ(vs->peer_pid, p->pid);

	plan_opts(&po);
	memset(&sn, 0, sizeof(sn));
	memset(&cbs, 0, sizeof(cbs));
	cbs.user = &sn;
	cbs.on_peer_death = on_death;
	cbs.stop_on_peer_death = 1;
	rt = runtime(sys);
	atomic_store(&sn.rt, rt);
	T_EQ(xs_rt_validator_build(rt, &plan, vs, sys, &po, &cbs), 0);
	kill_and_check(rt, &sn, p);
	xs_rt_destroy(rt);
	xs_plan_destroy(plan);
	xs_vsession_close(vs);
}

int main(void)
{
	char spath[64], cpath[64];
	struct peer vpeer, cpeer;
	struct xs_topo *sys;
	int fds0;

	/* both peers forked first, while this process has a single thread */
	snprintf(spath, sizeof(spath), "/tmp/xs-rt-pd-v-%d.sock", (int)getpid());
	snprintf(cpath, sizeof(cpath), "/tmp/xs-rt-pd-c-%d.sock", (int)getpid());
	fds0 = t_fd_count();
	vpeer = spawn(spath, 1);
	cpeer = spawn(cpath, 0);

	T_OK(xs_topo_load(&sys, "system"));
	client_side(sys, spath, &vpeer);
	validator_side(sys, cpath, &cpeer);
	xs_topo_destroy(sys);
	unlink(spath);
	unlink(cpath);
	T_EQ(t_fd_count(), fds0);
	printf("ok\n");
	return 0;
}
