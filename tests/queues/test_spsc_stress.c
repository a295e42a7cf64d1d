/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: cross-thread stress of the SPSC queue (also run under TSan).
 * A producer thread and a consumer thread move sequence-numbered,
 * checksummed elements (stress_elem.h) through one memfd-backed queue:
 * element sizes 16, 20 (align 4), 24, 40, 48, 56; capacities 1, 2, 8, 64,
 * 1024 (wrap-around many times; with 1 and 2 every operation is at the
 * full/empty edge); every pairing of producer calls (try_push, push_burst,
 * reserve/commit) with consumer calls (try_pop, pop_burst, upstream's
 * sync/try_read/finalize, poll/finalize, wait_block: futex sleeps in format
 * 3.0); the four shaq formats 0.2, 1.0, 2.0, 3.0 in turn. Nothing may be
 * lost, duplicated, reordered or torn.
 * Two ways to map the file: both handles on ONE mapping (xs_spsc_attach_mem),
 * which is what lets TSan check the orderings (it tracks virtual addresses,
 * so it cannot relate accesses made through two different mappings of the
 * same pages), and create + join with a mapping each, as between processes.
 * Each way runs all 15 pairings.
 * Bounded by count and wall time (about 2.5 s in all; sanitizer builds move
 * fewer elements). Never asserts a speed.
 */
#include <pthread.h>
#include <unistd.h>

#include "stress_elem.h"
#include "xsched/shm.h"

#if defined(XS_SANITIZER) && XS_SANITIZER == 2 /* TSan: ~10x slower, keep it short */
#define MAX_ITEMS 20000
#define BUDGET_MS 1500
#elif defined(XS_SANITIZER)
#define MAX_ITEMS 60000
#define BUDGET_MS 2000
#else
#define MAX_ITEMS 300000
#define BUDGET_MS 2500
#endif
#define HARD_S 60 /* a configuration still running after this is hung */

static void *prod_main(void *arg)
{
	se_producer(arg);
	return NULL;
}

int main(void)
{
	static const size_t elems[][2] = { { 16, 8 }, { 20, 4 }, { 24, 8 },
					   { 40, 8 }, { 48, 8 }, { 56, 8 } };
	static const uint64_t caps[] = { 1, 2, 8, 64, 1024 };
	const int nconf = (int)(sizeof(elems) / sizeof(elems[0]) * (sizeof(caps) / sizeof(caps[0])));
	uint64_t budget_ns = (uint64_t)BUDGET_MS * 1000000 / (uint64_t)nconf, total = 0, waits = 0;
	uint64_t t0 = t_now_ns();
	int fds = t_fd_count(), i;

	for (i = 0; i < nconf; i++) {
		size_t esz = elems[i / 5][0], align = elems[i / 5][1];
		uint64_t cap = caps[i % 5], now = t_now_ns();
		/* i % 3 and (i / 3) % 5 walk through all 15 pairings in any 15 consecutive configs */
		int pm = i % SP_NMODES, cm = (i / SP_NMODES) % SC_NMODES;
		enum xs_shaq_format fmt = (enum xs_shaq_format)(i % XS_SHAQ_NFORMATS);
		int one_map = i < 15; /* 0..14 and 15..29 each hold all pairings */
		size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_SPSC, cap, esz, align);
		struct xs_spsc p, q;
		struct xs_shm shm;
		struct se_run pr, cr;
		pthread_t th;
		char name[160];

		if (one_map) {
			T_OK(xs_shm_create(&shm, "xs-test-stress", size, 0));
			T_OK(xs_spsc_attach_mem(&p, shm.base, size, esz, align, fmt, XS_SPSC_PRODUCER, 1));
			T_OK(xs_spsc_attach_mem(&q, shm.base, size, esz, align, fmt, XS_SPSC_CONSUMER, 0));
		} else {
			T_OK(xs_shm_create(&shm, "xs-test-stress", size, XS_SHM_NO_MAP));
			T_OK(xs_spsc_create(&p, shm.fd, size, esz, align, fmt, XS_SPSC_PRODUCER));
			T_OK(xs_spsc_join(&q, shm.fd, esz, align, fmt, XS_SPSC_CONSUMER));
			T_ASSERT(p.base != q.base);
		}
		T_EQ(xs_spsc_capacity(&q), cap);
		snprintf(name, sizeof(name), "elem %zu cap %llu, %s -> %s, %s, format %s", esz,
			 (unsigned long long)cap, se_prod_name[pm], se_cons_name[cm],
			 one_map ? "one mapping" : "two mappings", xs_shaq_format_name(fmt));

		memset(&pr, 0, sizeof(pr));
		pr.q = &p;
		pr.esz = esz;
		pr.cap = cap;
		pr.mode = pm;
		pr.max_items = MAX_ITEMS;
		pr.min_items = 4 * cap + 64; /* at least four trips round the ring */
		pr.deadline_ns = now + budget_ns;
		pr.hard_ns = now + (uint64_t)HARD_S * 1000000000ull;
		pr.salt = se_mix((uint64_t)i + 1);
		pr.seed = (uint64_t)i * 7919 + 1;
		pr.name = name;
		cr = pr;
		cr.q = &q;
		cr.mode = cm;
		cr.seed = (uint64_t)i * 104729 + 3;

		T_ASSERT(pthread_create(&th, NULL, prod_main, &pr) == 0);
		se_consumer(&cr);
		T_ASSERT(pthread_join(th, NULL) == 0);

		T_EQ(cr.items, pr.items);
		T_ASSERT(pr.items >= pr.min_items);
		total += cr.items;
		waits += pr.waits + cr.waits;
		xs_spsc_close(&p);
		xs_spsc_close(&q);
		xs_shm_detach(&shm);
	}
	T_EQ(t_fd_count(), fds);
	printf("test_spsc_stress: %d configurations, %llu elements in %.2f s, %llu full/empty waits\n",
	       nconf, (unsigned long long)total, (double)(t_now_ns() - t0) / 1e9,
	       (unsigned long long)waits);
	return 0;
}
