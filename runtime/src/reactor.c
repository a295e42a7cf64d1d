/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reactors: pinned OS threads running lightweight threads (poll functions) in
 * a busy loop.
 *
 * Ordering contract
 *   S1  xs_rt_stop(): release store of rt->stop = 1. Reactors read it relaxed
 *       once per round (S2): the flag carries no data, it only ends the loop;
 *       everything a reactor wrote is published to the joiner by pthread_join.
 *   C1  counters (lthread polls/busy/items, reactor rounds/idle/yields/sleeps)
 *       have a single writer, their reactor, which stores them relaxed; readers
 *       load them relaxed. Each value is individually exact; a snapshot of
 *       several is not atomic as a whole (polls may be read before items).
 *   L1  rt->lt[i].blk (where lthread i's counters live) is published with a
 *       release store in xs_rt_start() before the thread is created; readers
 *       (stats) load it with acquire (pairs with L1) before touching counters.
 *   T1  reactor state (tid, observed CPU, running) is written by the reactor
 *       with relaxed/release stores and read relaxed/acquire by info readers;
 *       startup itself synchronises through rt->mu / rt->cv.
 */
#include "rt_pvt.h"
#include "idle_futex.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ layout */

/* One lthread inside its reactor's block: two cache lines. */
struct xs__lt {
	/* line 0: read by the reactor every round, written before start */
	xs_rt_poll_fn poll;
	void *arg;
	xs_rt_init_fn init;
	xs_rt_fini_fn fini;
	int id;
	int inited;           /* init ran (reactor thread only) */
	_Atomic int state;    /* XS_LT_* (C1-style: single writer, relaxed) */
	_Atomic int err;
	/* line 1: counters, written by the reactor only (C1) */
	_Atomic uint64_t polls XS_CACHE_ALIGNED;
	_Atomic uint64_t busy;
	_Atomic uint64_t items;
} XS_CACHE_ALIGNED;

_Static_assert(sizeof(struct xs__lt) == 2 * XS_CACHE_LINE, "lthread is two cache lines");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "stop flag must be lock-free (signal handlers)");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "counters must be lock-free");

/* A reactor's node-local block: header line, counter line, lthreads, run
 * list, copied contexts. Allocated (and bound to the node) at start. */
struct xs__blk {
	/* line 0: read by the reactor each round */
	const _Atomic int *stop;
	struct xs__lt **run;  /* lthreads still polled */
	uint32_t nrun;
	uint32_t nlt;
	int idle;
	uint32_t spin_rounds;
	uint32_t pace_max;
	uint64_t backoff_max_ns;
	struct xs__lt *lt;    /* nlt lthreads */
	struct xs_rt *rt;
	struct xs__fidle *fidle; /* XS_IDLE_FUTEX sleeper (idle_futex.h), NULL: back off */
	/* line 1: reactor counters (C1) */
	_Atomic uint64_t rounds XS_CACHE_ALIGNED;
	_Atomic uint64_t idle_rounds;
	_Atomic uint64_t yields;
	_Atomic uint64_t sleeps;
} XS_CACHE_ALIGNED;

/* Cold description of a reactor, in the runtime object. */
struct xs__rdesc {
	char name[XS_RT_NAME_MAX + 1];
	int plan_cpu, cpu, node, idle, nlt, index;
	pthread_t th;
	int th_created;
	struct xs__blk *blk;
	size_t blk_size;
	int mem_node;
	_Atomic int observed_cpu; /* T1 */
	_Atomic pid_t tid;        /* T1 */
	_Atomic int running;      /* T1 */
	int err;                  /* startup error, under rt->mu */
	char errmsg[256];         /* its detail (the thread's xs_errmsg()), under rt->mu */
	struct xs_rt *rt;
};

/* Cold description of an lthread. */
struct xs__ltdesc {
	struct xs_lthread_spec spec; /* spec.arg points to argcopy when arg_size > 0 */
	void *argcopy;               /* the caller's context, copied at add time */
	char name[XS_RT_NAME_MAX + 1];
	int reactor, slot;
	struct xs__lt *_Atomic lt; /* L1 */
};

enum { RT_NEW, RT_RUNNING, RT_JOINED, RT_FAILED };

struct xs_rt {
	_Atomic int stop XS_CACHE_ALIGNED; /* S1/S2, alone on its line */
	char pad_[XS_CACHE_LINE - sizeof(_Atomic int)];
	_Atomic int first_err;
	struct xs_rt_params p;
	struct xs_cpuset remap;
	int has_remap;
	_Atomic int state;   /* RT_*: written by the controlling thread, read by info readers (T1) */
	int nr, capr, nl, capl;
	struct xs__rdesc **r;
	struct xs__ltdesc *l;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nready, go, abort;
	struct xs__fx *fx;        /* queues registered for XS_IDLE_FUTEX (idle_futex.h) */
	void *att;                /* session glue attachment (xs__rt_attach) */
	void (*att_fini)(void *); /* its destructor */
};

