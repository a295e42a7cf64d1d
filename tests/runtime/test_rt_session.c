/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: session glue. A real handshake (server thread, client in the
 * main thread, 2 workers), then the standard plans on the node of the shared
 * memory: the validator side produces tpu_to_pack / progress messages and
 * answers each pack_to_worker batch; the client side consumes them and keeps
 * its workers busy. Every message arrives, the plans are named as expected and
 * record where the memory is; a callback's error stops the client runtime;
 * a peer that corrupts a queue header stops it with -XS_EQ_CORRUPT.
 * With a row name as argument: the same glue for that generation with the
 * raw callbacks (on_msg, on_check, check_poll): check lthreads, every
 * message type, and with "futex" both sides idling on the format-3.0
 * queues' futex words.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/handshake.h"
#include "xsched/metrics.h"
#include "xsched/mpmc.h"
#include "xsched/msg.h"
#include "xsched/runtime.h"
#include "xsched/spsc.h"

#define W 2
#define N_TPU 3000
#define N_PROGRESS 30
#define N_BATCH 800 /* per worker */
#define DEADLINE_NS (30ull * 1000000000ull)

/* ------------------------------------------------------------ validator side */

struct vstate {
	uint64_t tpu_sent, progress_sent; /* tpu lthread only */
	_Atomic uint64_t answered[W];
	_Atomic int inits;
};

static int v_tpu_poll(void *user, struct xs_spsc *tpu, struct xs_spsc *progress)
{
	struct vstate *v = user;
	int n = 0;

	while (v->tpu_sent < N_TPU && n < 16) {
		struct xs_tpu_to_pack m;

		memset(&m, 0, sizeof(m));
		m.transaction.offset = v->tpu_sent;
		m.flags = XS_TPU_FLAG_FORWARDED;
		if (xs_spsc_try_push(tpu, &m) < 0)
			break;
		v->tpu_sent++;
		n++;
	}
	if (v->progress_sent < N_PROGRESS && v->tpu_sent >= (v->progress_sent + 1) * (N_TPU / N_PROGRESS)) {
		struct xs_progress p;

		memset(&p, 0, sizeof(p));
		p.current_slot = v->progress_sent;
		if (xs_spsc_try_push(progress, &p) == 0) {
			v->progress_sent++;
			n++;
		}
	}
	return n;
}

static int v_on_work(void *user, int worker, const struct xs_pack_to_worker *m,
		     struct xs_spsc *to_pack)
{
	struct vstate *v = user;
	struct xs_worker_to_pack r;

	memset(&r, 0, sizeof(r));
	r.batch = m->batch;
	r.processed_code = XS_PROCESSED;
	/* the client never has more than the queue's capacity in flight: room exists */
	T_OK(xs_spsc_try_push(to_pack, &r));
	atomic_fetch_add_explicit(&v->answered[worker], 1, memory_order_relaxed);
	return 1;
}

static int v_init(void *user, int task)
{
	(void)task;
	atomic_fetch_add(&((struct vstate *)user)->inits, 1);
	return 0;
}

/* ------------------------------------------------------------ client side */

struct cstate {
	_Atomic uint64_t tpu, progress, next_tpu_off;
	_Atomic uint64_t results[W];
	uint64_t sent[W];       /* worker lthread w only */
	int fail_on_result;     /* return -EPROTO from on_result */
	_Atomic int inits, finis;
	_Atomic int bad;
};

static int c_on_tpu(void *user, const struct xs_tpu_to_pack *m)
{
	struct cstate *c = user;
	uint64_t want = atomic_load_explicit(&c->next_tpu_off, memory_order_relaxed);

	if (m->transaction.offset != want || m->flags != XS_TPU_FLAG_FORWARDED)
		atomic_store(&c->bad, 1);
	atomic_store_explicit(&c->next_tpu_off, want + 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->tpu, 1, memory_order_relaxed);
	return 0;
}

static int c_on_progress(void *user, const struct xs_progress *m)
{
	struct cstate *c = user;

	if (m->current_slot != atomic_load_explicit(&c->progress, memory_order_relaxed))
		atomic_store(&c->bad, 1);
	atomic_fetch_add_explicit(&c->progress, 1, memory_order_relaxed);
	return 0;
}

