/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kill -9 of the peer in the middle of a stream, both directions, on a real
 * session: the survivor watches the peer's pid (SO_PEERCRED, from the
 * session) through a pidfd; its lightweight thread, busy with traffic,
 * tests only the dead flag; the kill is noticed, the thread stops, and the
 * survivor shuts down cleanly (session unmapped, watcher gone, descriptor
 * count back where it was; ASan checks memory). Waits are bounded by
 * generous seconds; the detection latency is printed, never asserted.
 *
 *   kill_client     the server survives its client
 *   kill_server     the client survives its server
 *   kill_client_rt  the same with the runtime's standard validator plan:
 *                   its tpu lthread tests the flag and ends the runtime
 *   kill_server_rt  the same with the standard client plan: the watcher's
 *                   callback stops the runtime (xs_rt_stop)
 */
#include "peer_util.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/runtime.h"

#include <errno.h>

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

enum { READY = 1, STREAMING = 2 };

struct ctx {
	const char *path;
	int ch;
};

/* The peer that will be killed: it streams until it dies. */
static void streaming_client(void *arg)
{
	struct ctx *c = arg;
	struct xs_logon lg = pu_logon(1);
	struct xs_session *s;
	struct xs_pack_to_worker req;
	uint64_t n = 0;
	int told = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	pu_expect(c->ch, READY);
	s = pu_connect(c->path, &lg);
	memset(&req, 0, sizeof(req));
	for (;;) {
		const void *e;

		while ((e = xs_spsc_poll(&s->tpu_to_pack)))
			n++;
		xs_spsc_finalize(&s->tpu_to_pack);
		if (xs_spsc_try_push(&s->workers[0].pack_to_worker, &req) == 0)
			n++;
		if (!told && n > 1000) {
			pu_send(c->ch, STREAMING);
			told = 1;
		}
		xs_cpu_relax();
	}
}

static void streaming_server(void *arg)
{
	struct ctx *c = arg;
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	struct xs_tpu_to_pack m;
	struct xs_pack_to_worker req;
	uint64_t n = 0;
	int told = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	srv = pu_listen(c->path);
	pu_send(c->ch, READY);
	vs = pu_serve(srv);
	memset(&m, 0, sizeof(m));
	m.transaction.offset = pu_alloc(vs->tpu_alloc, 300, 0x33);
	m.transaction.length = 300;
	for (;;) {
		if (xs_spsc_try_push(&vs->tpu_to_pack, &m) == 0)
			n++;
		while (xs_spsc_try_pop(&vs->workers[0].pack_to_worker, &req) == 0)
			n++;
		if (!told && n > 1000) {
			pu_send(c->ch, STREAMING);
			told = 1;
		}
		xs_cpu_relax();
	}
}

/* The survivor's lightweight thread: traffic plus one flag test per round. */
struct lwt {
	struct xs_peer *peer;
	struct xs_spsc *out, *in; /* producer, consumer */
	const void *msg;
	uint64_t sent, got, rounds;
	uint64_t seen_ns; /* when this thread saw the flag */
};

static void *lwt_main(void *arg)
{
	struct lwt *t = arg;
	uint8_t buf[64];
	uint64_t start = t_now_ns();

	while (xs_peer_alive(t->peer)) {
		if (xs_spsc_try_push(t->out, t->msg) == 0)
			t->sent++;
		while (xs_spsc_try_pop(t->in, buf) == 0)
			t->got++;
		t->rounds++;
		xs_cpu_relax();
		/* a stuck test must end: bounded, checked rarely */
		if ((t->rounds & 0xfffff) == 0 && t_now_ns() - start > 3ull * PU_WAIT_MS * 1000000ull)
			return NULL;
	}
	t->seen_ns = t_now_ns();
	return NULL;
}

static int cb_calls;

static void on_dead(void *arg, struct xs_peer *p)
{
	(void)arg;
	(void)p;
	__atomic_add_fetch(&cb_calls, 1, __ATOMIC_RELEASE);
}