/* T1: relaxed; the state is a hint for readers, control calls come from one thread */
static int rt_state(const struct xs_rt *rt)
{
	return atomic_load_explicit(&rt->state, memory_order_relaxed);
}

/* ------------------------------------------------------------ names */

static const char *const idle_names[] = { "spin", "yield", "backoff", "futex" };

const char *xs_idle_name(enum xs_idle i)
{
	return (unsigned)i < 4 ? idle_names[i] : "?";
}

int xs_idle_parse(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, idle_names[i]))
			return i;
	return xs_seterr(-XS_ERT_OPTION, "idle strategy '%s' is not one of spin, yield, backoff, futex",
			 s ? s : "");
}

/* ------------------------------------------------------------ setup */

void xs_rt_params_init(struct xs_rt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->idle = XS_IDLE_SPIN;
	p->pin = XS_RT_PIN_EXACT;
	p->spin_rounds = 1024;
	p->pace_max = XS_RT_PACE_DEFAULT;
	p->backoff_max_us = 1000;
}

int xs_rt_create(struct xs_rt **out, const struct xs_rt_params *p)
{
	struct xs_rt_params dflt;
	struct xs_rt *rt;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!p) {
		xs_rt_params_init(&dflt);
		p = &dflt;
	}
	if ((unsigned)p->idle > XS_IDLE_FUTEX || (unsigned)p->pin > XS_RT_PIN_NONE)
		return xs_seterr(-EINVAL, "runtime: idle %d / pin %d out of range", (int)p->idle,
				 (int)p->pin);
	rt = aligned_alloc(XS_CACHE_LINE, (sizeof(*rt) + XS_CACHE_LINE - 1) / XS_CACHE_LINE * XS_CACHE_LINE);
	if (!rt)
		return -ENOMEM;
	memset(rt, 0, sizeof(*rt));
	rt->p = *p;
	if (p->remap_cpus) {
		rt->remap = *p->remap_cpus;
		rt->has_remap = 1;
	}
	rt->p.remap_cpus = NULL; /* copied: the caller's set need not outlive us */
	if (!rt->p.backoff_max_us)
		rt->p.backoff_max_us = 1;
	atomic_init(&rt->stop, 0);
	atomic_init(&rt->first_err, 0);
	pthread_mutex_init(&rt->mu, NULL);
	pthread_cond_init(&rt->cv, NULL);
	atomic_init(&rt->state, RT_NEW);
	*out = rt;
	return 0;
}

