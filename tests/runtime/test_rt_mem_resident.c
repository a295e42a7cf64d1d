/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding the NUMA node of a session's memory must not place that memory.
 *  - xs_rt_vsession_node() / xs_rt_session_node() leave the residency of
 *    every page of every queue file and of the allocator file unchanged
 *    (mincore before and after), and still find the node of the pages the
 *    server wrote (queue headers).
 *  - XS_MEM_RESIDENT sees pages another mapping faulted in (a fresh mapping
 *    of a queue file has none of them in its page tables), counts exactly
 *    those, and reports an object nobody touched as not placed yet
 *    (-XS_ERT_UNPOPULATED) without faulting anything in; XS_MEM_TOUCH, by
 *    contrast, does place every page (so the checks above can fail).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/alloc.h"
#include "xsched/handshake.h"
#include "xsched/runtime.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

static size_t page;

/* Resident-page vector of a mapping (caller frees). */
static unsigned char *residency(const void *base, size_t len, size_t *npages)
{
	uintptr_t a = (uintptr_t)base & ~(uintptr_t)(page - 1);
	size_t n = ((uintptr_t)base + len - a + page - 1) / page;
	unsigned char *v = malloc(n);

	T_ASSERT(v != NULL);
	T_OK(mincore((void *)a, n * page, v));
	for (size_t i = 0; i < n; i++)
		v[i] &= 1;
	*npages = n;
	return v;
}

static size_t count_resident(const unsigned char *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += v[i];
	return k;
}

struct snap {
	const void *base;
	size_t len, n;
	unsigned char *v;
};

static int snap_session(const struct xs_vsession *vs, struct snap *s)
{
	int k = 0;

	s[k++] = (struct snap){ vs->tpu_to_pack.base, vs->tpu_to_pack.file_size, 0, NULL };
	s[k++] = (struct snap){ vs->progress.base, vs->progress.file_size, 0, NULL };
	for (uint32_t i = 0; i < vs->num_workers; i++) {
		s[k++] = (struct snap){ vs->workers[i].pack_to_worker.base,
					vs->workers[i].pack_to_worker.file_size, 0, NULL };
		s[k++] = (struct snap){ vs->workers[i].worker_to_pack.base,
					vs->workers[i].worker_to_pack.file_size, 0, NULL };
	}
	s[k++] = (struct snap){ xs_alloc_base(vs->tpu_alloc), xs_alloc_size(vs->tpu_alloc), 0, NULL };
	for (int i = 0; i < k; i++)
		s[i].v = residency(s[i].base, s[i].len, &s[i].n);
	return k;
}

static void same_residency(struct snap *s, int k, const char *when)
{
	for (int i = 0; i < k; i++) {
		size_t n;
		unsigned char *v = residency(s[i].base, s[i].len, &n);

		T_EQ(n, s[i].n);
		for (size_t p = 0; p < n; p++)
			T_ASSERT(v[p] == s[i].v[p], "%s: region %d page %zu of %zu became %s", when, i,
				 p, n, v[p] ? "resident" : "absent");
		free(v);
	}
}

