/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session glue: the standard plan for a session (one "tpu" lthread, one "w<i>"
 * lthread per worker pair) on the node of the session's shared memory, with
 * the user's callbacks inside the poll functions.
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
 */
#include "rt_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsched/alloc.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"
#include "xsched/spsc.h"

#define DEFAULT_BURST 64

/* Context of one client lthread (copied into node-local memory). */
struct cctx {
	struct xs_session *s;
	int worker; /* -1: the tpu lthread */
	unsigned burst;
	struct xs_rt_client_cbs cbs;
};

/* Context of one validator-side lthread. */
struct vctx {
	struct xs_vsession *s;
	int worker;
	unsigned burst;
	struct xs_rt_validator_cbs cbs;
};

_Static_assert(sizeof(struct cctx) <= XS_RT_ARG_MAX, "client context fits");
_Static_assert(sizeof(struct vctx) <= XS_RT_ARG_MAX, "validator context fits");

/* ------------------------------------------------------------ memory node */

struct region {
	const void *base;
	size_t len;
	int touch;
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
		r = xs_mem_nodes(t, rg[i].base, rg[i].len, XS_MEM_COUNT | (rg[i].touch ? XS_MEM_TOUCH : 0),
				 &one);
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
		return xs_seterr(-XS_ERT_UNPOPULATED, "no page of the session's memory is populated");
	list[0] = '\0';
	for (int k = 0; k < XS_MEM_MAX_NODES && used < sizeof(list) - 40; k++)
		if (loc->nodes >> k & 1)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d (%zu pages)",
						 used ? ", " : "", k, loc->on_node[k]);
	xs_seterr(0, "session memory: %zu pages populated on node%s %s", loc->populated,
		  loc->nnodes > 1 ? "s" : "", list);
	return loc->nnodes;
}