int xs_rt_add_reactor(struct xs_rt *rt, const char *name, int cpu, int idle)
{
	struct xs__rdesc *d;

	if (!rt || !name || !name[0] || strlen(name) > XS_RT_NAME_MAX || cpu < -1 ||
	    cpu >= XS_CPUSET_MAX || idle < -1 || idle > XS_IDLE_FUTEX)
		return xs_seterr(-EINVAL, "reactor \"%s\": bad name (1..%d chars), cpu %d or idle %d",
				 name ? name : "", XS_RT_NAME_MAX, cpu, idle);
	if (rt_state(rt) != RT_NEW)
		return xs_seterr(-XS_ERT_STATE, "reactor \"%s\" added after start", name);
	if (rt->nr == rt->capr) {
		int cap = rt->capr ? rt->capr * 2 : 8;
		struct xs__rdesc **m = realloc(rt->r, sizeof(*m) * (size_t)cap);

		if (!m)
			return -ENOMEM;
		rt->r = m;
		rt->capr = cap;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->plan_cpu = d->cpu = cpu;
	d->node = d->mem_node = -1;
	d->idle = idle < 0 ? (int)rt->p.idle : idle;
	d->index = rt->nr;
	d->rt = rt;
	atomic_init(&d->observed_cpu, -1);
	atomic_init(&d->tid, 0);
	atomic_init(&d->running, 0);
	rt->r[rt->nr] = d;
	return rt->nr++;
}

int xs_rt_add_lthread(struct xs_rt *rt, int reactor, const struct xs_lthread_spec *spec)
{
	struct xs__ltdesc *l;

	if (!rt || reactor < 0 || reactor >= rt->nr || !spec || !spec->poll ||
	    spec->arg_size > XS_RT_ARG_MAX || (spec->arg_size && !spec->arg))
		return xs_seterr(-EINVAL, "lthread: bad reactor %d, no poll function or bad context",
				 reactor);
	if (rt_state(rt) != RT_NEW)
		return xs_seterr(-XS_ERT_STATE, "lthread added after start");
	if (rt->nl == rt->capl) {
		int cap = rt->capl ? rt->capl * 2 : 16;
		struct xs__ltdesc *m = realloc(rt->l, sizeof(*m) * (size_t)cap);

		if (!m)
			return -ENOMEM;
		rt->l = m;
		rt->capl = cap;
	}
	l = &rt->l[rt->nl];
	memset(l, 0, sizeof(*l));
	l->spec = *spec;
	if (spec->arg_size) {
		/* the caller may free or reuse its context once we return */
		l->argcopy = malloc(spec->arg_size);
		if (!l->argcopy)
			return -ENOMEM;
		memcpy(l->argcopy, spec->arg, spec->arg_size);
		l->spec.arg = l->argcopy;
	}
	if (spec->name)
		snprintf(l->name, sizeof(l->name), "%s", spec->name);
	else
		snprintf(l->name, sizeof(l->name), "lt%d", rt->nl);
	l->spec.name = NULL; /* copied into l->name */
	l->reactor = reactor;
	l->slot = rt->r[reactor]->nlt++;
	atomic_init(&l->lt, NULL);
	return rt->nl++;
}

int xs_rt_lthread_wait_on(struct xs_rt *rt, int lt, const struct xs_shaq_waitref *ref)
{
	if (!rt || lt < 0 || lt >= rt->nl || !ref || (ref->waiters && !ref->cursor))
		return xs_seterr(-EINVAL, "lthread wait_on: bad lthread %d or queue reference", lt);
	if (rt_state(rt) != RT_NEW)
		return xs_seterr(-XS_ERT_STATE, "lthread wait_on after start");
	return xs__fx_add(&rt->fx, rt->l[lt].reactor, lt, ref);
}

int xs_rt_add_plan(struct xs_rt *rt, const struct xs_plan *plan, const struct xs_lthread_spec *specs)
{
	const struct xs_topo *t;
	int base_r, first = -1;

	if (!rt || !plan || !specs)
		return -EINVAL;
	if (rt_state(rt) != RT_NEW)
		return xs_seterr(-XS_ERT_STATE, "plan added after start");
	t = xs_plan_topo(plan);
	if (rt->p.pin == XS_RT_PIN_EXACT && !xs_topo_is_system(t))
		return xs_seterr(-XS_ERT_NOT_SYSTEM,
				 "plan was made for topology %s, not this machine: use XS_RT_PIN_REMAP "
				 "(or XS_RT_PIN_NONE) to run it here",
				 xs_topo_source(t));
	for (int i = 0; i < xs_plan_ntasks(plan); i++)
		if (!specs[i].poll)
			return xs_seterr(-EINVAL, "plan task %s has no poll function",
					 xs_plan_task(plan, i)->task.name);
	base_r = rt->nr;
	for (int ri = 0; ri < xs_plan_nreactors(plan); ri++) {
		const struct xs_plan_reactor *pr = xs_plan_reactor(plan, ri);
		int idle = pr->flags & XS_PR_LIGHT ? XS_IDLE_BACKOFF : -1;
		int r = xs_rt_add_reactor(rt, pr->name, pr->cpu, idle);

		if (r < 0)
			return r;
	}
	/* lthread ids follow the task order; the poll order inside a reactor
	 * follows the plan's slots (a permutation of 0..ntasks-1 per reactor) */
	for (int i = 0; i < xs_plan_ntasks(plan); i++) {
		const struct xs_plan_task *pt = xs_plan_task(plan, i);
		struct xs_lthread_spec sp = specs[i];
		int id;

		if (!sp.name)
			sp.name = pt->task.name;
		id = xs_rt_add_lthread(rt, base_r + pt->reactor, &sp);
		if (id < 0)
			return id;
		rt->l[id].slot = pt->slot;
		if (first < 0)
			first = id;
	}
	return first;
}

/* ------------------------------------------------------------ the loop */

static void lt_retire(struct xs__blk *b, uint32_t i, int rc)
{
	struct xs__lt *lt = b->run[i];

	if (rc == XS_RT_DONE) {
		atomic_store_explicit(&lt->state, XS_LT_DONE, memory_order_relaxed);
	} else {
		int zero = 0;

		atomic_store_explicit(&lt->err, rc, memory_order_relaxed);
		atomic_store_explicit(&lt->state, XS_LT_FAILED, memory_order_relaxed);
		/* first error wins; join reads it after pthread_join */
		atomic_compare_exchange_strong_explicit(&b->rt->first_err, &zero, rc,
							memory_order_relaxed, memory_order_relaxed);
		xs_rt_stop(b->rt);
	}
	b->run[i] = b->run[--b->nrun];
}

/* Relaxed increment of a counter this thread alone writes (C1): a plain
 * load/add/store, no locked instruction. */
XS_INLINE void ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static void reactor_loop(struct xs__blk *b)
{
	const _Atomic int *stop = b->stop;
	uint32_t idle_run = 0;
	uint64_t since_idle = 0; /* items taken since the last idle round (pacing) */

	/* S2: relaxed; see the ordering contract */
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		int work = 0;

		for (uint32_t i = 0; i < b->nrun; i++) {
			struct xs__lt *lt = b->run[i];
			int n = lt->poll(lt->arg);

			ctr_add(&lt->polls, 1);
			if (n > 0) {
				ctr_add(&lt->busy, 1);
				ctr_add(&lt->items, (uint64_t)n);
				since_idle += (uint64_t)n;
				work = 1;
			} else if (XS_UNLIKELY(n < 0)) {
				lt_retire(b, i, n);
				i--; /* the slot now holds the last lthread */
			}
		}
		ctr_add(&b->rounds, 1);
		if (XS_UNLIKELY(b->nrun == 0))
			break;
		if (work) {
			idle_run = 0;
			if (b->fidle)
				xs__fidle_work(b->fidle); /* unregister if armed */
			continue;
		}
		ctr_add(&b->idle_rounds, 1);
		if (b->idle == XS_IDLE_SPIN || ++idle_run <= b->spin_rounds) {
			/* Pacing: after a stream of k items, leave the producers'
			 * counter lines alone for min(k, pace_max) pauses (they are
			 * likely publishing the rest: a poll now would pull the
			 * line away from them once per item); one pause otherwise.
			 * No shared access, no system call. */
			uint32_t n = since_idle < b->pace_max ? (uint32_t)since_idle : b->pace_max;

			since_idle = 0;
			do
				xs_cpu_relax();
			while (n-- > 1);
		} else if (b->fidle) { /* XS_IDLE_FUTEX: arm, re-poll, sleep (idle_futex.h) */
			if (xs__fidle_step(b->fidle, b->backoff_max_ns))
				ctr_add(&b->sleeps, 1);
		} else if (b->idle == XS_IDLE_YIELD) {
			sched_yield();
			ctr_add(&b->yields, 1);
		} else { /* backoff: 1 µs, 2 µs, ... up to backoff_max_ns */
			uint32_t shift = idle_run - b->spin_rounds - 1;
			uint64_t ns = shift >= 20 ? b->backoff_max_ns : 1000ull << shift;
			struct timespec ts;

			if (ns > b->backoff_max_ns)
				ns = b->backoff_max_ns;
			ts.tv_sec = (time_t)(ns / 1000000000ull);
			ts.tv_nsec = (long)(ns % 1000000000ull);
			clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
			ctr_add(&b->sleeps, 1);
		}
	}
	if (b->fidle)
		xs__fidle_disarm(b->fidle); /* leave no registration behind */
}