/* Watch @p pid, stream until the peer streams too, kill it, shut down. */
static void survive(pid_t pid, pid_t session_pid, struct xs_spsc *out, struct xs_spsc *in,
		    const void *msg, int ch)
{
	struct xs_peer_watcher *w;
	struct xs_peer p;
	struct lwt t = {.peer = &p, .out = out, .in = in, .msg = msg};
	pthread_t thr;
	uint64_t kill_ns, dead_ns;

	T_EQ(session_pid, pid); /* SO_PEERCRED gave the right process */
	memset(&p, 0, sizeof(p));
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch(w, &p, session_pid, on_dead, NULL));
	T_EQ(xs_peer_method(&p), XS_PEER_PIDFD);
	T_ASSERT(pthread_create(&thr, NULL, lwt_main, &t) == 0);

	pu_expect(ch, STREAMING); /* traffic flows both ways */
	kill_ns = t_now_ns();
	T_OK(kill(pid, SIGKILL));
	T_EQ(xs_peer_wait(&p, 3 * PU_WAIT_MS), 1);
	T_ASSERT(pthread_join(thr, NULL) == 0);
	T_ASSERT(t.seen_ns != 0, "the lightweight thread never saw the peer die");
	dead_ns = xs_peer_dead_ns(&p);
	T_ASSERT(t.sent > 0 && t.got > 0, "no traffic before the kill (sent %llu got %llu)",
		 (unsigned long long)t.sent, (unsigned long long)t.got);
	printf("peer %d killed mid-stream after %llu sent / %llu received: watcher saw it "
	       "%.3f ms after kill(), the lightweight thread %.3f ms after\n",
	       (int)pid, (unsigned long long)t.sent, (unsigned long long)t.got,
	       (double)(dead_ns - kill_ns) / 1e6, (double)(t.seen_ns - kill_ns) / 1e6);
	{
		uint64_t end = t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull;

		while (__atomic_load_n(&cb_calls, __ATOMIC_ACQUIRE) != 1) {
			T_ASSERT(t_now_ns() < end, "callback never came");
			usleep(1000);
		}
	}
	T_OK(xs_peer_unwatch(w, &p));
	xs_peer_watcher_destroy(w);
	pu_reap(pid);
}

static void kill_client(void)
{
	struct ctx c = {.path = pu_sock_path("kc")};
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	struct xs_tpu_to_pack m;
	int ch[2], fds = t_fd_count();
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(streaming_client, &c);
	close(ch[1]);
	srv = pu_listen(c.path);
	pu_send(ch[0], READY);
	vs = pu_serve(srv);
	memset(&m, 0, sizeof(m));
	m.transaction.offset = pu_alloc(vs->tpu_alloc, 300, 0x44);
	m.transaction.length = 300;
	survive(pid, vs->peer_pid, &vs->tpu_to_pack, &vs->workers[0].pack_to_worker, &m, ch[0]);
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
	close(ch[0]);
	T_EQ(t_fd_count(), fds);
}

static void kill_server(void)
{
	struct ctx c = {.path = pu_sock_path("ks")};
	struct xs_logon lg = pu_logon(1);
	struct xs_session *s;
	struct xs_pack_to_worker req;
	int ch[2], fds = t_fd_count();
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(streaming_server, &c);
	close(ch[1]);
	pu_expect(ch[0], READY);
	s = pu_connect(c.path, &lg);
	memset(&req, 0, sizeof(req));
	survive(pid, s->peer_pid, &s->workers[0].pack_to_worker, &s->tpu_to_pack, &req, ch[0]);
	xs_session_close(s);
	close(ch[0]);
	T_EQ(t_fd_count(), fds);
}

/* ------------------------------------------- with the runtime's session plans */

struct rt_user {
	struct xs_peer *peer;
	struct xs_tpu_to_pack msg;
	uint64_t items;
};

