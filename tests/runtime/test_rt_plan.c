/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: placement plans on synthetic topologies (and the same topology
 * read back from XML): with the memory on each node in turn, all tasks land on
 * that node when it has room; no two busy reactors on SMT siblings; the
 * housekeeping core is skipped; allowed and isolated masks are honoured; each
 * policy (dedicated / spill / packed) when cores run out; the exact error text
 * when the plan is impossible; table and JSON output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/runtime.h"

#define TOPO_A "pack:2 numa:2 core:8 pu:2" /* 4 nodes x 8 cores x 2 PUs, CPUs 16n..16n+15 */
#define TOPO_B "pack:1 numa:1 core:4 pu:1" /* 1 node x 4 cores */
#define TOPO_C "pack:2 numa:4 core:4 pu:2" /* 8 nodes x 4 cores x 2 PUs, CPUs 8n..8n+7 */

static struct xs_topo *load(const char *spec)
{
	struct xs_topo *t;

	T_OK(xs_topo_load(&t, spec));
	T_ASSERT(!xs_topo_is_system(t));
	return t;
}

static struct xs_plan *plan(const struct xs_topo *t, int workers, int mem, int policy,
			    unsigned flags)
{
	struct xs_task tasks[80];
	struct xs_plan_opts o;
	struct xs_plan *p;
	int n = xs_tasks_std(tasks, 80, workers);

	T_OK(n);
	xs_plan_opts_init(&o);
	o.mem_node = mem;
	o.policy = (enum xs_place_policy)policy;
	o.flags = flags;
	T_OK(xs_plan_build(&p, t, tasks, n, &o));
	return p;
}

/* Expect failure with -XS_ERT_NO_CORES and exactly @p msg. */
static void plan_fails(const struct xs_topo *t, int workers, int mem, int policy, unsigned flags,
		       const char *msg)
{
	struct xs_task tasks[80];
	struct xs_plan_opts o;
	struct xs_plan *p = (struct xs_plan *)1;
	int n = xs_tasks_std(tasks, 80, workers);

	xs_plan_opts_init(&o);
	o.mem_node = mem;
	o.policy = (enum xs_place_policy)policy;
	o.flags = flags;
	T_ERR(xs_plan_build(&p, t, tasks, n, &o), -XS_ERT_NO_CORES);
	T_ASSERT(p == NULL);
	if (msg && strcmp(xs_errmsg(), msg)) {
		fprintf(stderr, "got:  %s\nwant: %s\n", xs_errmsg(), msg);
		T_ASSERT(0, "error text differs");
	}
}

/* The invariants every plan must keep. */
static void check_invariants(const struct xs_topo *t, const struct xs_plan *p)
{
	int nr = xs_plan_nreactors(p), hk = xs_plan_housekeeping_cpu(p);
	unsigned st = xs_plan_status(p);

	for (int i = 0; i < nr; i++) {
		const struct xs_plan_reactor *a = xs_plan_reactor(p, i);
		const struct xs_topo_pu *pu = xs_topo_pu_of_cpu(t, a->cpu);

		T_ASSERT(pu != NULL);
		T_EQ(pu->core, a->core);
		T_EQ(pu->node, a->node);
		T_ASSERT(xs_cpuset_isset(xs_topo_allowed(t), a->cpu), "reactor %s on disallowed cpu %d",
			 a->name, a->cpu);
		T_ASSERT(a->ntasks >= 1);
		T_ASSERT(strlen(a->name) <= 15 && !strncmp(a->name, "xs-", 3));
		/* never two OS threads on one CPU */
		for (int j = 0; j < i; j++) {
			const struct xs_plan_reactor *b = xs_plan_reactor(p, j);

			T_ASSERT(a->cpu != b->cpu, "reactors %s and %s share cpu %d", a->name, b->name, a->cpu);
			if (!(st & XS_PLAN_SMT_SHARED) && !((a->flags | b->flags) & XS_PR_LIGHT))
				T_ASSERT(a->core != b->core, "busy SMT siblings %s/%s", a->name, b->name);
			T_ASSERT(strcmp(a->name, b->name), "two reactors named %s", a->name);
		}
		/* the housekeeping core only runs the light reactor */
		if (hk >= 0 && !(a->flags & XS_PR_LIGHT))
			T_ASSERT(xs_topo_pu_of_cpu(t, hk)->core != a->core,
				 "busy reactor %s on the housekeeping core", a->name);
	}
	for (int i = 0; i < xs_plan_ntasks(p); i++) {
		const struct xs_plan_task *pt = xs_plan_task(p, i);

		T_ASSERT(pt->reactor >= 0 && pt->reactor < nr);
		T_ASSERT(pt->slot >= 0 && pt->slot < xs_plan_reactor(p, pt->reactor)->ntasks);
	}
}