static void *reactor_main(void *arg)
{
	struct xs__rdesc *d = arg;
	struct xs_rt *rt = d->rt;
	struct xs__blk *b = d->blk;
	int err = 0;

	atomic_store_explicit(&d->tid, (pid_t)syscall(SYS_gettid), memory_order_relaxed);
	pthread_setname_np(pthread_self(), d->name);
	/* Pinned by itself, first thing, with hwloc (the one binding
	 * mechanism of the runtime); sched_getcpu() then proves it. */
	if (d->cpu >= 0 && (err = xs__bind_thread(rt->p.topo, d->cpu, d->node)) < 0) {
		char m[200];

		snprintf(m, sizeof(m), "%s", xs_errmsg()); /* xs_seterr writes that buffer */
		xs_seterr(err, "reactor %s: %s", d->name, m);
	}
	atomic_store_explicit(&d->observed_cpu, sched_getcpu(), memory_order_relaxed);
	if (d->cpu >= 0 && !err) {
		int c = sched_getcpu();

		if (c != d->cpu)
			err = xs_seterr(-XS_ERT_PIN, "reactor %s runs on cpu %d, pinned to cpu %d",
					d->name, c, d->cpu);
	}
	for (uint32_t i = 0; i < b->nlt && !err; i++) {
		struct xs__lt *lt = &b->lt[i];

		if (lt->init && (err = lt->init(lt->arg)) < 0) {
			xs_seterr(err, "reactor %s: init of lthread %d failed: %s", d->name, lt->id,
				  xs_strerror(err));
		} else {
			lt->inited = 1;
			err = 0;
		}
	}
	pthread_mutex_lock(&rt->mu);
	if (err) {
		d->err = err;
		snprintf(d->errmsg, sizeof(d->errmsg), "%s", xs_errmsg());
		rt->abort = 1;
	}
	rt->nready++;
	pthread_cond_broadcast(&rt->cv);
	while (!rt->go && !rt->abort)
		pthread_cond_wait(&rt->cv, &rt->mu);
	int go = rt->go && !rt->abort;

	pthread_mutex_unlock(&rt->mu);
	if (go) {
		for (uint32_t i = 0; i < b->nlt; i++)
			atomic_store_explicit(&b->lt[i].state, XS_LT_RUNNING, memory_order_relaxed);
		atomic_store_explicit(&d->running, 1, memory_order_release);
		reactor_loop(b);
		for (uint32_t i = 0; i < b->nrun; i++)
			atomic_store_explicit(&b->run[i]->state, XS_LT_STOPPED, memory_order_relaxed);
	}
	for (uint32_t i = 0; i < b->nlt; i++)
		if (b->lt[i].inited && b->lt[i].fini)
			b->lt[i].fini(b->lt[i].arg);
	atomic_store_explicit(&d->running, 0, memory_order_release);
	return NULL;
}

