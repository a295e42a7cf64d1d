/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: CPU lists (parse / format), the OS masks (affinity, cgroup
 * cpuset v1 and v2 read from a fake tree, isolcpus), topology loading
 * (synthetic, XML, environment, real machine) and accessors, memory locality
 * (unpopulated, touched, bound before first touch, shared memfd mappings),
 * and the standard options parsed inside a getopt_long loop.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/runtime.h"

static void expect_list(const char *in, const char *out, int count)
{
	struct xs_cpuset s;
	char buf[512];

	T_OK(xs_cpuset_parse(&s, in));
	T_EQ(xs_cpuset_count(&s), count);
	T_EQ(xs_cpuset_format(&s, buf, sizeof(buf)), strlen(out));
	T_ASSERT(!strcmp(buf, out), "\"%s\" -> \"%s\", want \"%s\"", in, buf, out);
}

static void cpusets(void)
{
	struct xs_cpuset s, keep;
	char small[6];
	int cpu, n = 0;

	expect_list("0-3,8,10-11", "0-3,8,10-11", 7);
	expect_list(" 11, 10 ,8,0-3\n", "0-3,8,10-11", 7);
	expect_list("0-7:2", "0,2,4,6", 4);
	expect_list("1023", "1023", 1);
	expect_list("", "", 0);
	expect_list("\n", "", 0);
	expect_list("0-1023", "0-1023", 1024);
	T_OK(xs_cpuset_parse(&keep, "5"));
	s = keep;
	const char *bad[] = { "3-1", "a", "1,", "1-", "0-7:0", "1024", "1-2-3", "-1", "1;2", ",1" };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ERR(xs_cpuset_parse(&s, bad[i]), -XS_ERT_CPUS);
		T_ASSERT(xs_cpuset_equal(&s, &keep), "set changed by bad input %s", bad[i]);
		T_ASSERT(strstr(xs_errmsg(), "bad CPU list"));
	}
	T_OK(xs_cpuset_parse(&s, "0-3,8,10-11"));
	/* snprintf-like truncation: whole items only, needed length returned */
	T_EQ(xs_cpuset_format(&s, small, sizeof(small)), 11);
	T_ASSERT(!strcmp(small, "0-3,8"), "%s", small);
	XS_CPUSET_FOREACH(cpu, &s)
		n++;
	T_EQ(n, 7);
	T_EQ(xs_cpuset_next(&s, 11), -1);
	T_EQ(xs_cpuset_next(&s, 3), 8);
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[2048], dir[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "mkdir -p \"$(dirname '%s')\"", path);
	T_EQ(system(dir), 0);
	f = fopen(path, "w");
	T_ASSERT(f != NULL, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void os_masks(void)
{
	char root[] = "/tmp/xs-cg-XXXXXX", cmd[4200];
	struct xs_cpuset s, want;

	/* cgroup v1: the leaf has no file, its parent has one */
	T_ASSERT(mkdtemp(root) != NULL);
	put(root, "proc/self/cgroup", "4:memory:/x\n3:cpu,cpuset:/a/b\n0::/z\n");
	put(root, "sys/fs/cgroup/cpuset/a/cpuset.effective_cpus", "2-3\n");
	T_EQ(xs_cpus_cgroup(&s, root), 1);
	T_OK(xs_cpuset_parse(&want, "2-3"));
	T_ASSERT(xs_cpuset_equal(&s, &want));
	/* v1 falls back to cpuset.cpus */
	put(root, "sys/fs/cgroup/cpuset/a/b/cpuset.cpus", "6\n");
	T_EQ(xs_cpus_cgroup(&s, root), 1);
	T_EQ(xs_cpuset_next(&s, -1), 6);
	/* cgroup v2 only, in the unified mount of a hybrid layout */
	put(root, "proc/self/cgroup", "0::/svc/app\n");
	put(root, "sys/fs/cgroup/unified/svc/cpuset.cpus.effective", "1,5\n");
	T_EQ(xs_cpus_cgroup(&s, root), 1);
	T_OK(xs_cpuset_parse(&want, "1,5"));
	T_ASSERT(xs_cpuset_equal(&s, &want));
	/* v2 at /sys/fs/cgroup wins over the unified mount */
	put(root, "sys/fs/cgroup/svc/app/cpuset.cpus.effective", "7\n");
	T_EQ(xs_cpus_cgroup(&s, root), 1);
	T_EQ(xs_cpuset_count(&s), 1);
	/* garbage */
	put(root, "sys/fs/cgroup/svc/app/cpuset.cpus.effective", "zz\n");
	T_ERR(xs_cpus_cgroup(&s, root), -XS_ERT_CPUS);
	/* no cpuset anywhere: no restriction */
	put(root, "proc/self/cgroup", "2:memory:/q\n");
	T_EQ(xs_cpus_cgroup(&s, root), 0);
	T_EQ(xs_cpuset_count(&s), XS_CPUSET_MAX);
	/* isolcpus */
	T_OK(xs_cpus_isolated(&s, root));
	T_ASSERT(xs_cpuset_empty(&s));
	put(root, "sys/devices/system/cpu/isolated", "4-5\n");
	T_OK(xs_cpus_isolated(&s, root));
	T_OK(xs_cpuset_parse(&want, "4-5"));
	T_ASSERT(xs_cpuset_equal(&s, &want));
	put(root, "sys/devices/system/cpu/isolated", "\n");
	T_OK(xs_cpus_isolated(&s, root));
	T_ASSERT(xs_cpuset_empty(&s));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	T_EQ(system(cmd), 0);

	/* the real ones answer */
	T_OK(xs_cpus_affinity(&s));
	T_ASSERT(!xs_cpuset_empty(&s));
	T_OK(xs_cpus_cgroup(&s, NULL));
	T_OK(xs_cpus_isolated(&s, NULL));
}

static void memory(const struct xs_topo *t);

static void topologies(void)
{
	struct xs_topo *t;
	struct xs_cpuset s, aff;
	const struct xs_topo_pu *pu;
	const struct xs_topo_node *node;
	const struct xs_topo_core *core;
	int order[4];
	char buf[256];

	T_OK(xs_topo_load(&t, "pack:2 numa:2 core:8 pu:2"));
	T_EQ(xs_topo_count(t, XS_TOPO_PACKAGE), 2);
	T_EQ(xs_topo_count(t, XS_TOPO_NODE), 4);
	T_EQ(xs_topo_count(t, XS_TOPO_CORE), 32);
	T_EQ(xs_topo_count(t, XS_TOPO_PU), 64);
	T_ASSERT(!strcmp(xs_topo_source(t), "synthetic:pack:2 numa:2 core:8 pu:2"));
	pu = xs_topo_pu_of_cpu(t, 17);
	T_ASSERT(pu != NULL);
	T_EQ(pu->core, 8);
	T_EQ(pu->smt, 1);
	T_EQ(pu->node, 1);
	T_EQ(pu->package, 0);
	T_EQ(xs_topo_siblings(t, 17, &s), 1);
	T_EQ(xs_cpuset_next(&s, -1), 16);
	T_ERR(xs_topo_siblings(t, 64, &s), -XS_ERT_CPUS);
	T_ASSERT(xs_topo_pu_of_cpu(t, 64) == NULL && xs_topo_pu(t, 64) == NULL);
	node = xs_topo_node(t, 2);
	T_EQ(node->package, 1);
	T_EQ(node->ncores, 8);
	T_EQ(node->os_index, 2);
	xs_cpuset_format(&node->cpus, buf, sizeof(buf));
	T_ASSERT(!strcmp(buf, "32-47"), "%s", buf);
	core = xs_topo_core(t, 31);
	T_EQ(core->pu_first, 62);
	T_EQ(core->npus, 2);
	T_EQ(core->node, 3);
	T_EQ(xs_topo_node_by_os(t, 3), 3);
	T_ERR(xs_topo_node_by_os(t, 9), -XS_ERT_NODE);
	T_EQ(xs_topo_distance(t, 0, 0), 10);
	T_EQ(xs_topo_distance(t, 0, 1), 20);
	T_EQ(xs_topo_distance(t, 0, 3), 30);
	T_ERR(xs_topo_distance(t, 0, 4), -XS_ERT_NODE);
	T_EQ(xs_topo_nearest_nodes(t, 2, order, 4), 4);
	T_EQ(order[0], 2);
	T_EQ(order[1], 3);
	T_EQ(order[2], 0);
	T_EQ(order[3], 1);
	T_ASSERT(xs_cpuset_equal(xs_topo_allowed(t), xs_topo_cpus(t)));
	T_ASSERT(xs_cpuset_empty(xs_topo_isolated(t)));
	xs_cpuset_zero(&s);
	xs_cpuset_set(&s, 100);
	T_ERR(xs_topo_set_allowed(t, &s), -XS_ERT_CPUS);
	T_OK(xs_topo_print(t, stdout, 0));
	{
		struct xs_mem_loc loc;
		char c = 0;

		T_ERR(xs_mem_nodes(t, &c, 1, 0, &loc), -XS_ERT_NOT_SYSTEM);
		T_ERR(xs_mem_bind(t, &c, 1, 0, 0), -XS_ERT_NOT_SYSTEM);
	}
	xs_topo_destroy(t);

	/* bad descriptions */
	T_ERR(xs_topo_load(&t, "pack:two core:8"), -XS_ERT_TOPOLOGY);
	T_ASSERT(strstr(xs_errmsg(), "bad synthetic topology \"pack:two core:8\""), "%s", xs_errmsg());
	T_ERR(xs_topo_load(&t, "/nonexistent/dir/machine.xml"), -XS_ERT_TOPOLOGY);
	T_ASSERT(t == NULL);

	/* the environment variable, and "system" ignoring it */
	setenv(XS_TOPOLOGY_ENV, "pack:1 numa:1 core:4 pu:1", 1);
	T_OK(xs_topo_load(&t, NULL));
	T_EQ(xs_topo_count(t, XS_TOPO_CORE), 4);
	T_ASSERT(!xs_topo_is_system(t));
	xs_topo_destroy(t);
	T_OK(xs_topo_load(&t, "system"));
	T_ASSERT(xs_topo_is_system(t));
	xs_topo_destroy(t);
	unsetenv(XS_TOPOLOGY_ENV);

	/* this machine */
	T_OK(xs_topo_load(&t, NULL));
	T_ASSERT(xs_topo_is_system(t));
	T_ASSERT(!strcmp(xs_topo_source(t), "system"));
	T_ASSERT(xs_topo_count(t, XS_TOPO_PU) >= 1 && xs_topo_count(t, XS_TOPO_NODE) >= 1);
	T_OK(xs_cpus_affinity(&aff));
	xs_cpuset_andnot(&s, xs_topo_allowed(t), &aff);
	T_ASSERT(xs_cpuset_empty(&s), "allowed CPUs outside the affinity mask");
	xs_cpuset_andnot(&s, xs_topo_allowed(t), xs_topo_cpus(t));
	T_ASSERT(xs_cpuset_empty(&s));
	T_ASSERT(xs_topo_hwloc(t) != NULL);
	T_OK(xs_topo_print(t, stdout, 0));
	T_OK(xs_topo_print(t, stdout, 1));
	memory(t);
	xs_topo_destroy(t);
}

static void memory(const struct xs_topo *t)
{
	size_t len = 1 << 20, pg = (size_t)sysconf(_SC_PAGESIZE);
	struct xs_mem_loc loc;
	uint8_t *m;
	void *p;
	int fd;

	/* untouched anonymous memory has no node yet */
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(m != MAP_FAILED);
	T_ERR(xs_mem_nodes(t, m, len, 0, &loc), -XS_ERT_UNPOPULATED);
	T_EQ(loc.pages, len / pg);
	/* bound to node 0 before the first touch, then written */
	T_OK(xs_mem_bind(t, m, len, 0, XS_MEM_STRICT));
	memset(m, 1, len / 2);
	T_EQ(xs_mem_nodes(t, m, len, XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.node, 0);
	T_EQ(loc.nnodes, 1);
	T_EQ(loc.nodes, 1);
	T_EQ(loc.populated, len / pg / 2);
	T_EQ(loc.on_node[0], len / pg / 2);
	/* reads of private anonymous pages map the shared zero page: not placed */
	T_EQ(xs_mem_nodes(t, m + 1, len - 2, XS_MEM_TOUCH | XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.populated, len / pg / 2);
	T_ERR(xs_mem_bind(t, m, len, xs_topo_count(t, XS_TOPO_NODE), 0), -XS_ERT_NODE);
	T_ERR(xs_mem_nodes(t, NULL, len, 0, &loc), -EINVAL);
	munmap(m, len);

	/* a shared memfd mapping, as the session's queues are */
	fd = memfd_create("xs-test", MFD_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_OK(ftruncate(fd, (off_t)len));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T_ASSERT(m != MAP_FAILED);
	T_OK(xs_mem_bind(t, m, len, 0, 0));
	T_ERR(xs_mem_nodes(t, m, len, XS_MEM_COUNT, &loc), -XS_ERT_UNPOPULATED);
	/* here a read allocates the page: touching places every page */
	T_EQ(xs_mem_nodes(t, m, len, XS_MEM_TOUCH | XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.node, 0);
	T_EQ(loc.populated, len / pg);
	munmap(m, len);
	close(fd);

	/* node-local allocations */
	p = xs_mem_alloc_node(t, 10000, 0);
	T_ASSERT(p != NULL);
	memset(p, 2, 10000);
	T_EQ(xs_mem_nodes(t, p, 10000, XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.node, 0);
	T_EQ(loc.populated, (10000 + pg - 1) / pg);
	xs_mem_free(p, 10000);
	p = xs_mem_alloc_node(NULL, 1, -1);
	T_ASSERT(p != NULL);
	xs_mem_free(p, 1);
}

/* A program's own options mixed with the standard ones. */
static void options(void)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		XS_RT_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	char *argv[] = { "prog", "-v", "--cpus", "0-3,8", "--placement", "spill", "--idle=backoff",
			 "--topology", "pack:1 numa:1 core:4 pu:1", "--allow-smt", "--use-housekeeping",
			 "rest", NULL };
	int argc = 12, c, verbose = 0, r;
	struct xs_rt_opts ro;
	struct xs_plan_opts po;
	struct xs_rt_params prm;
	struct xs_topo *t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	xs_rt_opts_init(&ro);
	T_EQ(ro.placement, XS_PLACE_DEDICATED);
	T_EQ(ro.idle, XS_IDLE_SPIN);
	optind = 1;
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		r = xs_rt_opts_parse(&ro, c, optarg);
		T_OK(r);
		if (r > 0)
			continue;
		T_EQ(c, 'v');
		verbose++;
	}
	T_EQ(verbose, 1);
	T_EQ(optind, 11);
	T_ASSERT(ro.has_cpus && xs_cpuset_count(&ro.cpus) == 5);
	T_EQ(ro.placement, XS_PLACE_SPILL);
	T_EQ(ro.idle, XS_IDLE_BACKOFF);
	T_EQ(ro.place_flags, XS_PLACE_ALLOW_SMT | XS_PLACE_USE_HOUSEKEEPING);
	xs_plan_opts_init(&po);
	xs_rt_opts_plan(&ro, &po);
	T_EQ(po.policy, XS_PLACE_SPILL);
	T_ASSERT(po.cpus == &ro.cpus);
	T_EQ(po.mem_node, -1);
	xs_rt_params_init(&prm);
	xs_rt_opts_params(&ro, &prm);
	T_EQ(prm.idle, XS_IDLE_BACKOFF);
	T_EQ(prm.pace_max, XS_RT_PACE_DEFAULT); /* --pace not given */
	T_EQ(xs_rt_opts_parse(&ro, XS_RT_OPT_PACE, "0"), 1);
	xs_rt_opts_params(&ro, &prm);
	T_EQ(prm.pace_max, 0);
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_PACE, "-3"), -XS_ERT_OPTION);
	T_ASSERT(!strcmp(xs_errmsg(), "--pace: '-3' is not a pause count in 0..4096"), "%s", xs_errmsg());
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_PACE, "5000"), -XS_ERT_OPTION);
	T_EQ(ro.pace_max, 0); /* unchanged by the failures */
	T_OK(xs_rt_opts_topo(&ro, &t));
	T_EQ(xs_topo_count(t, XS_TOPO_CORE), 4);
	xs_topo_destroy(t);

	/* bad values: one clear line each */
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_PLACEMENT, "pack"), -XS_ERT_OPTION);
	T_ASSERT(!strcmp(xs_errmsg(), "--placement: 'pack' is not one of dedicated, spill, packed"),
		 "%s", xs_errmsg());
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_IDLE, "sleep"), -XS_ERT_OPTION);
	T_ASSERT(!strcmp(xs_errmsg(), "--idle: 'sleep' is not one of spin, yield, backoff, futex"));
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_CPUS, "3-1"), -XS_ERT_OPTION);
	T_ASSERT(!strcmp(xs_errmsg(), "--cpus: '3-1' is not a CPU list (e.g. 0-3,8,10-11)"));
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_CPUS, ""), -XS_ERT_OPTION);
	T_ERR(xs_rt_opts_parse(&ro, XS_RT_OPT_TOPOLOGY, ""), -XS_ERT_OPTION);
	T_EQ(xs_rt_opts_parse(&ro, 'x', NULL), 0);
	T_EQ(ro.placement, XS_PLACE_SPILL); /* unchanged by the failures */
	T_EQ(xs_place_policy_parse("packed"), XS_PLACE_PACKED);
	T_ASSERT(!strcmp(xs_place_policy_name(XS_PLACE_DEDICATED), "dedicated"));
	T_ASSERT(!strcmp(xs_idle_name(XS_IDLE_YIELD), "yield"));
	T_ASSERT(!strcmp(xs_strerror(-XS_ERT_NO_CORES), "not enough usable cores for the placement"));

	f = open_memstream(&buf, &len);
	xs_rt_opts_usage(f);
	fclose(f);
	for (const char *o = "--cpus\0--placement\0--idle\0--topology\0--allow-smt\0--use-housekeeping\0--pace\0";
	     *o; o += strlen(o) + 1)
		T_ASSERT(strstr(buf, o), "usage lacks %s", o);
	free(buf);
}

int main(void)
{
	cpusets();
	os_masks();
	topologies();
	options();
	printf("ok\n");
	return 0;
}