static const struct xs_plan_reactor *reactor_of(const struct xs_plan *p, const char *task)
{
	int i = xs_plan_find_task(p, task);

	T_ASSERT(i >= 0, "task %s missing", task);
	return xs_plan_reactor(p, xs_plan_task(p, i)->reactor);
}

/* All tasks on the memory's node, one dedicated core each. */
static void check_dedicated_local(const struct xs_topo *t, const struct xs_plan *p, int mem)
{
	check_invariants(t, p);
	T_EQ(xs_plan_mem_node(p), mem);
	T_EQ(xs_plan_status(p), 0);
	T_EQ(xs_plan_shortage(p), 0);
	T_EQ(xs_plan_nreactors(p), xs_plan_ntasks(p));
	for (int i = 0; i < xs_plan_nreactors(p); i++) {
		const struct xs_plan_reactor *r = xs_plan_reactor(p, i);

		T_EQ(r->node, mem);
		T_EQ(r->ntasks, 1);
		T_EQ(r->flags & (XS_PR_SPILLED | XS_PR_PACKED | XS_PR_SMT_SHARED), 0);
		/* one PU per core: the core's first PU, the sibling stays idle */
		T_EQ(xs_topo_pu_of_cpu(t, r->cpu)->smt, 0);
	}
	T_ASSERT(!strcmp(reactor_of(p, "tpu")->name, "xs-tpu"));
	T_ASSERT(!strcmp(reactor_of(p, "w0")->name, "xs-w0"));
}