static int c_on_result(void *user, int worker, const struct xs_worker_to_pack *m)
{
	struct cstate *c = user;
	uint64_t k = atomic_load_explicit(&c->results[worker], memory_order_relaxed);

	if (c->fail_on_result)
		return -EPROTO;
	if (m->batch.transactions_offset != k * 100 + (uint64_t)worker || m->processed_code != XS_PROCESSED)
		atomic_store(&c->bad, 1);
	atomic_store_explicit(&c->results[worker], k + 1, memory_order_relaxed);
	return 0;
}

static int c_worker_poll(void *user, int worker, struct xs_spsc *to_worker)
{
	struct cstate *c = user;
	uint64_t done = atomic_load_explicit(&c->results[worker], memory_order_relaxed);

	/* at most 8 batches in flight per worker */
	if (c->sent[worker] < N_BATCH && c->sent[worker] - done < 8) {
		struct xs_pack_to_worker m;

		memset(&m, 0, sizeof(m));
		m.flags = XS_PACK_EXECUTE;
		m.batch.transactions_offset = c->sent[worker] * 100 + (uint64_t)worker;
		if (xs_spsc_try_push(to_worker, &m) == 0) {
			c->sent[worker]++;
			return 1;
		}
	}
	return 0;
}

static int c_init(void *user, int task)
{
	(void)task;
	atomic_fetch_add(&((struct cstate *)user)->inits, 1);
	return 0;
}

static void c_fini(void *user, int task)
{
	(void)task;
	atomic_fetch_add(&((struct cstate *)user)->finis, 1);
}

/* ------------------------------------------------------------ handshake */

struct server {
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	int rc;
};

static void *serve(void *arg)
{
	struct server *sv = arg;

	sv->rc = xs_hs_server_serve(sv->srv, t_now_ns() + 10000000000ull, &sv->vs);
	return NULL;
}

static void open_session(const char *path, struct xs_session **s, struct xs_vsession **vs)
{
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_logon lg = {
		.worker_count = W,
		.allocator_size = 8ull * 1024 * 1024,
		.allocator_handles = 1,
		.tpu_to_pack_capacity = 1024,
		.progress_tracker_capacity = 64,
		.pack_to_worker_capacity = 256,
		.worker_to_pack_capacity = 256,
		.units = XS_LOGON_ITEMS,
	};
	struct server sv = { 0 };
	pthread_t th;

	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	T_OK(xs_hs_server_listen(&so, &sv.srv));
	T_ASSERT(pthread_create(&th, NULL, serve, &sv) == 0);
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &lg, s));
	pthread_join(th, NULL);
	T_OK(sv.rc);
	xs_hs_server_close(sv.srv);
	*vs = sv.vs;
	T_EQ((*s)->num_workers, W);
	T_EQ((*vs)->num_workers, W);
}

/* ------------------------------------------------------------ runs */

static struct xs_rt *runtime(const struct xs_topo *sys, int pin)
{
	struct xs_rt_params prm;
	struct xs_rt *rt;

	xs_rt_params_init(&prm);
	prm.topo = sys;
	prm.pin = pin;
	/* two runtimes share this 2-CPU machine: do not starve each other */
	prm.idle = XS_IDLE_YIELD;
	prm.spin_rounds = 64;
	prm.flags = XS_RT_ALLOW_SHARED;
	T_OK(xs_rt_create(&rt, &prm));
	return rt;
}

