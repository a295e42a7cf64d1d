/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-topo: the machine as the xsched runtime sees it (packages, NUMA
 * nodes, physical cores with their SMT siblings, allowed and isolated CPUs)
 * and the placement plan the runtime would make for a session of W workers
 * whose memory is on a given node, or on the node of a live session's memory
 * (--socket: connect to the validator as a scheduler, locate the shared
 * memory, plan, disconnect). Table or JSON. Reads the same synthetic / XML
 * topologies as the runtime (--topology, $XS_TOPOLOGY).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "xsched/handshake.h"
#include "xsched/runtime.h"

struct topo_opts {
	int workers;      /* -1: no plan */
	int node_os;      /* -1: unknown (the plan picks) */
	bool plan_only;
	const char *isolated;
	const char *socket;
	unsigned protocol;
	uint64_t timeout_ms, alloc_size;
	enum xs_tool_format fmt;
	struct xs_rt_opts rt;
};

static const char *cpus_str(const struct xs_cpuset *s, char *buf, size_t len)
{
	if (xs_cpuset_empty(s))
		snprintf(buf, len, "-");
	else
		xs_cpuset_format(s, buf, len);
	return buf;
}
#define CPUS(s) cpus_str((s), (char[1024]){0}, 1024)

static void json_cpus(struct xs_json *j, const char *key, const struct xs_cpuset *s)
{
	int cpu;

	xs_json_arr_begin_inline(j, key);
	XS_CPUSET_FOREACH(cpu, s)
		xs_json_i64(j, NULL, cpu);
	xs_json_arr_end(j);
}

static const char *const pr_flags[] = {"spilled", "packed", "isolated", "smt-shared",
				       "housekeeping", "light"};

/* ------------------------------------------------------------ machine */

static void machine_table(const struct xs_topo *t)
{
	int np = xs_topo_count(t, XS_TOPO_PACKAGE), nn = xs_topo_count(t, XS_TOPO_NODE);
	int nc = xs_topo_count(t, XS_TOPO_CORE), npu = xs_topo_count(t, XS_TOPO_PU), smt = 1;
	const struct xs_cpuset *allowed = xs_topo_allowed(t), *iso = xs_topo_isolated(t);

	for (int c = 0; c < nc; c++)
		if (xs_topo_core(t, c)->npus > smt)
			smt = xs_topo_core(t, c)->npus;
	printf("# topology %s\n", xs_topo_source(t));
	printf("# %d package%s, %d NUMA node%s, %d cores, %d CPUs (up to %d per core)\n", np,
	       np == 1 ? "" : "s", nn, nn == 1 ? "" : "s", nc, npu, smt);
	printf("# allowed CPUs %s; isolated CPUs %s\n", CPUS(allowed), CPUS(iso));
	printf("\n%-8s %4s  %s\n", "package", "os", "cpus");
	for (int i = 0; i < np; i++) {
		const struct xs_topo_package *p = xs_topo_package(t, i);

		printf("%-8d %4d  %s\n", p->index, p->os_index, CPUS(&p->cpus));
	}
	printf("\n%-8s %4s %7s %6s %10s  %s\n", "node", "os", "package", "cores", "memory_MiB",
	       "cpus");
	for (int i = 0; i < nn; i++) {
		const struct xs_topo_node *n = xs_topo_node(t, i);

		printf("%-8d %4d %7d %6d %10llu  %s\n", n->index, n->os_index, n->package, n->ncores,
		       (unsigned long long)(n->memory >> 20), CPUS(&n->cpus));
	}
	printf("\n%-8s %7s %4s  %-16s %-16s %s\n", "core", "package", "node", "cpus (SMT)", "allowed",
	       "isolated");
	for (int i = 0; i < nc; i++) {
		const struct xs_topo_core *c = xs_topo_core(t, i);
		struct xs_cpuset a, s;

		xs_cpuset_and(&a, &c->cpus, allowed);
		xs_cpuset_and(&s, &c->cpus, iso);
		printf("%-8d %7d %4d  %-16s %-16s %s\n", c->index, c->package, c->node, CPUS(&c->cpus),
		       CPUS(&a), CPUS(&s));
	}
}