int xs_rt_session_node(const struct xs_topo *t, const struct xs_session *s, struct xs_mem_loc *loc)
{
	struct region *rg;
	int n = 0, r;

	if (!t || !s || !loc || (s->num_workers && !s->workers))
		return -EINVAL;
	rg = calloc(3 + 2 * (size_t)s->num_workers, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	/* queues are read-touched (a shared mapping: each page gets placed);
	 * the allocator is only inspected (touching could populate gigabytes) */
	rg[n++] = (struct region){ s->tpu_to_pack.base, s->tpu_to_pack.file_size, 1 };
	rg[n++] = (struct region){ s->progress.base, s->progress.file_size, 1 };
	for (uint32_t i = 0; i < s->num_workers; i++) {
		rg[n++] = (struct region){ s->workers[i].pack_to_worker.base,
					   s->workers[i].pack_to_worker.file_size, 1 };
		rg[n++] = (struct region){ s->workers[i].worker_to_pack.base,
					   s->workers[i].worker_to_pack.file_size, 1 };
	}
	if (s->num_allocs && s->allocs && s->allocs[0])
		rg[n++] = (struct region){ xs_alloc_base(s->allocs[0]), xs_alloc_size(s->allocs[0]), 0 };
	r = regions_node(t, rg, n, loc);
	free(rg);
	return r;
}

int xs_rt_vsession_node(const struct xs_topo *t, const struct xs_vsession *s, struct xs_mem_loc *loc)
{
	struct region *rg;
	int n = 0, r;

	if (!t || !s || !loc || (s->num_workers && !s->workers))
		return -EINVAL;
	rg = calloc(3 + 2 * (size_t)s->num_workers, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	rg[n++] = (struct region){ s->tpu_to_pack.base, s->tpu_to_pack.file_size, 1 };
	rg[n++] = (struct region){ s->progress.base, s->progress.file_size, 1 };
	for (uint32_t i = 0; i < s->num_workers; i++) {
		rg[n++] = (struct region){ s->workers[i].pack_to_worker.base,
					   s->workers[i].pack_to_worker.file_size, 1 };
		rg[n++] = (struct region){ s->workers[i].worker_to_pack.base,
					   s->workers[i].worker_to_pack.file_size, 1 };
	}
	if (s->tpu_alloc)
		rg[n++] = (struct region){ xs_alloc_base(s->tpu_alloc), xs_alloc_size(s->tpu_alloc), 0 };
	r = regions_node(t, rg, n, loc);
	free(rg);
	return r;
}

/* ------------------------------------------------------------ poll functions */

/* A consumer found nothing: the queue may be corrupt (sticky error). */
XS_INLINE int empty_or_err(const struct xs_spsc *q, int items)
{
	int e = xs_spsc_error(q);

	return XS_UNLIKELY(e < 0) ? e : items;
}

static int client_tpu_poll(void *arg)
{
	struct cctx *c = arg;
	struct xs_session *s = c->s;
	int items = 0, r;
	unsigned i;

	for (i = 0; i < c->burst; i++) {
		const struct xs_progress *m = xs_spsc_poll(&s->progress);

		if (!m)
			break;
		if (c->cbs.on_progress && (r = c->cbs.on_progress(c->cbs.user, m)) < 0) {
			xs_spsc_finalize(&s->progress);
			return r;
		}
	}
	xs_spsc_finalize(&s->progress);
	items += (int)i;
	if (i < c->burst && (r = empty_or_err(&s->progress, 0)) < 0)
		return r;
	for (i = 0; i < c->burst; i++) {
		const struct xs_tpu_to_pack *m = xs_spsc_poll(&s->tpu_to_pack);

		if (!m)
			break;
		if (c->cbs.on_tpu && (r = c->cbs.on_tpu(c->cbs.user, m)) < 0) {
			xs_spsc_finalize(&s->tpu_to_pack);
			return r;
		}
	}
	xs_spsc_finalize(&s->tpu_to_pack);
	items += (int)i;
	if (i < c->burst && (r = empty_or_err(&s->tpu_to_pack, 0)) < 0)
		return r;
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
	int items = 0, r;
	unsigned i;

	for (i = 0; i < c->burst; i++) {
		const struct xs_worker_to_pack *m = xs_spsc_poll(&w->worker_to_pack);

		if (!m)
			break;
		if (c->cbs.on_result && (r = c->cbs.on_result(c->cbs.user, c->worker, m)) < 0) {
			xs_spsc_finalize(&w->worker_to_pack);
			return r;
		}
	}
	xs_spsc_finalize(&w->worker_to_pack);
	items += (int)i;
	if (i < c->burst && (r = empty_or_err(&w->worker_to_pack, 0)) < 0)
		return r;
	if (c->cbs.worker_poll) {
		if ((r = c->cbs.worker_poll(c->cbs.user, c->worker, &w->pack_to_worker)) < 0)
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
	struct xs_hs_worker *w = &c->s->workers[c->worker];
	int r;
	unsigned i;

	for (i = 0; i < c->burst; i++) {
		const struct xs_pack_to_worker *m = xs_spsc_poll(&w->pack_to_worker);

		if (!m)
			break;
		if (c->cbs.on_work &&
		    (r = c->cbs.on_work(c->cbs.user, c->worker, m, &w->worker_to_pack)) < 0) {
			xs_spsc_finalize(&w->pack_to_worker);
			return r;
		}
	}
	xs_spsc_finalize(&w->pack_to_worker);
	if (i < c->burst)
		return empty_or_err(&w->pack_to_worker, (int)i);
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

/* Plan the standard tasks on the memory's node and add them to @p rt. */
static int build(struct xs_rt *rt, struct xs_plan **plan_out, const struct xs_topo *t,
		 const struct xs_plan_opts *po_in, uint32_t workers, int mem_r,
		 const struct xs_mem_loc *loc, const char *where, struct xs_lthread_spec *specs)
{
	struct xs_task tasks[XS_PLAN_MAX_TASKS];
	struct xs_plan_opts po;
	struct xs_plan *plan;
	char msg[512];
	int n, r;

	if (po_in)
		po = *po_in;
	else
		xs_plan_opts_init(&po);
	msg[0] = '\0';
	if (po.mem_node < 0 && mem_r >= 1) {
		po.mem_node = loc->node;
		snprintf(msg, sizeof(msg), "%s%s", where,
			 mem_r > 1 ? ": mixed placement, planning on the node with most pages" : "");
	} else if (po.mem_node < 0) {
		snprintf(msg, sizeof(msg), "session memory node unknown (%s)",
			 xs_topo_is_system(t) ? xs_strerror(mem_r) : "topology is not this machine");
	}
	n = xs_tasks_std(tasks, XS_PLAN_MAX_TASKS, (int)workers);
	if (n < 0)
		return xs_seterr(-XS_ERT_SESSION, "session has %u workers (at most %d)", workers,
				 XS_PLAN_MAX_TASKS - 1);
	if ((r = xs_plan_build(&plan, t, tasks, n, &po)) < 0)
		return r;
	if (msg[0])
		xs__plan_note(plan, "%s", msg);
	r = xs_rt_add_plan(rt, plan, specs);
	if (r < 0 || !plan_out)
		xs_plan_destroy(plan);
	else
		*plan_out = plan;
	return r;
}

int xs_rt_client_build(struct xs_rt *rt, struct xs_plan **plan_out, struct xs_session *s,
		       const struct xs_topo *t, const struct xs_plan_opts *po,
		       const struct xs_rt_client_cbs *cbs)
{
	struct xs_lthread_spec *specs;
	struct cctx *ctx;
	struct xs_mem_loc loc;
	char where[512];
	uint32_t w;
	int r, mem_r = 0;

	if (plan_out)
		*plan_out = NULL;
	if (!rt || !s || !t || !cbs)
		return -EINVAL;
	w = s->num_workers;
	if ((w && !s->workers) || w >= XS_PLAN_MAX_TASKS)
		return xs_seterr(-XS_ERT_SESSION, "client session with %u workers and %s worker queues", w,
				 s->workers ? "" : "no");
	memset(&loc, 0, sizeof(loc));
	where[0] = '\0';
	if ((!po || po->mem_node < 0) && xs_topo_is_system(t)) {
		mem_r = xs_rt_session_node(t, s, &loc);
		snprintf(where, sizeof(where), "%s", xs_errmsg());
	}
	specs = calloc(w + 1, sizeof(*specs));
	ctx = calloc(w + 1, sizeof(*ctx));
	if (!specs || !ctx) {
		free(specs);
		free(ctx);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= w; i++) {
		ctx[i].s = s;
		ctx[i].worker = (int)i - 1;
		ctx[i].burst = cbs->burst ? cbs->burst : DEFAULT_BURST;
		ctx[i].cbs = *cbs;
		specs[i].poll = i ? client_worker_poll : client_tpu_poll;
		specs[i].arg = &ctx[i];
		specs[i].arg_size = sizeof(ctx[i]);
		specs[i].init = client_init;
		specs[i].fini = client_fini;
	}
	r = build(rt, plan_out, t, po, w, mem_r, &loc, where, specs);
	free(specs);
	free(ctx);
	return r;
}

int xs_rt_validator_build(struct xs_rt *rt, struct xs_plan **plan_out, struct xs_vsession *s,
			  const struct xs_topo *t, const struct xs_plan_opts *po,
			  const struct xs_rt_validator_cbs *cbs)
{
	struct xs_lthread_spec *specs;
	struct vctx *ctx;
	struct xs_mem_loc loc;
	char where[512];
	uint32_t w;
	int r, mem_r = 0;

	if (plan_out)
		*plan_out = NULL;
	if (!rt || !s || !t || !cbs)
		return -EINVAL;
	w = s->num_workers;
	if ((w && !s->workers) || w >= XS_PLAN_MAX_TASKS)
		return xs_seterr(-XS_ERT_SESSION, "validator session with %u workers and %s worker queues",
				 w, s->workers ? "" : "no");
	memset(&loc, 0, sizeof(loc));
	where[0] = '\0';
	if ((!po || po->mem_node < 0) && xs_topo_is_system(t)) {
		mem_r = xs_rt_vsession_node(t, s, &loc);
		snprintf(where, sizeof(where), "%s", xs_errmsg());
	}
	specs = calloc(w + 1, sizeof(*specs));
	ctx = calloc(w + 1, sizeof(*ctx));
	if (!specs || !ctx) {
		free(specs);
		free(ctx);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= w; i++) {
		ctx[i].s = s;
		ctx[i].worker = (int)i - 1;
		ctx[i].burst = cbs->burst ? cbs->burst : DEFAULT_BURST;
		ctx[i].cbs = *cbs;
		specs[i].poll = i ? validator_worker_poll : validator_tpu_poll;
		specs[i].arg = &ctx[i];
		specs[i].arg_size = sizeof(ctx[i]);
		specs[i].init = validator_init;
		specs[i].fini = validator_fini;
	}
	r = build(rt, plan_out, t, po, w, mem_r, &loc, where, specs);
	free(specs);
	free(ctx);
	return r;
}