static void exchange(const struct xs_topo *sys, struct xs_session *s, struct xs_vsession *vs)
{
	struct vstate v;
	struct cstate c;
	struct xs_rt_validator_cbs vc = { .user = &v, .tpu_poll = v_tpu_poll, .on_work = v_on_work,
					   .init = v_init };
	struct xs_rt_client_cbs cc = { .user = &c, .burst = 32, .on_tpu = c_on_tpu,
				       .on_progress = c_on_progress, .on_result = c_on_result,
				       .worker_poll = c_worker_poll, .init = c_init, .fini = c_fini };
	struct xs_plan_opts po;
	struct xs_plan *vplan, *cplan;
	struct xs_rt *vrt = runtime(sys, XS_RT_PIN_NONE), *crt = runtime(sys, XS_RT_PIN_EXACT);
	struct xs_mem_loc loc;
	uint64_t t0;
	int first;

	memset(&v, 0, sizeof(v));
	memset(&c, 0, sizeof(c));
	T_EQ(xs_rt_session_node(sys, s, &loc), 1);
	T_EQ(loc.node, 0);
	T_ASSERT(loc.populated > 0 && loc.populated <= loc.pages);
	T_EQ(xs_rt_vsession_node(sys, vs, &loc), 1);

	xs_plan_opts_init(&po);
	po.policy = XS_PLACE_PACKED;
	po.flags = XS_PLACE_USE_HOUSEKEEPING;
	T_OK(xs_rt_validator_build(vrt, &vplan, vs, sys, &po, &vc));
	first = xs_rt_client_build(crt, &cplan, s, sys, &po, &cc);
	T_EQ(first, 0);
	xs_plan_print(cplan, stdout, 0);
	T_EQ(xs_plan_ntasks(cplan), 1 + W);
	T_EQ(xs_plan_mem_node(cplan), 0);
	T_ASSERT(strstr(xs_plan_notes(cplan), "session memory:"), "%s", xs_plan_notes(cplan));
	T_ASSERT(!strcmp(xs_plan_reactor(cplan, 0)->name, "xs-tpu"));
	T_ASSERT(!strcmp(xs_plan_reactor(cplan, 1)->name, "xs-w0+w1"));

	T_OK(xs_rt_start(vrt));
	T_OK(xs_rt_start(crt));
	t0 = t_now_ns();
	for (;;) {
		int done = atomic_load(&c.tpu) == N_TPU && atomic_load(&c.progress) == N_PROGRESS;

		for (int w = 0; w < W; w++)
			done &= atomic_load(&c.results[w]) == N_BATCH;
		if (done)
			break;
		T_ASSERT(!xs_rt_stopping(crt) && !xs_rt_stopping(vrt));
		T_ASSERT(t_now_ns() - t0 < DEADLINE_NS, "stuck: tpu %llu progress %llu results %llu %llu",
			 (unsigned long long)atomic_load(&c.tpu),
			 (unsigned long long)atomic_load(&c.progress),
			 (unsigned long long)atomic_load(&c.results[0]),
			 (unsigned long long)atomic_load(&c.results[1]));
		usleep(2000);
	}
	xs_rt_stop(crt);
	xs_rt_stop(vrt);
	T_OK(xs_rt_join(crt));
	T_OK(xs_rt_join(vrt));
	T_EQ(atomic_load(&c.bad), 0);
	T_EQ(atomic_load(&c.inits), 1 + W);
	T_EQ(atomic_load(&c.finis), 1 + W);
	T_EQ(atomic_load(&v.inits), 1 + W);
	for (int w = 0; w < W; w++)
		T_EQ(atomic_load(&v.answered[w]), N_BATCH);
	for (int i = 0; i <= W; i++) {
		struct xs_lthread_stats ls;

		T_OK(xs_rt_lthread_stats(crt, i, &ls));
		T_ASSERT(ls.items > 0);
	}
	{
		struct xs_lthread_stats ls;

		T_OK(xs_rt_lthread_stats(crt, 0, &ls));
		/* the tpu lthread counted every message it took */
		T_ASSERT(ls.items == N_TPU + N_PROGRESS, "%llu", (unsigned long long)ls.items);
	}
	xs_rt_print(crt, stdout, 0);
	xs_rt_destroy(crt);
	xs_rt_destroy(vrt);
	xs_plan_destroy(cplan);
	xs_plan_destroy(vplan);
}