/* ------------------------------------------------------------ start/stop */

/* Build reactor @p d's block on its node: header, lthreads, run list, contexts. */
static int build_block(struct xs_rt *rt, struct xs__rdesc *d)
{
	size_t lt_off = sizeof(struct xs__blk);
	size_t run_off = lt_off + sizeof(struct xs__lt) * (size_t)d->nlt;
	size_t ctx_off = (run_off + sizeof(void *) * (size_t)d->nlt + XS_CACHE_LINE - 1) /
			 XS_CACHE_LINE * XS_CACHE_LINE;
	size_t size = ctx_off;
	const struct xs_topo *t = rt->p.topo;
	struct xs__blk *b;
	uint8_t *base;

	for (int i = 0; i < rt->nl; i++)
		if (rt->l[i].reactor == d->index)
			size += (rt->l[i].spec.arg_size + XS_CACHE_LINE - 1) / XS_CACHE_LINE * XS_CACHE_LINE;
	d->node = -1;
	if (t && xs_topo_is_system(t) && d->cpu >= 0) {
		const struct xs_topo_pu *pu = xs_topo_pu_of_cpu(t, d->cpu);

		if (pu)
			d->node = pu->node;
	}
	d->blk_size = xs__page_round(size);
	/* bound to the node before the first touch (below) */
	base = xs_mem_alloc_node(t, d->blk_size, d->node);
	if (!base)
		return xs_seterr(-ENOMEM, "reactor %s: no memory for its %zu-byte block", d->name,
				 d->blk_size);
	b = (struct xs__blk *)base;
	d->blk = b;
	b->stop = &rt->stop;
	b->rt = rt;
	b->nlt = (uint32_t)d->nlt;
	b->idle = d->idle;
	b->spin_rounds = rt->p.spin_rounds;
	b->pace_max = rt->p.pace_max;
	b->backoff_max_ns = (uint64_t)rt->p.backoff_max_us * 1000ull;
	b->lt = (struct xs__lt *)(base + lt_off);
	b->run = (struct xs__lt **)(base + run_off);
	b->fidle = NULL;
	if (d->idle == XS_IDLE_FUTEX) {
		int err;

		b->fidle = xs__fidle_build(rt->fx, d->index, &err);
		if (err)
			return xs_seterr(err, "reactor %s: no memory for its futex sleeper", d->name);
	}
	atomic_init(&b->rounds, 0);
	atomic_init(&b->idle_rounds, 0);
	atomic_init(&b->yields, 0);
	atomic_init(&b->sleeps, 0);
	for (int i = 0; i < rt->nl; i++) {
		struct xs__ltdesc *l = &rt->l[i];
		struct xs__lt *lt;

		if (l->reactor != d->index)
			continue;
		lt = &b->lt[l->slot];
		lt->poll = l->spec.poll;
		lt->init = l->spec.init;
		lt->fini = l->spec.fini;
		lt->id = i;
		lt->arg = l->spec.arg;
		if (l->spec.arg_size) {
			lt->arg = base + ctx_off;
			memcpy(lt->arg, l->spec.arg, l->spec.arg_size);
			ctx_off += (l->spec.arg_size + XS_CACHE_LINE - 1) / XS_CACHE_LINE * XS_CACHE_LINE;
		}
		atomic_init(&lt->state, XS_LT_NEW);
		atomic_init(&lt->err, 0);
		atomic_init(&lt->polls, 0);
		atomic_init(&lt->busy, 0);
		atomic_init(&lt->items, 0);
		b->run[l->slot] = lt;
		/* L1: publish where the counters are; pairs with the acquire in stats */
		atomic_store_explicit(&l->lt, lt, memory_order_release);
	}
	b->nrun = b->nlt;
	return 0;
}

