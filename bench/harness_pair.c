/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, placement and two-sided runs: the runtime's topology
 * restricted to --cpus, pairs of CPUs for smt / core / numa, the spin
 * barrier, and the runs of one or two lightweight threads on pinned
 * reactors of the xsched runtime. See harness.h for the contract.
 */
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* bench_run_pair(): pin to the planned CPUs (EXACT) or, when the pairs were
 * planned on a synthetic topology, remap them onto the real allowed CPUs. */
static enum xs_rt_pin bench_pin_mode = XS_RT_PIN_EXACT;

int bench_topo_load(struct bench_topo *t, const struct bench_opts *o)
{
	struct xs_cpuset use;
	int rc, cpu, i, j;

	memset(t, 0, sizeof(*t));
	rc = xs_rt_opts_topo(&o->rt, &t->xt);
	if (rc < 0)
		return rc;
	t->system = xs_topo_is_system(t->xt);
	snprintf(t->source, sizeof(t->source), "%s", xs_topo_source(t->xt));
	use = *xs_topo_allowed(t->xt);
	if (o->rt.has_cpus) {
		xs_cpuset_and(&use, &use, &o->rt.cpus);
		if (xs_cpuset_empty(&use)) {
			xs_topo_destroy(t->xt);
			t->xt = NULL;
			return xs_seterr(-XS_ERT_CPUS, "--cpus: none of these CPUs is usable here");
		}
	}
	XS_CPUSET_FOREACH(cpu, &use)
	{
		const struct xs_topo_pu *pu = xs_topo_pu_of_cpu(t->xt, cpu);

		if (!pu || t->ncpus >= BENCH_MAX_CPUS)
			continue;
		t->cpu[t->ncpus] = cpu;
		t->core[t->ncpus] = pu->core;
		t->node[t->ncpus] = pu->node < 0 ? 0 : pu->node;
		t->ncpus++;
	}
	for (i = 0; i < t->ncpus; i++) {
		int seen = 0;

		for (j = 0; j < i; j++) {
			if (t->node[j] == t->node[i])
				seen = 1;
			if (t->core[j] == t->core[i])
				t->smt = 1;
		}
		if (!seen)
			t->nnodes++;
	}
	bench_pin_mode = t->system ? XS_RT_PIN_EXACT : XS_RT_PIN_REMAP;
	return t->ncpus ? 0 : xs_seterr(-XS_ERT_CPUS, "no usable CPU in the topology");
}

void bench_topo_free(struct bench_topo *t)
{
	xs_topo_destroy(t->xt);
	t->xt = NULL;
}

int bench_topo_find(const struct bench_topo *t, int cpu)
{
	int i;

	for (i = 0; i < t->ncpus; i++)
		if (t->cpu[i] == cpu)
			return i;
	return -1;
}

const char *bench_topo_relation(const struct bench_topo *t, int a, int b)
{
	int ia = bench_topo_find(t, a), ib = bench_topo_find(t, b);

	if (ia < 0 || ib < 0)
		return "cpus";
	if (t->core[ia] == t->core[ib])
		return "smt";
	if (t->node[ia] == t->node[ib])
		return "core";
	return "numa";
}

int bench_plan(const struct bench_topo *t, const char *placement, int out[2], char *why,
	       size_t whylen)
{
	int pass, i, j;

	/* Pass 0 avoids CPU 0 (interrupts, housekeeping); pass 1 allows it. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < t->ncpus; i++) {
			if (pass == 0 && t->cpu[i] == 0)
				continue;
			for (j = i + 1; j < t->ncpus; j++) {
				if (pass == 0 && t->cpu[j] == 0)
					continue;
				if (!strcmp(bench_topo_relation(t, t->cpu[i], t->cpu[j]), placement)) {
					out[0] = t->cpu[i];
					out[1] = t->cpu[j];
					return 0;
				}
			}
		}
	}
	if (!strcmp(placement, "smt"))
		snprintf(why, whylen, "no two usable CPUs are SMT siblings (%d CPUs, no SMT)",
			 t->ncpus);
	else if (!strcmp(placement, "core"))
		snprintf(why, whylen, "no two usable cores share a NUMA node (%d CPUs)", t->ncpus);
	else if (!strcmp(placement, "numa"))
		snprintf(why, whylen, "only %d NUMA node%s among the usable CPUs", t->nnodes,
			 t->nnodes == 1 ? "" : "s");
	else
		snprintf(why, whylen, "unknown placement '%s' (smt, core, numa)", placement);
	return -ENOENT;
}

int bench_pin_self(int cpu)
{
	cpu_set_t set;
	int rc;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return -rc;
}

void bench_barrier_init(struct bench_barrier *b, unsigned parties)
{
	b->parties = parties;
	b->arrived = 0;
	b->phase = 0;
}

void bench_barrier_wait(struct bench_barrier *b)
{
	/* Acquire on the phase load pairs with the last arriver's Release
	 * increment: everything written before the barrier by any party is
	 * visible after it. */
	unsigned phase = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->parties) {
		__atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->phase, 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&b->phase, __ATOMIC_ACQUIRE) == phase)
		bench_relax();
}