static void topo_a(const char *spec)
{
	struct xs_topo *t = load(spec);
	struct xs_plan *p;

	T_EQ(xs_topo_count(t, XS_TOPO_NODE), 4);
	T_EQ(xs_topo_count(t, XS_TOPO_CORE), 32);
	for (int mem = 0; mem < 4; mem++) {
		/* node 0 loses core 0 to housekeeping: 7 usable there, 8 elsewhere */
		int room = mem == 0 ? 7 : 8;

		p = plan(t, room - 1, mem, XS_PLACE_DEDICATED, 0);
		check_dedicated_local(t, p, mem);
		/* the TPU gets the node's first usable core */
		T_EQ(reactor_of(p, "tpu")->core, mem * 8 + (mem == 0));
		T_EQ(xs_plan_housekeeping_cpu(p), 0);
		xs_plan_destroy(p);

		/* one task too many */
		p = plan(t, room, mem, XS_PLACE_SPILL, 0);
		check_invariants(t, p);
		T_EQ(xs_plan_shortage(p), 1);
		T_EQ(xs_plan_status(p), XS_PLAN_SHORT | XS_PLAN_SPILLED);
		{
			char last[8];
			const struct xs_plan_reactor *r;

			snprintf(last, sizeof(last), "w%d", room - 1);
			r = reactor_of(p, last);
			/* nearest node: the other node of the same package */
			T_EQ(r->node, mem ^ 1);
			T_ASSERT(r->flags & XS_PR_SPILLED);
			T_EQ(reactor_of(p, "tpu")->node, mem);
			T_ASSERT(strstr(xs_plan_notes(p), "spilled to node"));
		}
		xs_plan_destroy(p);

		p = plan(t, room, mem, XS_PLACE_PACKED, 0);
		check_invariants(t, p);
		T_EQ(xs_plan_status(p), XS_PLAN_SHORT | XS_PLAN_PACKED);
		T_EQ(xs_plan_nreactors(p), room);
		T_EQ(reactor_of(p, "tpu")->ntasks, 1);
		T_EQ(reactor_of(p, "w0")->ntasks, 2);
		T_ASSERT(!strcmp(reactor_of(p, "w0")->name, "xs-w0+w1"));
		for (int i = 0; i < xs_plan_nreactors(p); i++)
			T_EQ(xs_plan_reactor(p, i)->node, mem);
		xs_plan_destroy(p);

		/* SMT siblings when allowed: 2 PUs per core */
		p = plan(t, 2 * room - 1, mem, XS_PLACE_DEDICATED, XS_PLACE_ALLOW_SMT);
		check_invariants(t, p);
		T_EQ(xs_plan_status(p), XS_PLAN_SMT_SHARED);
		T_EQ(xs_topo_pu_of_cpu(t, reactor_of(p, "tpu")->cpu)->smt, 0);
		xs_plan_destroy(p);

		/* the housekeeping core when allowed (node 0 then has 8) */
		p = plan(t, 7, mem, XS_PLACE_DEDICATED, XS_PLACE_USE_HOUSEKEEPING);
		check_invariants(t, p);
		T_EQ(xs_plan_status(p), mem == 0 ? XS_PLAN_HOUSEKEEPING_USED : 0);
		T_EQ(xs_plan_housekeeping_cpu(p), -1);
		xs_plan_destroy(p);
	}
	/* the exact message when impossible */
	plan_fails(t, 7, 0, XS_PLACE_DEDICATED, 0,
		   "placement: node 0 has 7 usable cores for 8 busy tasks (1 missing); its usable CPUs: 0-15; "
		   "housekeeping core 0 (cpu 0) kept free; SMT siblings not used; choose --placement spill or "
		   "--placement packed, or allow more CPUs");
	plan_fails(t, 8, 2, XS_PLACE_DEDICATED, 0,
		   "placement: node 2 has 8 usable cores for 9 busy tasks (1 missing); its usable CPUs: 32-47; "
		   "SMT siblings not used; choose --placement spill or --placement packed, or allow more CPUs");
	plan_fails(t, 31, 0, XS_PLACE_SPILL, 0,
		   "placement: spill: all nodes together have 31 usable cores for 32 busy tasks (1 missing); "
		   "usable CPUs: 0-63; housekeeping core 0 (cpu 0) kept free; SMT siblings not used; choose "
		   "--placement packed, or allow more CPUs");

	/* allowed mask: node 1 only half allowed (cpus 16-23 = cores 8-11) */
	{
		struct xs_cpuset allowed;

		T_OK(xs_cpuset_parse(&allowed, "0-3,16-23"));
		T_OK(xs_topo_set_allowed(t, &allowed));
		p = plan(t, 3, 1, XS_PLACE_DEDICATED, 0);
		check_dedicated_local(t, p, 1);
		for (int i = 0; i < 4; i++)
			T_ASSERT(xs_plan_reactor(p, i)->cpu >= 16 && xs_plan_reactor(p, i)->cpu <= 23);
		xs_plan_destroy(p);
		plan_fails(t, 4, 1, XS_PLACE_DEDICATED, 0,
			   "placement: node 1 has 4 usable cores for 5 busy tasks (1 missing); its usable CPUs: "
			   "16-23; SMT siblings not used; choose --placement spill or --placement packed, or allow "
			   "more CPUs");
		/* spill goes to node 0, where core 0 is housekeeping: core 1 (cpu 2) */
		p = plan(t, 4, 1, XS_PLACE_SPILL, 0);
		check_invariants(t, p);
		T_EQ(reactor_of(p, "w3")->cpu, 2);
		xs_plan_destroy(p);

		/* --cpus names the busy CPUs, and what it could not use */
		struct xs_cpuset cpus;
		struct xs_task tasks[4];
		struct xs_plan_opts o;

		T_OK(xs_cpuset_parse(&cpus, "18-21,40"));
		xs_plan_opts_init(&o);
		o.cpus = &cpus;
		o.mem_node = 1;
		T_OK(xs_plan_build(&p, t, tasks, xs_tasks_std(tasks, 4, 0), &o));
		check_invariants(t, p);
		/* housekeeping goes outside the list, on the lowest allowed core
		 * with no listed CPU: core 0 (cpu 0); the list is all busy */
		T_EQ(xs_plan_housekeeping_cpu(p), 0);
		T_EQ(reactor_of(p, "tpu")->cpu, 18);
		T_ASSERT(strstr(xs_plan_notes(p), "CPUs 40 were requested but are not allowed"));
		T_ASSERT(strstr(xs_plan_notes(p), "housekeeping on cpu 0 (core 0), outside the busy CPUs"),
			 "%s", xs_plan_notes(p));
		xs_plan_destroy(p);
		/* two busy tasks on the two listed cores of node 1 (dedicated) */
		T_OK(xs_plan_build(&p, t, tasks, xs_tasks_std(tasks, 4, 1), &o));
		check_invariants(t, p);
		T_EQ(reactor_of(p, "tpu")->cpu, 18);
		T_EQ(reactor_of(p, "w0")->cpu, 20);
		xs_plan_destroy(p);

		/* a list that covers every allowed CPU: housekeeping shares it */
		T_OK(xs_cpuset_parse(&cpus, "0-3,16-23"));
		T_OK(xs_plan_build(&p, t, tasks, xs_tasks_std(tasks, 4, 1), &o));
		check_invariants(t, p);
		T_EQ(xs_plan_housekeeping_cpu(p), -1);
		T_EQ(reactor_of(p, "tpu")->cpu, 16);
		T_ASSERT(strstr(xs_plan_notes(p), "no allowed CPU outside the busy CPUs 0-3,16-23: "
					       "housekeeping (main thread, light tasks) shares them"),
			 "%s", xs_plan_notes(p));
		xs_plan_destroy(p);

		/* CPUs the topology does not have are an error naming them */
		T_OK(xs_cpuset_parse(&cpus, "18,64,70-71"));
		T_ERR(xs_plan_build(&p, t, tasks, xs_tasks_std(tasks, 4, 0), &o), -XS_ERT_CPUS);
		T_ASSERT(strstr(xs_errmsg(), "CPUs 64,70-71 do not exist (topology "), "%s", xs_errmsg());
		T_ASSERT(strstr(xs_errmsg(), "has CPUs 0-63)"), "%s", xs_errmsg());
		T_OK(xs_cpuset_parse(&cpus, "99"));
		T_ERR(xs_plan_build(&p, t, tasks, xs_tasks_std(tasks, 4, 0), &o), -XS_ERT_CPUS);
		T_ASSERT(strstr(xs_errmsg(), "CPU 99 does not exist"), "%s", xs_errmsg());

		struct xs_cpuset all = *xs_topo_cpus(t);

		T_OK(xs_topo_set_allowed(t, &all));
	}

	/* isolated CPUs are preferred, per core and per PU */
	{
		struct xs_cpuset iso;

		T_OK(xs_cpuset_parse(&iso, "21,26-27"));
		T_OK(xs_topo_set_isolated(t, &iso));
		p = plan(t, 3, 1, XS_PLACE_DEDICATED, 0);
		check_invariants(t, p);
		T_EQ(reactor_of(p, "tpu")->cpu, 21); /* core 10: its isolated PU, not 20 */
		T_EQ(reactor_of(p, "w0")->cpu, 26);  /* core 13 */
		T_EQ(reactor_of(p, "w1")->cpu, 16);  /* then the others in order */
		T_ASSERT(reactor_of(p, "tpu")->flags & XS_PR_ISOLATED);
		T_ASSERT(strstr(xs_plan_notes(p), "isolated CPUs 21,26-27 preferred"));
		xs_plan_destroy(p);
		/* the automatic housekeeping core avoids isolated cores */
		T_OK(xs_cpuset_parse(&iso, "0-1"));
		T_OK(xs_topo_set_isolated(t, &iso));
		p = plan(t, 1, 0, XS_PLACE_DEDICATED, 0);
		T_EQ(xs_plan_housekeeping_cpu(p), 2);
		T_EQ(reactor_of(p, "tpu")->cpu, 0);
		xs_plan_destroy(p);
		/* ... unless told to ignore isolation */
		p = plan(t, 1, 0, XS_PLACE_DEDICATED, XS_PLACE_IGNORE_ISOLATED);
		T_EQ(xs_plan_housekeeping_cpu(p), 0);
		T_EQ(reactor_of(p, "tpu")->cpu, 2);
		xs_plan_destroy(p);
		xs_cpuset_zero(&iso);
		T_OK(xs_topo_set_isolated(t, &iso));
	}

	/* an explicit housekeeping CPU, and a light task that runs there */
	{
		struct xs_task tasks[8];
		struct xs_plan_opts o;
		int n = xs_tasks_std(tasks, 8, 2);

		memset(&tasks[n], 0, sizeof(tasks[n]));
		tasks[n].kind = XS_TASK_EXTRA;
		tasks[n].flags = XS_TASK_LIGHT;
		snprintf(tasks[n].name, sizeof(tasks[n].name), "stats");
		n++;
		xs_plan_opts_init(&o);
		o.mem_node = 2;
		o.housekeeping_cpu = 33;
		T_OK(xs_plan_build(&p, t, tasks, n, &o));
		check_invariants(t, p);
		T_EQ(xs_plan_housekeeping_cpu(p), 33);
		T_EQ(reactor_of(p, "tpu")->core, 17); /* core 16 (cpus 32-33) kept free */
		T_EQ(reactor_of(p, "stats")->cpu, 33);
		T_ASSERT(!strcmp(reactor_of(p, "stats")->name, "xs-hk"));
		T_EQ(reactor_of(p, "stats")->flags & (XS_PR_LIGHT | XS_PR_HOUSEKEEPING),
		     XS_PR_LIGHT | XS_PR_HOUSEKEEPING);
		xs_plan_destroy(p);
	}

	/* unknown memory node: the node with most usable cores */
	p = plan(t, 2, -1, XS_PLACE_DEDICATED, 0);
	T_EQ(xs_plan_mem_node(p), 1);
	xs_plan_destroy(p);
	xs_topo_destroy(t);
}