static void machine_json(struct xs_json *j, const struct xs_topo *t)
{
	int np = xs_topo_count(t, XS_TOPO_PACKAGE), nn = xs_topo_count(t, XS_TOPO_NODE);
	int nc = xs_topo_count(t, XS_TOPO_CORE);

	xs_json_obj_begin(j, "machine");
	xs_json_str(j, "topology", xs_topo_source(t));
	xs_json_bool(j, "system", xs_topo_is_system(t));
	json_cpus(j, "cpus", xs_topo_cpus(t));
	json_cpus(j, "allowed", xs_topo_allowed(t));
	json_cpus(j, "isolated", xs_topo_isolated(t));
	xs_json_arr_begin(j, "packages");
	for (int i = 0; i < np; i++) {
		const struct xs_topo_package *p = xs_topo_package(t, i);

		xs_json_obj_begin(j, NULL);
		xs_json_i64(j, "index", p->index);
		xs_json_i64(j, "os_index", p->os_index);
		json_cpus(j, "cpus", &p->cpus);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "nodes");
	for (int i = 0; i < nn; i++) {
		const struct xs_topo_node *n = xs_topo_node(t, i);

		xs_json_obj_begin(j, NULL);
		xs_json_i64(j, "index", n->index);
		xs_json_i64(j, "os_index", n->os_index);
		xs_json_i64(j, "package", n->package);
		xs_json_i64(j, "cores", n->ncores);
		xs_json_u64(j, "memory_bytes", n->memory);
		json_cpus(j, "cpus", &n->cpus);
		xs_json_arr_begin_inline(j, "distances");
		for (int k = 0; k < nn; k++)
			xs_json_i64(j, NULL, xs_topo_distance(t, i, k));
		xs_json_arr_end(j);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "cores");
	for (int i = 0; i < nc; i++) {
		const struct xs_topo_core *c = xs_topo_core(t, i);

		xs_json_obj_begin(j, NULL);
		xs_json_i64(j, "index", c->index);
		xs_json_i64(j, "package", c->package);
		xs_json_i64(j, "node", c->node);
		json_cpus(j, "cpus", &c->cpus);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_obj_end(j);
}

/* --------------------------------------------------------------- plan */

static void reactor_tasks(const struct xs_plan *p, int r, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	/* in poll order: slot 0, 1, ... */
	for (int slot = 0;; slot++) {
		bool found = false;

		for (int i = 0; i < xs_plan_ntasks(p); i++) {
			const struct xs_plan_task *t = xs_plan_task(p, i);

			if (t->reactor != r || t->slot != slot)
				continue;
			found = true;
			if (o < len)
				o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", t->task.name);
		}
		if (!found)
			break;
	}
}

static void plan_table(const struct xs_plan *p, int workers)
{
	const char *notes = xs_plan_notes(p);

	printf("\n# plan: tpu + %d worker%s, policy %s, memory node %d, housekeeping CPU %d\n",
	       workers, workers == 1 ? "" : "s", xs_place_policy_name(xs_plan_policy(p)), xs_plan_mem_node(p),
	       xs_plan_housekeeping_cpu(p));
	printf("%-16s %4s %5s %5s %7s  %-28s %s\n", "reactor", "cpu", "core", "node", "package",
	       "flags", "lthreads");
	for (int r = 0; r < xs_plan_nreactors(p); r++) {
		const struct xs_plan_reactor *pr = xs_plan_reactor(p, r);
		char flags[128] = "", tasks[512];
		size_t o = 0;

		for (unsigned b = 0; b < sizeof(pr_flags) / sizeof(pr_flags[0]); b++)
			if (pr->flags & (1u << b))
				o += (size_t)snprintf(flags + o, sizeof(flags) - o, "%s%s", o ? "," : "",
						      pr_flags[b]);
		reactor_tasks(p, r, tasks, sizeof(tasks));
		printf("%-16s %4d %5d %5d %7d  %-28s %s\n", pr->name, pr->cpu, pr->core, pr->node,
		       pr->package, o ? flags : "-", tasks);
	}
	for (const char *s = notes, *e; s && *s; s = e + 1) {
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		printf("# note: %.*s\n", (int)(e - s), s);
		if (!*e)
			break;
	}
}

static void plan_json(struct xs_json *j, const struct xs_plan *p, int workers)
{
	const char *notes = xs_plan_notes(p);

	xs_json_obj_begin(j, "plan");
	xs_json_i64(j, "workers", workers);
	xs_json_str(j, "policy", xs_place_policy_name(xs_plan_policy(p)));
	xs_json_i64(j, "mem_node", xs_plan_mem_node(p));
	xs_json_i64(j, "housekeeping_cpu", xs_plan_housekeeping_cpu(p));
	xs_json_i64(j, "shortage", xs_plan_shortage(p));
	xs_json_arr_begin(j, "reactors");
	for (int r = 0; r < xs_plan_nreactors(p); r++) {
		const struct xs_plan_reactor *pr = xs_plan_reactor(p, r);
		char tasks[512];

		xs_json_obj_begin(j, NULL);
		xs_json_str(j, "name", pr->name);
		xs_json_i64(j, "cpu", pr->cpu);
		xs_json_i64(j, "core", pr->core);
		xs_json_i64(j, "node", pr->node);
		xs_json_i64(j, "package", pr->package);
		xs_json_arr_begin_inline(j, "flags");
		for (unsigned b = 0; b < sizeof(pr_flags) / sizeof(pr_flags[0]); b++)
			if (pr->flags & (1u << b))
				xs_json_str(j, NULL, pr_flags[b]);
		xs_json_arr_end(j);
		reactor_tasks(p, r, tasks, sizeof(tasks));
		xs_json_arr_begin_inline(j, "lthreads");
		for (char *s = tasks, *e; *s; s = e + 1) {
			e = strchr(s, ',');
			if (e)
				*e = '\0';
			xs_json_str(j, NULL, s);
			if (!e)
				break;
		}
		xs_json_arr_end(j);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "notes");
	for (const char *s = notes, *e; s && *s; s = e + 1) {
		char line[512];

		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		snprintf(line, sizeof(line), "%.*s", (int)(e - s), s);
		xs_json_str(j, NULL, line);
		if (!*e)
			break;
	}
	xs_json_arr_end(j);
	xs_json_obj_end(j);
}

/* ---------------------------------------------------------- live session */

/*
 * Connect to a validator as a scheduler, find the node holding the session's
 * memory, disconnect. The validator sees an ordinary session that ends at
 * once (a mock validator then reports the scheduler gone).
 */
static int session_node(const struct topo_opts *o, const struct xs_topo *t, int *workers,
			struct xs_mem_loc *loc)
{
	struct xs_hs_client_opts co;
	struct xs_logon logon;
	struct xs_session *s;
	int rc;

	memset(&logon, 0, sizeof(logon));
	logon.worker_count = (uint64_t)(*workers > 0 ? *workers : 4);
	logon.allocator_size = o->alloc_size;
	logon.allocator_handles = logon.worker_count;
	logon.tpu_to_pack_capacity = 1024;
	logon.progress_tracker_capacity = 64;
	logon.pack_to_worker_capacity = 64;
	logon.worker_to_pack_capacity = 64;
	logon.units = XS_LOGON_ITEMS;
	memset(&co, 0, sizeof(co));
	co.path = o->socket;
	co.version = o->protocol;
	co.timeout_ns = o->timeout_ms * 1000000ull;
	if ((rc = xs_hs_connect(&co, &logon, &s)) < 0)
		return rc;
	*workers = (int)s->num_workers;
	rc = xs_rt_session_node(t, s, loc);
	xs_session_close(s);
	return rc;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Show the machine as the xsched runtime sees it and, with --workers, the placement\n"
		"plan of a session: one reactor per busy lightweight thread (tpu, w0, w1, ...).\n"
		"\n"
		"  -w, --workers W        plan for W worker pairs (default: no plan; 4 with --socket)\n"
		"  -n, --node N           the session memory's NUMA node (OS number; default: the\n"
		"                         node with most usable cores)\n"
		"      --isolated LIST    treat these CPUs as isolated (what-if; default: isolcpus)\n"
		"  -s, --socket PATH      plan on the node of a live session's memory: connect to\n"
		"                         the validator at PATH as a scheduler, then disconnect\n"
		"  -P, --protocol 1|2     handshake VERSION for --socket (default 2)\n"
		"  -t, --timeout MS       handshake bound for --socket (default 1000)\n"
		"      --allocator-size S allocator size asked for with --socket (default 64M)\n"
		"  -p, --plan-only        print only the plan\n"
		"  -f, --format FMT       table (default) or json\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n",
		xs_tool_name());
	xs_rt_opts_usage(out);
	fprintf(out, "\nExit status: 0 ok; 1 the topology cannot be loaded, the plan is impossible\n"
		     "(dedicated placement without enough cores) or the session failed; 2 usage.\n");
}

