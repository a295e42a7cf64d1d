/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Machine topology, memory locality and placement plans (the cold half of the
 * xsched runtime; the hot half, reactors and lightweight threads, is in
 * xsched/runtime.h, which includes this header).
 *
 * The model, in three steps:
 *
 *   1. struct xs_topo: packages, NUMA nodes, physical cores and PUs (hardware
 *      threads) of the real machine, or of a synthetic / XML description
 *      ("pack:2 numa:2 core:8 pu:2") so that multi-socket, multi-node and SMT
 *      machines can be planned for (and tested) on any machine. Besides the
 *      tree it knows two CPU masks: the CPUs this process may use (affinity
 *      mask ∩ cgroup cpuset) and the isolated CPUs (isolcpus=); tests inject
 *      both with xs_topo_set_allowed() / xs_topo_set_isolated().
 *
 *   2. Memory locality: xs_mem_nodes() says which node(s) hold the pages of a
 *      mapped object (e.g. the session's shared memory), reporting mixed
 *      placement; xs_mem_bind() places an object on a node before its first
 *      touch (creating side).
 *
 *   3. struct xs_plan: from the tasks to run (the TPU consumer, worker pair
 *      0..W-1, extras), the node of the memory and the allowed CPUs, one
 *      dedicated physical core per busy task on that node. When the node is
 *      short of cores the caller's policy decides, explicitly: fail with a
 *      message saying what is missing (XS_PLACE_DEDICATED, the default),
 *      spill to the nearest node (XS_PLACE_SPILL) or run several lightweight
 *      threads in one reactor per core (XS_PLACE_PACKED). A plan never puts
 *      two busy OS threads on one core, and prints as a table or as JSON.
 *
 * Indices. Packages, nodes, cores and PUs are numbered by their logical index
 * in the topology (0..count-1, hwloc order). A CPU number ("cpu") is the
 * operating system's number of a PU, the one sched_setaffinity() and
 * --cpus use. Nodes also carry their OS number (os_index, what numactl shows).
 *
 * Errors: 0 / positive on success, -errno or -XS_ERT_* (below) on failure, the
 * detail in xs_errmsg(). Thread safety: a loaded topology and a built plan are
 * immutable (except the two setters, to be called before sharing them) and may
 * be read from any number of threads.
 */
#ifndef XS_TOPO_H
#define XS_TOPO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------ errors */

/** Runtime error numbers (returned negated; text from xs_strerror()). */
enum xs_error_rt {
	XS_ERT_NO_CORES = XS_E_RT_BASE, /**< not enough usable cores for the placement policy */
	XS_ERT_TOPOLOGY,   /**< topology could not be loaded (bad synthetic string, bad XML) */
	XS_ERT_NOT_SYSTEM, /**< needs the real machine's topology (this one is synthetic / XML) */
	XS_ERT_CPUS,       /**< bad CPU list, CPU not in the topology, or empty CPU set */
	XS_ERT_PIN,        /**< a reactor could not be pinned, or runs on another CPU than planned */
	XS_ERT_STATE,      /**< call not valid in the runtime's current state */
	XS_ERT_OVERSUB,    /**< two busy reactors would share one CPU */
	XS_ERT_UNPOPULATED,/**< no page of the memory range is populated (touch it first) */
	XS_ERT_OPTION,     /**< bad value for a standard runtime option */
	XS_ERT_DONE,       /**< poll function result: this lightweight thread has finished */
	XS_ERT_NODE,       /**< NUMA node index out of range or unknown to the machine */
	XS_ERT_SESSION,    /**< session is not usable by the runtime glue (no queues, bad counts) */
	XS_ERT_PEER_GONE,  /**< the session's peer process exited (session glue peer watch) */
};

/* ------------------------------------------------------------ CPU sets */

/** Largest CPU number + 1 an xs_cpuset holds (the glibc cpu_set_t size). */
#define XS_CPUSET_MAX 1024

/**
 * A set of CPU numbers, plain data (128 bytes). Zero-initialised = empty.
 * Inline helpers below; xs_cpuset_parse()/xs_cpuset_format() read and write
 * the Linux list format ("0-3,8,10-11").
 */
struct xs_cpuset {
	uint64_t w[XS_CPUSET_MAX / 64];
};

XS_INLINE void xs_cpuset_zero(struct xs_cpuset *s)
{
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		s->w[i] = 0;
}

/** Add @p cpu (ignored when out of range). */
XS_INLINE void xs_cpuset_set(struct xs_cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < XS_CPUSET_MAX)
		s->w[cpu / 64] |= 1ull << (cpu % 64);
}