/* A callback error, then a corrupted queue header: both stop the client. */
static void failures(const struct xs_topo *sys, struct xs_session *s, struct xs_vsession *vs)
{
	struct cstate c;
	struct xs_rt_client_cbs cc = { .user = &c, .on_result = c_on_result, .worker_poll = c_worker_poll };
	struct xs_plan_opts po;
	struct xs_rt *crt;
	struct xs_worker_to_pack r;

	/* a result arrives; the callback refuses it */
	memset(&c, 0, sizeof(c));
	c.fail_on_result = 1;
	memset(&r, 0, sizeof(r));
	T_OK(xs_spsc_try_push(&vs->workers[1].worker_to_pack, &r));
	xs_plan_opts_init(&po);
	po.policy = XS_PLACE_PACKED;
	po.flags = XS_PLACE_USE_HOUSEKEEPING;
	po.mem_node = 0;
	crt = runtime(sys, XS_RT_PIN_EXACT);
	T_EQ(xs_rt_client_build(crt, NULL, s, sys, &po, &cc), 0);
	T_OK(xs_rt_start(crt));
	T_ERR(xs_rt_join(crt), -EPROTO);
	xs_rt_destroy(crt);

	/* the peer writes an impossible counter into tpu_to_pack */
	memset(&c, 0, sizeof(c));
	cc.on_tpu = c_on_tpu;
	__atomic_store_n(vs->tpu_to_pack.wr, s->tpu_to_pack.pos + (1ull << 40), __ATOMIC_RELEASE);
	crt = runtime(sys, XS_RT_PIN_EXACT);
	T_EQ(xs_rt_client_build(crt, NULL, s, sys, &po, &cc), 0);
	T_OK(xs_rt_start(crt));
	T_ERR(xs_rt_join(crt), -XS_EQ_CORRUPT);
	xs_rt_destroy(crt);

	/* bad arguments */
	crt = runtime(sys, XS_RT_PIN_EXACT);
	T_ERR(xs_rt_client_build(crt, NULL, NULL, sys, &po, &cc), -EINVAL);
	T_ERR(xs_rt_client_build(crt, NULL, s, sys, &po, NULL), -EINVAL);
	xs_rt_destroy(crt);
}

/* ------------------------------------------------- every generation (raw) */

/*
 * A session of generation @p row (W = 2; C = 2 check workers where the row
 * has check queues): the validator side with the raw check callbacks and one
 * lthread per check worker, the client side with on_msg (every consumer
 * message, its type and the bindings) and check_poll. Every queue carries
 * GEN_N messages of the row's element size; every check request is
 * answered once by one of the check workers. With @p futex both runtimes
 * idle on the futex words of their format-3.0 queues (XS_IDLE_FUTEX): the
 * run completes only if every consumer queue was registered.
 */
#define GEN_N 500
#define GEN_C 2

struct gstate {
	const struct xs_hs_proto *p;
	/* validator */
	uint64_t tpu_sent, progress_sent;
	_Atomic uint64_t checked[GEN_C], worked;
	/* client */
	_Atomic uint64_t got[XS_MSG_TYPES];
	uint64_t p2w_sent[W], chk_sent;
	_Atomic int bad;
};

static int g_tpu_poll(void *user, struct xs_spsc *tpu, struct xs_spsc *progress)
{
	struct gstate *g = user;
	uint8_t m[128];
	int n = 0;

	memset(m, 0, sizeof(m));
	while (g->tpu_sent < GEN_N && n < 16) {
		memcpy(m, &g->tpu_sent, 8);
		if (xs_spsc_try_push(tpu, m) < 0)
			break;
		g->tpu_sent++;
		n++;
	}
	if (g->progress_sent < GEN_N) {
		memcpy(m + 16, &g->progress_sent, 8);
		if (xs_spsc_try_push(progress, m) == 0) {
			g->progress_sent++;
			n++;
		}
	}
	return n;
}

static int g_on_work(void *user, int worker, const struct xs_pack_to_worker *m,
		     struct xs_spsc *to_pack)
{
	struct gstate *g = user;
	uint8_t r[128];

	memset(r, 0, sizeof(r));
	memcpy(r, &m->batch, sizeof(m->batch)); /* the batch is @0 of every answer type */
	T_OK(xs_spsc_try_push(to_pack, r));
	(void)worker;
	atomic_fetch_add(&g->worked, 1);
	return 1;
}

static int g_on_check(void *user, int k, unsigned bindings, const void *m,
		      struct xs_mpmc *to_pack)
{
	struct gstate *g = user;
	uint8_t r[128];
	uint64_t id;

	if (bindings != g->p->bindings || k < 0 || k >= GEN_C)
		atomic_store(&g->bad, 1);
	/* the request's batch: @8 in PackToWorker-shaped requests (V5), @8 in
	 * PackToCheckWorkerMessage (SDK) as well */
	memcpy(&id, (const uint8_t *)m + 16, 8);
	memset(r, 0, sizeof(r));
	memcpy(r + 8, &id, 8);
	while (xs_mpmc_try_push(to_pack, r) == -EAGAIN)
		sched_yield();
	atomic_fetch_add(&g->checked[k], 1);
	return 1;
}

