/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session glue: the standard plan for a session (one "tpu" lthread, one "w<i>"
 * lthread per worker pair; with check queues (VERSION 5, SDK) the client's
 * "chk" lthread or the validator's "c<k>" per check worker) on the node of
 * the session's shared memory, with the user's callbacks inside the poll
 * functions. Consumer queues of shaq format 3.0 are registered for
 * XS_IDLE_FUTEX with the lthread that reads them.
 *
 * Each lthread's context (session pointer, its worker number, a copy of the
 * callbacks) is small and copied by the runtime into the reactor's node-local
 * block (xs_lthread_spec.arg_size), so the hot loop reads only local memory
 * besides the queues themselves.
 *
 * Queue protocol per poll: take up to `burst` messages (xs_spsc_poll), hand
 * each one to the callback (the message stays valid until the callback
 * returns: the slot is released by xs_spsc_finalize() after the burst), then
 * finalize once. A callback's negative result, or a queue the peer corrupted
 * (sticky -XS_EQ_CORRUPT), ends the poll with that value: XS_RT_DONE retires
 * the lthread, any other error stops the runtime.
 *
 * Peer watch (opt-in through the callbacks struct): one guard watcher per
 * runtime, attached to it (xs__rt_attach) so xs_rt_destroy() tears it down
 * first. The poll functions themselves test nothing: the watcher stops the
 * runtime, and the reactors already test the stop flag every round.
 */
#include "rt_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/mpmc.h"
#include "xsched/msg.h"
#include "xsched/spsc.h"

#define DEFAULT_BURST 64

/* Context of one client lthread (copied into node-local memory). */
struct cctx {
	struct xs_session *s;
	int worker; /* XS_RT_TASK_TPU, XS_RT_TASK_CHECK, or the worker */
	unsigned burst;
	unsigned bindings; /* enum xs_bindings_id of the session */
	struct xs_rt_client_cbs cbs;
};

/* Context of one validator-side lthread. */
struct vctx {
	struct xs_vsession *s;
	int worker; /* XS_RT_TASK_TPU, the worker, or XS_RT_TASK_CHECK - k */
	unsigned burst;
	unsigned bindings;
	struct xs_rt_validator_cbs cbs;
};

_Static_assert(sizeof(struct cctx) <= XS_RT_ARG_MAX, "client context fits");
_Static_assert(sizeof(struct vctx) <= XS_RT_ARG_MAX, "validator context fits");

/* ------------------------------------------------------------ memory node */

struct region {
	const void *base;
	size_t len;
};

/* Sum the page counts of every region; the node with most pages wins. */
static int regions_node(const struct xs_topo *t, const struct region *rg, int n,
			struct xs_mem_loc *loc)
{
	struct xs_mem_loc one;
	char list[256];
	size_t used = 0;
	int r;

	memset(loc, 0, sizeof(*loc));
	loc->node = -1;
	for (int i = 0; i < n; i++) {
		if (!rg[i].base || !rg[i].len)
			continue;
		r = xs_mem_nodes(t, rg[i].base, rg[i].len, XS_MEM_COUNT | XS_MEM_RESIDENT, &one);
		loc->pages += one.pages;
		if (r == -XS_ERT_UNPOPULATED)
			continue; /* e.g. an allocator nobody used yet */
		if (r < 0)
			return r;
		loc->populated += one.populated;
		loc->nodes |= one.nodes;
		for (int k = 0; k < XS_MEM_MAX_NODES; k++)
			loc->on_node[k] += one.on_node[k];
	}
	for (int k = 0; k < XS_MEM_MAX_NODES; k++) {
		if (!(loc->nodes >> k & 1))
			continue;
		loc->nnodes++;
		if (loc->node < 0 || loc->on_node[k] > loc->on_node[loc->node])
			loc->node = k;
	}
	if (loc->nnodes == 0)
		return xs_seterr(-XS_ERT_UNPOPULATED,
				 "no page of the session's memory is in memory: not placed yet");
	list[0] = '\0';
	for (int k = 0; k < XS_MEM_MAX_NODES && used < sizeof(list) - 40; k++)
		if (loc->nodes >> k & 1)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d (%zu pages)",
						 used ? ", " : "", k, loc->on_node[k]);
	xs_seterr(0, "session memory: %zu pages populated on node%s %s", loc->populated,
		  loc->nnodes > 1 ? "s" : "", list);
	return loc->nnodes;
}