/* validator side: produce while the client lives; a dead client ends it */
static int v_tpu_poll(void *user, struct xs_spsc *tpu, struct xs_spsc *progress)
{
	struct rt_user *u = user;

	(void)progress;
	if (!xs_peer_alive(u->peer))
		return -ECONNRESET;
	if (xs_spsc_try_push(tpu, &u->msg) == 0) {
		__atomic_add_fetch(&u->items, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

static int v_on_work(void *user, int worker, const struct xs_pack_to_worker *m,
		     struct xs_spsc *to_pack)
{
	(void)user;
	(void)worker;
	(void)m;
	(void)to_pack;
	return 1;
}

static int c_on_tpu(void *user, const struct xs_tpu_to_pack *m)
{
	struct rt_user *u = user;

	(void)m;
	__atomic_add_fetch(&u->items, 1, __ATOMIC_RELAXED);
	return 0;
}

static int c_worker_poll(void *user, int worker, struct xs_spsc *p2w)
{
	struct xs_pack_to_worker req;

	(void)user;
	(void)worker;
	memset(&req, 0, sizeof(req));
	return xs_spsc_try_push(p2w, &req) == 0;
}

static void stop_rt(void *arg, struct xs_peer *p)
{
	(void)p;
	xs_rt_stop(arg); /* async-signal-safe, any thread */
}

static struct xs_rt *small_rt(const struct xs_topo *sys)
{
	struct xs_rt_params prm;
	struct xs_rt *rt;

	xs_rt_params_init(&prm);
	prm.topo = sys;
	prm.pin = XS_RT_PIN_NONE; /* the peer spins too, on this 2-CPU machine */
	prm.idle = XS_IDLE_YIELD;
	prm.spin_rounds = 64;
	prm.flags = XS_RT_ALLOW_SHARED;
	T_OK(xs_rt_create(&rt, &prm));
	return rt;
}

/* Run @p rt until the peer is killed; @return xs_rt_join()'s result. */
static int rt_until_killed(struct xs_rt *rt, struct xs_peer *p, pid_t pid, int ch,
			   struct rt_user *u)
{
	uint64_t kill_ns, end;
	int rc;

	T_OK(xs_rt_start(rt));
	pu_expect(ch, STREAMING);
	end = t_now_ns() + (uint64_t)PU_WAIT_MS * 1000000ull;
	while (__atomic_load_n(&u->items, __ATOMIC_RELAXED) == 0) {
		T_ASSERT(t_now_ns() < end, "the runtime moved no message");
		usleep(1000);
	}
	kill_ns = t_now_ns();
	T_OK(kill(pid, SIGKILL));
	T_EQ(xs_peer_wait(p, 3 * PU_WAIT_MS), 1);
	rc = xs_rt_join(rt); /* bounded: the runtime stops on the flag / callback */
	printf("runtime: peer %d killed after %llu messages; noticed %.3f ms after kill(), "
	       "runtime joined %.3f ms after\n",
	       (int)pid, (unsigned long long)u->items,
	       (double)(xs_peer_dead_ns(p) - kill_ns) / 1e6, (double)(t_now_ns() - kill_ns) / 1e6);
	pu_reap(pid);
	return rc;
}

static void kill_client_rt(void)
{
	struct ctx c = {.path = pu_sock_path("kcrt")};
	struct xs_peer_watcher *w;
	struct xs_peer p;
	struct rt_user u = {.peer = &p};
	struct xs_rt_validator_cbs cbs = {.user = &u, .tpu_poll = v_tpu_poll, .on_work = v_on_work};
	struct xs_plan_opts po;
	struct xs_plan *plan;
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	struct xs_topo *sys;
	struct xs_rt *rt;
	int ch[2], fds = t_fd_count();
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(streaming_client, &c);
	close(ch[1]);
	srv = pu_listen(c.path);
	pu_send(ch[0], READY);
	vs = pu_serve(srv);
	memset(&p, 0, sizeof(p));
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch(w, &p, vs->peer_pid, NULL, NULL));
	u.msg.transaction.offset = pu_alloc(vs->tpu_alloc, 300, 0x55);
	u.msg.transaction.length = 300;

	T_OK(xs_topo_load(&sys, "system"));
	rt = small_rt(sys);
	xs_plan_opts_init(&po);
	po.policy = XS_PLACE_PACKED;
	po.flags = XS_PLACE_USE_HOUSEKEEPING;
	T_OK(xs_rt_validator_build(rt, &plan, vs, sys, &po, &cbs));
	/* the tpu lthread saw the flag and ended the runtime with its error */
	T_ERR(rt_until_killed(rt, &p, pid, ch[0], &u), -ECONNRESET);

	xs_rt_destroy(rt);
	xs_plan_destroy(plan);
	xs_topo_destroy(sys);
	xs_peer_watcher_destroy(w);
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
	close(ch[0]);
	T_EQ(t_fd_count(), fds);
}

static void kill_server_rt(void)
{
	struct ctx c = {.path = pu_sock_path("ksrt")};
	struct xs_logon lg = pu_logon(1);
	struct xs_peer_watcher *w;
	struct xs_peer p;
	struct rt_user u = {.peer = &p};
	struct xs_rt_client_cbs cbs = {.user = &u, .on_tpu = c_on_tpu, .worker_poll = c_worker_poll};
	struct xs_plan_opts po;
	struct xs_plan *plan;
	struct xs_session *s;
	struct xs_topo *sys;
	struct xs_rt *rt;
	int ch[2], fds = t_fd_count();
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(streaming_server, &c);
	close(ch[1]);
	pu_expect(ch[0], READY);
	s = pu_connect(c.path, &lg);
	T_OK(xs_topo_load(&sys, "system"));
	rt = small_rt(sys);
	xs_plan_opts_init(&po);
	po.policy = XS_PLACE_PACKED;
	po.flags = XS_PLACE_USE_HOUSEKEEPING;
	T_OK(xs_rt_client_build(rt, &plan, s, sys, &po, &cbs) >= 0 ? 0 : -1);
	memset(&p, 0, sizeof(p));
	T_OK(xs_peer_watcher_create(&w, 0, 0));
	T_OK(xs_peer_watch(w, &p, s->peer_pid, stop_rt, rt)); /* the callback stops it */
	T_OK(rt_until_killed(rt, &p, pid, ch[0], &u));

	T_OK(xs_peer_unwatch(w, &p));
	xs_peer_watcher_destroy(w);
	xs_rt_destroy(rt);
	xs_plan_destroy(plan);
	xs_topo_destroy(sys);
	xs_session_close(s);
	close(ch[0]);
	T_EQ(t_fd_count(), fds);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s kill_client|kill_server|kill_client_rt|kill_server_rt\n",
			argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "kill_client"))
		kill_client();
	else if (!strcmp(argv[1], "kill_server"))
		kill_server();
	else if (!strcmp(argv[1], "kill_client_rt"))
		kill_client_rt();
	else if (!strcmp(argv[1], "kill_server_rt"))
		kill_server_rt();
	else
		t_fail(__FILE__, __LINE__, "no case %s", argv[1]);
	printf("test_peer_death %s: ok\n", argv[1]);
	return 0;
}