enum { OPT_ISOLATED = 0x100, OPT_ASIZE };

static void parse(struct topo_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"workers", required_argument, NULL, 'w'},
		{"node", required_argument, NULL, 'n'},
		{"isolated", required_argument, NULL, OPT_ISOLATED},
		{"socket", required_argument, NULL, 's'},
		{"protocol", required_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"allocator-size", required_argument, NULL, OPT_ASIZE},
		{"plan-only", no_argument, NULL, 'p'},
		XS_TOOL_LONGOPT_FORMAT,
		XS_TOOL_LONGOPTS,
		XS_RT_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->workers = -1;
	o->node_os = -1;
	o->protocol = 2;
	o->timeout_ms = 1000;
	o->alloc_size = 64ull << 20;
	xs_rt_opts_init(&o->rt);
	while ((c = xs_tool_getopt(argc, argv, "w:n:s:P:t:pf:hV", longopts)) != -1) {
		if (xs_tool_std_opt(c, optarg, &o->fmt, &o->rt))
			continue;
		switch (c) {
		case 'w':
			if (xs_tool_parse_u64(optarg, 0, XS_HS_MAX_WORKERS, &v) < 0)
				xs_tool_usage_error("--workers: %s", xs_errmsg());
			o->workers = (int)v;
			break;
		case 'n':
			if (xs_tool_parse_u64(optarg, 0, 4095, &v) < 0)
				xs_tool_usage_error("--node: %s", xs_errmsg());
			o->node_os = (int)v;
			break;
		case OPT_ISOLATED: o->isolated = optarg; break;
		case 's': o->socket = optarg; break;
		case 'P':
			if (xs_tool_parse_u64(optarg, 1, 2, &v) < 0)
				xs_tool_usage_error("--protocol: %s", xs_errmsg());
			o->protocol = (unsigned)v;
			break;
		case 't':
			if (xs_tool_parse_u64(optarg, 1, 3600000, &o->timeout_ms) < 0)
				xs_tool_usage_error("--timeout: %s", xs_errmsg());
			break;
		case OPT_ASIZE:
			if (xs_tool_parse_size(optarg, 1ull << 20, 0xFFFFFFFFull, &o->alloc_size) < 0)
				xs_tool_usage_error("--allocator-size: %s", xs_errmsg());
			break;
		case 'p': o->plan_only = true; break;
		default: xs_tool_usage_error("%s: unexpected option", xs_tool_optname(longopts, c));
		}
	}
	if (optind < argc)
		xs_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->socket && o->node_os >= 0)
		xs_tool_usage_error("--node: not with --socket (both choose the memory's node)");
	if (o->plan_only && o->workers < 0 && !o->socket)
		xs_tool_usage_error("--plan-only: needs --workers or --socket");
}