/* The regions of a session: every queue file and the allocator mapping,
 * each looked at only where its pages are already in memory (whoever
 * faulted them): a read of a page not there yet would place it on this
 * thread's node, and the plan would then follow it. */
static int queues_node(const struct xs_topo *t, const struct xs_spsc *tpu,
		       const struct xs_spsc *progress, const struct xs_hs_worker *workers,
		       uint32_t nworkers, const struct xs_alloc *alloc, struct xs_mem_loc *loc)
{
	struct region *rg;
	int n = 0, r;

	rg = calloc(3 + 2 * (size_t)nworkers, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	rg[n++] = (struct region){ tpu->base, tpu->file_size };
	rg[n++] = (struct region){ progress->base, progress->file_size };
	for (uint32_t i = 0; i < nworkers; i++) {
		rg[n++] = (struct region){ workers[i].pack_to_worker.base,
					   workers[i].pack_to_worker.file_size };
		rg[n++] = (struct region){ workers[i].worker_to_pack.base,
					   workers[i].worker_to_pack.file_size };
	}
	if (alloc)
		rg[n++] = (struct region){ xs_alloc_base(alloc), xs_alloc_size(alloc) };
	r = regions_node(t, rg, n, loc);
	free(rg);
	return r;
}

int xs_rt_session_node(const struct xs_topo *t, const struct xs_session *s, struct xs_mem_loc *loc)
{
	if (!t || !s || !loc || (s->num_workers && !s->workers))
		return -EINVAL;
	return queues_node(t, &s->tpu_to_pack, &s->progress, s->workers, s->num_workers,
			   s->num_allocs && s->allocs ? s->allocs[0] : NULL, loc);
}

int xs_rt_vsession_node(const struct xs_topo *t, const struct xs_vsession *s, struct xs_mem_loc *loc)
{
	if (!t || !s || !loc || (s->num_workers && !s->workers))
		return -EINVAL;
	return queues_node(t, &s->tpu_to_pack, &s->progress, s->workers, s->num_workers,
			   s->tpu_alloc, loc);
}

/* ------------------------------------------------------------ poll functions */

/* A consumer found nothing: the queue may be corrupt (sticky error). */
XS_INLINE int empty_or_err(const struct xs_spsc *q, int items)
{
	int e = xs_spsc_error(q);

	return XS_UNLIKELY(e < 0) ? e : items;
}

/*
 * Take up to @p burst messages from consumer @p q, hand each to @p each and
 * release them all with one finalize (one Release store of `read`).
 * @return messages taken, the callback's error, or the queue's sticky error
 *         when it ran dry early.
 */
static int drain(struct xs_spsc *q, unsigned burst, int (*each)(void *ctx, const void *m),
		 void *ctx)
{
	unsigned i;
	int r;

	for (i = 0; i < burst; i++) {
		const void *m = xs_spsc_poll(q);

		if (!m)
			break;
		if ((r = each(ctx, m)) < 0) {
			xs_spsc_finalize(q);
			return r;
		}
	}
	xs_spsc_finalize(q);
	return i < burst ? empty_or_err(q, (int)i) : (int)i;
}

/*
 * Take up to @p burst messages from MPMC consumer @p q (one reservation),
 * hand each to @p each and release them together. Messages stay valid until
 * the release. An empty queue, or an earlier release still waiting for its
 * turn (-XS_EQ_STALLED: a slower consumer ahead of us), is 0 items.
 * @return messages taken, the callback's error, or the queue's sticky error.
 */
static int drain_mpmc(struct xs_mpmc *q, unsigned burst, int (*each)(void *ctx, const void *m),
		      void *ctx)
{
	uint64_t pos;
	uint32_t n, i;
	int r, rr;

	r = xs_mpmc_reserve_read(q, burst, &pos, &n);
	if (r == -EAGAIN || r == -XS_EQ_STALLED)
		return 0;
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = each(ctx, xs_mpmc_slot(q, pos + i))) < 0)
			break;
	rr = xs_mpmc_release(q);
	if (r < 0)
		return r;
	if (rr < 0 && rr != -XS_EQ_STALLED)
		return rr;
	return (int)n;
}

