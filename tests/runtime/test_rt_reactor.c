/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: reactors on the real machine. Two reactors pinned to CPUs 0
 * and 1 confirm their CPU (sched_getcpu inside the poll functions, the
 * runtime's own check, /proc thread names); a packed plan runs 1 + 4
 * lightweight threads on 2 cores and every one makes progress; a plan made
 * on a synthetic topology runs here through CPU remapping; counters are read
 * while running; stop works from another thread, a signal handler and a poll
 * function; XS_RT_DONE, errors and init failures end things cleanly; each idle
 * strategy behaves as documented; node-local contexts are copied.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/runtime.h"

#define DEADLINE_NS (20ull * 1000000000ull) /* hang detector, not a performance bound */

struct probe {
	_Atomic int cpu;        /* CPU seen by the last poll */
	_Atomic int bad_cpu;    /* a poll ran on another CPU than expected */
	int expect_cpu;         /* -1: do not check */
	_Atomic uint64_t calls;
	uint64_t every;         /* report 1 item every n calls (0: always 1) */
	uint64_t stop_after;    /* return XS_RT_DONE after that many calls (0: never) */
	int fail_after;         /* return -EIO after that many calls (0: never) */
	struct xs_rt *stop_rt;  /* call xs_rt_stop() after stop_after calls instead */
	_Atomic int inits, finis;
	int init_rc;
};

static int probe_poll(void *arg)
{
	struct probe *p = arg;
	uint64_t n = atomic_fetch_add_explicit(&p->calls, 1, memory_order_relaxed) + 1;
	int cpu = sched_getcpu();

	atomic_store_explicit(&p->cpu, cpu, memory_order_relaxed);
	if (p->expect_cpu >= 0 && cpu != p->expect_cpu)
		atomic_store_explicit(&p->bad_cpu, 1, memory_order_relaxed);
	if (p->fail_after && n >= (uint64_t)p->fail_after)
		return -EIO;
	if (p->stop_after && n >= p->stop_after) {
		if (p->stop_rt) {
			xs_rt_stop(p->stop_rt);
			return 0;
		}
		return XS_RT_DONE;
	}
	return !p->every || n % p->every == 0 ? 1 : 0;
}

static int probe_init(void *arg)
{
	struct probe *p = arg;

	atomic_fetch_add(&p->inits, 1);
	return p->init_rc;
}

static void probe_fini(void *arg)
{
	atomic_fetch_add(&((struct probe *)arg)->finis, 1);
}

static struct xs_lthread_spec spec_of(struct probe *p, const char *name)
{
	struct xs_lthread_spec s;

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.poll = probe_poll;
	s.arg = p;
	s.init = probe_init;
	s.fini = probe_fini;
	return s;
}

static void probe_init_struct(struct probe *p, int cpu)
{
	memset(p, 0, sizeof(*p));
	p->expect_cpu = cpu;
	atomic_init(&p->cpu, -1);
}

static void wait_calls(struct xs_rt *rt, struct probe *p, int n, uint64_t want)
{
	uint64_t t0 = t_now_ns();

	for (int i = 0; i < n; i++)
		while (atomic_load(&p[i].calls) < want) {
			T_ASSERT(t_now_ns() - t0 < DEADLINE_NS, "lthread %d stuck at %llu calls", i,
				 (unsigned long long)atomic_load(&p[i].calls));
			T_ASSERT(!xs_rt_stopping(rt) || want == 0);
			usleep(1000);
		}
}

static void read_comm(pid_t tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	f = fopen(path, "r");
	T_ASSERT(f != NULL, "%s", path);
	T_ASSERT(fgets(buf, (int)len, f) != NULL);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Two reactors pinned to CPUs 0 and 1. */
static void pin_two(struct xs_topo *sys)
{
	struct xs_rt_params prm;
	struct xs_rt *rt;
	struct probe p[2];
	struct xs_lthread_spec s;
	const char *names[2] = { "xs-tpu", "xs-w0" };

	xs_rt_params_init(&prm);
	prm.topo = sys;
	T_OK(xs_rt_create(&rt, &prm));
	for (int i = 0; i < 2; i++) {
		probe_init_struct(&p[i], i);
		T_EQ(xs_rt_add_reactor(rt, names[i], i, XS_IDLE_SPIN), i);
		s = spec_of(&p[i], i ? "w0" : "tpu");
		T_EQ(xs_rt_add_lthread(rt, i, &s), i);
	}
	T_OK(xs_rt_start(rt));
	T_ERR(xs_rt_start(rt), -XS_ERT_STATE);
	T_ERR(xs_rt_add_reactor(rt, "late", 0, -1), -XS_ERT_STATE);
	wait_calls(rt, p, 2, 10000);
	for (int i = 0; i < 2; i++) {
		struct xs_reactor_info ri;
		struct xs_lthread_stats ls;
		char comm[32];

		T_OK(xs_rt_reactor_info(rt, i, &ri));
		T_EQ(ri.cpu, i);
		T_EQ(ri.observed_cpu, i);
		T_EQ(atomic_load(&p[i].cpu), i);
		T_EQ(atomic_load(&p[i].bad_cpu), 0);
		T_EQ(ri.running, 1);
		T_EQ(ri.node, 0);
		T_EQ(ri.mem_node, 0); /* the block lives on the reactor's node */
		T_ASSERT(ri.tid > 0);
		read_comm(ri.tid, comm, sizeof(comm));
		T_ASSERT(!strcmp(comm, names[i]), "thread name %s, want %s", comm, names[i]);
		T_OK(xs_rt_lthread_stats(rt, i, &ls));
		T_EQ(ls.state, XS_LT_RUNNING);
		/* read while running: each counter exact, not a snapshot of all three */
		T_ASSERT(ls.polls > 0 && ls.busy_polls > 0 && ls.items > 0);
		T_ASSERT(ri.mem_bytes < 64 * 1024, "reactor footprint %zu", ri.mem_bytes);
		printf("reactor %s: cpu %d, tid %d, footprint %zu bytes besides its stack\n", ri.name,
		       ri.observed_cpu, (int)ri.tid, ri.mem_bytes);
	}
	xs_rt_print(rt, stdout, 0);
	xs_rt_stop(rt);
	T_OK(xs_rt_join(rt));
	for (int i = 0; i < 2; i++) {
		struct xs_lthread_stats ls;

		T_OK(xs_rt_lthread_stats(rt, i, &ls));
		T_EQ(ls.state, XS_LT_STOPPED);
		T_EQ(ls.polls, atomic_load(&p[i].calls));
		T_EQ(ls.busy_polls, ls.polls);
		T_EQ(ls.items, ls.polls);
		T_EQ(atomic_load(&p[i].inits), 1);
		T_EQ(atomic_load(&p[i].finis), 1);
	}
	xs_rt_destroy(rt);
}

/* Run a plan; every lthread must reach @p want polls. */
static void run_plan(const struct xs_plan *plan, const struct xs_rt_params *prm, int expect_cpus)
{
	int n = xs_plan_ntasks(plan);
	struct probe *p = calloc((size_t)n, sizeof(*p));
	struct xs_lthread_spec *specs = calloc((size_t)n, sizeof(*specs));
	struct xs_rt *rt;
	int first;

	T_OK(xs_rt_create(&rt, prm));
	for (int i = 0; i < n; i++) {
		int cpu = expect_cpus ? xs_plan_reactor(plan, xs_plan_task(plan, i)->reactor)->cpu : -1;

		probe_init_struct(&p[i], cpu);
		p[i].every = 3;
		specs[i] = spec_of(&p[i], NULL);
	}
	first = xs_rt_add_plan(rt, plan, specs);
	T_OK(first);
	T_EQ(xs_rt_nreactors(rt), xs_plan_nreactors(plan));
	T_EQ(xs_rt_nlthreads(rt), n);
	T_OK(xs_rt_start(rt));
	wait_calls(rt, p, n, 3000);
	for (int i = 0; i < n; i++) {
		struct xs_lthread_stats ls;

		T_OK(xs_rt_lthread_stats(rt, first + i, &ls));
		T_ASSERT(!strcmp(ls.name, xs_plan_task(plan, i)->task.name), "%s", ls.name);
		T_EQ(ls.reactor, xs_plan_task(plan, i)->reactor);
		T_ASSERT(ls.items > 0, "lthread %s made no progress", ls.name);
		T_EQ(atomic_load(&p[i].bad_cpu), 0);
	}
	xs_rt_print(rt, stdout, 0);
	xs_rt_stop(rt);
	T_OK(xs_rt_join(rt));
	xs_rt_destroy(rt);
	free(p);
	free(specs);
}

/* A packed plan on this machine: 1 + 4 lthreads on 2 cores. */
static void packed_here(struct xs_topo *sys)
{
	struct xs_task tasks[8];
	struct xs_plan_opts o;
	struct xs_plan *plan;
	struct xs_rt_params prm;
	struct xs_cpuset two;

	T_OK(xs_cpuset_parse(&two, "0-1"));
	xs_plan_opts_init(&o);
	o.policy = XS_PLACE_PACKED;
	o.flags = XS_PLACE_USE_HOUSEKEEPING;
	o.cpus = &two;
	o.mem_node = 0;
	T_OK(xs_plan_build(&plan, sys, tasks, xs_tasks_std(tasks, 8, 4), &o));
	xs_plan_print(plan, stdout, 0);
	T_EQ(xs_plan_nreactors(plan), 2);
	T_EQ(xs_plan_reactor(plan, 0)->ntasks, 1);
	T_EQ(xs_plan_reactor(plan, 1)->ntasks, 4);
	T_ASSERT(xs_plan_status(plan) & XS_PLAN_PACKED);
	xs_rt_params_init(&prm);
	prm.topo = sys;
	run_plan(plan, &prm, 1);
	xs_plan_destroy(plan);

	/* the default policy refuses, saying what is missing (the two listed
	 * CPUs are busy CPUs: housekeeping goes outside them or shares them) */
	xs_plan_opts_init(&o);
	o.cpus = &two;
	T_ERR(xs_plan_build(&plan, sys, tasks, 5, &o), -XS_ERT_NO_CORES);
	T_ASSERT(strstr(xs_errmsg(), "placement: node 0 has 2 usable cores for 5 busy tasks (3 missing)"),
		 "%s", xs_errmsg());
}

/*
 * "--cpus 1 --placement packed": the busy threads on CPU 1, housekeeping on
 * another allowed CPU (CPU 0 here), no --use-housekeeping needed; the plan
 * runs, its reactor pinned to CPU 1.
 */
static void cpus_one_packed(struct xs_topo *sys)
{
	struct xs_task tasks[8];
	struct xs_plan_opts o;
	struct xs_plan *plan;
	struct xs_rt_params prm;
	struct xs_cpuset one;
	const struct xs_plan_reactor *r;
	int hk;

	if (!xs_cpuset_isset(xs_topo_allowed(sys), 0) || !xs_cpuset_isset(xs_topo_allowed(sys), 1)) {
		printf("cpus_one_packed: CPUs 0 and 1 are not both allowed here, not run\n");
		return;
	}
	T_OK(xs_cpuset_parse(&one, "1"));
	xs_plan_opts_init(&o);
	o.policy = XS_PLACE_PACKED;
	o.cpus = &one;
	T_OK(xs_plan_build(&plan, sys, tasks, xs_tasks_std(tasks, 8, 4), &o));
	xs_plan_print(plan, stdout, 0);
	T_EQ(xs_plan_nreactors(plan), 1);
	r = xs_plan_reactor(plan, 0);
	T_EQ(r->cpu, 1);
	T_EQ(r->ntasks, 5);
	hk = xs_plan_housekeeping_cpu(plan);
	T_ASSERT(hk >= 0 && hk != 1, "housekeeping cpu %d", hk);
	T_ASSERT(!(xs_plan_status(plan) & XS_PLAN_HOUSEKEEPING_USED));
	xs_rt_params_init(&prm);
	prm.topo = sys;
	run_plan(plan, &prm, 1);
	xs_plan_destroy(plan);
}

/* A plan made on a synthetic topology, run here by remapping its CPUs. */
static void remap_synthetic(void)
{
	struct xs_topo *t;
	struct xs_task tasks[8];
	struct xs_plan_opts o;
	struct xs_plan *plan;
	struct xs_rt_params prm;
	struct xs_rt *rt;
	struct xs_lthread_spec specs[8];
	struct probe p[8];

	T_OK(xs_topo_load(&t, "pack:2 numa:2 core:8 pu:2"));
	xs_plan_opts_init(&o);
	o.mem_node = 3;
	T_OK(xs_plan_build(&plan, t, tasks, xs_tasks_std(tasks, 8, 4), &o));
	T_EQ(xs_plan_nreactors(plan), 5);
	for (int i = 0; i < 5; i++) {
		probe_init_struct(&p[i], -1);
		specs[i] = spec_of(&p[i], NULL);
	}
	/* exact pinning of a synthetic plan is refused */
	T_OK(xs_rt_create(&rt, NULL));
	T_ERR(xs_rt_add_plan(rt, plan, specs), -XS_ERT_NOT_SYSTEM);
	xs_rt_destroy(rt);
	/* remapped onto 2 real CPUs, 5 reactors would share CPUs: refused unless asked */
	xs_rt_params_init(&prm);
	prm.pin = XS_RT_PIN_REMAP;
	T_OK(xs_rt_create(&rt, &prm));
	T_OK(xs_rt_add_plan(rt, plan, specs));
	T_ERR(xs_rt_start(rt), -XS_ERT_OVERSUB);
	T_ASSERT(strstr(xs_errmsg(), "would both run on cpu"), "%s", xs_errmsg());
	xs_rt_destroy(rt);
	/* ... asked for (a test on a small machine): run it, yielding when idle */
	prm.flags = XS_RT_ALLOW_SHARED;
	prm.idle = XS_IDLE_YIELD;
	prm.spin_rounds = 1;
	run_plan(plan, &prm, 0);
	xs_plan_destroy(plan);

	/* a 2-core synthetic machine packed into 2 reactors maps 1:1 */
	xs_topo_destroy(t);
	T_OK(xs_topo_load(&t, "pack:1 numa:1 core:2 pu:1"));
	o.mem_node = 0;
	o.policy = XS_PLACE_PACKED;
	o.flags = XS_PLACE_USE_HOUSEKEEPING;
	T_OK(xs_plan_build(&plan, t, tasks, xs_tasks_std(tasks, 8, 4), &o));
	xs_rt_params_init(&prm);
	prm.pin = XS_RT_PIN_REMAP;
	run_plan(plan, &prm, 1);
	xs_plan_destroy(plan);
	xs_topo_destroy(t);
}

static struct xs_rt *one_reactor(struct probe *p, int n, int cpu, int idle)
{
	struct xs_rt *rt;
	struct xs_rt_params prm;

	xs_rt_params_init(&prm);
	prm.spin_rounds = 4;
	prm.backoff_max_us = 200;
	T_OK(xs_rt_create(&rt, &prm));
	T_OK(xs_rt_add_reactor(rt, "xs-test", cpu, idle));
	for (int i = 0; i < n; i++) {
		struct xs_lthread_spec s = spec_of(&p[i], NULL);

		T_OK(xs_rt_add_lthread(rt, 0, &s));
	}
	return rt;
}

static void stops(void)
{
	struct probe p[3];
	struct xs_rt *rt;
	struct xs_lthread_stats ls;
	struct xs_reactor_info ri;

	/* from a signal handler */
	for (int i = 0; i < 2; i++)
		probe_init_struct(&p[i], -1);
	rt = one_reactor(p, 2, 1, XS_IDLE_SPIN);
	T_OK(xs_rt_stop_on_signal(rt, SIGUSR1));
	T_OK(xs_rt_start(rt));
	wait_calls(rt, p, 2, 1000);
	T_OK(raise(SIGUSR1));
	T_OK(xs_rt_join(rt));
	T_ASSERT(xs_rt_stopping(rt));
	xs_rt_destroy(rt); /* also detaches the signal handler from rt */
	T_OK(raise(SIGUSR1)); /* now a no-op */
	signal(SIGUSR1, SIG_DFL);

	/* from a poll function */
	probe_init_struct(&p[0], -1);
	probe_init_struct(&p[1], -1);
	rt = one_reactor(p, 2, 0, XS_IDLE_SPIN);
	p[1].stop_after = 5000;
	p[1].stop_rt = rt;
	T_OK(xs_rt_start(rt));
	T_OK(xs_rt_join(rt)); /* returns on its own */
	T_ASSERT(atomic_load(&p[1].calls) >= 5000);
	xs_rt_destroy(rt);

	/* every lthread finishes: the reactor ends by itself */
	probe_init_struct(&p[0], -1);
	probe_init_struct(&p[1], -1);
	p[0].stop_after = 100;
	p[1].stop_after = 3000;
	rt = one_reactor(p, 2, 1, XS_IDLE_SPIN);
	T_OK(xs_rt_start(rt));
	T_OK(xs_rt_join(rt));
	T_EQ(atomic_load(&p[0].calls), 100);
	T_EQ(atomic_load(&p[1].calls), 3000);
	T_OK(xs_rt_lthread_stats(rt, 0, &ls));
	T_EQ(ls.state, XS_LT_DONE);
	T_EQ(ls.polls, 100);
	T_EQ(atomic_load(&p[0].finis), 1);
	xs_rt_destroy(rt);

	/* an error stops the whole runtime and is returned by join */
	probe_init_struct(&p[0], -1);
	probe_init_struct(&p[1], -1);
	p[1].fail_after = 777;
	rt = one_reactor(p, 2, 0, XS_IDLE_SPIN);
	T_OK(xs_rt_start(rt));
	T_ERR(xs_rt_join(rt), -EIO);
	T_OK(xs_rt_lthread_stats(rt, 1, &ls));
	T_EQ(ls.state, XS_LT_FAILED);
	T_EQ(ls.err, -EIO);
	T_OK(xs_rt_lthread_stats(rt, 0, &ls));
	T_EQ(ls.state, XS_LT_STOPPED);
	xs_rt_destroy(rt);

	/* an init failure: start fails, nothing polled, inited ones finalised */
	probe_init_struct(&p[0], -1);
	probe_init_struct(&p[1], -1);
	probe_init_struct(&p[2], -1);
	p[1].init_rc = -ENOTSUP;
	rt = one_reactor(p, 3, 1, XS_IDLE_SPIN);
	T_ERR(xs_rt_start(rt), -ENOTSUP);
	T_ASSERT(strstr(xs_errmsg(), "init of lthread 1 failed"), "%s", xs_errmsg());
	T_EQ(atomic_load(&p[0].calls) + atomic_load(&p[1].calls) + atomic_load(&p[2].calls), 0);
	T_EQ(atomic_load(&p[0].finis), 1);
	T_EQ(atomic_load(&p[1].finis), 0);
	T_ERR(xs_rt_join(rt), -XS_ERT_STATE);
	xs_rt_destroy(rt);

	/* a CPU outside the affinity mask */
	probe_init_struct(&p[0], -1);
	rt = one_reactor(p, 1, XS_CPUSET_MAX - 1, XS_IDLE_SPIN);
	T_ERR(xs_rt_start(rt), -XS_ERT_PIN);
	T_ASSERT(strstr(xs_errmsg(), "is not in this process's affinity mask"), "%s", xs_errmsg());
	xs_rt_destroy(rt);

	/* idle strategies: yield and backoff make their calls only when idle */
	for (int idle = XS_IDLE_YIELD; idle <= XS_IDLE_BACKOFF; idle++) {
		probe_init_struct(&p[0], -1);
		p[0].every = 1000000000; /* always idle */
		rt = one_reactor(p, 1, 1, idle);
		T_OK(xs_rt_start(rt));
		wait_calls(rt, p, 1, 200);
		xs_rt_stop(rt);
		T_OK(xs_rt_join(rt));
		T_OK(xs_rt_reactor_info(rt, 0, &ri));
		T_EQ(ri.rounds, ri.idle_rounds);
		T_ASSERT(ri.rounds >= 200);
		if (idle == XS_IDLE_YIELD)
			T_ASSERT(ri.yields > 0 && ri.sleeps == 0);
		else
			T_ASSERT(ri.sleeps > 0 && ri.yields == 0);
		xs_rt_destroy(rt);
	}
	/* spin never yields nor sleeps */
	probe_init_struct(&p[0], -1);
	p[0].every = 1000000000;
	rt = one_reactor(p, 1, 1, XS_IDLE_SPIN);
	T_OK(xs_rt_start(rt));
	wait_calls(rt, p, 1, 20000);
	xs_rt_stop(rt);
	T_OK(xs_rt_join(rt));
	T_OK(xs_rt_reactor_info(rt, 0, &ri));
	T_EQ(ri.yields + ri.sleeps, 0);
	xs_rt_destroy(rt);
}

/* Contexts copied into the reactor's block. */
struct ctx {
	uint64_t magic;
	const void *orig;
	_Atomic int *seen;
};

static int ctx_poll(void *arg)
{
	struct ctx *c = arg;

	if (c->magic == 0x5eed && (const void *)c != c->orig)
		atomic_store(c->seen, 1);
	return XS_RT_DONE;
}

static void contexts(void)
{
	struct xs_rt *rt;
	_Atomic int seen = 0;
	struct ctx c = { 0x5eed, NULL, &seen };
	struct xs_lthread_spec s;

	c.orig = &c;
	memset(&s, 0, sizeof(s));
	s.poll = ctx_poll;
	s.arg = &c;
	s.arg_size = sizeof(c);
	T_OK(xs_rt_create(&rt, NULL));
	T_OK(xs_rt_add_reactor(rt, "xs-ctx", 0, -1));
	T_OK(xs_rt_add_lthread(rt, 0, &s));
	s.arg_size = XS_RT_ARG_MAX + 1;
	T_ERR(xs_rt_add_lthread(rt, 0, &s), -EINVAL);
	T_OK(xs_rt_start(rt));
	T_OK(xs_rt_join(rt));
	T_EQ(atomic_load(&seen), 1);
	xs_rt_destroy(rt);

	/* misuse */
	T_OK(xs_rt_create(&rt, NULL));
	T_ERR(xs_rt_start(rt), -EINVAL);
	T_ERR(xs_rt_add_reactor(rt, "a-name-longer-than-15", 0, -1), -EINVAL);
	T_OK(xs_rt_add_reactor(rt, "xs-empty", 0, -1));
	T_ERR(xs_rt_start(rt), -EINVAL); /* a reactor without lthread */
	xs_rt_destroy(rt);
}

int main(void)
{
	struct xs_topo *sys;
	struct xs_cpuset aff;

	T_OK(xs_cpus_affinity(&aff));
	T_ASSERT(xs_cpuset_isset(&aff, 0) && xs_cpuset_isset(&aff, 1),
		 "this test needs CPUs 0 and 1 in its affinity mask");
	T_OK(xs_topo_load(&sys, "system"));
	T_ASSERT(xs_topo_is_system(sys));
	pin_two(sys);
	packed_here(sys);
	cpus_one_packed(sys);
	remap_synthetic();
	stops();
	contexts();
	xs_topo_destroy(sys);
	printf("ok\n");
	return 0;
}