/* Decide each reactor's real CPU and check that no two busy ones share one. */
static int resolve_cpus(struct xs_rt *rt)
{
	struct xs_cpuset aff, targets;
	int ntargets = 0, k = 0, r;
	int *list = NULL;

	if ((r = xs_cpus_affinity(&aff)) < 0)
		return r;
	if (rt->p.pin == XS_RT_PIN_REMAP) {
		targets = rt->has_remap ? rt->remap : aff;
		xs_cpuset_and(&targets, &targets, &aff);
		ntargets = xs_cpuset_count(&targets);
		if (!ntargets)
			return xs_seterr(-XS_ERT_PIN, "remap: no CPU to remap onto (affinity ∩ remap set is empty)");
		list = malloc(sizeof(int) * (size_t)ntargets);
		if (!list)
			return -ENOMEM;
		int cpu, i = 0;

		XS_CPUSET_FOREACH(cpu, &targets)
			list[i++] = cpu;
	}
	for (int i = 0; i < rt->nr; i++) {
		struct xs__rdesc *d = rt->r[i];

		if (rt->p.pin == XS_RT_PIN_NONE || d->plan_cpu < 0)
			d->cpu = -1;
		else if (rt->p.pin == XS_RT_PIN_REMAP)
			d->cpu = list[k++ % ntargets];
		else
			d->cpu = d->plan_cpu;
		if (d->cpu >= 0 && !xs_cpuset_isset(&aff, d->cpu)) {
			char buf[256];

			xs_cpuset_format(&aff, buf, sizeof(buf));
			free(list);
			return xs_seterr(-XS_ERT_PIN,
					 "reactor %s: cpu %d is not in this process's affinity mask (%s)",
					 d->name, d->cpu, buf);
		}
	}
	free(list);
	if (rt->p.flags & XS_RT_ALLOW_SHARED)
		return 0;
	for (int i = 0; i < rt->nr; i++)
		for (int j = 0; j < i; j++)
			if (rt->r[i]->cpu >= 0 && rt->r[i]->cpu == rt->r[j]->cpu)
				return xs_seterr(-XS_ERT_OVERSUB,
						 "reactors %s and %s would both run on cpu %d (two busy threads on one CPU); "
						 "pack them into one reactor, or pass XS_RT_ALLOW_SHARED",
						 rt->r[j]->name, rt->r[i]->name, rt->r[i]->cpu);
	return 0;
}

static void join_created(struct xs_rt *rt)
{
	for (int i = 0; i < rt->nr; i++)
		if (rt->r[i]->th_created) {
			pthread_join(rt->r[i]->th, NULL);
			rt->r[i]->th_created = 0;
		}
}

int xs_rt_start(struct xs_rt *rt)
{
	int r = 0, created = 0;

	if (!rt)
		return -EINVAL;
	if (rt_state(rt) != RT_NEW)
		return xs_seterr(-XS_ERT_STATE, "runtime already started");
	if (rt->nr == 0)
		return xs_seterr(-EINVAL, "runtime has no reactor");
	for (int i = 0; i < rt->nr; i++)
		if (rt->r[i]->nlt == 0)
			return xs_seterr(-EINVAL, "reactor %s has no lthread", rt->r[i]->name);
	atomic_store_explicit(&rt->state, RT_FAILED, memory_order_relaxed); /* until every reactor runs */
	if ((r = resolve_cpus(rt)) < 0)
		return r;
	for (int i = 0; i < rt->nr; i++) {
		struct xs__rdesc *d = rt->r[i];
		struct xs_mem_loc loc;

		if ((r = build_block(rt, d)) < 0)
			return r;
		/* where the block really is (bound, or first-touched by us) */
		if (rt->p.topo && xs_topo_is_system(rt->p.topo) &&
		    xs_mem_nodes(rt->p.topo, d->blk, d->blk_size, 0, &loc) >= 1)
			d->mem_node = loc.node;
	}

	for (int i = 0; i < rt->nr; i++) {
		struct xs__rdesc *d = rt->r[i];
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		if (rt->p.stack_size)
			pthread_attr_setstacksize(&attr, rt->p.stack_size);
		/* the thread pins itself (reactor_main) before it touches anything */
		r = pthread_create(&d->th, &attr, reactor_main, d);
		pthread_attr_destroy(&attr);
		if (r) {
			r = xs_seterr(-r, "reactor %s: creating its thread failed: %s", d->name,
				      strerror(r));
			break;
		}
		d->th_created = 1;
		created++;
	}

	pthread_mutex_lock(&rt->mu);
	if (r)
		rt->abort = 1;
	while (rt->nready < created)
		pthread_cond_wait(&rt->cv, &rt->mu);
	if (!r && rt->abort) { /* a reactor failed: report the first one's error */
		for (int i = 0; i < rt->nr && !r; i++)
			if ((r = rt->r[i]->err))
				xs_seterr(r, "%s", rt->r[i]->errmsg);
		if (!r)
			r = xs_seterr(-XS_E_INTERNAL, "runtime start aborted without an error");
	}
	if (!r)
		rt->go = 1;
	pthread_cond_broadcast(&rt->cv);
	pthread_mutex_unlock(&rt->mu);
	if (r) {
		join_created(rt);
		return r;
	}
	atomic_store_explicit(&rt->state, RT_RUNNING, memory_order_relaxed);
	return 0;
}