static void topo_b(void)
{
	struct xs_topo *t = load(TOPO_B);
	struct xs_plan *p;
	struct xs_cpuset one;

	p = plan(t, 2, 0, XS_PLACE_DEDICATED, 0);
	check_dedicated_local(t, p, 0);
	T_EQ(reactor_of(p, "tpu")->cpu, 1);
	T_EQ(reactor_of(p, "w1")->cpu, 3);
	xs_plan_destroy(p);

	plan_fails(t, 4, 0, XS_PLACE_DEDICATED, 0,
		   "placement: node 0 has 3 usable cores for 5 busy tasks (2 missing); its usable CPUs: 0-3; "
		   "housekeeping core 0 (cpu 0) kept free; choose --placement spill or --placement packed, or "
		   "allow more CPUs");
	plan_fails(t, 4, 0, XS_PLACE_SPILL, 0,
		   "placement: spill: all nodes together have 3 usable cores for 5 busy tasks (2 missing); "
		   "usable CPUs: 0-3; housekeeping core 0 (cpu 0) kept free; choose --placement packed, or "
		   "allow more CPUs");

	p = plan(t, 4, 0, XS_PLACE_PACKED, 0);
	check_invariants(t, p);
	T_EQ(xs_plan_nreactors(p), 3);
	T_EQ(xs_plan_shortage(p), 2);
	T_ASSERT(!strcmp(xs_plan_reactor(p, 0)->name, "xs-tpu"));
	T_ASSERT(!strcmp(xs_plan_reactor(p, 1)->name, "xs-w0+w1"));
	T_ASSERT(!strcmp(xs_plan_reactor(p, 2)->name, "xs-w2+w3"));
	T_EQ(xs_plan_task(p, xs_plan_find_task(p, "w1"))->slot, 1);
	xs_plan_destroy(p);

	/* many workers packed: contiguous worker names */
	p = plan(t, 9, 0, XS_PLACE_PACKED, 0);
	check_invariants(t, p);
	T_ASSERT(!strcmp(xs_plan_reactor(p, 1)->name, "xs-w0..w4"), "%s", xs_plan_reactor(p, 1)->name);
	T_ASSERT(!strcmp(xs_plan_reactor(p, 2)->name, "xs-w5..w8"), "%s", xs_plan_reactor(p, 2)->name);
	xs_plan_destroy(p);

	/* a single allowed core: only the housekeeping core is left */
	xs_cpuset_zero(&one);
	xs_cpuset_set(&one, 0);
	T_OK(xs_topo_set_allowed(t, &one));
	plan_fails(t, 4, 0, XS_PLACE_PACKED, 0,
		   "placement: packed: no usable core on any node; usable CPUs: 0; housekeeping core 0 (cpu 0) "
		   "kept free; allow more CPUs or --use-housekeeping");
	p = plan(t, 4, 0, XS_PLACE_PACKED, XS_PLACE_USE_HOUSEKEEPING);
	check_invariants(t, p);
	T_EQ(xs_plan_nreactors(p), 1);
	T_EQ(xs_plan_reactor(p, 0)->ntasks, 5);
	T_ASSERT(!strcmp(xs_plan_reactor(p, 0)->name, "xs-tpu+4"), "%s", xs_plan_reactor(p, 0)->name);
	T_EQ(xs_plan_status(p), XS_PLAN_SHORT | XS_PLAN_PACKED | XS_PLAN_HOUSEKEEPING_USED);
	xs_plan_destroy(p);

	/* bad requests */
	{
		struct xs_task tasks[4];
		struct xs_plan_opts o;
		struct xs_cpuset none;

		xs_plan_opts_init(&o);
		o.mem_node = 1;
		T_ERR(xs_plan_build(&p, t, tasks, xs_tasks_std(tasks, 4, 1), &o), -XS_ERT_NODE);
		o.mem_node = 0;
		xs_cpuset_zero(&none);
		xs_cpuset_set(&none, 3); /* exists, not allowed */
		o.cpus = &none;
		T_ERR(xs_plan_build(&p, t, tasks, 2, &o), -XS_ERT_CPUS);
		T_ASSERT(!strcmp(xs_errmsg(), "placement: no usable CPU (requested 3, allowed 0)"), "%s",
			 xs_errmsg());
		xs_cpuset_set(&none, 7); /* does not exist */
		T_ERR(xs_plan_build(&p, t, tasks, 2, &o), -XS_ERT_CPUS);
		T_ASSERT(!strcmp(xs_errmsg(), "CPU 7 does not exist (topology synthetic:pack:1 numa:1 "
					     "core:4 pu:1 has CPUs 0-3)"), "%s", xs_errmsg());
		o.cpus = NULL;
		snprintf(tasks[1].name, sizeof(tasks[1].name), "tpu");
		T_ERR(xs_plan_build(&p, t, tasks, 2, &o), -EINVAL);
		T_ERR(xs_tasks_std(tasks, 2, 4), -EINVAL);
	}
	xs_topo_destroy(t);
}

