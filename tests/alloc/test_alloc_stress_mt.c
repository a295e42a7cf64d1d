/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: multi-thread stress. Four threads, each an allocator worker
 * (two on the creator's mapping through xs_alloc_join_handle, two on
 * mappings of their own through xs_alloc_join), allocate random sizes
 * 0..4096 from a 4 MiB file of 16 KiB slabs (so slabs are taken and
 * returned all the time), free half locally and hand the other half
 * through SPSC queues (a ring) to the next worker, which checks the offset
 * with xs_alloc_check() and frees it remotely (alternately one by one and
 * batched); owners clean periodically. Workers 0 and 2 run the xsched
 * policy, 1 and 3 the upstream one; all use the tagged global list.
 * A shadow map (one atomic byte per 256-byte granule) proves that no slot
 * is ever handed to two holders, and a pattern at both ends of every slot
 * that nobody overwrote it while held. At the end every worker owns no
 * slab and the audit finds all slabs on the global free list exactly once.
 * Bounded: 1.5 s or 3M operations per worker (1 s for the other formats).
 * argv[1] names the format ("0.2" by default; "3.0" and "4.0": the workers
 * claim their slots, 4.0 frees remotely onto per-worker stacks and its
 * upstream-policy workers return emptied slabs to no owner; every worker's
 * outstanding bytes end at zero).
 * Under TSan all four share one mapping: TSan keys synchronisation on
 * virtual addresses, so atomics done through two mappings of one page look
 * unrelated to it (false races); test_alloc_stress_mp covers separate
 * mappings.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#if defined(XS_SANITIZER) && XS_SANITIZER == 2
#define XS_SANITIZER_TSAN 1
#else
#define XS_SANITIZER_TSAN 0
#endif

#define NW 4
#define FILE_SIZE (4u << 20)

struct targ {
	struct t_stress *st;
	struct xs_alloc *a;
	uint32_t w;
	int rc;
};

static void *thread_main(void *p)
{
	struct targ *t = p;

	t->rc = t_stress_worker(t->st, t->w, t->a);
	return NULL;
}

int main(int argc, char **argv)
{
	enum xs_alloc_format fmt = t_alloc_format_arg(argc, argv);
	size_t bytes = t_stress_bytes(NW, FILE_SIZE);
	struct t_stress *st = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	struct targ t[NW];
	pthread_t th[NW];
	struct xs_alloc *a0, *check;
	struct t_audit au;
	struct xs_alloc_stats s;
	uint32_t w;
	uint64_t total_allocs = 0, total_remote = 0, total_enomem = 0;
	int fd = xs_memfd_create("xs-alloc-stress-mt", 0);

	T_ASSERT(st != NULL);
	memset(st, 0, bytes);
	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&a0, fd, FILE_SIZE, NW, 16384, fmt, t_alloc_worker_arg(fmt, 0)));
	t_stress_init(st, NW, FILE_SIZE, 3000000, (fmt == XS_ALLOC_FMT_0_2 ? 1500ull : 1000ull) * 1000000);
	for (w = 0; w < NW; w++) {
		t[w].st = st;
		t[w].w = w;
		if (w == 0)
			t[w].a = a0;
		else if (w == 2 || XS_SANITIZER_TSAN)
			T_OK(xs_alloc_join_handle(&t[w].a, a0, t_alloc_worker_arg(fmt, w)));
		else
			T_OK(xs_alloc_join_fmt(&t[w].a, fd, fmt, t_alloc_worker_arg(fmt, w)));
		T_EQ(xs_alloc_worker(t[w].a), w); /* claims in order: slots 0, 1, 2, 3 */
		if (w & 1)
			T_OK(xs_alloc_set_policy(t[w].a, XS_ALLOC_POLICY_UPSTREAM, 0));
	}
	for (w = 0; w < NW; w++)
		T_ASSERT(pthread_create(&th[w], NULL, thread_main, &t[w]) == 0);
	for (w = 0; w < NW; w++)
		pthread_join(th[w], NULL);
	for (w = 0; w < NW; w++) {
		total_allocs += st->allocs[w];
		total_remote += st->remote[w];
		total_enomem += st->enomem[w];
	}
	printf("allocs %llu, remote frees %llu, ENOMEM %llu\n", (unsigned long long)total_allocs,
	       (unsigned long long)total_remote, (unsigned long long)total_enomem);
	T_ASSERT(!st->failed, "%s", st->msg);
	for (w = 0; w < NW; w++)
		T_EQ(t[w].rc, 0);
	T_ASSERT(total_allocs > 1000 && total_remote > 100);

	T_OK(xs_alloc_join_fmt(&check, fd, fmt, t_alloc_worker_arg(fmt, 0)));
	T_EQ(xs_alloc_format_of(check), fmt);
	T_OK(t_alloc_audit(check, &au));
	T_EQ(au.global, xs_alloc_num_slabs(check));
	T_EQ(au.on_workers, 0);
	xs_alloc_stats(check, &s, NULL, 0);
	T_EQ(s.bytes_in_use, 0);
	T_EQ(s.outstanding_bytes, 0);
	T_EQ(s.claimed_slots, fmt == XS_ALLOC_FMT_3_0 || fmt == XS_ALLOC_FMT_4_0 ? 1 : 0);
	T_EQ(s.global_free_slabs, xs_alloc_num_slabs(check));
	for (w = 0; w < st->granules; w++)
		T_EQ(st->shadow[w], 0);
	xs_alloc_close(check);
	close(fd);
	free(st);
	return 0;
}
