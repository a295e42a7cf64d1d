/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: multi-thread stress of the MPMC queue (also run under TSan).
 * Producer and consumer threads (2+2, 3+1, 1+3: more threads than the
 * machine's cores, so waiting sides must yield) share one mapping of the
 * queue (TSan relates accesses by virtual address), formats 2.0 and 3.0,
 * capacities 1, 2, 8, 64, element sizes 24 and 40. Every API is used at
 * random (mpmc_stress.h); every element must arrive exactly once, untorn,
 * each producer's elements in order at every consumer. Format 3.0 consumers
 * also sleep on the futex (pop_block) and must be woken by the producers.
 * Bounded by count; a hang fails at a hard deadline. Never asserts a speed.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "mpmc_stress.h"
#include "xsched/shm.h"

#if defined(XS_SANITIZER) && XS_SANITIZER == 2
#define ITEMS 3000
#elif defined(XS_SANITIZER)
#define ITEMS 10000
#else
#define ITEMS 20000
#endif
#define HARD_S 60

static void *prod_main(void *arg)
{
	ms_producer(arg);
	return NULL;
}

static void *cons_main(void *arg)
{
	ms_consumer(arg);
	return NULL;
}

int main(void)
{
	static const int shapes[][2] = { { 2, 2 }, { 3, 1 }, { 1, 3 } };
	static const uint64_t caps[] = { 1, 2, 8, 64 };
	uint64_t t0 = t_now_ns(), total = 0, stalls = 0, blocks = 0;
	int fds = t_fd_count(), conf = 0;

	for (int fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++)
		for (int s = 0; s < 3; s++)
			for (int c = 0; c < 4; c++, conf++) {
				int np = shapes[s][0], nc = shapes[s][1];
				size_t esz = (conf & 1) ? 40 : 24;
				size_t size = xs_shaq_min_file_size((enum xs_shaq_format)fmt, XS_SHAQ_MPMC,
								    caps[c], esz, 8);
				uint64_t per[MS_MAXP];
				struct xs_shm shm;
				struct xs_mpmc q[6];
				struct ms_run run[6];
				pthread_t th[6];
				struct ms_shared *sh;
				char name[128];
				size_t shsz;

				/* small rings hand over at almost every element, and on a
				 * loaded 2-core machine a handover can cost a time slice:
				 * fewer elements there (still many trips round the ring) */
				uint64_t items = caps[c] * 600 < ITEMS ? caps[c] * 600 : ITEMS;

				for (int p = 0; p < np; p++)
					per[p] = items / np + (uint64_t)p;
				shsz = ms_shared_size(np, per);
				sh = malloc(shsz);
				T_ASSERT(sh != NULL);
				ms_shared_init(sh, np, per);
				snprintf(name, sizeof(name), "format %s, %dP/%dC, cap %llu, elem %zu",
					 xs_shaq_format_name((enum xs_shaq_format)fmt), np, nc,
					 (unsigned long long)caps[c], esz);
				T_OK(xs_shm_create(&shm, "xs-test-mpmc", size, 0));
				for (int i = 0; i < np + nc; i++) {
					enum xs_mpmc_role role = i < np ? XS_MPMC_PRODUCER : XS_MPMC_CONSUMER;

					T_OK(xs_mpmc_attach_mem(&q[i], shm.base, size, esz, 8,
								i ? XS_SHAQ_ANY : (enum xs_shaq_format)fmt,
								role, i == 0));
					T_EQ(xs_mpmc_capacity(&q[i]), caps[c]);
					memset(&run[i], 0, sizeof(run[i]));
					run[i].q = &q[i];
					run[i].sh = sh;
					run[i].esz = esz;
					run[i].id = i;
					run[i].nprod = np;
					run[i].block_every = 4;
					run[i].salt = se_mix((uint64_t)conf + 77);
					run[i].seed = (uint64_t)conf * 1000003 + (uint64_t)i * 17 + 1;
					run[i].hard_ns = t_now_ns() + (uint64_t)HARD_S * 1000000000ull;
					run[i].name = name;
				}
				for (int i = 0; i < np + nc; i++)
					T_ASSERT(pthread_create(&th[i], NULL, i < np ? prod_main : cons_main,
								&run[i]) == 0);
				for (int i = 0; i < np + nc; i++)
					T_ASSERT(pthread_join(th[i], NULL) == 0);
				ms_shared_check(sh, name);
				for (int i = 0; i < np + nc; i++) {
					T_EQ(xs_mpmc_error(&q[i]), 0);
					T_EQ(q[i].pend, XS_MPMC_PEND_NONE);
					stalls += run[i].stalls;
					blocks += run[i].blocks;
					xs_mpmc_close(&q[i]);
				}
				if (fmt == XS_SHAQ_3_0) /* every sleeper unregistered */
					T_EQ(__atomic_load_n((uint64_t *)(void *)(shm.base + 320),
							     __ATOMIC_RELAXED), 0);
				total += sh->total;
				free(sh);
				xs_shm_detach(&shm);
			}
	T_EQ(t_fd_count(), fds);
	printf("test_mpmc_threads: %d configurations, %llu elements exactly once in %.2f s "
	       "(%llu blocking pops, %llu stalled waits)\n",
	       conf, (unsigned long long)total, (double)(t_now_ns() - t0) / 1e9,
	       (unsigned long long)blocks, (unsigned long long)stalls);
	return 0;
}