void xs_rt_stop(struct xs_rt *rt)
{
	/* S1: a lock-free atomic store, async-signal-safe */
	if (rt)
		atomic_store_explicit(&rt->stop, 1, memory_order_release);
}

void xs__rt_fail(struct xs_rt *rt, int err)
{
	int zero = 0;

	if (!rt)
		return;
	/* first error wins, as for a failing lthread; relaxed like there: join
	 * reads it after pthread_join (and the stop store below is a release) */
	atomic_compare_exchange_strong_explicit(&rt->first_err, &zero, err, memory_order_relaxed,
						memory_order_relaxed);
	xs_rt_stop(rt);
}

int xs__rt_attach(struct xs_rt *rt, void *obj, void (*fini)(void *obj))
{
	if (rt->att_fini && fini)
		return xs_seterr(-XS_ERT_STATE, "runtime already watches a session peer");
	rt->att = obj;
	rt->att_fini = fini;
	return 0;
}

void *xs__rt_attached(const struct xs_rt *rt)
{
	return rt->att;
}

int xs_rt_stopping(const struct xs_rt *rt)
{
	return atomic_load_explicit(&rt->stop, memory_order_relaxed);
}

int xs_rt_join(struct xs_rt *rt)
{
	if (!rt)
		return -EINVAL;
	if (rt_state(rt) != RT_RUNNING)
		return xs_seterr(-XS_ERT_STATE, "runtime is not running (join after a successful start)");
	join_created(rt);
	atomic_store_explicit(&rt->state, RT_JOINED, memory_order_relaxed);
	return atomic_load_explicit(&rt->first_err, memory_order_relaxed);
}

/* Target of the stop-on-signal handlers. Release store in
 * xs_rt_stop_on_signal() pairs with the handler's acquire load (the handler
 * then sees the initialised runtime); xs_rt_destroy() clears it (seq_cst
 * CAS) before freeing. A handler already running on another thread when
 * destroy clears it may still use the runtime: destroy a runtime only once
 * its signals can no longer arrive (or after pointing them elsewhere). */
static struct xs_rt *_Atomic sig_rt;

void xs_rt_destroy(struct xs_rt *rt)
{
	struct xs_rt *expect = rt;

	if (!rt)
		return;
	/* first the attachment (peer watcher): its thread may call xs__rt_fail() */
	if (rt->att_fini)
		rt->att_fini(rt->att);
	rt->att = NULL;
	rt->att_fini = NULL;
	atomic_compare_exchange_strong(&sig_rt, &expect, NULL);
	if (rt_state(rt) == RT_RUNNING) {
		xs_rt_stop(rt);
		xs_rt_join(rt);
	}
	xs__metrics_rt_gone(rt); /* last metrics sample, before the blocks go */
	for (int i = 0; i < rt->nr; i++) {
		if (rt->r[i]->blk) {
			xs__fidle_free(rt->r[i]->blk->fidle);
			xs_mem_free(rt->r[i]->blk, rt->r[i]->blk_size);
		}
		free(rt->r[i]);
	}
	free(rt->r);
	for (int i = 0; i < rt->nl; i++)
		free(rt->l[i].argcopy);
	free(rt->l);
	xs__fx_free(rt->fx);
	pthread_mutex_destroy(&rt->mu);
	pthread_cond_destroy(&rt->cv);
	free(rt);
}

static void sig_stop(int signo)
{
	(void)signo;
	xs_rt_stop(atomic_load_explicit(&sig_rt, memory_order_acquire));
}

int xs_rt_stop_on_signal(struct xs_rt *rt, int signo)
{
	struct sigaction sa;

	atomic_store_explicit(&sig_rt, rt, memory_order_release);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(signo, &sa, NULL))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ reading */

int xs_rt_nreactors(const struct xs_rt *rt)
{
	return rt->nr;
}

int xs_rt_nlthreads(const struct xs_rt *rt)
{
	return rt->nl;
}

int xs_rt_lthread_stats(const struct xs_rt *rt, int i, struct xs_lthread_stats *out)
{
	const struct xs__ltdesc *l;
	struct xs__lt *lt;

	if (!rt || !out || i < 0 || i >= rt->nl)
		return -EINVAL;
	l = &rt->l[i];
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", l->name);
	out->reactor = l->reactor;
	/* L1: acquire pairs with the release in build_block() */
	lt = atomic_load_explicit(&((struct xs__ltdesc *)l)->lt, memory_order_acquire);
	if (!lt)
		return 0;
	out->state = atomic_load_explicit(&lt->state, memory_order_relaxed);
	out->err = atomic_load_explicit(&lt->err, memory_order_relaxed);
	out->polls = atomic_load_explicit(&lt->polls, memory_order_relaxed);
	out->busy_polls = atomic_load_explicit(&lt->busy, memory_order_relaxed);
	out->items = atomic_load_explicit(&lt->items, memory_order_relaxed);
	return 0;
}