/* Per-message adapters: on_msg when set, else the typed callback; a
 * missing callback consumes the message. */
static int each_progress(void *ctx, const void *m)
{
	struct cctx *c = ctx;

	if (c->cbs.on_msg)
		return c->cbs.on_msg(c->cbs.user, XS_RT_TASK_TPU, XS_MSG_PROGRESS, c->bindings, m);
	return c->cbs.on_progress ? c->cbs.on_progress(c->cbs.user, m) : 0;
}

static int each_tpu(void *ctx, const void *m)
{
	struct cctx *c = ctx;

	if (c->cbs.on_msg)
		return c->cbs.on_msg(c->cbs.user, XS_RT_TASK_TPU, XS_MSG_TPU_TO_PACK, c->bindings, m);
	return c->cbs.on_tpu ? c->cbs.on_tpu(c->cbs.user, m) : 0;
}

static int each_result(void *ctx, const void *m)
{
	struct cctx *c = ctx;

	if (c->cbs.on_msg)
		return c->cbs.on_msg(c->cbs.user, c->worker, XS_MSG_WORKER_TO_PACK, c->bindings, m);
	return c->cbs.on_result ? c->cbs.on_result(c->cbs.user, c->worker, m) : 0;
}

static int each_check_result(void *ctx, const void *m)
{
	struct cctx *c = ctx;

	if (c->cbs.on_msg)
		return c->cbs.on_msg(c->cbs.user, XS_RT_TASK_CHECK, XS_MSG_CHECK_TO_PACK, c->bindings, m);
	return c->cbs.on_check_result ? c->cbs.on_check_result(c->cbs.user, c->bindings, m) : 0;
}

/* Index of validator check worker of context @p c. */
static int vcheck_index(const struct vctx *c)
{
	return XS_RT_TASK_CHECK - c->worker;
}

static int each_check(void *ctx, const void *m)
{
	struct vctx *c = ctx;
	int k = vcheck_index(c);

	return c->cbs.on_check ? c->cbs.on_check(c->cbs.user, k, c->bindings, m,
						 &c->s->check_workers[k].check_to_pack)
			       : 0;
}

static int each_work(void *ctx, const void *m)
{
	struct vctx *c = ctx;

	return c->cbs.on_work ? c->cbs.on_work(c->cbs.user, c->worker, m,
					       &c->s->workers[c->worker].worker_to_pack)
			      : 0;
}

static int client_tpu_poll(void *arg)
{
	struct cctx *c = arg;
	int items, r;

	if ((items = drain(&c->s->progress, c->burst, each_progress, c)) < 0)
		return items;
	if ((r = drain(&c->s->tpu_to_pack, c->burst, each_tpu, c)) < 0)
		return r;
	items += r;
	if (c->cbs.tpu_poll) {
		if ((r = c->cbs.tpu_poll(c->cbs.user)) < 0)
			return r;
		items += r;
	}
	return items;
}

static int client_worker_poll(void *arg)
{
	struct cctx *c = arg;
	struct xs_hs_worker *w = &c->s->workers[c->worker];
	int items, r;

	if ((items = drain(&w->worker_to_pack, c->burst, each_result, c)) < 0)
		return items;
	if (c->cbs.worker_poll) {
		if ((r = c->cbs.worker_poll(c->cbs.user, c->worker, &w->pack_to_worker)) < 0)
			return r;
		items += r;
	}
	return items;
}

static int client_check_poll(void *arg)
{
	struct cctx *c = arg;
	int items, r;

	if ((items = drain_mpmc(&c->s->check_to_pack, c->burst, each_check_result, c)) < 0)
		return items;
	if (c->cbs.check_poll) {
		if ((r = c->cbs.check_poll(c->cbs.user, &c->s->pack_to_check)) < 0)
			return r;
		items += r;
	}
	return items;
}

static int client_init(void *arg)
{
	struct cctx *c = arg;

	return c->cbs.init ? c->cbs.init(c->cbs.user, c->worker) : 0;
}

