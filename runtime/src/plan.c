/* SPDX-License-Identifier: Apache-2.0 */
/* Placement plans: which reactor (pinned OS thread) runs which task, on which
 * CPU. The rules are in topo.h (xs_plan_build); this file applies them. */
#include "rt_pvt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct xs_plan {
	const struct xs_topo *t;
	enum xs_place_policy policy;
	unsigned flags, status;
	int mem_node, hk_cpu, hk_core, shortage;
	int hk_outside; /* the housekeeping CPU lies outside opts->cpus (the busy CPUs) */
	int nreactors;
	struct xs_plan_reactor *r;
	int ntasks;
	struct xs_plan_task *tasks;
	char *notes;
	size_t nlen, ncap;
};

/* A place a busy task can go: one PU of one core. */
struct slot {
	int cpu, core, node;
};

static const char *const policy_names[] = { "dedicated", "spill", "packed" };

const char *xs_place_policy_name(enum xs_place_policy p)
{
	return (unsigned)p < 3 ? policy_names[p] : "?";
}

int xs_place_policy_parse(const char *s)
{
	for (int i = 0; s && i < 3; i++)
		if (!strcmp(s, policy_names[i]))
			return i;
	return xs_seterr(-XS_ERT_OPTION, "placement '%s' is not one of dedicated, spill, packed",
			 s ? s : "");
}

void xs_plan_opts_init(struct xs_plan_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = XS_PLACE_DEDICATED;
	o->mem_node = -1;
	o->housekeeping_cpu = -1;
}

int xs_tasks_std(struct xs_task *tasks, int max, int workers)
{
	if (!tasks || workers < 0 || workers > 999 || max < workers + 1)
		return -EINVAL;
	memset(tasks, 0, sizeof(*tasks) * (size_t)(workers + 1));
	tasks[0].kind = XS_TASK_TPU;
	snprintf(tasks[0].name, sizeof(tasks[0].name), "tpu");
	for (int i = 0; i < workers; i++) {
		tasks[1 + i].kind = XS_TASK_WORKER;
		tasks[1 + i].index = i;
		snprintf(tasks[1 + i].name, sizeof(tasks[1 + i].name), "w%d", i);
	}
	return workers + 1;
}

static void note(struct xs_plan *p, const char *fmt, ...) XS_PRINTF(2, 3);
static void note(struct xs_plan *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (p->nlen + (size_t)n + 2 > p->ncap) {
		size_t cap = (p->ncap ? p->ncap * 2 : 512) + (size_t)n;
		char *m = realloc(p->notes, cap);

		if (!m)
			return; /* notes are advisory */
		p->notes = m;
		p->ncap = cap;
	}
	memcpy(p->notes + p->nlen, line, (size_t)n);
	p->nlen += (size_t)n;
	p->notes[p->nlen++] = '\n';
	p->notes[p->nlen] = '\0';
}

void xs__plan_note(struct xs_plan *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	note(p, "%s", line);
}

/* Usable PUs of core @p c, isolated ones first (unless told not to), then by SMT rank. */
static int core_pus(const struct xs_topo *t, int c, const struct xs_cpuset *usable,
		    unsigned flags, int *out)
{
	const struct xs_topo_core *core = &t->cores[c];
	int n = 0;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < core->npus; i++) {
			int cpu = t->pus[core->pu_first + i].cpu;
			int iso = !(flags & XS_PLACE_IGNORE_ISOLATED) && xs_cpuset_isset(&t->isolated, cpu);

			if (xs_cpuset_isset(usable, cpu) && iso == !pass)
				out[n++] = cpu;
		}
	return n;
}

/*
 * Slots of node @p node: without SMT, one per usable core (its best PU);
 * with SMT, the best PU of every core first, then the second PUs, and so on.
 * Cores holding isolated CPUs come first, then by index.
 */