static int g_on_msg(void *user, int task, unsigned type, unsigned bindings, const void *m)
{
	struct gstate *g = user;
	uint64_t v;

	if (bindings != g->p->bindings || type >= XS_MSG_TYPES)
		return atomic_store(&g->bad, 1), 0;
	switch (type) {
	case XS_MSG_TPU_TO_PACK:
	case XS_MSG_PROGRESS:
		memcpy(&v, (const uint8_t *)m + (type == XS_MSG_PROGRESS ? 16 : 0), 8);
		if (task != XS_RT_TASK_TPU || v != atomic_load(&g->got[type]))
			atomic_store(&g->bad, 1);
		break;
	case XS_MSG_WORKER_TO_PACK:
		if (task < 0 || task >= W)
			atomic_store(&g->bad, 1);
		break;
	case XS_MSG_CHECK_TO_PACK:
		if (task != XS_RT_TASK_CHECK)
			atomic_store(&g->bad, 1);
		break;
	default:
		atomic_store(&g->bad, 1);
	}
	atomic_fetch_add(&g->got[type], 1);
	return 0;
}

static int g_worker_poll(void *user, int worker, struct xs_spsc *to_worker)
{
	struct gstate *g = user;
	uint8_t m[128];

	if (g->p2w_sent[worker] >= GEN_N)
		return 0;
	memset(m, 0, sizeof(m));
	memcpy(m + 24, &g->p2w_sent[worker], 8); /* batch.transactions_offset @16 + 8 */
	if (xs_spsc_try_push(to_worker, m) < 0)
		return 0;
	g->p2w_sent[worker]++;
	return 1;
}

static int g_check_poll(void *user, struct xs_mpmc *to_check)
{
	struct gstate *g = user;
	uint8_t m[128];

	if (g->chk_sent >= GEN_N)
		return 0;
	memset(m, 0, sizeof(m));
	memcpy(m + 16, &g->chk_sent, 8);
	if (xs_mpmc_try_push(to_check, m) < 0)
		return 0;
	g->chk_sent++;
	return 1;
}

static void open_gen(const char *path, const struct xs_hs_proto *p, struct xs_session **s,
		     struct xs_vsession **vs)
{
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_logon lg = {
		.worker_count = W,
		.allocator_size = 8ull * 1024 * 1024,
		.allocator_handles = 1,
		.tpu_to_pack_capacity = 256,
		.progress_tracker_capacity = 64,
		.pack_to_worker_capacity = 64,
		.worker_to_pack_capacity = 64,
		.units = XS_LOGON_ITEMS,
	};
	struct server sv = { 0 };
	pthread_t th;

	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		lg.check_worker_count = GEN_C;
	if (p->nglobal == 5) {
		lg.pack_to_check_worker_capacity = 128;
		lg.check_worker_to_pack_capacity = 128;
	}
	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	so.version = p->version;
	so.check_workers = GEN_C;
	T_OK(xs_hs_server_listen(&so, &sv.srv));
	T_ASSERT(pthread_create(&th, NULL, serve, &sv) == 0);
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.version = p->version;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &lg, s));
	pthread_join(th, NULL);
	T_OK(sv.rc);
	xs_hs_server_close(sv.srv);
	*vs = sv.vs;
}

/* Wait (a liveness bound of 30 s, never a speed check) until a reactor sleeps on the queue whose waiters
 * count is at @p waiters (format 3.0: never NULL). */
static void sleeper(uint64_t *waiters, const char *what)
{
	uint64_t t0 = t_now_ns();

	T_ASSERT(waiters != NULL, "%s has no waiters line", what);
	while (__atomic_load_n(waiters, __ATOMIC_RELAXED) == 0) {
		T_ASSERT(t_now_ns() - t0 < 30000000000ull, "nobody sleeps on %s", what);
		usleep(1000);
	}
}

/* The metrics object of the client runtime lists the check queues, with
 * the counts that went through them. */
