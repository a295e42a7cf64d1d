/* SPDX-License-Identifier: Apache-2.0 */
/* Topology loading (real machine, synthetic string, XML file) through hwloc,
 * flattened into plain arrays that the placement code and the accessors read. */
#include "rt_pvt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc/export.h>

void xs__cpuset_from_hwloc(struct xs_cpuset *s, hwloc_const_bitmap_t b)
{
	int i;

	xs_cpuset_zero(s);
	for (i = hwloc_bitmap_first(b); i >= 0 && i < XS_CPUSET_MAX; i = hwloc_bitmap_next(b, i))
		xs_cpuset_set(s, i);
}

void xs__json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

size_t xs__page_round(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	return (n + p - 1) / p * p;
}

/* First NUMA node among the memory children of @p o or its ancestors: the
 * node local to @p o (hwloc 2 attaches memory beside the CPU tree). */
static hwloc_obj_t local_numa(hwloc_obj_t o)
{
	for (; o; o = o->parent) {
		hwloc_obj_t m = o->memory_first_child;

		while (m && m->type != HWLOC_OBJ_NUMANODE)
			m = m->memory_first_child; /* through memory-side caches */
		if (m)
			return m;
	}
	return NULL;
}

static int logical_or(hwloc_obj_t o, int dflt)
{
	return o ? (int)o->logical_index : dflt;
}