static void client_fini(void *arg)
{
	struct cctx *c = arg;

	if (c->cbs.fini)
		c->cbs.fini(c->cbs.user, c->worker);
}

static int validator_tpu_poll(void *arg)
{
	struct vctx *c = arg;

	return c->cbs.tpu_poll ? c->cbs.tpu_poll(c->cbs.user, &c->s->tpu_to_pack, &c->s->progress) : 0;
}

static int validator_worker_poll(void *arg)
{
	struct vctx *c = arg;

	return drain(&c->s->workers[c->worker].pack_to_worker, c->burst, each_work, c);
}

/* One check worker: requests taken one at a time (each a reservation of
 * one slot), so that the C workers share a burst rather than one taking it
 * all. */
static int validator_check_poll(void *arg)
{
	struct vctx *c = arg;
	int k = vcheck_index(c);
	unsigned i;
	int r;

	for (i = 0; i < c->burst; i++) {
		r = drain_mpmc(&c->s->check_workers[k].pack_to_check, 1, each_check, c);
		if (r < 0)
			return r;
		if (r == 0)
			break;
	}
	if (c->cbs.check_poll) {
		if ((r = c->cbs.check_poll(c->cbs.user, k, &c->s->check_workers[k].check_to_pack)) < 0)
			return r;
		return (int)i + r;
	}
	return (int)i;
}

static int validator_init(void *arg)
{
	struct vctx *c = arg;

	return c->cbs.init ? c->cbs.init(c->cbs.user, c->worker) : 0;
}

static void validator_fini(void *arg)
{
	struct vctx *c = arg;

	if (c->cbs.fini)
		c->cbs.fini(c->cbs.user, c->worker);
}

/* ------------------------------------------------------------ plans */

/* What differs between the client and the validator side of the glue. */
struct side {
	const void *session;
	uint32_t workers;
	uint32_t checks;   /* check lthreads after the workers: client 0/1, validator C */
	const char *check_name; /* "chk" (one) or "c" + index */
	/* xs_rt_session_node() or xs_rt_vsession_node() */
	int (*locate)(const struct xs_topo *t, const void *session, struct xs_mem_loc *loc);
	/* register the format-3.0 consumer queues of lthread @p lt (task @p i) */
	int (*waits)(struct xs_rt *rt, int lt, const void *session, int i);
	void *ctx;       /* 1 + workers + checks contexts of ctx_size bytes: tpu, w0, w1, ..., checks */
	size_t ctx_size;
	xs_rt_poll_fn tpu_poll, worker_poll, check_poll;
	xs_rt_init_fn init;
	xs_rt_fini_fn fini;
};

/* Register one consumer queue for XS_IDLE_FUTEX when its format has a
 * waiters line (3.0); other formats stay unregistered (backoff). */
static int wait_spsc(struct xs_rt *rt, int lt, const struct xs_spsc *q)
{
	struct xs_shaq_waitref ref;

	if (xs_spsc_waitref(q, &ref) < 0)
		return 0;
	return xs_rt_lthread_wait_on(rt, lt, &ref);
}

static int wait_mpmc(struct xs_rt *rt, int lt, const struct xs_mpmc *q)
{
	struct xs_shaq_waitref ref;

	if (xs_mpmc_waitref(q, &ref) < 0)
		return 0;
	return xs_rt_lthread_wait_on(rt, lt, &ref);
}

/* Client: tpu reads progress + tpu_to_pack, w<i> worker_to_pack[i], chk
 * check_worker_to_pack. */
static int waits_client(struct xs_rt *rt, int lt, const void *session, int i)
{
	const struct xs_session *s = session;
	int r;

	if (i == 0) {
		if ((r = wait_spsc(rt, lt, &s->progress)) < 0)
			return r;
		return wait_spsc(rt, lt, &s->tpu_to_pack);
	}
	if ((uint32_t)i <= s->num_workers)
		return wait_spsc(rt, lt, &s->workers[i - 1].worker_to_pack);
	return wait_mpmc(rt, lt, &s->check_to_pack);
}

/* Validator: tpu only produces; w<i> reads pack_to_worker[i], c<k> its
 * handle on pack_to_check_worker. */