/* One side of a pair: an lthread whose single poll runs the side's whole loop. */
struct pair_side {
	void *(*fn)(void *);
	void *arg;
};

static int pair_poll(void *p)
{
	struct pair_side *s = p;

	s->fn(s->arg);
	return XS_RT_DONE;
}

/* Two reactors, one lthread each, pinned (or remapped) to cpu_a / cpu_b. */
static int run_two(int cpu_a, xs_rt_poll_fn pa, void *a, int cpu_b, xs_rt_poll_fn pb, void *b,
		   struct bench_pair_stats *st)
{
	struct xs_lthread_spec la, lb;
	struct xs_rt_params p;
	struct xs_rt *rt;
	int ra, rb, rc;

	xs_rt_params_init(&p);
	p.idle = XS_IDLE_SPIN;
	p.pin = bench_pin_mode;
	rc = xs_rt_create(&rt, &p);
	if (rc < 0)
		return rc;
	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	la.name = "bench-a";
	la.poll = pa;
	la.arg = a;
	lb.name = "bench-b";
	lb.poll = pb;
	lb.arg = b;
	/* Reactor order matters for REMAP: a gets the first real CPU, b the next. */
	ra = xs_rt_add_reactor(rt, "xs-bench-a", cpu_a, XS_IDLE_SPIN);
	rb = xs_rt_add_reactor(rt, "xs-bench-b", cpu_b, XS_IDLE_SPIN);
	rc = ra < 0 ? ra : rb < 0 ? rb : 0;
	if (!rc)
		rc = xs_rt_add_lthread(rt, ra, &la);
	if (rc >= 0)
		rc = xs_rt_add_lthread(rt, rb, &lb);
	if (rc >= 0)
		rc = xs_rt_start(rt);
	if (rc >= 0)
		rc = xs_rt_join(rt);
	if (rc >= 0 && st) {
		struct xs_reactor_info ri;
		struct xs_lthread_stats ls;
		int k;

		memset(st, 0, sizeof(*st));
		for (k = 0; k < 2; k++) {
			if (xs_rt_reactor_info(rt, k ? rb : ra, &ri) == 0) {
				st->rounds[k] = ri.rounds;
				st->idle_rounds[k] = ri.idle_rounds;
			}
			/* lthread k was added to reactor k: index k */
			if (xs_rt_lthread_stats(rt, k, &ls) == 0)
				st->polls[k] = ls.polls;
		}
	}
	xs_rt_destroy(rt);
	return rc < 0 ? rc : 0;
}

int bench_run_pair(int cpu_a, void *(*fa)(void *), void *a, int cpu_b, void *(*fb)(void *),
		   void *b)
{
	struct pair_side sa = {fa, a}, sb = {fb, b};

	return run_two(cpu_a, pair_poll, &sa, cpu_b, pair_poll, &sb, NULL);
}

int bench_run_pair_polls(int cpu_a, xs_rt_poll_fn pa, void *a, int cpu_b, xs_rt_poll_fn pb,
			 void *b, struct bench_pair_stats *st)
{
	return run_two(cpu_a, pa, a, cpu_b, pb, b, st);
}

int bench_run_one(int cpu, int slot, void *(*fn)(void *), void *arg)
{
	struct pair_side side = {fn, arg};
	struct xs_lthread_spec l;
	struct xs_rt_params p;
	struct xs_cpuset only, aff;
	struct xs_rt *rt;
	int r, rc, c, k = 0;

	xs_rt_params_init(&p);
	p.idle = XS_IDLE_SPIN;
	p.pin = bench_pin_mode;
	if (p.pin == XS_RT_PIN_REMAP) {
		/* the slot-th allowed real CPU, as bench_run_pair() maps side a/b */
		rc = xs_cpus_affinity(&aff);
		if (rc < 0)
			return rc;
		xs_cpuset_zero(&only);
		XS_CPUSET_FOREACH(c, &aff)
		{
			if (k++ == slot % (xs_cpuset_count(&aff) ? xs_cpuset_count(&aff) : 1)) {
				xs_cpuset_set(&only, c);
				break;
			}
		}
		p.remap_cpus = &only;
	}
	rc = xs_rt_create(&rt, &p);
	if (rc < 0)
		return rc;
	memset(&l, 0, sizeof(l));
	l.name = slot ? "bench-b" : "bench-a";
	l.poll = pair_poll;
	l.arg = &side;
	r = xs_rt_add_reactor(rt, slot ? "xs-bench-b" : "xs-bench-a", cpu, XS_IDLE_SPIN);
	rc = r < 0 ? r : xs_rt_add_lthread(rt, r, &l);
	if (rc >= 0)
		rc = xs_rt_start(rt);
	if (rc >= 0)
		rc = xs_rt_join(rt);
	xs_rt_destroy(rt);
	return rc < 0 ? rc : 0;
}
