/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: concurrency of the handshake server (threads only, so that
 * TSan sees every access).
 *  - misbehaving: while 50 clients stall (connect and say nothing, or 100
 *    bytes then nothing), trickle (a byte every 100 ms), send garbage,
 *    close at once or after half a logon, a good client still completes
 *    within a deadline shorter than the server's 1 s per-read timeout, and
 *    exchanges a message on every queue with the server thread; then every
 *    misbehaving client gets its rejection (50 events).
 *  - fallback: io_uring_setup is refused by a seccomp filter (as in a
 *    locked-down container): server and client both fall back to poll(),
 *    report it and why, and the handshake works.
 *  - few slots: 30 clients at once against a server holding 4 handshakes
 *    at a time: all answered, then a session.
 * Argument: misbehaving | misbehaving_poll | few_slots | few_slots_poll | fallback
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hs_test.h"

#define N_BAD 50

struct server_thread {
	struct xs_hs_server *srv;
	pthread_t tid;
	struct th_events ev;
	int exchange; /* run the upstream message exchange on each session */
	int sessions;
};

static void *server_loop(void *arg)
{
	struct server_thread *st = arg;

	for (;;) {
		struct xs_vsession *vs = NULL;
		int rc = xs_hs_server_serve(st->srv, 0, &vs);

		if (rc == -XS_EHS_STOPPED)
			break;
		T_OK(rc);
		st->sessions++;
		if (st->exchange)
			th_server_exchange(vs);
		xs_vsession_close(vs);
	}
	return NULL;
}

static void server_start_n(struct server_thread *st, const char *path, int force_poll,
			   uint32_t max_conns)
{
	struct xs_hs_server_opts o = { .path = path, .force_poll = (uint8_t)force_poll,
				       .on_event = th_on_event, .event_arg = &st->ev,
				       .max_conns = max_conns };

	th_events_init(&st->ev);
	T_OK(xs_hs_server_listen(&o, &st->srv));
	st->exchange = 1;
	T_ASSERT(pthread_create(&st->tid, NULL, server_loop, st) == 0);
}

static void server_start(struct server_thread *st, const char *path, int force_poll)
{
	server_start_n(st, path, force_poll, 0);
}

static void server_stop(struct server_thread *st)
{
	xs_hs_server_stop(st->srv);
	T_ASSERT(pthread_join(st->tid, NULL) == 0);
	xs_hs_server_close(st->srv);
}

/* ------------------------------------------------------ misbehavers */

enum bad_kind { K_STALL, K_PARTIAL, K_TRICKLE, K_GARBAGE, K_CLOSE, K_HALF_CLOSE, K_NKINDS };

struct bad {
	pthread_t tid;
	const char *path;
	int kind;
	int *started; /* counter of clients that are connected and in their act */
	pthread_mutex_t *mu;
	size_t got;   /* reply bytes received */
};

static void started(struct bad *b)
{
	pthread_mutex_lock(b->mu);
	(*b->started)++;
	pthread_mutex_unlock(b->mu);
}

static void *bad_client(void *arg)
{
	struct bad *b = arg;
	uint8_t buf[XS_HS_LOGON_BUF], reply[300];
	int fd = th_connect(b->path);
	uint64_t seed = (uint64_t)b->kind * 7919 + 1;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)t_rand(&seed);
	switch (b->kind) {
	case K_STALL:
		started(b);
		break;
	case K_PARTIAL:
		th_send(fd, buf, 100);
		started(b);
		break;
	case K_TRICKLE:
		started(b);
		for (int i = 0; i < 30; i++) {
			if (th_send(fd, buf + i, 1) < 0)
				break; /* the server gave up on us ("Timeout") */
			usleep(100000);
		}
		break;
	case K_GARBAGE:
		th_send(fd, buf, sizeof(buf));
		started(b);
		break;
	case K_CLOSE:
		started(b);
		close(fd);
		return NULL;
	case K_HALF_CLOSE:
		th_send(fd, buf, 500);
		started(b);
		close(fd);
		return NULL;
	}
	b->got = th_read_all(fd, reply, sizeof(reply), 5000);
	close(fd);
	return NULL;
}