static int waits_validator(struct xs_rt *rt, int lt, const void *session, int i)
{
	const struct xs_vsession *s = session;

	if (i == 0)
		return 0;
	if ((uint32_t)i <= s->num_workers)
		return wait_spsc(rt, lt, &s->workers[i - 1].pack_to_worker);
	return wait_mpmc(rt, lt, &s->check_workers[(uint32_t)i - 1 - s->num_workers].pack_to_check);
}

static int locate_client(const struct xs_topo *t, const void *s, struct xs_mem_loc *loc)
{
	return xs_rt_session_node(t, s, loc);
}

static int locate_validator(const struct xs_topo *t, const void *s, struct xs_mem_loc *loc)
{
	return xs_rt_vsession_node(t, s, loc);
}

/* Locate the session's memory, plan the standard tasks on its node and add
 * them to @p rt with the side's poll functions and contexts. */
static int build(struct xs_rt *rt, struct xs_plan **plan_out, const struct xs_topo *t,
		 const struct xs_plan_opts *po_in, const struct side *sd)
{
	struct xs_task tasks[XS_PLAN_MAX_TASKS];
	struct xs_lthread_spec *specs;
	struct xs_plan_opts po;
	struct xs_mem_loc loc;
	struct xs_plan *plan;
	char msg[1024];
	int n, r, mem_r = 0;

	if (po_in)
		po = *po_in;
	else
		xs_plan_opts_init(&po);
	memset(&loc, 0, sizeof(loc));
	msg[0] = '\0';
	if (po.mem_node < 0 && xs_topo_is_system(t))
		mem_r = sd->locate(t, sd->session, &loc);
	if (po.mem_node < 0 && mem_r >= 1) {
		/* xs_errmsg(): where the pages are, from the locate above */
		snprintf(msg, sizeof(msg), "%s%s", xs_errmsg(),
			 mem_r > 1 ? ": mixed placement, planning on the node with most pages" : "");
		po.mem_node = loc.node;
	} else if (po.mem_node < 0) {
		snprintf(msg, sizeof(msg), "session memory node unknown (%s)",
			 xs_topo_is_system(t) ? xs_strerror(mem_r) : "topology is not this machine");
	}
	n = xs_tasks_std(tasks, XS_PLAN_MAX_TASKS - (int)sd->checks, (int)sd->workers);
	if (n < 0)
		return xs_seterr(-XS_ERT_SESSION, "session has %u workers and %u check lthreads "
				 "(at most %d tasks)", sd->workers, sd->checks, XS_PLAN_MAX_TASKS);
	for (uint32_t k = 0; k < sd->checks; k++) {
		struct xs_task *tk = &tasks[n + (int)k];

		memset(tk, 0, sizeof(*tk));
		tk->kind = XS_TASK_EXTRA;
		tk->index = (int)k;
		if (sd->checks == 1 && !strcmp(sd->check_name, "chk"))
			snprintf(tk->name, sizeof(tk->name), "chk");
		else
			snprintf(tk->name, sizeof(tk->name), "%s%u", sd->check_name, k);
	}
	n += (int)sd->checks;
	specs = calloc((size_t)n, sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		specs[i].poll = i == 0 ? sd->tpu_poll
			      : (uint32_t)i <= sd->workers ? sd->worker_poll : sd->check_poll;
		specs[i].arg = (uint8_t *)sd->ctx + sd->ctx_size * (size_t)i;
		specs[i].arg_size = sd->ctx_size; /* copied by the runtime */
		specs[i].init = sd->init;
		specs[i].fini = sd->fini;
	}
	if ((r = xs_plan_build(&plan, t, tasks, n, &po)) < 0) {
		free(specs);
		return r;
	}
	if (msg[0])
		xs__plan_note(plan, "%s", msg);
	r = xs_rt_add_plan(rt, plan, specs);
	free(specs);
	for (int i = 0; r >= 0 && i < n; i++) {
		int e = sd->waits(rt, r + i, sd->session, i);

		if (e < 0)
			r = e; /* the lthreads stay added: destroy the runtime, then the plan */
	}
	if (r < 0 || !plan_out)
		xs_plan_destroy(plan);
	else
		*plan_out = plan;
	return r;
}

/* ------------------------------------------------------------ peer watch */

