/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ownership ledger: every transition of the state machine, every refusal
 * with its own error, range and alignment checks, counts, and concurrent
 * use by several threads (each thread moves its own allocations; all of
 * them also race on shared ones, and exactly one wins each race).
 */
#include "testutil.h"
#include "xsched/guard.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#define BASE  (2u * 1024 * 1024)
#define END   (BASE + 64u * 1024)
#define UNIT  XS_LEDGER_UNIT

static void transitions(void)
{
	struct xs_ledger l;
	uint64_t a = BASE, b = BASE + 5 * UNIT, last = END - UNIT;

	T_ERR(xs_ledger_init(&l, BASE + 1, END), -EINVAL);
	T_ERR(xs_ledger_init(&l, END, BASE), -EINVAL);
	T_OK(xs_ledger_init(&l, BASE, END));
	T_EQ(xs_ledger_count(&l, XS_LEDGER_NEVER), (END - BASE) / UNIT);

	/* range and alignment */
	T_ERR(xs_ledger_take(&l, BASE - UNIT), -XS_EMSG_NOT_SLOT);
	T_ERR(xs_ledger_take(&l, END), -XS_EMSG_NOT_SLOT);
	T_ERR(xs_ledger_take(&l, BASE + 16), -XS_EMSG_NOT_SLOT);
	T_ERR(xs_ledger_take(&l, UINT64_MAX), -XS_EMSG_NOT_SLOT);
	T_ERR(xs_ledger_state(&l, END), -XS_EMSG_NOT_SLOT);

	/* never held: free, lend, unlend refused */
	T_ERR(xs_ledger_release(&l, a), -XS_EMSG_NOT_OWNED);
	T_ERR(xs_ledger_lend(&l, a), -XS_EMSG_NOT_OWNED);
	T_ERR(xs_ledger_unlend(&l, a), -XS_EMSG_NOT_LENT);
	T_EQ(xs_ledger_state(&l, a), XS_LEDGER_NEVER);

	/* take, take again (the peer handed it over twice) */
	T_OK(xs_ledger_take(&l, a));
	T_EQ(xs_ledger_state(&l, a), XS_LEDGER_HELD);
	T_ERR(xs_ledger_take(&l, a), -XS_EMSG_OWNED_TWICE);
	T_ASSERT(strstr(xs_errmsg(), "held") != NULL, "%s", xs_errmsg());
	T_ERR(xs_ledger_unlend(&l, a), -XS_EMSG_NOT_LENT);

	/* lend: no free, no second lend, no take while out */
	T_OK(xs_ledger_lend(&l, a));
	T_EQ(xs_ledger_state(&l, a), XS_LEDGER_LENT);
	T_ERR(xs_ledger_release(&l, a), -XS_EMSG_LENT);
	T_ERR(xs_ledger_lend(&l, a), -XS_EMSG_LENT);
	T_ERR(xs_ledger_take(&l, a), -XS_EMSG_OWNED_TWICE);
	T_OK(xs_ledger_unlend(&l, a));
	T_ERR(xs_ledger_unlend(&l, a), -XS_EMSG_NOT_LENT); /* a replayed response */

	/* release, then double free */
	T_OK(xs_ledger_release(&l, a));
	T_EQ(xs_ledger_state(&l, a), XS_LEDGER_RELEASED);
	T_ERR(xs_ledger_release(&l, a), -XS_EMSG_DOUBLE_FREE);
	T_ASSERT(strstr(xs_errmsg(), "already released") != NULL, "%s", xs_errmsg());
	T_ERR(xs_ledger_lend(&l, a), -XS_EMSG_DOUBLE_FREE);
	/* reallocated: held again */
	T_OK(xs_ledger_take(&l, a));
	T_OK(xs_ledger_release(&l, a));

	/* neighbours are independent, last unit works */
	T_OK(xs_ledger_take(&l, b));
	T_OK(xs_ledger_take(&l, b + UNIT));
	T_OK(xs_ledger_take(&l, last));
	T_EQ(xs_ledger_state(&l, b - UNIT), XS_LEDGER_NEVER);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_HELD), 3);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_RELEASED), 1);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_NEVER), (END - BASE) / UNIT - 4);
	xs_ledger_fini(&l);
	xs_ledger_fini(&l); /* twice is fine */

	/* a range that is not a whole number of 32-unit words */
	T_OK(xs_ledger_init(&l, BASE, BASE + 33 * UNIT));
	T_OK(xs_ledger_take(&l, BASE + 32 * UNIT));
	T_ERR(xs_ledger_take(&l, BASE + 33 * UNIT), -XS_EMSG_NOT_SLOT);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_NEVER), 32);
	xs_ledger_fini(&l);
}

enum { NTHR = 4, ROUNDS = 20000, PRIV = 32 };

struct worker {
	struct xs_ledger *l;
	int id;
	uint64_t wins, refusals;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
	int i;

	for (i = 0; i < ROUNDS; i++) {
		/* private units: every step must succeed */
		uint64_t mine = BASE + (uint64_t)(w->id * PRIV + (int)(t_rand(&rnd) % PRIV)) * UNIT;
		/* shared unit 0 of the last word, contended by everyone */
		uint64_t shared = END - UNIT * (1 + t_rand(&rnd) % 2);

		T_OK(xs_ledger_take(w->l, mine));
		T_OK(xs_ledger_lend(w->l, mine));
		T_OK(xs_ledger_unlend(w->l, mine));
		T_OK(xs_ledger_release(w->l, mine));
		/* contended: take succeeds for one thread only until it releases */
		if (xs_ledger_take(w->l, shared) == 0) {
			w->wins++;
			T_OK(xs_ledger_release(w->l, shared));
		} else {
			w->refusals++;
		}
	}
	return NULL;
}

static void concurrent(void)
{
	struct xs_ledger l;
	struct worker w[NTHR];
	pthread_t t[NTHR];
	uint64_t wins = 0;
	int i;

	T_OK(xs_ledger_init(&l, BASE, END));
	for (i = 0; i < NTHR; i++) {
		w[i] = (struct worker){.l = &l, .id = i};
		T_ASSERT(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
	}
	for (i = 0; i < NTHR; i++) {
		T_ASSERT(pthread_join(t[i], NULL) == 0);
		wins += w[i].wins;
	}
	T_ASSERT(wins > 0);
	/* every unit touched ends RELEASED; nothing is held */
	T_EQ(xs_ledger_count(&l, XS_LEDGER_HELD), 0);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_LENT), 0);
	xs_ledger_fini(&l);
}

int main(void)
{
	transitions();
	concurrent();
	printf("test_ledger: ok\n");
	return 0;
}