static void metrics_queues(struct xs_rt *crt, const struct xs_session *s, uint32_t nchk)
{
	struct xs_metrics_opts mo;
	struct xs_metrics *m;
	struct xs_metrics_view v;
	struct xs_metrics_snap sn;
	char dir[64];
	unsigned nq;

	snprintf(dir, sizeof(dir), "/tmp/xs-rt-session-metrics-%d", (int)getpid());
	T_ASSERT(mkdir(dir, 0700) == 0 || errno == EEXIST, "mkdir %s", dir);
	xs_metrics_opts_init(&mo);
	mo.dir = dir;
	mo.session = s;
	mo.no_atexit = 1;
	T_OK(xs_metrics_create(&m, crt, &mo));
	xs_metrics_update(m);
	T_OK(xs_metrics_view_open_pid(&v, dir, getpid()));
	T_OK(xs_metrics_snap(&v, &sn));
	nq = xs_metrics_count(&sn, XS_MSECT_QUEUE);
	T_EQ(nq, 2 + 2 * W + (nchk ? 2 : 0));
	if (nchk) {
		const struct xs_metrics_queue_shm *p2c = xs_metrics_rec(&sn, XS_MSECT_QUEUE, nq - 2);
		const struct xs_metrics_queue_shm *c2p = xs_metrics_rec(&sn, XS_MSECT_QUEUE, nq - 1);

		T_ASSERT(!strcmp(p2c->name, "pack_to_check_worker") && p2c->role == XS_MQ_PRODUCER &&
			 p2c->write == GEN_N && p2c->read == GEN_N, "pack_to_check_worker record");
		T_ASSERT(!strcmp(c2p->name, "check_worker_to_pack") && c2p->role == XS_MQ_CONSUMER &&
			 c2p->write == GEN_N && c2p->read == GEN_N, "check_worker_to_pack record");
		T_EQ(p2c->format, s->proto->shaq);
		T_EQ(p2c->capacity, xs_mpmc_capacity(&s->pack_to_check));
	}
	xs_metrics_snap_free(&sn);
	xs_metrics_view_close(&v);
	xs_metrics_close(m);
	rmdir(dir);
}