/* One runtime's watch of its session's peer. The dead flag (first cache line
 * of struct xs_peer) is what xs_rt_peer() hands out. */
struct pwatch {
	struct xs_peer peer;
	struct xs_peer_watcher *w;
	struct xs_rt *rt;
	void (*fn)(void *user, pid_t pid);
	void *user;
	int stop;
};

/* On the watcher thread, once, after the dead flag is set: the user's
 * callback first, so it has run by the time the stop takes effect. Both
 * steps are non-blocking; xs__rt_fail() is two atomic operations. The fields
 * read here were written before xs_peer_watch() (ordered by its lock). */
static void pwatch_fired(void *arg, struct xs_peer *p)
{
	struct pwatch *pw = arg;

	if (pw->fn)
		pw->fn(pw->user, xs_peer_pid(p));
	if (pw->stop)
		xs__rt_fail(pw->rt, -XS_ERT_PEER_GONE);
}

/* xs_rt_destroy(): join the watcher thread (the callback is then not
 * running and will not run), close the pidfd, free. */
static void pwatch_fini(void *obj)
{
	struct pwatch *pw = obj;

	xs_peer_watcher_destroy(pw->w);
	free(pw);
}

/* Refuse early what would make the watch fail after the plan was added. */
static int pwatch_check(struct xs_rt *rt, int pidfd, pid_t pid, const char *side)
{
	if (pidfd < 0 && pid <= 0)
		return xs_seterr(-XS_ERT_SESSION,
				 "%s session has no peer pidfd and no peer pid (%d) to watch for "
				 "peer death", side, (int)pid);
	if (xs__rt_attached(rt))
		return xs_seterr(-XS_ERT_STATE, "runtime already watches a session peer");
	return 0;
}

/* Watch the session's peer: its pidfd (taken from the handshake socket, so
 * it names the very process that took part), or on a kernel without pidfds
 * its pid. */
static int pwatch_start(struct xs_rt *rt, int pidfd, pid_t pid, void (*fn)(void *, pid_t),
			void *user, int stop)
{
	size_t sz = (sizeof(struct pwatch) + XS_CACHE_LINE - 1) / XS_CACHE_LINE * XS_CACHE_LINE;
	struct pwatch *pw = aligned_alloc(XS_CACHE_LINE, sz);
	int r;

	if (!pw)
		return -ENOMEM;
	memset(pw, 0, sz);
	pw->rt = rt;
	pw->fn = fn;
	pw->user = user;
	pw->stop = stop;
	if ((r = xs_peer_watcher_create(&pw->w, 0, 0)) < 0) {
		free(pw);
		return xs_seterr(r, "peer watch: watcher thread not created (%d)", r);
	}
	/* attach before watching: the callback (which may call xs_rt_peer())
	 * can run as soon as xs_peer_watch() registers the peer, and the
	 * watcher's lock orders everything written before it */
	if ((r = xs__rt_attach(rt, pw, pwatch_fini)) < 0) {
		pwatch_fini(pw);
		return r;
	}
	r = pidfd >= 0 ? xs_peer_watch_pidfd(pw->w, &pw->peer, pidfd, pwatch_fired, pw)
		       : xs_peer_watch(pw->w, &pw->peer, pid, pwatch_fired, pw);
	if (r < 0) {
		xs__rt_attach(rt, NULL, NULL); /* detach, then free */
		pwatch_fini(pw);
		return r;
	}
	return 0;
}

const struct xs_peer *xs_rt_peer(const struct xs_rt *rt)
{
	const struct pwatch *pw = rt ? xs__rt_attached(rt) : NULL;

	return pw ? &pw->peer : NULL;
}

/* ------------------------------------------------------------ builders */