static int node_slots(const struct xs_topo *t, int node, const struct xs_cpuset *usable,
		      int hk_core, unsigned flags, struct slot *out)
{
	int *cores = malloc(sizeof(int) * (size_t)t->ncore);
	int *pus = malloc(sizeof(int) * (size_t)t->npu);
	int *npu = malloc(sizeof(int) * (size_t)t->ncore);
	int *first = malloc(sizeof(int) * (size_t)t->ncore);
	int nc = 0, n = 0, used = 0, maxpu = 0;

	if (!cores || !pus || !npu || !first) {
		n = -ENOMEM;
		goto out;
	}
	for (int pass = 0; pass < 2; pass++)
		for (int c = 0; c < t->ncore; c++) {
			int k, iso = 0;

			if (t->cores[c].node != node || c == hk_core)
				continue;
			k = core_pus(t, c, usable, flags, pus + used);
			if (k == 0)
				continue;
			iso = !(flags & XS_PLACE_IGNORE_ISOLATED) &&
			      xs_cpuset_isset(&t->isolated, pus[used]);
			if (iso != !pass)
				continue;
			cores[nc] = c;
			first[nc] = used;
			npu[nc++] = k;
			used += k;
			if (k > maxpu)
				maxpu = k;
		}
	if (!(flags & XS_PLACE_ALLOW_SMT))
		maxpu = maxpu > 0 ? 1 : 0;
	for (int round = 0; round < maxpu; round++)
		for (int i = 0; i < nc; i++)
			if (npu[i] > round) {
				out[n].cpu = pus[first[i] + round];
				out[n].core = cores[i];
				out[n].node = node;
				n++;
			}
out:
	free(cores);
	free(pus);
	free(npu);
	free(first);
	return n;
}

static int add_reactor(struct xs_plan *p, const struct slot *s)
{
	struct xs_plan_reactor *r = &p->r[p->nreactors];

	memset(r, 0, sizeof(*r));
	r->cpu = s->cpu;
	r->core = s->core;
	r->node = s->node;
	r->package = p->t->cores[s->core].package;
	return p->nreactors++;
}

static void assign(struct xs_plan *p, int task, int reactor)
{
	p->tasks[task].reactor = reactor;
	p->tasks[task].slot = p->r[reactor].ntasks++;
}

/* Busy tasks first by kind (TPU, workers by index, extras), stable. */
static int task_rank(const struct xs_task *t)
{
	return t->kind == XS_TASK_TPU ? 0 : t->kind == XS_TASK_WORKER ? 1 : 2;
}

static void name_reactor(struct xs_plan *p, int ri)
{
	struct xs_plan_reactor *r = &p->r[ri];
	const struct xs_task *tk[XS_PLAN_MAX_TASKS];
	char buf[256];
	int n = 0, consecutive = 1;
	size_t len;

	if (r->flags & XS_PR_LIGHT) {
		snprintf(r->name, sizeof(r->name), "xs-hk");
		return;
	}
	for (int i = 0; i < p->ntasks; i++)
		if (p->tasks[i].reactor == ri)
			tk[p->tasks[i].slot] = &p->tasks[i].task;
	n = r->ntasks;
	for (int i = 0; i < n; i++)
		if (tk[i]->kind != XS_TASK_WORKER || (i && tk[i]->index != tk[i - 1]->index + 1))
			consecutive = 0;
	if (n > 2 && consecutive) {
		snprintf(buf, sizeof(buf), "xs-w%d..w%d", tk[0]->index, tk[n - 1]->index);
	} else {
		len = (size_t)snprintf(buf, sizeof(buf), "xs-%s", tk[0]->name);
		for (int i = 1; i < n && len < sizeof(buf) - 16; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "+%s", tk[i]->name);
		if (len > XS_RT_NAME_MAX)
			snprintf(buf, sizeof(buf), "xs-%s+%d", tk[0]->name, n - 1);
	}
	snprintf(r->name, sizeof(r->name), "%.15s", buf);
}

