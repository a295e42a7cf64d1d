/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched client and xsched server in two processes, as
 * upstream's message_passing_on_all_queues: the logon of that test
 * (1 GiB allocator, 3 handles, capacities 65536/256/1024/1024) for W = 1, 4
 * and 64 workers, VERSION 2 and VERSION 1; then one message on every queue
 * in both directions (tpu_to_pack, progress_tracker, each pack_to_worker
 * and worker_to_pack), and bytes written through the client's allocator
 * handle read back through the server's.
 * Also: a client of one VERSION against a server of the other is rejected
 * with upstream's text, and worker_count 0 / 100 are rejected as in
 * upstream's reject_worker_count_low/high.
 * Argument: <case>; cases ending in _poll force the poll() path on both sides.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hs_test.h"

struct srv_child {
	const char *path;
	uint32_t version;
	int force_poll;
	int ready[2];
	const char *want_reason; /* expect one rejection with this text instead of a session */
	struct xs_hs_server *srv;
	int events;
	char reason[XS_HS_MAX_REASON + 1];
};

static void on_event(void *arg, const struct xs_hs_event *ev)
{
	struct srv_child *c = arg;

	c->events++;
	snprintf(c->reason, sizeof(c->reason), "%s", ev->reason);
	xs_hs_server_stop(c->srv);
}

static void server_main(void *arg)
{
	struct srv_child *c = arg;
	struct xs_hs_server_opts o = {
		.path = c->path, .version = c->version, .force_poll = (uint8_t)c->force_poll,
		.on_event = on_event, .event_arg = c,
	};
	struct xs_vsession *vs = NULL;
	char one = 1;
	int rc;

	T_OK(xs_hs_server_listen(&o, &c->srv));
	T_EQ(xs_hs_server_backend(c->srv), c->force_poll ? XS_HS_BACKEND_POLL : XS_HS_BACKEND_URING);
	T_EQ(write(c->ready[1], &one, 1), 1);
	rc = xs_hs_server_serve(c->srv, t_now_ns() + 10000000000ull, &vs);
	if (c->want_reason) {
		T_ERR(rc, -XS_EHS_STOPPED);
		T_EQ(c->events, 1);
		T_ASSERT(strcmp(c->reason, c->want_reason) == 0, "server sent \"%s\"", c->reason);
	} else {
		T_OK(rc);
		T_EQ(vs->num_workers, vs->logon.worker_count);
		T_EQ(vs->num_sealed, vs->num_objects);
		th_server_exchange(vs);
		xs_vsession_close(vs);
	}
	xs_hs_server_close(c->srv);
}

static void run(uint32_t server_version, uint32_t client_version, uint64_t workers, int poll,
		const char *want_reason, int want_rc)
{
	struct srv_child c = { .version = server_version, .force_poll = poll,
			       .want_reason = want_reason };
	struct xs_logon lg = th_logon_upstream(workers);
	struct xs_hs_report rep;
	struct xs_hs_client_opts o = {
		.version = client_version, .timeout_ns = 10000000000ull,
		.force_poll = (uint8_t)poll, .report = &rep,
	};
	struct xs_session *s = NULL;
	int before, rc;
	char ch;
	pid_t pid;

	c.path = th_sock_path("xproc");
	o.path = c.path;
	T_ASSERT(pipe2(c.ready, O_CLOEXEC) == 0);
	pid = th_fork(server_main, &c);
	T_EQ(read(c.ready[0], &ch, 1), 1);
	close(c.ready[0]);
	close(c.ready[1]);
	before = t_fd_count();

	rc = xs_hs_connect(&o, &lg, &s);
	T_ERR(rc, want_rc);
	T_EQ(rep.backend, poll ? XS_HS_BACKEND_POLL : XS_HS_BACKEND_URING);
	if (rc == 0) {
		T_EQ(s->version, (int)server_version);
		T_EQ(s->num_workers, workers);
		T_EQ(s->num_allocs, 3);
		T_EQ(s->num_objects, 3 + 2 * workers);
		T_EQ(s->num_sealed, s->num_objects);
		T_EQ(s->peer_pid, pid);
		T_EQ(s->tpu_to_pack.role, XS_SPSC_CONSUMER);
		T_EQ(s->workers[workers - 1].pack_to_worker.role, XS_SPSC_PRODUCER);
		T_EQ(xs_spsc_capacity(&s->tpu_to_pack), 65536);
		T_EQ(xs_spsc_capacity(&s->progress), 256);
		T_EQ(xs_spsc_capacity(&s->workers[0].pack_to_worker), 1024);
		T_EQ(xs_spsc_capacity(&s->workers[0].worker_to_pack), 1024);
		th_client_exchange(s);
		xs_session_close(s);
	} else {
		T_ASSERT(strcmp(rep.reason, want_reason) == 0, "client got \"%s\"", rep.reason);
	}
	T_EQ(t_fd_count(), before);
	th_wait(pid, 15000);
}

static void t_v2_w1(void) { run(2, 2, 1, 0, NULL, 0); }
static void t_v2_w4(void) { run(2, 2, 4, 0, NULL, 0); }
static void t_v2_w64(void) { run(2, 2, 64, 0, NULL, 0); }
static void t_v1_w1(void) { run(1, 1, 1, 0, NULL, 0); }
static void t_v1_w4(void) { run(1, 1, 4, 0, NULL, 0); }
static void t_v1_w64(void) { run(1, 1, 64, 0, NULL, 0); }
static void t_v2_w4_poll(void) { run(2, 2, 4, 1, NULL, 0); }
static void t_v1_w64_poll(void) { run(1, 1, 64, 1, NULL, 0); }

static void t_v1_client_v2_server(void)
{
	run(2, 1, 4, 0, "Version; server=2; client=1", -XS_EHS_VERSION);
}

static void t_v2_client_v1_server(void)
{
	run(1, 2, 4, 0, "Version; server=1; client=2", -XS_EHS_VERSION);
}

static void t_reject_workers_low(void)
{
	run(2, 2, 0, 0, "Worker count; count=0", -XS_EHS_REJECTED);
}

static void t_reject_workers_high(void)
{
	run(2, 2, 100, 0, "Worker count; count=100", -XS_EHS_REJECTED);
}

static const struct th_case cases[] = {
	{ "v2_w1", t_v2_w1 },
	{ "v2_w4", t_v2_w4 },
	{ "v2_w64", t_v2_w64 },
	{ "v1_w1", t_v1_w1 },
	{ "v1_w4", t_v1_w4 },
	{ "v1_w64", t_v1_w64 },
	{ "v2_w4_poll", t_v2_w4_poll },
	{ "v1_w64_poll", t_v1_w64_poll },
	{ "v1_client_v2_server", t_v1_client_v2_server },
	{ "v2_client_v1_server", t_v2_client_v1_server },
	{ "reject_workers_low", t_reject_workers_low },
	{ "reject_workers_high", t_reject_workers_high },
};

int main(int argc, char **argv)
{
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