int xs_rt_client_build(struct xs_rt *rt, struct xs_plan **plan_out, struct xs_session *s,
		       const struct xs_topo *t, const struct xs_plan_opts *po,
		       const struct xs_rt_client_cbs *cbs)
{
	struct cctx *ctx;
	struct side sd;
	uint32_t w, nchk;
	int r, watch;

	if (plan_out)
		*plan_out = NULL;
	if (!rt || !s || !t || !cbs)
		return -EINVAL;
	w = s->num_workers;
	if ((w && !s->workers) || w >= XS_PLAN_MAX_TASKS)
		return xs_seterr(-XS_ERT_SESSION, "client session with %u workers and %s worker queues", w,
				 s->workers ? "" : "no");
	watch = cbs->on_peer_death || cbs->stop_on_peer_death;
	if (watch && (r = pwatch_check(rt, s->peer_pidfd, s->peer_pid, "client")) < 0)
		return r;
	nchk = s->has_check_queues ? 1 : 0;
	ctx = calloc(w + 1 + nchk, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	for (uint32_t i = 0; i <= w + nchk; i++) {
		ctx[i].s = s;
		ctx[i].worker = i <= w ? (int)i - 1 : XS_RT_TASK_CHECK;
		ctx[i].burst = cbs->burst ? cbs->burst : DEFAULT_BURST;
		ctx[i].bindings = s->proto ? s->proto->bindings : XS_BIND_V2;
		ctx[i].cbs = *cbs;
	}
	sd = (struct side){ .session = s, .workers = w, .checks = nchk, .check_name = "chk",
			    .locate = locate_client, .waits = waits_client, .ctx = ctx,
			    .ctx_size = sizeof(*ctx), .tpu_poll = client_tpu_poll,
			    .worker_poll = client_worker_poll, .check_poll = client_check_poll,
			    .init = client_init, .fini = client_fini };
	r = build(rt, plan_out, t, po, &sd);
	free(ctx);
	if (r >= 0 && watch) {
		int e = pwatch_start(rt, s->peer_pidfd, s->peer_pid, cbs->on_peer_death,
				     cbs->user, cbs->stop_on_peer_death);

		if (e < 0)
			return e; /* the lthreads stay added: destroy the runtime, then the plan */
	}
	return r;
}

int xs_rt_validator_build(struct xs_rt *rt, struct xs_plan **plan_out, struct xs_vsession *s,
			  const struct xs_topo *t, const struct xs_plan_opts *po,
			  const struct xs_rt_validator_cbs *cbs)
{
	struct vctx *ctx;
	struct side sd;
	uint32_t w, nchk;
	int r, watch;

	if (plan_out)
		*plan_out = NULL;
	if (!rt || !s || !t || !cbs)
		return -EINVAL;
	w = s->num_workers;
	if ((w && !s->workers) || w >= XS_PLAN_MAX_TASKS)
		return xs_seterr(-XS_ERT_SESSION, "validator session with %u workers and %s worker queues",
				 w, s->workers ? "" : "no");
	watch = cbs->on_peer_death || cbs->stop_on_peer_death;
	if (watch && (r = pwatch_check(rt, s->peer_pidfd, s->peer_pid, "validator")) < 0)
		return r;
	nchk = s->has_check_queues ? s->num_check_workers : 0;
	if (nchk && !s->check_workers)
		return xs_seterr(-XS_ERT_SESSION, "validator session with %u check workers and no "
				 "check queue handles", nchk);
	ctx = calloc(w + 1 + nchk, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	for (uint32_t i = 0; i <= w + nchk; i++) {
		ctx[i].s = s;
		ctx[i].worker = i <= w ? (int)i - 1 : XS_RT_TASK_CHECK - (int)(i - 1 - w);
		ctx[i].burst = cbs->burst ? cbs->burst : DEFAULT_BURST;
		ctx[i].bindings = s->proto ? s->proto->bindings : XS_BIND_V2;
		ctx[i].cbs = *cbs;
	}
	sd = (struct side){ .session = s, .workers = w, .checks = nchk, .check_name = "c",
			    .locate = locate_validator, .waits = waits_validator, .ctx = ctx,
			    .ctx_size = sizeof(*ctx), .tpu_poll = validator_tpu_poll,
			    .worker_poll = validator_worker_poll, .check_poll = validator_check_poll,
			    .init = validator_init, .fini = validator_fini };
	r = build(rt, plan_out, t, po, &sd);
	free(ctx);
	if (r >= 0 && watch) {
		int e = pwatch_start(rt, s->peer_pidfd, s->peer_pid, cbs->on_peer_death,
				     cbs->user, cbs->stop_on_peer_death);

		if (e < 0)
			return e; /* the lthreads stay added: destroy the runtime, then the plan */
	}
	return r;
}