static int flatten(struct xs_topo *t)
{
	hwloc_topology_t h = t->h;
	int maxcpu = -1;

	t->npu = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU);
	t->ncore = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_CORE);
	t->nnode = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_NUMANODE);
	t->npk = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PACKAGE);
	if (t->npu <= 0 || t->nnode <= 0)
		return xs_seterr(-XS_ERT_TOPOLOGY, "topology %s has %d PUs and %d NUMA nodes",
				 t->source, t->npu, t->nnode);
	/* Machines where hwloc finds no cores or packages: each PU is a core,
	 * the machine is one package. */
	int synth_cores = t->ncore <= 0, synth_pk = t->npk <= 0;

	if (synth_cores)
		t->ncore = t->npu;
	if (synth_pk)
		t->npk = 1;
	t->pus = calloc((size_t)t->npu, sizeof(*t->pus));
	t->cores = calloc((size_t)t->ncore, sizeof(*t->cores));
	t->nodes = calloc((size_t)t->nnode, sizeof(*t->nodes));
	t->pk = calloc((size_t)t->npk, sizeof(*t->pk));
	t->dist = calloc((size_t)t->nnode * (size_t)t->nnode, sizeof(*t->dist));
	if (!t->pus || !t->cores || !t->nodes || !t->pk || !t->dist)
		return -ENOMEM;

	for (int i = 0; i < t->npk; i++) {
		hwloc_obj_t o = synth_pk ? hwloc_get_root_obj(h) : hwloc_get_obj_by_type(h, HWLOC_OBJ_PACKAGE, (unsigned)i);

		t->pk[i].index = i;
		t->pk[i].os_index = synth_pk || o->os_index == HWLOC_UNKNOWN_INDEX ? i : (int)o->os_index;
		xs__cpuset_from_hwloc(&t->pk[i].cpus, o->cpuset);
	}
	for (int i = 0; i < t->nnode; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(h, HWLOC_OBJ_NUMANODE, (unsigned)i);
		hwloc_obj_t pk = hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_PACKAGE, o);

		t->nodes[i].index = i;
		t->nodes[i].os_index = (int)o->os_index;
		t->nodes[i].package = synth_pk ? 0 : logical_or(pk, -1);
		t->nodes[i].memory = o->attr ? o->attr->numanode.local_memory : 0;
		xs__cpuset_from_hwloc(&t->nodes[i].cpus, o->cpuset);
	}
	for (int i = 0; i < t->npu; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(h, HWLOC_OBJ_PU, (unsigned)i);
		hwloc_obj_t core = synth_cores ? NULL : hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_CORE, o);
		hwloc_obj_t pk = hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_PACKAGE, o);
		hwloc_obj_t node = local_numa(o);
		struct xs_topo_pu *pu = &t->pus[i];

		pu->index = i;
		pu->cpu = (int)o->os_index;
		if (pu->cpu >= XS_CPUSET_MAX)
			return xs_seterr(-XS_ERT_TOPOLOGY, "topology %s has CPU %d, above the %d supported",
					 t->source, pu->cpu, XS_CPUSET_MAX - 1);
		pu->core = synth_cores ? i : logical_or(core, -1);
		pu->package = synth_pk ? 0 : logical_or(pk, 0);
		pu->node = logical_or(node, 0);
		if (pu->core < 0)
			return xs_seterr(-XS_ERT_TOPOLOGY, "topology %s: PU %d has no core", t->source,
					 pu->cpu);
		xs_cpuset_set(&t->all, pu->cpu);
		if (pu->cpu > maxcpu)
			maxcpu = pu->cpu;
	}
	for (int i = 0; i < t->ncore; i++) {
		struct xs_topo_core *c = &t->cores[i];

		c->index = i;
		c->pu_first = -1;
	}
	for (int i = 0; i < t->npu; i++) {
		struct xs_topo_pu *pu = &t->pus[i];
		struct xs_topo_core *c = &t->cores[pu->core];

		/* hwloc numbers PUs in tree order, so a core's PUs are consecutive */
		if (c->pu_first < 0) {
			c->pu_first = i;
			c->package = pu->package;
			c->node = pu->node;
		} else if (c->pu_first + c->npus != i) {
			return xs_seterr(-XS_ERT_TOPOLOGY, "topology %s: PUs of core %d not consecutive",
					 t->source, c->index);
		}
		pu->smt = c->npus++;
		xs_cpuset_set(&c->cpus, pu->cpu);
	}
	for (int i = 0; i < t->ncore; i++) {
		if (t->cores[i].npus == 0)
			return xs_seterr(-XS_ERT_TOPOLOGY, "topology %s: core %d has no PU", t->source, i);
		t->nodes[t->cores[i].node].ncores++;
	}
	t->pu_by_cpu_len = maxcpu + 1;
	t->pu_by_cpu = malloc((size_t)t->pu_by_cpu_len * sizeof(int));
	if (!t->pu_by_cpu)
		return -ENOMEM;
	for (int c = 0; c < t->pu_by_cpu_len; c++)
		t->pu_by_cpu[c] = -1;
	for (int i = 0; i < t->npu; i++)
		t->pu_by_cpu[t->pus[i].cpu] = i;

	/* NUMA distances: the topology's matrix if it has a complete one. */
	unsigned nr = 1;
	struct hwloc_distances_s *d = NULL;

	if (hwloc_distances_get_by_type(h, HWLOC_OBJ_NUMANODE, &nr, &d, 0, 0) == 0 && nr == 1 &&
	    d->nbobjs == (unsigned)t->nnode) {
		for (unsigned a = 0; a < d->nbobjs; a++)
			for (unsigned b = 0; b < d->nbobjs; b++)
				t->dist[d->objs[a]->logical_index * (unsigned)t->nnode +
					d->objs[b]->logical_index] = (int)d->values[a * d->nbobjs + b];
		t->dist_measured = 1;
	}
	if (d && nr == 1)
		hwloc_distances_release(h, d);
	if (!t->dist_measured)
		for (int a = 0; a < t->nnode; a++)
			for (int b = 0; b < t->nnode; b++)
				t->dist[a * t->nnode + b] =
					a == b ? 10 : t->nodes[a].package == t->nodes[b].package ? 20 : 30;
	return 0;
}

/* The real machine's allowed CPUs: topology ∩ affinity ∩ cgroup ∩ hwloc's allowed set. */
static int system_masks(struct xs_topo *t)
{
	struct xs_cpuset aff, cg, hw;
	int r;

	t->allowed = t->all;
	if ((r = xs_cpus_affinity(&aff)) < 0)
		return r;
	xs_cpuset_and(&t->allowed, &t->allowed, &aff);
	if ((r = xs_cpus_cgroup(&cg, NULL)) < 0)
		return r;
	xs_cpuset_and(&t->allowed, &t->allowed, &cg);
	xs__cpuset_from_hwloc(&hw, hwloc_topology_get_allowed_cpuset(t->h));
	xs_cpuset_and(&t->allowed, &t->allowed, &hw);
	if ((r = xs_cpus_isolated(&t->isolated, NULL)) < 0)
		return r;
	xs_cpuset_and(&t->isolated, &t->isolated, &t->all);
	return 0;
}

static int looks_like_xml(const char *spec)
{
	size_t n = strlen(spec);

	return access(spec, F_OK) == 0 || (n > 4 && !strcmp(spec + n - 4, ".xml"));
}