static void generation(const struct xs_topo *sys, const char *row, int futex)
{
	const struct xs_hs_proto *p = xs_hs_proto_by_name(row);
	uint32_t nchk = p->nglobal == 5 ? GEN_C : 0;
	struct gstate g;
	struct xs_rt_validator_cbs vc = { .user = &g, .tpu_poll = g_tpu_poll, .on_work = g_on_work,
					   .on_check = g_on_check };
	struct xs_rt_client_cbs cc = { .user = &g, .burst = 16, .on_msg = g_on_msg,
				       .worker_poll = g_worker_poll, .check_poll = g_check_poll };
	struct xs_session *s;
	struct xs_vsession *vs;
	struct xs_plan_opts po;
	struct xs_plan *vplan, *cplan;
	struct xs_rt *vrt, *crt;
	char path[80];
	uint64_t t0;
	int first, fds0 = t_fd_count();

	memset(&g, 0, sizeof(g));
	g.p = p;
	snprintf(path, sizeof(path), "/tmp/xs-rt-session-%s-%d.sock", row, (int)getpid());
	open_gen(path, p, &s, &vs);
	vrt = runtime(sys, XS_RT_PIN_NONE);
	crt = runtime(sys, XS_RT_PIN_EXACT);
	if (futex) {
		xs_rt_destroy(vrt);
		xs_rt_destroy(crt);
		{
			struct xs_rt_params prm;

			xs_rt_params_init(&prm);
			prm.topo = sys;
			prm.idle = XS_IDLE_FUTEX;
			prm.spin_rounds = 64;
			prm.backoff_max_us = 200000; /* a lost wake would stall for 0.2 s per sleep */
			prm.flags = XS_RT_ALLOW_SHARED;
			prm.pin = XS_RT_PIN_NONE;
			T_OK(xs_rt_create(&vrt, &prm));
			prm.pin = XS_RT_PIN_EXACT;
			T_OK(xs_rt_create(&crt, &prm));
		}
	}
	xs_plan_opts_init(&po);
	po.policy = XS_PLACE_PACKED;
	po.flags = XS_PLACE_USE_HOUSEKEEPING;
	T_OK(xs_rt_validator_build(vrt, &vplan, vs, sys, &po, &vc));
	T_EQ(xs_plan_ntasks(vplan), 1 + W + nchk);
	first = xs_rt_client_build(crt, &cplan, s, sys, &po, &cc);
	T_EQ(first, 0);
	T_EQ(xs_plan_ntasks(cplan), 1 + W + (nchk ? 1 : 0));
	if (nchk)
		T_ASSERT(!strcmp(xs_plan_task(cplan, 1 + W)->task.name, "chk") &&
			 !strcmp(xs_plan_task(vplan, 1 + W)->task.name, "c0") &&
			 !strcmp(xs_plan_task(vplan, 2 + W)->task.name, "c1"), "check task names");
	T_OK(xs_rt_start(vrt));
	T_OK(xs_rt_start(crt));
	t0 = t_now_ns();
	for (;;) {
		int done = atomic_load(&g.got[XS_MSG_TPU_TO_PACK]) == GEN_N &&
			   atomic_load(&g.got[XS_MSG_PROGRESS]) == GEN_N &&
			   atomic_load(&g.got[XS_MSG_WORKER_TO_PACK]) == (uint64_t)W * GEN_N &&
			   atomic_load(&g.got[XS_MSG_CHECK_TO_PACK]) == (nchk ? GEN_N : 0);

		if (done)
			break;
		T_ASSERT(!xs_rt_stopping(crt) && !xs_rt_stopping(vrt));
		T_ASSERT(t_now_ns() - t0 < DEADLINE_NS, "%s stuck: tpu %llu progress %llu results %llu "
			 "checks %llu", row, (unsigned long long)atomic_load(&g.got[0]),
			 (unsigned long long)atomic_load(&g.got[1]),
			 (unsigned long long)atomic_load(&g.got[XS_MSG_WORKER_TO_PACK]),
			 (unsigned long long)atomic_load(&g.got[XS_MSG_CHECK_TO_PACK]));
		usleep(2000);
	}
	if (futex) {
		/* idle now: every consumer queue's waiters count shows its
		 * reactor asleep on it, i.e. the glue registered it */
		sleeper(s->tpu_to_pack.waiters, "tpu_to_pack");
		sleeper(s->progress.waiters, "progress_tracker");
		for (int w = 0; w < W; w++) {
			sleeper(s->workers[w].worker_to_pack.waiters, "worker_to_pack");
			sleeper(vs->workers[w].pack_to_worker.waiters, "pack_to_worker");
		}
		if (nchk) {
			sleeper(s->check_to_pack.waiters, "check_worker_to_pack");
			sleeper(vs->check_workers[0].pack_to_check.waiters, "pack_to_check_worker");
		}
	}
	xs_rt_stop(crt);
	xs_rt_stop(vrt);
	T_OK(xs_rt_join(crt));
	T_OK(xs_rt_join(vrt));
	T_EQ(atomic_load(&g.bad), 0);
	T_EQ(atomic_load(&g.worked), (uint64_t)W * GEN_N);
	T_EQ(atomic_load(&g.checked[0]) + atomic_load(&g.checked[1]), nchk ? GEN_N : 0);
	metrics_queues(crt, s, nchk);
	xs_rt_destroy(crt);
	xs_rt_destroy(vrt);
	xs_plan_destroy(cplan);
	xs_plan_destroy(vplan);
	xs_session_close(s);
	xs_vsession_close(vs);
	unlink(path);
	T_EQ(t_fd_count(), fds0);
}

/* Argument: none (the VERSION 2 run above), or a row name ("1" .. "5",
 * "sdk6", "sdk7"), optionally followed by "futex". */
int main(int argc, char **argv)
{
	char path[64];
	struct xs_session *s;
	struct xs_vsession *vs;
	struct xs_topo *sys;
	int fds0 = t_fd_count();

	snprintf(path, sizeof(path), "/tmp/xs-rt-session-%d.sock", (int)getpid());
	T_OK(xs_topo_load(&sys, "system"));
	if (argc > 1) {
		T_ASSERT(xs_hs_proto_by_name(argv[1]) != NULL, "row %s", argv[1]);
		generation(sys, argv[1], argc > 2 && !strcmp(argv[2], "futex"));
		xs_topo_destroy(sys);
		T_EQ(t_fd_count(), fds0);
		printf("ok\n");
		return 0;
	}
	open_session(path, &s, &vs);
	exchange(sys, s, vs);
	failures(sys, s, vs);
	xs_session_close(s);
	xs_vsession_close(vs);
	xs_topo_destroy(sys);
	unlink(path);
	T_EQ(t_fd_count(), fds0);
	printf("ok\n");
	return 0;
}
