/* SPDX-License-Identifier: Apache-2.0 */
/* Allocator test helpers: a file auditor and the stress engine shared by
 * the multi-thread and multi-process stress tests. */
#ifndef XS_ALLOC_TESTLIB_H
#define XS_ALLOC_TESTLIB_H

#include <stdint.h>

#include "xsched/alloc.h"
#include "xsched/spsc.h"

/** What t_alloc_audit() found. */
struct t_audit {
	uint32_t global;     /**< slabs on the global free list */
	uint32_t on_workers; /**< slabs on some worker's partial/full list */
	uint32_t dups;       /**< slabs seen on more than one list (or twice on one) */
	uint32_t missing;    /**< slabs on no list at all (lost) */
	uint32_t bad;        /**< bad links, wrong owner/class on a list, broken prev links */
	char why[256];       /**< first problem, readable */
};

/**
 * Walk the global list and every worker's lists of the file behind @p a
 * (bounded) and check that each slab is on exactly one list, links are in
 * range and doubly-linked lists are consistent, and slabs on a worker's list
 * carry that worker and class in their metadata. Read-only; call when no
 * worker runs. @return 0 when consistent, -1 otherwise (see @p out).
 */
int t_alloc_audit(const struct xs_alloc *a, struct t_audit *out);

/** The format named by argv[1] ("0.2", "2.0", "3.0", "4.0"; none: 0.2). */
enum xs_alloc_format t_alloc_format_arg(int argc, char **argv);

/** The worker id a test passes for format @p f: @p index for the fixed
 *  formats, XS_ALLOC_CLAIM for the claim formats. */
uint32_t t_alloc_worker_arg(enum xs_alloc_format f, uint32_t index);

/* ------------------------------------------------------------ stress engine */

#define T_STRESS_MAXW 8
#define T_STRESS_QCAP 256

/** One element of the worker ring: an allocation handed to the next worker. */
struct t_stress_msg {
	uint64_t off;
	uint32_t size;
	uint32_t tag; /* (sender << 24) | seq */
};

/**
 * State shared by all stress workers (threads of one process, or processes
 * after fork: then it must live in MAP_SHARED memory). Followed in the same
 * block by the ring queues and the shadow map; size from t_stress_bytes().
 */
struct t_stress {
	uint32_t nworkers;
	uint32_t granules;      /* shadow entries: file size / 256 */
	uint64_t deadline_ns;   /* stop allocating at this CLOCK_MONOTONIC time */
	uint64_t ops;           /* operations per worker (upper bound) */
	uint64_t qbytes;        /* bytes per queue */
	uint32_t started;       /* atomic: workers ready (start barrier) */
	uint32_t done_sending;  /* atomic: workers that stopped sending */
	uint32_t done_freeing;  /* atomic: workers that freed everything they hold */
	uint32_t done_closing;  /* atomic */
	uint32_t failed;        /* atomic: set by the first failure */
	uint64_t sent[T_STRESS_MAXW];     /* atomic: by worker w to w + 1 */
	uint64_t received[T_STRESS_MAXW]; /* atomic: by worker w from w - 1 */
	uint64_t allocs[T_STRESS_MAXW], remote[T_STRESS_MAXW], cleans[T_STRESS_MAXW];
	uint64_t enomem[T_STRESS_MAXW];
	char msg[256];          /* first failure */
	uint8_t *queues;        /* process-local pointer set by t_stress_init (same in children) */
	uint8_t *shadow;        /* granule -> holder (worker + 1), 0 = free (atomic bytes) */
};

/** Bytes for the shared block (struct, queues, shadow) for a file of @p file_size. */
size_t t_stress_bytes(uint32_t nworkers, size_t file_size);

/** Initialise a zeroed block of t_stress_bytes() bytes at @p st. */
void t_stress_init(struct t_stress *st, uint32_t nworkers, size_t file_size, uint64_t ops,
		   uint64_t duration_ns);

/**
 * Run worker @p w with handle @p a until the op budget or the deadline,
 * then drain, free everything, wait for the others, clean, trim and close
 * the handle. Checks on every allocation that no granule of the slot is
 * held by anybody (no slot handed out twice) and on every free that the
 * holder's pattern is intact. @return 0, or -1 (st->msg says why).
 */
int t_stress_worker(struct t_stress *st, uint32_t w, struct xs_alloc *a);

#endif