static void t_misbehaving(int force_poll)
{
	const char *path = th_sock_path("conc");
	struct server_thread st;
	static struct bad bad[N_BAD];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	int n_started = 0;
	struct xs_logon lg = th_logon_small(4);
	struct xs_hs_report rep;
	struct xs_hs_client_opts o = { .path = path, .force_poll = (uint8_t)force_poll,
				       .report = &rep };
	struct xs_session *s = NULL;
	uint64_t t_all, t0;

	memset(&st, 0, sizeof(st));
	server_start(&st, path, force_poll);
	t_all = t_now_ns();
	for (int i = 0; i < N_BAD; i++) {
		bad[i] = (struct bad){ .path = path, .kind = i % K_NKINDS, .started = &n_started,
				       .mu = &mu };
		T_ASSERT(pthread_create(&bad[i].tid, NULL, bad_client, &bad[i]) == 0);
	}
	for (;;) {
		int n;

		pthread_mutex_lock(&mu);
		n = n_started;
		pthread_mutex_unlock(&mu);
		if (n == N_BAD)
			break;
		T_ASSERT(t_now_ns() - t_all < 5000000000ull, "only %d clients started", n);
		usleep(1000);
	}
	/* Every misbehaver is in flight. The good client's deadline is half
	 * the server's per-read timeout: it passes only if nobody waits on
	 * the stallers. */
	t0 = t_now_ns();
	o.deadline_ns = t0 + XS_HS_TIMEOUT_NS / 2;
	T_OK(xs_hs_connect(&o, &lg, &s));
	T_ASSERT(t_now_ns() < o.deadline_ns);
	T_EQ(rep.backend, force_poll ? XS_HS_BACKEND_POLL : XS_HS_BACKEND_URING);
	th_client_exchange(s);
	xs_session_close(s);

	for (int i = 0; i < N_BAD; i++)
		T_ASSERT(pthread_join(bad[i].tid, NULL) == 0);
	/* each misbehaver was answered (the closed ones could not read it) */
	for (int i = 0; i < N_BAD; i++)
		if (bad[i].kind != K_CLOSE && bad[i].kind != K_HALF_CLOSE)
			T_ASSERT(bad[i].got > 2, "client %d (kind %d) got %zu bytes", i, bad[i].kind,
				 bad[i].got);
	for (;;) {
		if (th_events_count(&st.ev) >= N_BAD)
			break;
		T_ASSERT(t_now_ns() - t_all < 10000000000ull, "%d events", th_events_count(&st.ev));
		usleep(1000);
	}
	server_stop(&st);
	T_EQ(st.sessions, 1);
	T_EQ(th_events_count(&st.ev), N_BAD);
}

/*
 * Few slots: 30 clients send garbage at once to a server that holds 4
 * handshakes at a time; the others wait in the backlog, every one is
 * answered, then a good client gets its session.
 */
static void t_few_slots(int force_poll)
{
	const char *path = th_sock_path("slots");
	struct server_thread st;
	static struct bad bad[30];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	int n_started = 0;
	struct xs_logon lg = th_logon_small(1);
	struct xs_hs_client_opts o = { .path = path, .force_poll = (uint8_t)force_poll,
				       .timeout_ns = 5000000000ull };
	struct xs_session *s = NULL;

	memset(&st, 0, sizeof(st));
	server_start_n(&st, path, force_poll, 4);
	for (int i = 0; i < 30; i++) {
		bad[i] = (struct bad){ .path = path, .kind = K_GARBAGE, .started = &n_started,
				       .mu = &mu };
		T_ASSERT(pthread_create(&bad[i].tid, NULL, bad_client, &bad[i]) == 0);
	}
	for (int i = 0; i < 30; i++) {
		T_ASSERT(pthread_join(bad[i].tid, NULL) == 0);
		T_ASSERT(bad[i].got > 2, "client %d got %zu bytes", i, bad[i].got);
	}
	T_OK(xs_hs_connect(&o, &lg, &s));
	th_client_exchange(s);
	xs_session_close(s);
	server_stop(&st);
	T_EQ(st.sessions, 1);
	T_EQ(th_events_count(&st.ev), 30);
}

/* ---------------------------------------------------------- fallback */

static void deny_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	T_ASSERT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	T_ASSERT(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0, "seccomp: %s",
		 strerror(errno));
}

static void t_fallback(void)
{
	const char *path = th_sock_path("fallback");
	struct server_thread st;
	struct xs_logon lg = th_logon_small(2);
	struct xs_hs_report rep;
	struct xs_hs_client_opts o = { .path = path, .timeout_ns = 5000000000ull, .report = &rep };
	struct xs_session *s = NULL;

	deny_io_uring(); /* this thread and every thread created from now on */
	memset(&st, 0, sizeof(st));
	server_start(&st, path, 0);
	T_EQ(xs_hs_server_backend(st.srv), XS_HS_BACKEND_POLL);
	T_ERR(xs_hs_server_uring_err(st.srv), -EPERM);
	T_OK(xs_hs_connect(&o, &lg, &s));
	T_EQ(rep.backend, XS_HS_BACKEND_POLL);
	T_ERR(rep.uring_err, -EPERM);
	T_EQ(s->backend, XS_HS_BACKEND_POLL);
	th_client_exchange(s);
	xs_session_close(s);
	server_stop(&st);
	T_EQ(st.sessions, 1);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "misbehaving";

	if (strcmp(c, "misbehaving") == 0)
		t_misbehaving(0);
	else if (strcmp(c, "misbehaving_poll") == 0)
		t_misbehaving(1);
	else if (strcmp(c, "few_slots") == 0)
		t_few_slots(0);
	else if (strcmp(c, "few_slots_poll") == 0)
		t_few_slots(1);
	else if (strcmp(c, "fallback") == 0)
		t_fallback();
	else
		t_fail(__FILE__, __LINE__, "no case named %s", c);
	return 0;
}