XS_INLINE void xs_cpuset_clr(struct xs_cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < XS_CPUSET_MAX)
		s->w[cpu / 64] &= ~(1ull << (cpu % 64));
}

XS_INLINE int xs_cpuset_isset(const struct xs_cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < XS_CPUSET_MAX && ((s->w[cpu / 64] >> (cpu % 64)) & 1);
}

XS_INLINE int xs_cpuset_count(const struct xs_cpuset *s)
{
	int n = 0;

	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

XS_INLINE int xs_cpuset_empty(const struct xs_cpuset *s)
{
	return xs_cpuset_count(s) == 0;
}

XS_INLINE int xs_cpuset_equal(const struct xs_cpuset *a, const struct xs_cpuset *b)
{
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		if (a->w[i] != b->w[i])
			return 0;
	return 1;
}

/** d = a ∩ b (d may alias a or b). */
XS_INLINE void xs_cpuset_and(struct xs_cpuset *d, const struct xs_cpuset *a, const struct xs_cpuset *b)
{
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		d->w[i] = a->w[i] & b->w[i];
}

/** d = a ∪ b. */
XS_INLINE void xs_cpuset_or(struct xs_cpuset *d, const struct xs_cpuset *a, const struct xs_cpuset *b)
{
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		d->w[i] = a->w[i] | b->w[i];
}

/** d = a \ b. */
XS_INLINE void xs_cpuset_andnot(struct xs_cpuset *d, const struct xs_cpuset *a, const struct xs_cpuset *b)
{
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		d->w[i] = a->w[i] & ~b->w[i];
}

/** Smallest CPU in @p s greater than @p prev (-1 to start); -1 when none. */
XS_INLINE int xs_cpuset_next(const struct xs_cpuset *s, int prev)
{
	int cpu = prev + 1;

	while (cpu >= 0 && cpu < XS_CPUSET_MAX) {
		uint64_t word = s->w[cpu / 64] >> (cpu % 64);

		if (word)
			return cpu + __builtin_ctzll(word);
		cpu = (cpu / 64 + 1) * 64;
	}
	return -1;
}

/** Iterate: for (cpu = xs_cpuset_next(s, -1); cpu >= 0; cpu = xs_cpuset_next(s, cpu)). */
#define XS_CPUSET_FOREACH(cpu, s) \
	for ((cpu) = xs_cpuset_next((s), -1); (cpu) >= 0; (cpu) = xs_cpuset_next((s), (cpu)))

/**
 * Parse a CPU list: comma-separated items, each "N", "N-M" or "N-M:S"
 * (every S-th CPU from N to M, as the kernel's cpulist format), surrounding
 * blanks and a trailing newline allowed. "" gives the empty set.
 * @return 0, or -XS_ERT_CPUS (syntax error, M < N, S == 0, CPU >= XS_CPUSET_MAX);
 *         @p s is unchanged on error.
 */
int xs_cpuset_parse(struct xs_cpuset *s, const char *list);

/**
 * Write @p s as a CPU list ("0-3,8,10-11"; "" for the empty set) into @p buf
 * (always NUL-terminated when @p len > 0).
 * @return the length the full text needs (excluding the NUL), like snprintf.
 */
int xs_cpuset_format(const struct xs_cpuset *s, char *buf, size_t len);

/** CPUs the calling thread may run on (sched_getaffinity). @return 0 or -errno. */
int xs_cpus_affinity(struct xs_cpuset *out);

/**
 * The cgroup cpuset of this process: cgroup v2 `cpuset.cpus.effective` of the
 * process's cgroup (v1: `cpuset.effective_cpus`, then `cpuset.cpus`), found
 * through /proc/self/cgroup and /proc/self/mountinfo-free conventional mount
 * points (/sys/fs/cgroup, /sys/fs/cgroup/unified, /sys/fs/cgroup/cpuset).
 * @param root prefix prepended to every path read ("/tmp/fake-root"), NULL or
 *        "" for the real root; tests build a fake tree under a directory.
 * @return 1 and @p out when a cpuset was found, 0 when there is none (out is
 *         then every CPU), or -errno / -XS_ERT_CPUS (unreadable list).
 */
int xs_cpus_cgroup(struct xs_cpuset *out, const char *root);

/**
 * Isolated CPUs: /sys/devices/system/cpu/isolated (the isolcpus= set).
 * @param root as for xs_cpus_cgroup().
 * @return 0 (empty set when the file is absent or empty), or -XS_ERT_CPUS.
 */
int xs_cpus_isolated(struct xs_cpuset *out, const char *root);

/* ------------------------------------------------------------ topology */

/** Environment variable read by xs_topo_load(NULL): synthetic string or XML path. */
#define XS_TOPOLOGY_ENV "XS_TOPOLOGY"

/** Opaque loaded topology. */
struct xs_topo;

/** A package (socket). */
struct xs_topo_package {
	int index;              /**< logical index */
	int os_index;           /**< OS number (physical package id) */
	struct xs_cpuset cpus;  /**< its CPUs */
};

/** A NUMA node. */
struct xs_topo_node {
	int index;              /**< logical index (used everywhere in this API) */
	int os_index;           /**< OS number (numactl's node number) */
	int package;            /**< package index holding its CPUs, -1 if it spans several / none */
	int ncores;             /**< cores whose local node this is */
	uint64_t memory;        /**< local memory in bytes (0 if unknown) */
	struct xs_cpuset cpus;  /**< CPUs local to the node (empty for a memory-only node) */
};

/** A physical core. Its PUs have consecutive indices pu_first .. pu_first + npus - 1. */
struct xs_topo_core {
	int index;              /**< logical index */
	int package;            /**< package index */
	int node;               /**< local NUMA node index (the first one if several) */
	int pu_first;           /**< index of its first PU */
	int npus;               /**< number of PUs (SMT threads) */
	struct xs_cpuset cpus;  /**< CPU numbers of its PUs */
};

/** A processing unit (hardware thread). */
struct xs_topo_pu {
	int index;   /**< logical index */
	int cpu;     /**< OS CPU number */
	int core;    /**< core index */
	int smt;     /**< rank among the PUs of its core (0 = first) */
	int node;    /**< local NUMA node index */
	int package; /**< package index */
};

/** Object kinds for xs_topo_count(). */
enum xs_topo_level {
	XS_TOPO_PACKAGE = 0,
	XS_TOPO_NODE,
	XS_TOPO_CORE,
	XS_TOPO_PU,
};

/**
 * Load a topology.
 * @param spec NULL: the XS_TOPOLOGY environment variable if set and not
 *        empty, else the real machine. "system": the real machine, ignoring
 *        the environment. A string naming an existing file, or ending in
 *        ".xml": an XML topology (as written by `lstopo file.xml`,
 *        `hwloc-gather-topology` or xs_topo_export_xml()). Anything else: an
 *        hwloc synthetic description ("pack:2 numa:2 core:8 pu:2").
 * @return 0 and *out, -XS_ERT_TOPOLOGY (detail in xs_errmsg()), or -ENOMEM.
 *
 * For the real machine, allowed CPUs = topology ∩ xs_cpus_affinity() ∩
 * xs_cpus_cgroup(), isolated CPUs = xs_cpus_isolated(). For a synthetic or
 * XML topology every CPU is allowed and none isolated (use the setters).
 */
int xs_topo_load(struct xs_topo **out, const char *spec);

/** Free a topology (NULL is fine). Plans built from it must be destroyed first. */
void xs_topo_destroy(struct xs_topo *t);

/** 1 when @p t describes the machine we run on (CPU numbers can be pinned to, memory bound). */
int xs_topo_is_system(const struct xs_topo *t);

/** Where the topology came from: "system", "synthetic:pack:2 ...", "xml:/path". */
const char *xs_topo_source(const struct xs_topo *t);

/** Number of objects of a kind. */
int xs_topo_count(const struct xs_topo *t, enum xs_topo_level level);

/** Object accessors by logical index; NULL when out of range. */
const struct xs_topo_package *xs_topo_package(const struct xs_topo *t, int index);
const struct xs_topo_node *xs_topo_node(const struct xs_topo *t, int index);
const struct xs_topo_core *xs_topo_core(const struct xs_topo *t, int index);
const struct xs_topo_pu *xs_topo_pu(const struct xs_topo *t, int index);

/** The PU with OS CPU number @p cpu, or NULL. */
const struct xs_topo_pu *xs_topo_pu_of_cpu(const struct xs_topo *t, int cpu);

/** Node index of the node with OS number @p os_index, or -XS_ERT_NODE. */
int xs_topo_node_by_os(const struct xs_topo *t, int os_index);

/**
 * The other PUs of the core holding @p cpu (its SMT siblings, @p cpu excluded).
 * @return their count, or -XS_ERT_CPUS if @p cpu is not in the topology.
 */
int xs_topo_siblings(const struct xs_topo *t, int cpu, struct xs_cpuset *out);

/**
 * Relative distance between two nodes, SLIT style (10 = local). From the
 * topology's distance matrix when it has one; otherwise estimated: 10 same
 * node, 20 same package, 30 otherwise.
 * @return the distance, or -XS_ERT_NODE.
 */
int xs_topo_distance(const struct xs_topo *t, int node_a, int node_b);

/**
 * Nodes ordered by distance from @p node (itself first; ties by index).
 * @return the number written to @p order (at most @p max), or -XS_ERT_NODE.
 */
int xs_topo_nearest_nodes(const struct xs_topo *t, int node, int *order, int max);

/** Every CPU of the topology. */
const struct xs_cpuset *xs_topo_cpus(const struct xs_topo *t);
/** CPUs this process may use (see xs_topo_load()). */
const struct xs_cpuset *xs_topo_allowed(const struct xs_topo *t);
/** Isolated CPUs (may be empty). */
const struct xs_cpuset *xs_topo_isolated(const struct xs_topo *t);

/**
 * Replace the allowed set (tests; programs use --cpus instead). It is
 * intersected with the topology's CPUs.
 * @return 0, or -XS_ERT_CPUS when the intersection is empty (set unchanged).
 */
int xs_topo_set_allowed(struct xs_topo *t, const struct xs_cpuset *cpus);

/** Replace the isolated set (intersected with the topology's CPUs). @return 0. */
int xs_topo_set_isolated(struct xs_topo *t, const struct xs_cpuset *cpus);

/** Write the topology as hwloc XML to @p path (e.g. to turn a synthetic one into XML). */
int xs_topo_export_xml(const struct xs_topo *t, const char *path);

/**
 * Print a summary: one line per node (its CPUs, cores, memory), then the
 * allowed and isolated CPUs; @p json != 0 prints one JSON object instead
 * (schema "xsched.topo/1").
 * @return 0 or -EIO.
 */
int xs_topo_print(const struct xs_topo *t, FILE *f, int json);

/** The underlying hwloc_topology_t (as void *), for callers that need more. */
void *xs_topo_hwloc(const struct xs_topo *t);

/* ------------------------------------------------------------ memory */

/** Flags for xs_mem_nodes(). */
#define XS_MEM_TOUCH (1u << 0) /**< read one byte of each page first (never writes): places every
                                    page of a shared / file mapping (the session's memfds);
                                    private anonymous pages stay unplaced until written */
#define XS_MEM_COUNT (1u << 1) /**< also count pages per node (one query per page) */
#define XS_MEM_RESIDENT (1u << 2) /**< look at every page already in memory (mincore),
                                       also those another process faulted into a shared
                                       mapping, and at no other: nothing is placed by the
                                       query (unlike XS_MEM_TOUCH) */

/** Most nodes xs_mem_nodes() reports individually (node indices >= 64 are ignored). */
#define XS_MEM_MAX_NODES 64

/** Where a memory range lives (filled by xs_mem_nodes()). */
struct xs_mem_loc {
	int node;        /**< index of the node holding the pages when it is a single one;
	                      when mixed, the node with most pages (XS_MEM_COUNT) or the
	                      lowest; -1 when no page is populated */
	int nnodes;      /**< how many nodes hold pages (> 1: mixed placement) */
	uint64_t nodes;  /**< bit i set: node index i holds pages of the range */
	size_t pages;    /**< pages in the range */
	size_t populated;/**< pages present in memory (XS_MEM_COUNT only, else 0) */
	size_t on_node[XS_MEM_MAX_NODES]; /**< pages per node index (XS_MEM_COUNT only) */
};

/**
 * Find the NUMA node(s) holding the pages of [addr, addr+len): the hwloc area
 * memory location (hwloc_get_area_memlocation) of the pages mapped in this
 * process, of every page already in memory with XS_MEM_RESIDENT, after
 * touching (placing) every page with XS_MEM_TOUCH, and page counts per node
 * with XS_MEM_COUNT.
 * @param t the real machine's topology (-XS_ERT_NOT_SYSTEM otherwise).
 * @return the number of nodes holding pages (1 = one node, > 1 = mixed
 *         placement, with a note in xs_errmsg() naming them), or
 *         -XS_ERT_UNPOPULATED (no page in memory: not placed yet), -EINVAL,
 *         -errno from the kernel query.
 */
int xs_mem_nodes(const struct xs_topo *t, const void *addr, size_t len, unsigned flags,
		 struct xs_mem_loc *loc);

/** Flags for xs_mem_bind(). */
#define XS_MEM_STRICT  (1u << 0) /**< fail if the policy cannot be applied exactly */
#define XS_MEM_MIGRATE (1u << 1) /**< also move pages already populated elsewhere */

/**
 * Bind [addr, addr+len) to node @p node (mbind through
 * hwloc_set_area_membind, policy BIND): pages touched afterwards are allocated
 * there. Call it on the creating side, after mmap and before the first touch;
 * for a shared memfd mapping the policy is recorded in the object, so the peer's
 * first touch obeys it too.
 * @return 0, -XS_ERT_NOT_SYSTEM, -XS_ERT_NODE, or -errno.
 */
int xs_mem_bind(const struct xs_topo *t, void *addr, size_t len, int node, unsigned flags);

/**
 * Bind the memory object behind descriptor @p fd, bytes [0, @p size), to
 * node @p node before its first touch, on the creating side (what the
 * handshake server's bind hook needs: see xs_mem_bind_fd_cb()).
 *
 * The object is mapped shared for the time of the call, bound with
 * xs_mem_bind(XS_MEM_STRICT) (mbind MPOL_BIND to the node's nodeset), then
 * unmapped. How the binding outlives that mapping depends on the object:
 *  - shmem (memfd without MFD_HUGETLB, tmpfs, /dev/shm): mbind on a shared
 *    mapping sets the object's *shared policy* (kept in the inode, by page
 *    offset), which stays after munmap and governs every later fault of
 *    the object, from any mapping of any process; nothing is allocated now.
 *    The file may even be shorter than @p size (the policy is by offset).
 *  - hugetlbfs (memfd with MFD_HUGETLB): the kernel keeps no shared policy
 *    for it (the policy would die with the temporary mapping), so every
 *    huge page is allocated now through the bound mapping
 *    (MADV_POPULATE_WRITE, Linux 5.14; it fails with -ENOMEM rather than
 *    SIGBUS when the node has no free huge page). The file must already be
 *    at least @p size bytes. Cost: zeroing the whole object now.
 *  - anything else (a regular file's page cache ignores mbind on shared
 *    mappings): -EOPNOTSUPP.
 * An object with pages already in memory (st_blocks != 0) is refused
 * (-EBUSY): a policy only steers the allocations to come, those pages would
 * stay where they are.
 *
 * @param t the real machine's topology.
 * @return 0, -XS_ERT_NOT_SYSTEM, -XS_ERT_NODE (no such node), -EINVAL,
 *         -EOPNOTSUPP, -EBUSY, -ENOMEM (hugetlbfs: too few free huge pages
 *         on the node), or -errno from fstat/mmap/mbind/madvise; the
 *         detail (object, size, node) is in xs_errmsg().
 */
int xs_mem_bind_fd(const struct xs_topo *t, int fd, size_t size, int node);

/** Argument of xs_mem_bind_fd_cb(): the topology and the node to bind to. */
struct xs_mem_bind_ctx {
	const struct xs_topo *topo; /**< the real machine's topology */
	int node;                   /**< node index; -1: do nothing (first touch) */
};

/**
 * Ready-made handshake bind hook (matches xs_hs_bind_fn in
 * xsched/handshake.h): xs_mem_bind_fd(ctx->topo, fd, size, ctx->node).
 * Set struct xs_hs_server_opts.bind_fn = xs_mem_bind_fd_cb and bind_arg to
 * a struct xs_mem_bind_ctx that outlives the server.
 * @return as xs_mem_bind_fd(); -EINVAL when @p ctx is NULL.
 */
int xs_mem_bind_fd_cb(int fd, size_t size, void *ctx);

/**
 * Allocate @p len bytes (rounded up to pages, zero-filled) bound to node
 * @p node; node -1, or a topology that is not the real machine, gives plain
 * anonymous memory. Free with xs_mem_free(). @return the memory or NULL.
 */
void *xs_mem_alloc_node(const struct xs_topo *t, size_t len, int node);

/** Free memory from xs_mem_alloc_node() (same @p len). */
void xs_mem_free(void *addr, size_t len);

/* ------------------------------------------------------------ placement */

/** What to do when the memory's node has too few cores for one per busy task. */
enum xs_place_policy {
	XS_PLACE_DEDICATED = 0, /**< fail, saying what is missing (default) */
	XS_PLACE_SPILL,         /**< use cores of the nearest other nodes for the last tasks */
	XS_PLACE_PACKED,        /**< run several lightweight threads in one reactor per core */
};

/** Placement flags (struct xs_plan_opts.flags). */
#define XS_PLACE_ALLOW_SMT        (1u << 0) /**< busy tasks may use SMT siblings of each other */
#define XS_PLACE_USE_HOUSEKEEPING (1u << 1) /**< do not keep a housekeeping core free */
#define XS_PLACE_IGNORE_ISOLATED  (1u << 2) /**< do not prefer isolated CPUs */

/** Kinds of task. */
enum xs_task_kind {
	XS_TASK_TPU = 0, /**< TPU consumer: tpu_to_pack + progress_tracker */
	XS_TASK_WORKER,  /**< worker pair @c index: pack_to_worker + worker_to_pack */
	XS_TASK_EXTRA,   /**< anything else the program runs */
};

/** Task flag: needs no dedicated core (runs on the housekeeping reactor "xs-hk"). */
#define XS_TASK_LIGHT (1u << 0)

/** Longest task name (without NUL). */
#define XS_TASK_NAME_MAX 11

/** One task to place: it becomes one lightweight thread. */
struct xs_task {
	enum xs_task_kind kind;
	int index;                        /**< worker pair number (XS_TASK_WORKER), free otherwise */
	unsigned flags;                   /**< XS_TASK_LIGHT */
	char name[XS_TASK_NAME_MAX + 1];  /**< short name: "tpu", "w3", "stats" */
};

/**
 * Fill the standard task list: "tpu", then "w0" .. "w<workers-1>".
 * @return the number of tasks (1 + workers), or -EINVAL when @p max is too
 *         small or @p workers is not in 0..999.
 */
int xs_tasks_std(struct xs_task *tasks, int max, int workers);

/** Placement request. Initialise with xs_plan_opts_init(). */
struct xs_plan_opts {
	enum xs_place_policy policy;   /**< default XS_PLACE_DEDICATED */
	unsigned flags;                /**< XS_PLACE_* */
	int mem_node;                  /**< node index of the memory; -1: unknown, pick the
	                                    node with most usable cores (default) */
	int housekeeping_cpu;          /**< CPU whose core stays free; -1: automatic (default) */
	const struct xs_cpuset *cpus;  /**< CPUs of the busy tasks (--cpus), intersected with
	                                    the allowed set; a CPU the topology lacks is an
	                                    error (-XS_ERT_CPUS naming it). The housekeeping
	                                    CPU is then an allowed CPU outside this list
	                                    (preferably on a core with no listed CPU), or,
	                                    when there is none, housekeeping shares these
	                                    CPUs (a note says so). NULL: the allowed set,
	                                    less one housekeeping core */
};

/** Defaults: dedicated, no flags, mem_node -1, housekeeping automatic, cpus NULL. */
void xs_plan_opts_init(struct xs_plan_opts *o);

/** Reactor flags (struct xs_plan_reactor.flags). */
#define XS_PR_SPILLED      (1u << 0) /**< not on the memory's node */
#define XS_PR_PACKED       (1u << 1) /**< runs more than one lightweight thread */
#define XS_PR_ISOLATED     (1u << 2) /**< its CPU is isolated */
#define XS_PR_SMT_SHARED   (1u << 3) /**< another reactor runs on an SMT sibling */
#define XS_PR_HOUSEKEEPING (1u << 4) /**< on the housekeeping core */
#define XS_PR_LIGHT        (1u << 5) /**< runs light tasks only (use a sleeping idle strategy) */

/** One planned reactor: one OS thread pinned to one CPU. */
struct xs_plan_reactor {
	char name[16];  /**< thread name: "xs-tpu", "xs-w3", "xs-w0+w1+w2", "xs-hk" */
	int cpu;        /**< OS CPU number it is pinned to */
	int core;       /**< core index */
	int node;       /**< node index */
	int package;    /**< package index */
	unsigned flags; /**< XS_PR_* */
	int ntasks;     /**< lightweight threads it runs */
};

/** One placed task. */
struct xs_plan_task {
	struct xs_task task;
	int reactor;    /**< reactor index */
	int slot;       /**< position inside the reactor's poll order */
};

/** Plan status bits (xs_plan_status()). */
#define XS_PLAN_SHORT       (1u << 0) /**< the memory's node lacked cores: policy applied */
#define XS_PLAN_SPILLED     (1u << 1) /**< some reactors are on other nodes */
#define XS_PLAN_PACKED      (1u << 2) /**< some reactors run several busy tasks */
#define XS_PLAN_SMT_SHARED  (1u << 3) /**< busy reactors share physical cores */
#define XS_PLAN_HOUSEKEEPING_USED (1u << 4) /**< a busy task runs on the housekeeping core */

/** Opaque placement plan. */
struct xs_plan;

/**
 * Build a placement plan.
 *
 * Rules, in order: usable CPUs = @p o->cpus ∩ allowed; one core is kept free
 * for housekeeping (the core of @p o->housekeeping_cpu, else the lowest usable
 * core without isolated CPUs) unless XS_PLACE_USE_HOUSEKEEPING; on each core
 * one PU is used (its isolated PU first, then the lowest), its siblings stay
 * idle unless XS_PLACE_ALLOW_SMT; cores with isolated CPUs come first unless
 * XS_PLACE_IGNORE_ISOLATED; the TPU task gets the best core, then the workers
 * in order, then extras. Light tasks share one reactor on the housekeeping core.
 * When the memory's node has fewer usable cores than busy tasks:
 *  - XS_PLACE_DEDICATED fails with -XS_ERT_NO_CORES and a message in
 *    xs_errmsg() saying what is missing, e.g.
 *    "placement: node 0 has 3 usable cores for 5 busy tasks (2 missing); ..."
 *  - XS_PLACE_SPILL puts the last tasks on the nearest nodes' cores (fails
 *    the same way when the whole allowed set is too small);
 *  - XS_PLACE_PACKED keeps every task on the node: the TPU alone on one core
 *    (when there are two or more) and the other tasks shared out, in order,
 *    over the remaining cores, each core running one reactor.
 * The plan's notes (xs_plan_notes()) record every such decision.
 *
 * @param ntasks 1..XS_PLAN_MAX_TASKS tasks; names must be unique.
 * @return 0 and *out, -XS_ERT_NO_CORES, -XS_ERT_NODE, -XS_ERT_CPUS, -EINVAL, -ENOMEM.
 */
int xs_plan_build(struct xs_plan **out, const struct xs_topo *t, const struct xs_task *tasks,
		  int ntasks, const struct xs_plan_opts *o);

/** Most tasks in one plan (1 TPU + 64 workers + extras). */
#define XS_PLAN_MAX_TASKS 256

/** Free a plan (NULL is fine). */
void xs_plan_destroy(struct xs_plan *p);

int xs_plan_nreactors(const struct xs_plan *p);
/** Reactor @p r (0 .. nreactors-1), NULL when out of range. */
const struct xs_plan_reactor *xs_plan_reactor(const struct xs_plan *p, int r);
int xs_plan_ntasks(const struct xs_plan *p);
/** Task @p i in the order given to xs_plan_build(), NULL when out of range. */
const struct xs_plan_task *xs_plan_task(const struct xs_plan *p, int i);
/** Index of the task named @p name, or -ENOENT. */
int xs_plan_find_task(const struct xs_plan *p, const char *name);
/** The node the plan was made for (the memory's node, or the one chosen). */
int xs_plan_mem_node(const struct xs_plan *p);
enum xs_place_policy xs_plan_policy(const struct xs_plan *p);
/** XS_PLAN_* bits. */
unsigned xs_plan_status(const struct xs_plan *p);
/** Cores the memory's node lacked for a dedicated placement (0 when it had enough). */
int xs_plan_shortage(const struct xs_plan *p);
/** The housekeeping CPU kept free, or -1 (none reserved). */
int xs_plan_housekeeping_cpu(const struct xs_plan *p);
/** The topology the plan was made on. */
const struct xs_topo *xs_plan_topo(const struct xs_plan *p);
/** Decisions and warnings, one per line ("" when nothing to say). */
const char *xs_plan_notes(const struct xs_plan *p);

/**
 * Print the plan: a table (one row per reactor: name, CPU, core, node,
 * package, flags, lightweight threads; then "# note:" lines) or, with
 * @p json != 0, one JSON object (schema "xsched.plan/1") followed by a newline.
 * @return 0 or -EIO.
 */
int xs_plan_print(const struct xs_plan *p, FILE *f, int json);

/** "dedicated" / "spill" / "packed". */
const char *xs_place_policy_name(enum xs_place_policy p);
/** Parse a policy name. @return the policy or -XS_ERT_OPTION. */
int xs_place_policy_parse(const char *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_TOPO_H */
