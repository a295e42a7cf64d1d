/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: claims and remote frees between threads, formats 3.0 and
 * 4.0, all handles on one mapping (xs_alloc_join_handle: TSan keys
 * synchronisation on addresses, so threads share one mapping; the
 * multi-process tests cover separate mappings).
 *  - six threads claim, release and reclaim slots 200 times each with
 *    XS_ALLOC_CLAIM while the others do the same: a counter per slot proves
 *    no slot ever has two holders (C1 / C2 under TSan);
 *  - three threads free 6000 slots of one owner remotely, one by one and
 *    in batches, while the owner keeps allocating and freeing locally and
 *    drains its remote frees (4.0: all three push onto the same per-worker
 *    head; 3.0: onto per-slab heads): every slot comes back exactly once,
 *    the owner's outstanding bytes and bytes in use end at zero.
 * Runs with more threads than cores: waiting sides yield.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define MiB (1024u * 1024u)
#define NCLAIM 6
#define ROUNDS 200
#define NFREE 3
#define K 6000

static struct xs_alloc *owner;
static uint32_t holders[64];
static uint32_t violations;

static void *claim_main(void *p)
{
	struct xs_alloc *h;
	int r;

	(void)p;
	for (r = 0; r < ROUNDS; r++) {
		uint32_t w;

		if (xs_alloc_join_handle(&h, owner, XS_ALLOC_CLAIM) < 0) {
			__atomic_fetch_add(&violations, 1000, __ATOMIC_RELAXED);
			return NULL;
		}
		w = xs_alloc_worker(h);
		if (w >= 64 || __atomic_add_fetch(&holders[w], 1, __ATOMIC_ACQ_REL) != 1)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		if (r % 3 == 0)
			sched_yield();
		if (w < 64)
			__atomic_fetch_sub(&holders[w], 1, __ATOMIC_ACQ_REL);
		xs_alloc_close(h);
	}
	return NULL;
}

static void test_claims(enum xs_alloc_format f)
{
	pthread_t th[NCLAIM];
	int fd = xs_memfd_create("xs-alloc-claim-mt", 0), i;

	T_OK(fd);
	violations = 0;
	memset(holders, 0, sizeof(holders));
	T_OK(xs_alloc_create_fmt(&owner, fd, 1 * MiB, 1, 16384, f, XS_ALLOC_CLAIM));
	holders[0] = 1;
	for (i = 0; i < NCLAIM; i++)
		T_ASSERT(pthread_create(&th[i], NULL, claim_main, NULL) == 0);
	for (i = 0; i < NCLAIM; i++)
		pthread_join(th[i], NULL);
	T_EQ(violations, 0);
	{
		struct xs_alloc_stats st;

		T_OK(xs_alloc_stats(owner, &st, NULL, 0));
		T_EQ(st.claimed_slots, 1);
	}
	xs_alloc_close(owner);
	close(fd);
}

struct freer {
	struct xs_alloc *h;
	uint64_t *offs;
	unsigned idx;
	int rc;
};

static uint32_t go;

static void *free_main(void *p)
{
	struct freer *fr = p;
	uint64_t batch[64];
	size_t n = 0, k, done = 0;

	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (k = fr->idx; k < K; k += NFREE) {
		if ((k / NFREE) & 64) {
			batch[n++] = fr->offs[k];
			if (n == 64) {
				if ((fr->rc = xs_alloc_free_offsets(fr->h, batch, n)) < 0)
					return NULL;
				n = 0;
			}
		} else if ((fr->rc = xs_alloc_free_offset(fr->h, fr->offs[k])) < 0) {
			return NULL;
		}
		if (++done % 500 == 0)
			sched_yield();
	}
	if (n)
		fr->rc = xs_alloc_free_offsets(fr->h, batch, n);
	return NULL;
}

static void test_remote(enum xs_alloc_format f)
{
	static uint64_t offs[K];
	struct freer fr[NFREE];
	pthread_t th[NFREE];
	struct xs_alloc_stats st;
	uint64_t rng = 5, cleaned = 0, mine[32], limit;
	int fd = xs_memfd_create("xs-alloc-claim-mt", 0), i, rc, running;

	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&owner, fd, 16 * MiB, NFREE + 1, 16384, f, XS_ALLOC_CLAIM));
	for (i = 0; i < K; i++)
		T_OK(xs_alloc_alloc_offset(owner, 1 + t_rand(&rng) % 4096, &offs[i]));
	go = 0;
	for (i = 0; i < NFREE; i++) {
		fr[i].offs = offs;
		fr[i].idx = (unsigned)i;
		fr[i].rc = 0;
		T_OK(xs_alloc_join_handle(&fr[i].h, owner, XS_ALLOC_CLAIM));
		T_ASSERT(pthread_create(&th[i], NULL, free_main, &fr[i]) == 0);
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	/* the owner keeps working while the frees come in */
	limit = t_now_ns() + 20ull * 1000000000ull;
	for (running = 1; running;) {
		T_ASSERT(t_now_ns() < limit, "only %llu of %d slots came back", (unsigned long long)cleaned, K);
		for (i = 0; i < 32; i++)
			T_OK(xs_alloc_alloc_offset(owner, 256u << (i % 5), &mine[i]));
		for (i = 0; i < 32; i++)
			T_OK(xs_alloc_free_offset(owner, mine[i]));
		rc = xs_alloc_clean_remote(owner);
		T_OK(rc);
		/* the allocations drain too (xsched policy, before taking a slab) */
		cleaned = xs_alloc_counters(owner)->cleaned;
		T_ASSERT(cleaned <= K);
		if (cleaned == K)
			running = 0;
		else
			sched_yield();
	}
	for (i = 0; i < NFREE; i++) {
		pthread_join(th[i], NULL);
		T_OK(fr[i].rc);
		xs_alloc_close(fr[i].h);
	}
	T_EQ(xs_alloc_clean_remote(owner), 0);
	T_OK(xs_alloc_stats(owner, &st, NULL, 0));
	T_EQ(st.bytes_in_use, 0);
	T_EQ(st.handle_outstanding, 0);
	T_EQ(st.outstanding_bytes, 0);
	T_EQ(st.handle.errors, 0);
	xs_alloc_close(owner);
	close(fd);
}

int main(void)
{
	test_claims(XS_ALLOC_FMT_4_0);
	test_claims(XS_ALLOC_FMT_3_0);
	test_remote(XS_ALLOC_FMT_4_0);
	test_remote(XS_ALLOC_FMT_3_0);
	return 0;
}