int xs_topo_load(struct xs_topo **out, const char *spec)
{
	struct xs_topo *t;
	int r = 0, xml = 0, synth = 0;
	size_t srclen;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!spec) {
		const char *env = getenv(XS_TOPOLOGY_ENV);

		spec = env && env[0] ? env : "system";
	}
	if (strcmp(spec, "system") != 0) {
		xml = looks_like_xml(spec);
		synth = !xml;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	srclen = strlen(spec) + 16;
	t->source = malloc(srclen);
	if (!t->source) {
		free(t);
		return -ENOMEM;
	}
	snprintf(t->source, srclen, "%s%s", xml ? "xml:" : synth ? "synthetic:" : "", spec);
	if (hwloc_topology_init(&t->h)) {
		free(t->source);
		free(t);
		return -ENOMEM;
	}
	/* Only the CPU / memory tree matters here: skip I/O and caches (faster load). */
	hwloc_topology_set_io_types_filter(t->h, HWLOC_TYPE_FILTER_KEEP_NONE);
	hwloc_topology_set_cache_types_filter(t->h, HWLOC_TYPE_FILTER_KEEP_NONE);
	hwloc_topology_set_icache_types_filter(t->h, HWLOC_TYPE_FILTER_KEEP_NONE);
	if (synth && hwloc_topology_set_synthetic(t->h, spec)) {
		r = xs_seterr(-XS_ERT_TOPOLOGY,
			      "bad synthetic topology \"%s\" (want e.g. \"pack:2 numa:2 core:8 pu:2\")", spec);
		goto fail;
	}
	if (xml && hwloc_topology_set_xml(t->h, spec)) {
		r = xs_seterr(-XS_ERT_TOPOLOGY, "cannot read XML topology %s: %s", spec, strerror(errno));
		goto fail;
	}
	if (!xml && !synth)
		/* keep CPUs outside our cgroup in the tree: we compute "allowed" ourselves */
		hwloc_topology_set_flags(t->h, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	if (hwloc_topology_load(t->h)) {
		r = xs_seterr(-XS_ERT_TOPOLOGY, "loading topology %s failed: %s", t->source,
			      strerror(errno));
		goto fail;
	}
	t->is_system = hwloc_topology_is_thissystem(t->h) && !xml && !synth;
	if ((r = flatten(t)) < 0)
		goto fail;
	if (t->is_system) {
		if ((r = system_masks(t)) < 0)
			goto fail;
	} else {
		t->allowed = t->all;
	}
	*out = t;
	return 0;
fail:
	xs_topo_destroy(t);
	return r;
}

/* ------------------------------------------------------------ binding */

/* This machine's topology for hwloc's binding calls when the caller has no
 * system topology of its own (a synthetic plan remapped onto the real
 * CPUs): loaded once per process and kept until exit. It is never changed
 * after loading, and hwloc's binding calls only read it, so reactor threads
 * may use it at once. */
static hwloc_topology_t bind_topo;
static int bind_err;
static pthread_once_t bind_once = PTHREAD_ONCE_INIT;

static void bind_topo_load(void)
{
	hwloc_topology_t h;

	if (hwloc_topology_init(&h)) {
		bind_err = -ENOMEM;
		return;
	}
	hwloc_topology_set_io_types_filter(h, HWLOC_TYPE_FILTER_KEEP_NONE);
	hwloc_topology_set_cache_types_filter(h, HWLOC_TYPE_FILTER_KEEP_NONE);
	hwloc_topology_set_icache_types_filter(h, HWLOC_TYPE_FILTER_KEEP_NONE);
	if (hwloc_topology_load(h) || !hwloc_topology_is_thissystem(h)) {
		bind_err = -XS_ERT_TOPOLOGY;
		hwloc_topology_destroy(h);
		return;
	}
	bind_topo = h;
}

int xs__bind_thread(const struct xs_topo *t, int cpu, int node)
{
	hwloc_topology_t h;
	hwloc_bitmap_t set;
	int r = 0;

	if (t && t->is_system) {
		h = t->h;
	} else {
		pthread_once(&bind_once, bind_topo_load);
		if (!bind_topo)
			return xs_seterr(bind_err, "binding a thread to cpu %d: this machine's "
					 "topology could not be loaded", cpu);
		h = bind_topo;
	}
	set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	hwloc_bitmap_only(set, (unsigned)cpu);
	if (hwloc_set_cpubind(h, set, HWLOC_CPUBIND_THREAD) < 0) {
		r = xs_seterr(-XS_ERT_PIN, "hwloc_set_cpubind(cpu %d, HWLOC_CPUBIND_THREAD) failed: %s",
			      cpu, strerror(errno));
	} else if (node >= 0 && t && t->is_system && node < t->nnode) {
		/* Later allocations of this thread (its stack, its heap) go to
		 * its node too. Not fatal: the reactor's own block is bound
		 * already (xs_mem_alloc_node), and first touch on a pinned
		 * thread is local anyway. */
		hwloc_bitmap_only(set, (unsigned)t->nodes[node].os_index);
		(void)hwloc_set_membind(h, set, HWLOC_MEMBIND_BIND,
					HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET);
	}
	hwloc_bitmap_free(set);
	return r;
}

void xs_topo_destroy(struct xs_topo *t)
{
	if (!t)
		return;
	if (t->h)
		hwloc_topology_destroy(t->h);
	free(t->pus);
	free(t->cores);
	free(t->nodes);
	free(t->pk);
	free(t->dist);
	free(t->pu_by_cpu);
	free(t->source);
	free(t);
}

int xs_topo_is_system(const struct xs_topo *t)
{
	return t->is_system;
}

const char *xs_topo_source(const struct xs_topo *t)
{
	return t->source;
}

int xs_topo_count(const struct xs_topo *t, enum xs_topo_level level)
{
	switch (level) {
	case XS_TOPO_PACKAGE: return t->npk;
	case XS_TOPO_NODE: return t->nnode;
	case XS_TOPO_CORE: return t->ncore;
	case XS_TOPO_PU: return t->npu;
	}
	return -EINVAL;
}

const struct xs_topo_package *xs_topo_package(const struct xs_topo *t, int i)
{
	return i >= 0 && i < t->npk ? &t->pk[i] : NULL;
}

const struct xs_topo_node *xs_topo_node(const struct xs_topo *t, int i)
{
	return i >= 0 && i < t->nnode ? &t->nodes[i] : NULL;
}

const struct xs_topo_core *xs_topo_core(const struct xs_topo *t, int i)
{
	return i >= 0 && i < t->ncore ? &t->cores[i] : NULL;
}

const struct xs_topo_pu *xs_topo_pu(const struct xs_topo *t, int i)
{
	return i >= 0 && i < t->npu ? &t->pus[i] : NULL;
}

const struct xs_topo_pu *xs_topo_pu_of_cpu(const struct xs_topo *t, int cpu)
{
	if (cpu < 0 || cpu >= t->pu_by_cpu_len || t->pu_by_cpu[cpu] < 0)
		return NULL;
	return &t->pus[t->pu_by_cpu[cpu]];
}

int xs_topo_node_by_os(const struct xs_topo *t, int os_index)
{
	for (int i = 0; i < t->nnode; i++)
		if (t->nodes[i].os_index == os_index)
			return i;
	return -XS_ERT_NODE;
}

int xs_topo_siblings(const struct xs_topo *t, int cpu, struct xs_cpuset *out)
{
	const struct xs_topo_pu *pu = xs_topo_pu_of_cpu(t, cpu);

	if (!pu)
		return -XS_ERT_CPUS;
	*out = t->cores[pu->core].cpus;
	xs_cpuset_clr(out, cpu);
	return xs_cpuset_count(out);
}

int xs_topo_distance(const struct xs_topo *t, int a, int b)
{
	if (a < 0 || b < 0 || a >= t->nnode || b >= t->nnode)
		return -XS_ERT_NODE;
	return t->dist[a * t->nnode + b];
}

/* Sort key of node @p i seen from @p node: itself first, then by distance. */
static int near_key(const struct xs_topo *t, int node, int i)
{
	return i == node ? -1 : t->dist[node * t->nnode + i];
}

int xs_topo_nearest_nodes(const struct xs_topo *t, int node, int *order, int max)
{
	int n = 0;

	if (node < 0 || node >= t->nnode)
		return -XS_ERT_NODE;
	if (max <= 0)
		return 0;
	/* insertion into a bounded sorted array, ties by index (stable) */
	for (int i = 0; i < t->nnode; i++) {
		int key = near_key(t, node, i), k;

		if (n == max && near_key(t, node, order[n - 1]) <= key)
			continue;
		k = n < max ? n++ : n - 1;
		while (k > 0 && near_key(t, node, order[k - 1]) > key) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	return n;
}

const struct xs_cpuset *xs_topo_cpus(const struct xs_topo *t)
{
	return &t->all;
}

const struct xs_cpuset *xs_topo_allowed(const struct xs_topo *t)
{
	return &t->allowed;
}

const struct xs_cpuset *xs_topo_isolated(const struct xs_topo *t)
{
	return &t->isolated;
}

int xs_topo_set_allowed(struct xs_topo *t, const struct xs_cpuset *cpus)
{
	struct xs_cpuset s;
	char want[256];

	xs_cpuset_and(&s, cpus, &t->all);
	if (xs_cpuset_empty(&s)) {
		xs_cpuset_format(cpus, want, sizeof(want));
		return xs_seterr(-XS_ERT_CPUS, "allowed CPUs \"%s\" hold no CPU of topology %s", want,
				 t->source);
	}
	t->allowed = s;
	return 0;
}

int xs_topo_set_isolated(struct xs_topo *t, const struct xs_cpuset *cpus)
{
	xs_cpuset_and(&t->isolated, cpus, &t->all);
	return 0;
}

int xs_topo_export_xml(const struct xs_topo *t, const char *path)
{
	if (hwloc_topology_export_xml(t->h, path, 0))
		return xs_seterr(errno ? -errno : -EIO, "exporting topology to %s failed", path);
	return 0;
}

void *xs_topo_hwloc(const struct xs_topo *t)
{
	return t->h;
}

int xs_topo_print(const struct xs_topo *t, FILE *f, int json)
{
	char buf[1024];

	if (json) {
		fputs("{\"schema\":\"xsched.topo/1\",\"source\":", f);
		xs__json_str(f, t->source);
		fprintf(f, ",\"system\":%s,\"packages\":%d,\"nodes\":%d,\"cores\":%d,\"pus\":%d",
			t->is_system ? "true" : "false", t->npk, t->nnode, t->ncore, t->npu);
		xs_cpuset_format(&t->allowed, buf, sizeof(buf));
		fputs(",\"allowed\":", f);
		xs__json_str(f, buf);
		xs_cpuset_format(&t->isolated, buf, sizeof(buf));
		fputs(",\"isolated\":", f);
		xs__json_str(f, buf);
		fputs(",\"numa\":[", f);
		for (int i = 0; i < t->nnode; i++) {
			const struct xs_topo_node *n = &t->nodes[i];

			xs_cpuset_format(&n->cpus, buf, sizeof(buf));
			fprintf(f, "%s{\"node\":%d,\"os_index\":%d,\"package\":%d,\"cores\":%d,"
				   "\"memory_bytes\":%llu,\"cpus\":",
				i ? "," : "", i, n->os_index, n->package, n->ncores,
				(unsigned long long)n->memory);
			xs__json_str(f, buf);
			fputs(",\"distances\":[", f);
			for (int j = 0; j < t->nnode; j++)
				fprintf(f, "%s%d", j ? "," : "", t->dist[i * t->nnode + j]);
			fputs("]}", f);
		}
		fputs("]}\n", f);
	} else {
		fprintf(f, "# topology %s%s: %d package%s, %d NUMA node%s, %d cores, %d PUs\n",
			t->source, t->is_system ? " (this machine)" : "", t->npk, t->npk == 1 ? "" : "s",
			t->nnode, t->nnode == 1 ? "" : "s", t->ncore, t->npu);
		fprintf(f, "%-6s %-8s %-4s %-6s %-10s %s\n", "node", "os_index", "pkg", "cores",
			"memory_MiB", "cpus");
		for (int i = 0; i < t->nnode; i++) {
			const struct xs_topo_node *n = &t->nodes[i];

			xs_cpuset_format(&n->cpus, buf, sizeof(buf));
			fprintf(f, "%-6d %-8d %-4d %-6d %-10llu %s\n", i, n->os_index, n->package,
				n->ncores, (unsigned long long)(n->memory >> 20), buf[0] ? buf : "-");
		}
		xs_cpuset_format(&t->allowed, buf, sizeof(buf));
		fprintf(f, "# allowed CPUs: %s\n", buf[0] ? buf : "none");
		xs_cpuset_format(&t->isolated, buf, sizeof(buf));
		fprintf(f, "# isolated CPUs: %s\n", buf[0] ? buf : "none");
		fprintf(f, "# distances: %s\n", t->dist_measured ? "from the topology" : "estimated (10 local, 20 same package, 30 other)");
	}
	return ferror(f) ? -EIO : 0;
}