/* The validator session's own query, then a client-style fresh mapping. */
static void session_query(const struct xs_topo *t)
{
	struct xs_logon lg;
	struct xs_vsession *vs;
	struct xs_mem_loc loc;
	struct snap s[3 + 2 * 4];
	int fds[XS_HS_MAX_FDS], k;
	char reason[XS_HS_MAX_REASON + 1];
	size_t total = 0, resident = 0;

	memset(&lg, 0, sizeof(lg));
	lg.worker_count = 2;
	lg.allocator_size = 16u << 20;
	lg.allocator_handles = 1;
	lg.tpu_to_pack_capacity = 65536; /* 40-byte slots: hundreds of pages */
	lg.progress_tracker_capacity = 256;
	lg.pack_to_worker_capacity = 4096;
	lg.worker_to_pack_capacity = 4096;
	lg.units = XS_LOGON_ITEMS;
	T_OK(xs_hs_objects_create(2, &lg, XS_HS_HUGE_NEVER, 1, &vs, fds, reason, sizeof(reason)));

	k = snap_session(vs, s);
	for (int i = 0; i < k; i++) {
		total += s[i].n;
		resident += count_resident(s[i].v, s[i].n);
	}
	/* the server wrote headers, and left most pages untouched */
	T_ASSERT(resident > 0 && resident < total / 2, "%zu of %zu pages resident", resident, total);
	T_EQ(xs_rt_vsession_node(t, vs, &loc), 1);
	T_ASSERT(loc.node >= 0 && loc.node < xs_topo_count(t, XS_TOPO_NODE));
	T_EQ(loc.pages, total);
	T_ASSERT(loc.populated >= 1 && loc.populated <= resident, "%zu populated, %zu resident",
		 loc.populated, resident);
	same_residency(s, k, "xs_rt_vsession_node");

	/* a fresh mapping of the tpu_to_pack file (as a client has it):
	 * nothing of it is in this mapping's page tables yet */
	{
		size_t len = vs->tpu_to_pack.file_size, n, before;
		unsigned char *v0, *v1;
		uint8_t *m;

		T_OK(xs_shm_map(fds[1], len, &m));
		v0 = residency(m, len, &n);
		before = count_resident(v0, n);
		T_ASSERT(before >= 1, "the header page is in memory");
		T_ERR(xs_mem_nodes(t, m, len, XS_MEM_COUNT, &loc), -XS_ERT_UNPOPULATED);
		T_EQ(xs_mem_nodes(t, m, len, XS_MEM_COUNT | XS_MEM_RESIDENT, &loc), 1);
		T_EQ(loc.populated, before);
		v1 = residency(m, len, &n);
		T_ASSERT(memcmp(v0, v1, n) == 0, "XS_MEM_RESIDENT changed the residency");
		free(v0);
		free(v1);
		munmap(m, len);
	}
	for (uint32_t i = 0; i < vs->num_objects; i++)
		close(fds[i]);
	for (int i = 0; i < k; i++)
		free(s[i].v);
	xs_vsession_close(vs);
}

/* An object nobody touched: not placed yet, and still untouched; TOUCH places. */
static void untouched(const struct xs_topo *t)
{
	size_t len = 64 * page, n;
	struct xs_mem_loc loc;
	struct xs_shm shm;
	unsigned char *v;
	uint8_t *m;

	memset(&shm, 0, sizeof(shm));
	T_OK(xs_shm_create(&shm, "xs-test-resident", len, 0));
	m = shm.base;
	T_ERR(xs_mem_nodes(t, m, len, XS_MEM_COUNT | XS_MEM_RESIDENT, &loc), -XS_ERT_UNPOPULATED);
	T_ASSERT(strstr(xs_errmsg(), "not placed yet") != NULL, "%s", xs_errmsg());
	T_EQ(loc.populated, 0);
	v = residency(m, len, &n);
	T_EQ(count_resident(v, n), 0);
	free(v);
	/* the old way (a read of every page) places all of them */
	T_EQ(xs_mem_nodes(t, m, len, XS_MEM_COUNT | XS_MEM_TOUCH, &loc), 1);
	v = residency(m, len, &n);
	T_EQ(count_resident(v, n), n);
	free(v);
	xs_shm_detach(&shm);
}

int main(void)
{
	struct xs_topo *t;

	page = (size_t)sysconf(_SC_PAGESIZE);
	T_OK(xs_topo_load(&t, NULL));
	if (!xs_topo_is_system(t)) {
		printf("SKIP: needs the real machine's topology (XS_TOPOLOGY is set)\n");
		xs_topo_destroy(t);
		return 77;
	}
	session_query(t);
	untouched(t);
	xs_topo_destroy(t);
	printf("ok\n");
	return 0;
}