int main(int argc, char **argv)
{
	struct topo_opts o;
	struct xs_topo *t = NULL;
	struct xs_plan *plan = NULL;
	struct xs_plan_opts po;
	struct xs_task tasks[1 + XS_HS_MAX_WORKERS];
	struct xs_mem_loc loc;
	struct xs_json j;
	int rc, workers, nt, exit_code = XS_EXIT_OK, plan_err = 0;
	char plan_msg[512] = "";
	struct xs_cpuset busy;
	int hk_cpu = -1;
	bool want_plan;

	xs_tool_init("xsched-topo", usage);
	parse(&o, argc, argv);
	if ((rc = xs_rt_opts_topo(&o.rt, &t)) < 0)
		return xs_tool_fail(rc, "load the topology");
	if (o.isolated) {
		struct xs_cpuset iso;

		if (xs_cpuset_parse(&iso, o.isolated) < 0) {
			xs_topo_destroy(t);
			xs_tool_usage_error("--isolated: %s", xs_errmsg());
		}
		xs_topo_set_isolated(t, &iso);
	}
	xs_tool_check_cpus(&o.rt, t);
	workers = o.workers;
	want_plan = workers >= 0 || o.socket;
	xs_plan_opts_init(&po);
	xs_rt_opts_plan(&o.rt, &po);
	if (o.node_os >= 0) {
		if ((rc = xs_topo_node_by_os(t, o.node_os)) < 0) {
			exit_code = xs_tool_fail(rc, "find NUMA node %d", o.node_os);
			goto out;
		}
		po.mem_node = rc;
	}
	if (o.socket) {
		if (!xs_topo_is_system(t)) {
			exit_code = xs_tool_fail(-XS_ERT_NOT_SYSTEM, "locate a live session's memory "
						 "on topology %s", xs_topo_source(t));
			goto out;
		}
		rc = session_node(&o, t, &workers, &loc);
		if (rc < 0 && rc != -XS_ERT_UNPOPULATED) {
			exit_code = xs_tool_fail(rc, "locate the memory of a session at %s", o.socket);
			goto out;
		}
		if (rc == -XS_ERT_UNPOPULATED) {
			/* nothing in memory yet: the plan picks the node */
			if (o.fmt == XS_FMT_TABLE)
				printf("# session memory at %s: not placed yet (none of its %zu pages is "
				       "in memory)\n", o.socket, loc.pages);
		} else {
			po.mem_node = loc.node;
			if (o.fmt == XS_FMT_TABLE)
				printf("# session memory at %s: node %d (%d node%s hold its pages, %zu of "
				       "%zu in memory)\n", o.socket, loc.node, loc.nnodes,
				       loc.nnodes == 1 ? "" : "s", loc.populated, loc.pages);
		}
	}
	if (o.rt.has_cpus && !want_plan) {
		/* --cpus alone: which CPUs the busy threads get, where housekeeping goes */
		struct xs_task one[1];
		int n1 = xs_tasks_std(one, 1, 0);

		if (n1 > 0) {
			xs_tool_check_plan(&o.rt, t, one, n1, po.mem_node);
			if (xs_plan_build(&plan, t, one, n1, &po) >= 0)
				hk_cpu = xs_plan_housekeeping_cpu(plan);
			xs_plan_destroy(plan);
			plan = NULL;
		}
		xs_cpuset_and(&busy, &o.rt.cpus, xs_topo_allowed(t));
	}
	if (want_plan) {
		/* a failed plan is reported after the machine view, which stays useful */
		if ((nt = xs_tasks_std(tasks, 1 + XS_HS_MAX_WORKERS, workers)) < 0)
			plan_err = nt;
		else if ((rc = xs_plan_build(&plan, t, tasks, nt, &po)) < 0)
			plan_err = rc;
		if (plan_err)
			snprintf(plan_msg, sizeof(plan_msg), "%s", xs_errmsg());
	}
	if (o.fmt == XS_FMT_JSON) {
		xs_json_init(&j, stdout);
		xs_json_obj_begin(&j, NULL);
		xs_json_str(&j, "schema", "xsched.topology/1");
		if (!o.plan_only)
			machine_json(&j, t);
		if (o.rt.has_cpus && !want_plan) {
			xs_json_obj_begin(&j, "cpus_option");
			json_cpus(&j, "requested", &o.rt.cpus);
			json_cpus(&j, "busy", &busy);
			xs_json_i64(&j, "housekeeping_cpu", hk_cpu);
			xs_json_obj_end(&j);
		}
		if (o.socket) {
			xs_json_obj_begin(&j, "session_memory");
			xs_json_str(&j, "socket", o.socket);
			xs_json_i64(&j, "node", loc.node); /* -1: not placed yet */
			xs_json_i64(&j, "nodes", loc.nnodes);
			xs_json_u64(&j, "pages", loc.pages);
			xs_json_u64(&j, "populated", loc.populated);
			xs_json_obj_end(&j);
		}
		if (plan)
			plan_json(&j, plan, workers);
		else if (plan_err)
			xs_json_str(&j, "plan_error", plan_msg);
		xs_json_obj_end(&j);
		xs_json_finish(&j);
	} else {
		if (!o.plan_only)
			machine_table(t);
		if (o.rt.has_cpus && !want_plan) {
			printf("\n# --cpus %s: busy threads on CPUs %s; ", CPUS(&o.rt.cpus), CPUS(&busy));
			if (hk_cpu >= 0)
				printf("housekeeping on CPU %d\n", hk_cpu);
			else if (o.rt.place_flags & XS_PLACE_USE_HOUSEKEEPING)
				printf("no housekeeping CPU kept (--use-housekeeping)\n");
			else
				printf("housekeeping shares them (no allowed CPU outside the list)\n");
		}
		if (plan)
			plan_table(plan, workers);
	}
	fflush(stdout);
	if (plan_err) {
		xs_seterr(plan_err, "%s", plan_msg);
		exit_code = xs_tool_fail(plan_err, "plan tpu + %d workers", workers);
	}
out:
	xs_plan_destroy(plan);
	xs_topo_destroy(t);
	return exit_code;
}