static void topo_c(void)
{
	struct xs_topo *t = load(TOPO_C);
	struct xs_plan *p;

	T_EQ(xs_topo_count(t, XS_TOPO_NODE), 8);
	for (int mem = 0; mem < 8; mem++) {
		int room = mem == 0 ? 3 : 4;

		p = plan(t, room - 1, mem, XS_PLACE_DEDICATED, 0);
		check_dedicated_local(t, p, mem);
		xs_plan_destroy(p);

		/* two more tasks than the node holds: spill to the same package first */
		p = plan(t, room + 1, mem, XS_PLACE_SPILL, 0);
		check_invariants(t, p);
		T_EQ(xs_plan_shortage(p), 2);
		for (int i = 0; i < xs_plan_nreactors(p); i++) {
			const struct xs_plan_reactor *r = xs_plan_reactor(p, i);

			T_EQ(r->package, mem / 4);
			T_EQ(!!(r->flags & XS_PR_SPILLED), r->node != mem);
		}
		xs_plan_destroy(p);

		p = plan(t, room + 1, mem, XS_PLACE_PACKED, 0);
		check_invariants(t, p);
		T_EQ(xs_plan_nreactors(p), room);
		for (int i = 0; i < xs_plan_nreactors(p); i++)
			T_EQ(xs_plan_reactor(p, i)->node, mem);
		xs_plan_destroy(p);

		if (mem)
			plan_fails(t, room, mem, XS_PLACE_DEDICATED, 0, NULL);
	}
	/* packed, memory node 1 with no usable CPU: the tasks go to the nearest
	 * node with cores, one reactor per busy task there (never more reactors
	 * than tasks, never a reactor without an lthread) */
	for (unsigned fl = 0; fl <= XS_PLACE_USE_HOUSEKEEPING; fl += XS_PLACE_USE_HOUSEKEEPING) {
		struct xs_task tasks[4];
		struct xs_cpuset node2;
		struct xs_plan_opts o;
		int n = xs_tasks_std(tasks, 4, 1);

		T_OK(xs_cpuset_parse(&node2, "16-23"));
		xs_plan_opts_init(&o);
		o.mem_node = 1;
		o.policy = XS_PLACE_PACKED;
		o.flags = fl;
		o.cpus = &node2;
		T_OK(xs_plan_build(&p, t, tasks, n, &o));
		check_invariants(t, p);
		T_EQ(xs_plan_nreactors(p), 2);
		T_EQ(reactor_of(p, "tpu")->node, 2);
		T_EQ(reactor_of(p, "w0")->node, 2);
		xs_plan_destroy(p);
	}
	/* spill order follows the distance: from node 5, node 4 first (same package) */
	p = plan(t, 5, 5, XS_PLACE_SPILL, 0);
	T_EQ(reactor_of(p, "w2")->node, 5);
	T_EQ(reactor_of(p, "w3")->node, 4);
	T_EQ(reactor_of(p, "w4")->node, 4);
	xs_plan_destroy(p);
	{
		int order[8];

		T_EQ(xs_topo_nearest_nodes(t, 5, order, 8), 8);
		T_EQ(order[0], 5);
		T_EQ(order[1], 4);
		T_EQ(order[2], 6);
		T_EQ(order[3], 7);
		T_EQ(order[4], 0);
		T_EQ(xs_topo_nearest_nodes(t, 5, order, 2), 2);
		T_EQ(order[1], 4);
	}
	xs_topo_destroy(t);
}

