/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the runtime's sources. Not installed. */
#ifndef XS_RT_PVT_H
#define XS_RT_PVT_H

#include <hwloc.h>
#include <stdio.h>

#include "xsched/runtime.h"

/* A loaded topology: hwloc's tree flattened into arrays once, at load time,
 * so that every accessor is a bounds check and an index. */
struct xs_topo {
	hwloc_topology_t h;
	int is_system;
	char *source;
	int npk, nnode, ncore, npu;
	struct xs_topo_package *pk;
	struct xs_topo_node *nodes;
	struct xs_topo_core *cores;
	struct xs_topo_pu *pus;
	int *dist;            /* nnode * nnode, SLIT style */
	int dist_measured;    /* 1 when dist came from the topology */
	int pu_by_cpu_len;    /* highest CPU number + 1 */
	int *pu_by_cpu;       /* CPU number -> PU index, -1 */
	struct xs_cpuset all, allowed, isolated;
};

/* hwloc bitmap <-> xs_cpuset. */
void xs__cpuset_from_hwloc(struct xs_cpuset *s, hwloc_const_bitmap_t b);

/* Write @p s as a JSON string literal (with quotes) to @p f. */
void xs__json_str(FILE *f, const char *s);

/* Append a line to a plan's notes (the session glue records where the memory is). */
void xs__plan_note(struct xs_plan *p, const char *fmt, ...) XS_PRINTF(2, 3);

/*
 * The session glue's per-runtime attachment (the peer-death watch): at most
 * one per runtime. xs_rt_destroy() calls @p fini(@p obj) first, before it
 * stops, joins and frees anything, so the attachment can quiesce threads that
 * still use the runtime. @p fini NULL (and @p obj NULL) detaches without
 * calling anything. @return 0 or -XS_ERT_STATE (one already attached).
 */
int xs__rt_attach(struct xs_rt *rt, void *obj, void (*fini)(void *obj));
/* The attached object, NULL when none. */
void *xs__rt_attached(const struct xs_rt *rt);
/*
 * Record @p err as the runtime's result (unless an earlier error was) and
 * stop it; xs_rt_join() then returns it. Async-signal-safe (lock-free
 * atomics); valid before xs_rt_start() too: the reactors then stop at once.
 */
void xs__rt_fail(struct xs_rt *rt, int err);

/*
 * Bind the calling thread to @p cpu with hwloc (hwloc_set_cpubind,
 * HWLOC_CPUBIND_THREAD) and, when @p node >= 0 and @p t is this machine's
 * topology, its memory policy to that node (hwloc_set_membind, thread, not
 * strict). @p t may be NULL or synthetic: this machine's topology is then
 * loaded once for the whole process. The caller checks the result with
 * sched_getcpu(). @return 0, -XS_ERT_PIN, -XS_ERT_TOPOLOGY, -ENOMEM.
 */
int xs__bind_thread(const struct xs_topo *t, int cpu, int node);

/* Round up to a multiple of the page size. */
size_t xs__page_round(size_t n);

/* Metrics (metrics.c): xs_rt_destroy() calls this once the reactors are
 * joined, before freeing them: the process's metrics object takes a last
 * sample of @p rt and stops reading it and its session. */
void xs__metrics_rt_gone(struct xs_rt *rt);
/* Texts of the XS_EMET_* codes (xsched/metrics.h), NULL for others. */
const char *xs__strerror_metrics(int code);

XS_LINK_ERROR_TEXTS(xs_strerror_rt);

#endif /* XS_RT_PVT_H */