int xs_rt_reactor_info(const struct xs_rt *rt, int r, struct xs_reactor_info *out)
{
	struct xs__rdesc *d;

	if (!rt || !out || r < 0 || r >= rt->nr)
		return -EINVAL;
	d = rt->r[r];
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", d->name);
	out->plan_cpu = d->plan_cpu;
	out->cpu = rt_state(rt) == RT_NEW ? d->plan_cpu : d->cpu;
	out->node = d->node;
	out->mem_node = d->mem_node;
	out->idle = d->idle;
	out->nlthreads = d->nlt;
	out->observed_cpu = atomic_load_explicit(&d->observed_cpu, memory_order_relaxed);
	out->tid = atomic_load_explicit(&d->tid, memory_order_relaxed);
	out->running = atomic_load_explicit(&d->running, memory_order_acquire);
	/* what the runtime itself allocated for this reactor: its block, its
	 * descriptor and its lthreads' descriptors (the thread stack excluded) */
	out->mem_bytes = d->blk_size + sizeof(*d) + sizeof(struct xs__ltdesc) * (size_t)d->nlt;
	for (int i = 0; i < rt->nl; i++)
		if (rt->l[i].reactor == r)
			out->mem_bytes += rt->l[i].spec.arg_size;
	if (d->blk && rt_state(rt) != RT_NEW) {
		out->rounds = atomic_load_explicit(&d->blk->rounds, memory_order_relaxed);
		out->idle_rounds = atomic_load_explicit(&d->blk->idle_rounds, memory_order_relaxed);
		out->yields = atomic_load_explicit(&d->blk->yields, memory_order_relaxed);
		out->sleeps = atomic_load_explicit(&d->blk->sleeps, memory_order_relaxed);
	}
	return 0;
}

int xs_rt_print(const struct xs_rt *rt, FILE *f, int json)
{
	struct xs_reactor_info ri;
	struct xs_lthread_stats ls;

	if (json) {
		fputs("{\"schema\":\"xsched.rt/1\",\"reactors\":[", f);
		for (int r = 0; r < rt->nr; r++) {
			xs_rt_reactor_info(rt, r, &ri);
			fprintf(f, "%s{\"name\":\"%s\",\"cpu\":%d,\"observed_cpu\":%d,\"node\":%d,\"mem_node\":%d,"
				   "\"tid\":%d,\"idle\":\"%s\",\"mem_bytes\":%zu,\"rounds\":%llu,\"idle_rounds\":%llu,"
				   "\"yields\":%llu,\"sleeps\":%llu,\"lthreads\":[",
				r ? "," : "", ri.name, ri.cpu, ri.observed_cpu, ri.node, ri.mem_node, (int)ri.tid,
				xs_idle_name((enum xs_idle)ri.idle), ri.mem_bytes,
				(unsigned long long)ri.rounds, (unsigned long long)ri.idle_rounds,
				(unsigned long long)ri.yields, (unsigned long long)ri.sleeps);
			int first = 1;

			for (int i = 0; i < rt->nl; i++) {
				if (rt->l[i].reactor != r)
					continue;
				xs_rt_lthread_stats(rt, i, &ls);
				fprintf(f, "%s{\"id\":%d,\"name\":\"%s\",\"state\":%d,\"err\":%d,\"polls\":%llu,"
					   "\"busy_polls\":%llu,\"items\":%llu}",
					first ? "" : ",", i, ls.name, ls.state, ls.err,
					(unsigned long long)ls.polls, (unsigned long long)ls.busy_polls,
					(unsigned long long)ls.items);
				first = 0;
			}
			fputs("]}", f);
		}
		fputs("]}\n", f);
	} else {
		fprintf(f, "%-15s %4s %4s %4s %7s %-7s %14s %14s %s\n", "reactor", "cpu", "on", "node",
			"tid", "idle", "rounds", "idle_rounds", "lthreads (polls/busy/items)");
		for (int r = 0; r < rt->nr; r++) {
			xs_rt_reactor_info(rt, r, &ri);
			fprintf(f, "%-15s %4d %4d %4d %7d %-7s %14llu %14llu", ri.name, ri.cpu,
				ri.observed_cpu, ri.node, (int)ri.tid, xs_idle_name((enum xs_idle)ri.idle),
				(unsigned long long)ri.rounds, (unsigned long long)ri.idle_rounds);
			for (int i = 0; i < rt->nl; i++) {
				if (rt->l[i].reactor != r)
					continue;
				xs_rt_lthread_stats(rt, i, &ls);
				fprintf(f, " %s=%llu/%llu/%llu", ls.name, (unsigned long long)ls.polls,
					(unsigned long long)ls.busy_polls, (unsigned long long)ls.items);
			}
			fputc('\n', f);
		}
	}
	return ferror(f) ? -EIO : 0;
}