/* "its usable CPUs: ...; housekeeping core ...; SMT siblings not used" for messages. */
static void shortage_detail(const struct xs_plan *p, const struct xs_cpuset *usable, int node,
			    char *buf, size_t len)
{
	const struct xs_topo *t = p->t;
	struct xs_cpuset on;
	char cpus[256];
	size_t n;
	int smt = 0;

	if (node >= 0) {
		xs_cpuset_and(&on, usable, &t->nodes[node].cpus);
		xs_cpuset_format(&on, cpus, sizeof(cpus));
		n = (size_t)snprintf(buf, len, "; its usable CPUs: %s", cpus[0] ? cpus : "none");
	} else {
		on = *usable;
		xs_cpuset_format(&on, cpus, sizeof(cpus));
		n = (size_t)snprintf(buf, len, "; usable CPUs: %s", cpus[0] ? cpus : "none");
	}
	if (p->hk_core >= 0 && !p->hk_outside && n < len &&
	    (node < 0 || t->cores[p->hk_core].node == node))
		n += (size_t)snprintf(buf + n, len - n, "; housekeeping core %d (cpu %d) kept free",
				      p->hk_core, p->hk_cpu);
	for (int c = 0; c < t->ncore; c++) {
		struct xs_cpuset cc;

		xs_cpuset_and(&cc, &t->cores[c].cpus, &on);
		if (xs_cpuset_count(&cc) > 1)
			smt = 1;
	}
	if (smt && !(p->flags & XS_PLACE_ALLOW_SMT) && n < len)
		snprintf(buf + n, len - n, "; SMT siblings not used");
}

static void choose_housekeeping(struct xs_plan *p, const struct xs_plan_opts *o,
				const struct xs_cpuset *usable, int *cand_core, int *cand_cpu)
{
	const struct xs_topo *t = p->t;
	int best = -1, fallback = -1;

	*cand_core = *cand_cpu = -1;
	if (o->housekeeping_cpu >= 0) {
		const struct xs_topo_pu *pu = xs_topo_pu_of_cpu(t, o->housekeeping_cpu);
		int pus[64];

		if (!pu)
			return;
		*cand_core = pu->core;
		*cand_cpu = o->housekeeping_cpu;
		if (!xs_cpuset_isset(usable, *cand_cpu) &&
		    core_pus(t, pu->core, usable, XS_PLACE_IGNORE_ISOLATED, pus) > 0)
			*cand_cpu = pus[0];
		return;
	}
	/* the lowest usable core without isolated CPUs; else the lowest usable core */
	for (int c = 0; c < t->ncore && best < 0; c++) {
		struct xs_cpuset cc, iso;

		xs_cpuset_and(&cc, &t->cores[c].cpus, usable);
		if (xs_cpuset_empty(&cc))
			continue;
		xs_cpuset_and(&iso, &cc, &t->isolated);
		if (o->flags & XS_PLACE_IGNORE_ISOLATED)
			xs_cpuset_zero(&iso);
		if (fallback < 0)
			fallback = c; /* the first usable core */
		if (xs_cpuset_empty(&iso)) {
			best = c;
			*cand_cpu = xs_cpuset_next(&cc, -1);
		}
	}
	if (best < 0 && fallback >= 0) {
		struct xs_cpuset cc;

		best = fallback;
		xs_cpuset_and(&cc, &t->cores[best].cpus, usable);
		*cand_cpu = xs_cpuset_next(&cc, -1);
	}
	*cand_core = best;
}