/* Count structural characters outside strings; the JSON must balance. */
static void check_json(const char *s)
{
	int depth = 0, in_str = 0;

	T_ASSERT(s[0] == '{');
	for (const char *c = s; *c; c++) {
		if (in_str) {
			if (*c == '\\')
				c++;
			else if (*c == '"')
				in_str = 0;
			continue;
		}
		if (*c == '"')
			in_str = 1;
		else if (*c == '{' || *c == '[')
			depth++;
		else if (*c == '}' || *c == ']')
			T_ASSERT(--depth >= 0);
	}
	T_EQ(depth, 0);
	T_EQ(in_str, 0);
}

static void output(void)
{
	struct xs_topo *t = load(TOPO_B);
	struct xs_plan *p = plan(t, 4, 0, XS_PLACE_PACKED, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_OK(xs_plan_print(p, f, 1));
	fclose(f);
	check_json(buf);
	T_ASSERT(strstr(buf, "{\"schema\":\"xsched.plan/1\",\"topology\":\"synthetic:" TOPO_B "\",\"policy\":\"packed\""));
	T_ASSERT(strstr(buf, "{\"name\":\"xs-w0+w1\",\"cpu\":2,\"core\":2,\"node\":0,\"package\":0,\"flags\":[\"packed\"],\"lthreads\":[\"w0\",\"w1\"]}"), "%s", buf);
	T_ASSERT(strstr(buf, "\"status\":[\"short\",\"packed\"]"));
	free(buf);

	f = open_memstream(&buf, &len);
	T_OK(xs_plan_print(p, f, 0));
	fclose(f);
	fputs(buf, stdout);
	T_ASSERT(strstr(buf, "# plan: policy=packed memory-node=0 housekeeping-cpu=0"));
	T_ASSERT(strstr(buf, "xs-w2+w3"));
	T_ASSERT(strstr(buf, "# note: node 0 has 3 usable cores for 5 busy tasks (2 missing): packed policy applied"));
	free(buf);
	xs_plan_destroy(p);

	f = open_memstream(&buf, &len);
	T_OK(xs_topo_print(t, f, 1));
	fclose(f);
	check_json(buf);
	free(buf);
	xs_topo_destroy(t);
}

int main(void)
{
	char xml[] = "/tmp/xs-topo-XXXXXX.xml";
	struct xs_topo *t;
	int fd;

	topo_a(TOPO_A);
	topo_b();
	topo_c();
	output();

	/* the same checks on the topology exported to XML and read back */
	fd = mkstemps(xml, 4);
	T_ASSERT(fd >= 0);
	close(fd);
	t = load(TOPO_A);
	T_OK(xs_topo_export_xml(t, xml));
	xs_topo_destroy(t);
	topo_a(xml);
	T_OK(xs_topo_load(&t, xml));
	T_ASSERT(!strncmp(xs_topo_source(t), "xml:", 4));
	xs_topo_destroy(t);
	unlink(xml);
	printf("ok\n");
	return 0;
}