int xs_plan_build(struct xs_plan **out, const struct xs_topo *t, const struct xs_task *tasks,
		  int ntasks, const struct xs_plan_opts *o)
{
	struct xs_plan_opts dflt;
	struct xs_plan *p = NULL;
	struct xs_cpuset usable;
	struct slot **slots = NULL;
	int *nslots = NULL, *busy = NULL, *light = NULL, *near = NULL;
	int nbusy = 0, nlight = 0, nnear, r = 0, cand_core, cand_cpu, mem;
	char cpus[256], detail[768];
	const char *unit;

	if (!out || !t || !tasks || ntasks < 1 || ntasks > XS_PLAN_MAX_TASKS)
		return xs_seterr(-EINVAL, "plan: %d tasks (want 1..%d)", ntasks, XS_PLAN_MAX_TASKS);
	*out = NULL;
	if (!o) {
		xs_plan_opts_init(&dflt);
		o = &dflt;
	}
	if ((unsigned)o->policy > XS_PLACE_PACKED)
		return xs_seterr(-EINVAL, "plan: unknown policy %d", (int)o->policy);
	if (o->mem_node < -1 || o->mem_node >= t->nnode)
		return xs_seterr(-XS_ERT_NODE, "plan: memory node %d is not one of the %d nodes of %s",
				 o->mem_node, t->nnode, t->source);
	if (o->housekeeping_cpu >= 0 && !xs_topo_pu_of_cpu(t, o->housekeeping_cpu))
		return xs_seterr(-XS_ERT_CPUS, "plan: housekeeping cpu %d is not in topology %s",
				 o->housekeeping_cpu, t->source);
	for (int i = 0; i < ntasks; i++) {
		if (!tasks[i].name[0] || memchr(tasks[i].name, 0, sizeof(tasks[i].name)) == NULL ||
		    (unsigned)tasks[i].kind > XS_TASK_EXTRA)
			return xs_seterr(-EINVAL, "plan: task %d has no name or a bad kind", i);
		for (int j = 0; j < i; j++)
			if (!strcmp(tasks[i].name, tasks[j].name))
				return xs_seterr(-EINVAL, "plan: two tasks are named \"%s\"", tasks[i].name);
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->t = t;
	p->policy = o->policy;
	p->flags = o->flags;
	p->ntasks = ntasks;
	p->tasks = calloc((size_t)ntasks, sizeof(*p->tasks));
	p->r = calloc((size_t)ntasks + 1, sizeof(*p->r)); /* at most one per task + light */
	slots = calloc((size_t)t->nnode, sizeof(*slots));
	nslots = calloc((size_t)t->nnode, sizeof(int));
	busy = malloc(sizeof(int) * (size_t)ntasks);
	light = malloc(sizeof(int) * (size_t)ntasks);
	near = malloc(sizeof(int) * (size_t)t->nnode);
	if (!p->tasks || !p->r || !slots || !nslots || !busy || !light || !near) {
		r = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < ntasks; i++) {
		p->tasks[i].task = tasks[i];
		p->tasks[i].reactor = -1;
	}

	/* usable CPUs: the requested ones (busy threads) must exist */
	usable = t->allowed;
	if (o->cpus) {
		struct xs_cpuset dropped;
		char all[256];

		xs_cpuset_andnot(&dropped, o->cpus, &t->all);
		if (!xs_cpuset_empty(&dropped)) {
			xs_cpuset_format(&dropped, cpus, sizeof(cpus));
			xs_cpuset_format(&t->all, all, sizeof(all));
			r = xs_seterr(-XS_ERT_CPUS, "CPU%s %s do%s not exist (topology %s has CPUs %s)",
				      xs_cpuset_count(&dropped) == 1 ? "" : "s", cpus,
				      xs_cpuset_count(&dropped) == 1 ? "es" : "", t->source, all);
			goto fail;
		}
		xs_cpuset_and(&usable, &usable, o->cpus);
		xs_cpuset_andnot(&dropped, o->cpus, &t->allowed);
		if (!xs_cpuset_empty(&dropped)) {
			xs_cpuset_format(&dropped, cpus, sizeof(cpus));
			note(p, "CPUs %s were requested but are not allowed (affinity, cgroup): ignored",
			     cpus);
		}
	}
	if (xs_cpuset_empty(&usable)) {
		char want[256], allowed[256];

		xs_cpuset_format(o->cpus ? o->cpus : &t->allowed, want, sizeof(want));
		xs_cpuset_format(&t->allowed, allowed, sizeof(allowed));
		r = xs_seterr(-XS_ERT_CPUS, "placement: no usable CPU (requested %s, allowed %s)",
			      want[0] ? want : "none", allowed[0] ? allowed : "none");
		goto fail;
	}

	/* housekeeping core. With opts->cpus (the CPUs of the busy threads) it
	 * goes on an allowed CPU outside that list, preferably on a core with
	 * no listed CPU; when the list covers every allowed CPU, housekeeping
	 * shares the busy CPUs (said in a note). Without a list, the first
	 * usable core is kept free. */
	p->hk_core = p->hk_cpu = -1;
	cand_core = cand_cpu = -1;
	if (o->cpus && o->housekeeping_cpu < 0 && !(o->flags & XS_PLACE_USE_HOUSEKEEPING)) {
		struct xs_cpuset outside, whole;

		xs_cpuset_andnot(&outside, &t->allowed, o->cpus);
		whole = outside; /* minus the cores that hold a listed CPU */
		for (int c = 0; c < t->ncore; c++) {
			struct xs_cpuset in;

			xs_cpuset_and(&in, &t->cores[c].cpus, o->cpus);
			if (!xs_cpuset_empty(&in))
				xs_cpuset_andnot(&whole, &whole, &t->cores[c].cpus);
		}
		choose_housekeeping(p, o, xs_cpuset_empty(&whole) ? &outside : &whole, &cand_core,
				    &cand_cpu);
		if (cand_core >= 0) {
			p->hk_core = cand_core;
			p->hk_cpu = cand_cpu;
			p->hk_outside = 1;
			note(p, "housekeeping on cpu %d (core %d), outside the busy CPUs", cand_cpu,
			     cand_core);
		} else {
			xs_cpuset_format(o->cpus, cpus, sizeof(cpus));
			note(p, "no allowed CPU outside the busy CPUs %s: housekeeping (main thread, "
			     "light tasks) shares them", cpus);
		}
	} else {
		choose_housekeeping(p, o, &usable, &cand_core, &cand_cpu);
		if (!(o->flags & XS_PLACE_USE_HOUSEKEEPING) && cand_core >= 0) {
			p->hk_core = cand_core;
			p->hk_cpu = cand_cpu;
			note(p, "housekeeping core %d (cpu %d) kept free", cand_core, cand_cpu);
		}
	}
	if (!xs_cpuset_empty(&t->isolated) && !(o->flags & XS_PLACE_IGNORE_ISOLATED)) {
		struct xs_cpuset iso;

		xs_cpuset_and(&iso, &t->isolated, &usable);
		xs_cpuset_format(&iso, cpus, sizeof(cpus));
		if (cpus[0])
			note(p, "isolated CPUs %s preferred", cpus);
	}

	/* tasks: busy ones ordered TPU, workers, extras (stable); light ones apart */
	for (int rank = 0; rank < 3; rank++)
		for (int i = 0; i < ntasks; i++)
			if (task_rank(&tasks[i]) == rank && !(tasks[i].flags & XS_TASK_LIGHT))
				busy[nbusy++] = i;
	for (int k = 1; k < nbusy; k++) /* workers by index */
		for (int j = k; j > 0; j--) {
			const struct xs_task *a = &tasks[busy[j - 1]], *b = &tasks[busy[j]];

			if (a->kind != XS_TASK_WORKER || b->kind != XS_TASK_WORKER || a->index <= b->index)
				break;
			int tmp = busy[j - 1];

			busy[j - 1] = busy[j];
			busy[j] = tmp;
		}
	for (int i = 0; i < ntasks; i++)
		if (tasks[i].flags & XS_TASK_LIGHT)
			light[nlight++] = i;

	/* slots per node */
	for (int n = 0; n < t->nnode; n++) {
		slots[n] = malloc(sizeof(struct slot) * (size_t)t->npu);
		if (!slots[n]) {
			r = -ENOMEM;
			goto fail;
		}
		/* a housekeeping CPU outside the list takes no busy CPU away */
		nslots[n] = node_slots(t, n, &usable, p->hk_outside ? -1 : p->hk_core, o->flags,
				       slots[n]);
		if (nslots[n] < 0) {
			r = nslots[n];
			goto fail;
		}
	}
	mem = o->mem_node;
	if (mem < 0) {
		mem = 0;
		for (int n = 1; n < t->nnode; n++)
			if (nslots[n] > nslots[mem])
				mem = n;
		note(p, "memory node not given: node %d chosen (most usable cores)", mem);
	}
	p->mem_node = mem;
	nnear = xs_topo_nearest_nodes(t, mem, near, t->nnode);
	unit = o->flags & XS_PLACE_ALLOW_SMT ? "CPU" : "core";

	/* busy tasks */
	int local = nslots[mem];

	if (nbusy <= local) {
		for (int k = 0; k < nbusy; k++)
			assign(p, busy[k], add_reactor(p, &slots[mem][k]));
	} else {
		p->shortage = nbusy - local;
		p->status |= XS_PLAN_SHORT;
		shortage_detail(p, &usable, mem, detail, sizeof(detail));
		if (o->policy == XS_PLACE_DEDICATED) {
			r = xs_seterr(-XS_ERT_NO_CORES,
				      "placement: node %d has %d usable %s%s for %d busy task%s (%d missing)%s; choose --placement spill or --placement packed, or allow more CPUs",
				      mem, local, unit, local == 1 ? "" : "s", nbusy, nbusy == 1 ? "" : "s",
				      p->shortage, detail);
			goto fail;
		}
		note(p, "node %d has %d usable %s%s for %d busy task%s (%d missing): %s policy applied",
		     mem, local, unit, local == 1 ? "" : "s", nbusy, nbusy == 1 ? "" : "s",
		     p->shortage, xs_place_policy_name(o->policy));
		if (o->policy == XS_PLACE_SPILL) {
			int total = 0, k = 0;

			for (int n = 0; n < t->nnode; n++)
				total += nslots[n];
			if (total < nbusy) {
				shortage_detail(p, &usable, -1, detail, sizeof(detail));
				r = xs_seterr(-XS_ERT_NO_CORES,
					      "placement: spill: all nodes together have %d usable %s%s for %d busy task%s (%d missing)%s; choose --placement packed, or allow more CPUs",
					      total, unit, total == 1 ? "" : "s", nbusy, nbusy == 1 ? "" : "s",
					      nbusy - total, detail);
				goto fail;
			}
			for (int ni = 0; ni < nnear && k < nbusy; ni++) {
				int n = near[ni];

				for (int s = 0; s < nslots[n] && k < nbusy; s++, k++) {
					assign(p, busy[k], add_reactor(p, &slots[n][s]));
					if (n != mem)
						note(p, "task %s spilled to node %d (distance %d)",
						     tasks[busy[k]].name, n, xs_topo_distance(t, mem, n));
				}
			}
		} else { /* XS_PLACE_PACKED */
			int node = mem, nr, k = 0, first = 0;

			if (local == 0) {
				node = -1;
				for (int ni = 1; ni < nnear && node < 0; ni++)
					if (nslots[near[ni]] > 0)
						node = near[ni];
				if (node < 0) {
					shortage_detail(p, &usable, -1, detail, sizeof(detail));
					r = xs_seterr(-XS_ERT_NO_CORES,
						      "placement: packed: no usable %s on any node%s; allow more CPUs or --use-housekeeping",
						      unit, detail);
					goto fail;
				}
				note(p, "node %d has no usable %s: packing onto node %d (distance %d)", mem,
				     unit, node, xs_topo_distance(t, mem, node));
			}
			/* never more reactors than busy tasks (p->r holds ntasks + 1,
			 * and a reactor without a task cannot run): the fallback node
			 * may have more cores than the memory's node lacked */
			nr = nslots[node] < nbusy ? nslots[node] : nbusy;
			for (int i = 0; i < nr; i++)
				add_reactor(p, &slots[node][i]);
			/* the TPU consumer keeps a core of its own when there are two or more */
			if (tasks[busy[0]].kind == XS_TASK_TPU && nr >= 2) {
				assign(p, busy[0], 0);
				k = 1;
				first = 1;
			}
			for (int ri = first; ri < nr; ri++) {
				int left = nbusy - k, rleft = nr - ri, take = (left + rleft - 1) / rleft;

				for (int j = 0; j < take; j++, k++)
					assign(p, busy[k], ri);
			}
			note(p, "%d busy tasks packed onto %d reactor%s (one per core)", nbusy, nr,
			     nr == 1 ? "" : "s");
		}
	}

	/* light tasks: one sleeping reactor on the housekeeping core, else on a free core */
	if (nlight) {
		struct slot s = { -1, -1, -1 };
		unsigned lf = XS_PR_LIGHT;

		if (p->hk_core >= 0 && p->hk_cpu >= 0 && xs_cpuset_isset(&t->allowed, p->hk_cpu)) {
			s.cpu = p->hk_cpu;
			s.core = p->hk_core;
			s.node = t->cores[p->hk_core].node;
			lf |= XS_PR_HOUSEKEEPING;
		} else {
			for (int ni = 0; ni < nnear && s.cpu < 0; ni++)
				for (int si = 0; si < nslots[near[ni]] && s.cpu < 0; si++) {
					const struct slot *c = &slots[near[ni]][si];
					int taken = 0;

					for (int ri = 0; ri < p->nreactors; ri++)
						if (p->r[ri].core == c->core)
							taken = 1;
					if (!taken)
						s = *c;
				}
		}
		if (s.cpu >= 0) {
			int ri = add_reactor(p, &s);

			p->r[ri].flags |= lf;
			for (int k = 0; k < nlight; k++)
				assign(p, light[k], ri);
			note(p, "light tasks run in reactor xs-hk on cpu %d with a sleeping idle strategy",
			     s.cpu);
		} else if (p->nreactors > 0) {
			int ri = p->nreactors - 1;

			for (int k = 0; k < nlight; k++)
				assign(p, light[k], ri);
			note(p, "no free core for light tasks: they run inside the last busy reactor");
		} else {
			r = xs_seterr(-XS_ERT_NO_CORES, "placement: no usable core for the light tasks");
			goto fail;
		}
	}

	/* flags, status, names */
	for (int ri = 0; ri < p->nreactors; ri++) {
		struct xs_plan_reactor *rr = &p->r[ri];

		if (xs_cpuset_isset(&t->isolated, rr->cpu))
			rr->flags |= XS_PR_ISOLATED;
		if (rr->node != mem) {
			rr->flags |= XS_PR_SPILLED;
			p->status |= XS_PLAN_SPILLED;
		}
		if (rr->ntasks > 1) {
			rr->flags |= XS_PR_PACKED;
			if (!(rr->flags & XS_PR_LIGHT))
				p->status |= XS_PLAN_PACKED;
		}
		if (rr->core == cand_core) {
			rr->flags |= XS_PR_HOUSEKEEPING;
			if (!(rr->flags & XS_PR_LIGHT))
				p->status |= XS_PLAN_HOUSEKEEPING_USED;
		}
		for (int rj = 0; rj < p->nreactors; rj++)
			if (rj != ri && p->r[rj].core == rr->core) {
				rr->flags |= XS_PR_SMT_SHARED;
				if (!(rr->flags & XS_PR_LIGHT) && !(p->r[rj].flags & XS_PR_LIGHT))
					p->status |= XS_PLAN_SMT_SHARED;
			}
	}
	if (p->status & XS_PLAN_HOUSEKEEPING_USED)
		note(p, "the housekeeping core %d runs busy work (--use-housekeeping)", cand_core);
	if (p->status & XS_PLAN_SMT_SHARED)
		note(p, "busy reactors share physical cores through SMT siblings (--allow-smt)");
	for (int ri = 0; ri < p->nreactors; ri++)
		name_reactor(p, ri);
	r = 0;
	*out = p;
	p = NULL;
fail:
	if (slots)
		for (int n = 0; n < t->nnode; n++)
			free(slots[n]);
	free(slots);
	free(nslots);
	free(busy);
	free(light);
	free(near);
	xs_plan_destroy(p);
	return r;
}

void xs_plan_destroy(struct xs_plan *p)
{
	if (!p)
		return;
	free(p->r);
	free(p->tasks);
	free(p->notes);
	free(p);
}

int xs_plan_nreactors(const struct xs_plan *p)
{
	return p->nreactors;
}

const struct xs_plan_reactor *xs_plan_reactor(const struct xs_plan *p, int r)
{
	return r >= 0 && r < p->nreactors ? &p->r[r] : NULL;
}

int xs_plan_ntasks(const struct xs_plan *p)
{
	return p->ntasks;
}

const struct xs_plan_task *xs_plan_task(const struct xs_plan *p, int i)
{
	return i >= 0 && i < p->ntasks ? &p->tasks[i] : NULL;
}

int xs_plan_find_task(const struct xs_plan *p, const char *name)
{
	for (int i = 0; i < p->ntasks; i++)
		if (!strcmp(p->tasks[i].task.name, name))
			return i;
	return -ENOENT;
}

int xs_plan_mem_node(const struct xs_plan *p)
{
	return p->mem_node;
}

enum xs_place_policy xs_plan_policy(const struct xs_plan *p)
{
	return p->policy;
}

unsigned xs_plan_status(const struct xs_plan *p)
{
	return p->status;
}

int xs_plan_shortage(const struct xs_plan *p)
{
	return p->shortage;
}

int xs_plan_housekeeping_cpu(const struct xs_plan *p)
{
	return p->hk_cpu;
}

const struct xs_topo *xs_plan_topo(const struct xs_plan *p)
{
	return p->t;
}

const char *xs_plan_notes(const struct xs_plan *p)
{
	return p->notes ? p->notes : "";
}

static const char *const pr_flag_names[] = { "spilled", "packed", "isolated", "smt-shared",
					     "housekeeping", "light" };
static const char *const status_names[] = { "short", "spilled", "packed", "smt-shared",
					     "housekeeping-used" };

static void flag_list(FILE *f, unsigned flags, const char *const *names, int n)
{
	int any = 0;

	for (int i = 0; i < n; i++) {
		if (!(flags & (1u << i)))
			continue;
		fprintf(f, "%s\"%s\"", any ? "," : "", names[i]);
		any = 1;
	}
}

static void task_list(const struct xs_plan *p, FILE *f, int ri, int json)
{
	for (int s = 0; s < p->r[ri].ntasks; s++)
		for (int i = 0; i < p->ntasks; i++)
			if (p->tasks[i].reactor == ri && p->tasks[i].slot == s) {
				if (json) {
					if (s)
						fputc(',', f);
					xs__json_str(f, p->tasks[i].task.name);
				} else {
					fprintf(f, "%s%s", s ? "," : "", p->tasks[i].task.name);
				}
			}
}

int xs_plan_print(const struct xs_plan *p, FILE *f, int json)
{
	const char *notes = xs_plan_notes(p);

	if (json) {
		fputs("{\"schema\":\"xsched.plan/1\",\"topology\":", f);
		xs__json_str(f, p->t->source);
		fprintf(f, ",\"policy\":\"%s\",\"allow_smt\":%s,\"use_housekeeping\":%s,\"mem_node\":%d,"
			   "\"housekeeping_cpu\":%d,\"shortage\":%d,\"status\":[",
			xs_place_policy_name(p->policy), p->flags & XS_PLACE_ALLOW_SMT ? "true" : "false",
			p->flags & XS_PLACE_USE_HOUSEKEEPING ? "true" : "false", p->mem_node, p->hk_cpu,
			p->shortage);
		flag_list(f, p->status, status_names, 5);
		fputs("],\"reactors\":[", f);
		for (int ri = 0; ri < p->nreactors; ri++) {
			const struct xs_plan_reactor *r = &p->r[ri];

			fprintf(f, "%s{\"name\":\"%s\",\"cpu\":%d,\"core\":%d,\"node\":%d,\"package\":%d,\"flags\":[",
				ri ? "," : "", r->name, r->cpu, r->core, r->node, r->package);
			flag_list(f, r->flags, pr_flag_names, 6);
			fputs("],\"lthreads\":[", f);
			task_list(p, f, ri, 1);
			fputs("]}", f);
		}
		fputs("],\"notes\":[", f);
		for (const char *s = notes, *e; *s; s = e + 1) {
			char line[512];

			e = strchr(s, '\n');
			snprintf(line, sizeof(line), "%.*s", (int)(e - s), s);
			if (s != notes)
				fputc(',', f);
			xs__json_str(f, line);
		}
		fputs("]}\n", f);
	} else {
		fprintf(f, "# plan: policy=%s memory-node=%d housekeeping-cpu=%d topology=%s%s%s\n",
			xs_place_policy_name(p->policy), p->mem_node, p->hk_cpu, p->t->source,
			p->flags & XS_PLACE_ALLOW_SMT ? " allow-smt" : "",
			p->flags & XS_PLACE_USE_HOUSEKEEPING ? " use-housekeeping" : "");
		fprintf(f, "%-15s %5s %5s %5s %4s  %-24s %s\n", "reactor", "cpu", "core", "node", "pkg",
			"flags", "lthreads");
		for (int ri = 0; ri < p->nreactors; ri++) {
			const struct xs_plan_reactor *r = &p->r[ri];
			char fl[128];
			size_t n = 0;

			fl[0] = '\0';
			for (int i = 0; i < 6; i++)
				if (r->flags & (1u << i))
					n += (size_t)snprintf(fl + n, sizeof(fl) - n, "%s%s", n ? "," : "",
							      pr_flag_names[i]);
			if (!n)
				snprintf(fl, sizeof(fl), "-");
			fprintf(f, "%-15s %5d %5d %5d %4d  %-24s ", r->name, r->cpu, r->core, r->node,
				r->package, fl);
			task_list(p, f, ri, 0);
			fputc('\n', f);
		}
		for (const char *s = notes, *e; *s; s = e + 1) {
			e = strchr(s, '\n');
			fprintf(f, "# note: %.*s\n", (int)(e - s), s);
		}
	}
	return ferror(f) ? -EIO : 0;
}
