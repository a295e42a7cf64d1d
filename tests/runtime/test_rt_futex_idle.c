/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the XS_IDLE_FUTEX idle strategy. Reactors whose lthreads
 * consume shaq 3.0 queues registered with xs_rt_lthread_wait_on() go to
 * sleep on the queues' futex words when idle and are woken by the
 * producer's publications: one reactor on one SPSC queue (FUTEX_WAIT),
 * one on an MPMC queue and an SPSC queue (FUTEX_WAITV). Their sleep bound
 * (backoff_max_us) is set to 30 s, so an item that arrives within the 10 s
 * liveness bound proves a wake (no timing is asserted beyond "not lost").
 * A reactor whose queue has no waiters line (format 2.0) backs off instead
 * and stops promptly; waiters are all back to 0 after the reactors end;
 * registration errors; "--idle futex" parses.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/mpmc.h"
#include "xsched/runtime.h"
#include "xsched/spsc.h"

#define ROUNDS 12
#define LIVE_NS (10ull * 1000000000ull)

struct elem16 {
	uint64_t a, b;
};

struct cons {
	struct xs_spsc *s; /* one of the two */
	struct xs_mpmc *m;
	uint64_t want;     /* items, then XS_RT_DONE */
	_Atomic uint64_t got;
	_Atomic int bad;
};

static int cons_poll(void *arg)
{
	struct cons *c = arg;
	uint64_t n = atomic_load_explicit(&c->got, memory_order_relaxed);
	struct elem16 e;
	int rc = c->s ? xs_spsc_try_pop(c->s, &e) : xs_mpmc_try_pop(c->m, &e);

	if (rc == -EAGAIN)
		return 0;
	if (rc || e.a != n || e.b != ~n) {
		atomic_store_explicit(&c->bad, 1, memory_order_relaxed);
		return -EIO;
	}
	atomic_store_explicit(&c->got, n + 1, memory_order_release);
	return n + 1 == c->want ? XS_RT_DONE : 1;
}

static void wait_got(struct cons *c, uint64_t n, const char *what)
{
	uint64_t t0 = t_now_ns();

	while (atomic_load_explicit(&c->got, memory_order_acquire) < n) {
		T_ASSERT(!atomic_load_explicit(&c->bad, memory_order_relaxed), "(%s: bad item)", what);
		if (t_now_ns() - t0 > LIVE_NS)
			t_fail(__FILE__, __LINE__, "%s: item %llu not taken in 10 s: the wake was lost",
			       what, (unsigned long long)n);
		usleep(200);
	}
}

static uint8_t *queue_mem(void)
{
	uint8_t *m = aligned_alloc(4096, 4096);

	T_ASSERT(m != NULL);
	memset(m, 0, 4096);
	return m;
}

static void futex_reactors(void)
{
	struct xs_rt_params p;
	struct xs_rt *rt;
	uint8_t *m1 = queue_mem(), *m2 = queue_mem(), *m3 = queue_mem();
	struct xs_spsc p1, c1, p3, c3;
	struct xs_mpmc p2, c2;
	struct cons k1 = { .s = &c1, .want = ROUNDS }, k2 = { .m = &c2, .want = ROUNDS },
		    k3 = { .s = &c3, .want = ROUNDS };
	struct xs_lthread_spec sp = { .poll = cons_poll };
	struct xs_shaq_waitref w;
	struct xs_reactor_info ia, ib;
	int ra, rb, l1, l2, l3;

	T_OK(xs_spsc_attach_mem(&p1, m1, 1024, 16, 8, XS_SHAQ_3_0, XS_SPSC_PRODUCER, 1));
	T_OK(xs_spsc_attach_mem(&c1, m1, 1024, 16, 8, XS_SHAQ_3_0, XS_SPSC_CONSUMER, 0));
	T_OK(xs_mpmc_attach_mem(&p2, m2, 1024, 16, 8, XS_SHAQ_3_0, XS_MPMC_PRODUCER, 1));
	T_OK(xs_mpmc_attach_mem(&c2, m2, 1024, 16, 8, XS_SHAQ_3_0, XS_MPMC_CONSUMER, 0));
	T_OK(xs_spsc_attach_mem(&p3, m3, 1024, 16, 8, XS_SHAQ_3_0, XS_SPSC_PRODUCER, 1));
	T_OK(xs_spsc_attach_mem(&c3, m3, 1024, 16, 8, XS_SHAQ_3_0, XS_SPSC_CONSUMER, 0));

	xs_rt_params_init(&p);
	p.idle = XS_IDLE_FUTEX;
	p.pin = XS_RT_PIN_NONE;
	p.spin_rounds = 16;
	p.backoff_max_us = 30u * 1000000u; /* a lost wake would take this long */
	T_OK(xs_rt_create(&rt, &p));
	T_OK(ra = xs_rt_add_reactor(rt, "xs-fx-a", -1, -1));
	T_OK(rb = xs_rt_add_reactor(rt, "xs-fx-b", -1, -1));
	sp.arg = &k1;
	T_OK(l1 = xs_rt_add_lthread(rt, ra, &sp));
	sp.arg = &k2;
	T_OK(l2 = xs_rt_add_lthread(rt, rb, &sp));
	sp.arg = &k3;
	T_OK(l3 = xs_rt_add_lthread(rt, rb, &sp));
	T_ERR(xs_spsc_waitref(&p1, &w), -XS_EQ_ROLE);
	T_OK(xs_spsc_waitref(&c1, &w));
	T_ERR(xs_rt_lthread_wait_on(rt, 99, &w), -EINVAL);
	T_OK(xs_rt_lthread_wait_on(rt, l1, &w));
	T_OK(xs_mpmc_waitref(&c2, &w));
	T_OK(xs_rt_lthread_wait_on(rt, l2, &w));
	T_OK(xs_spsc_waitref(&c3, &w));
	T_OK(xs_rt_lthread_wait_on(rt, l3, &w));
	T_OK(xs_rt_start(rt));
	T_ERR(xs_rt_lthread_wait_on(rt, l3, &w), -XS_ERT_STATE);

	for (uint64_t k = 0; k < ROUNDS; k++) {
		struct elem16 e = { k, ~k };

		usleep(3000); /* long enough for the reactors to go to sleep */
		T_OK(xs_spsc_try_push(&p1, &e));
		wait_got(&k1, k + 1, "spsc reactor (FUTEX_WAIT)");
		if (k & 1) {
			T_OK(xs_mpmc_try_push(&p2, &e));
			wait_got(&k2, k + 1, "mpmc of the two-queue reactor (FUTEX_WAITV)");
			T_OK(xs_spsc_try_push(&p3, &e));
			wait_got(&k3, k + 1, "spsc of the two-queue reactor (FUTEX_WAITV)");
		} else {
			T_OK(xs_spsc_try_push(&p3, &e));
			wait_got(&k3, k + 1, "spsc of the two-queue reactor (FUTEX_WAITV)");
			T_OK(xs_mpmc_try_push(&p2, &e));
			wait_got(&k2, k + 1, "mpmc of the two-queue reactor (FUTEX_WAITV)");
		}
	}
	/* every lthread returned XS_RT_DONE: the reactors end without xs_rt_stop() */
	T_OK(xs_rt_join(rt));
	T_OK(xs_rt_reactor_info(rt, ra, &ia));
	T_OK(xs_rt_reactor_info(rt, rb, &ib));
	T_EQ(ia.idle, XS_IDLE_FUTEX);
	T_ASSERT(ia.sleeps > 0 && ib.sleeps > 0, "(sleeps %llu / %llu: never slept)",
		 (unsigned long long)ia.sleeps, (unsigned long long)ib.sleeps);
	T_EQ(*c1.waiters, 0);
	T_EQ(*c2.waiters, 0);
	T_EQ(*c3.waiters, 0);
	printf("futex reactors: %d items each through 3 queues; sleeps %llu (1 queue) and %llu "
	       "(2 queues)\n", ROUNDS, (unsigned long long)ia.sleeps, (unsigned long long)ib.sleeps);
	xs_rt_destroy(rt);
	free(m1);
	free(m2);
	free(m3);
}

static void fallback(void)
{
	struct xs_rt_params p;
	struct xs_rt *rt;
	uint8_t *m = queue_mem();
	struct xs_spsc pr, c;
	struct cons k = { .s = &c, .want = 1000000 };
	struct xs_lthread_spec sp = { .poll = cons_poll, .arg = &k };
	struct xs_shaq_waitref w;
	struct elem16 e = { 0, ~0ull };
	uint64_t t0;
	int r, l;

	T_OK(xs_spsc_attach_mem(&pr, m, 1024, 16, 8, XS_SHAQ_2_0, XS_SPSC_PRODUCER, 1));
	T_OK(xs_spsc_attach_mem(&c, m, 1024, 16, 8, XS_SHAQ_2_0, XS_SPSC_CONSUMER, 0));
	T_ERR(xs_spsc_waitref(&c, &w), -EOPNOTSUPP);
	xs_rt_params_init(&p);
	p.idle = XS_IDLE_FUTEX;
	p.pin = XS_RT_PIN_NONE;
	p.spin_rounds = 16;
	T_OK(xs_rt_create(&rt, &p));
	T_OK(r = xs_rt_add_reactor(rt, "xs-fx-c", -1, -1));
	T_OK(l = xs_rt_add_lthread(rt, r, &sp));
	w.waiters = NULL; /* a queue nobody wakes: back off */
	w.cursor = c.wr;
	T_OK(xs_rt_lthread_wait_on(rt, l, &w));
	T_OK(xs_rt_start(rt));
	usleep(3000);
	T_OK(xs_spsc_try_push(&pr, &e));
	wait_got(&k, 1, "format 2.0 queue, backoff");
	t0 = t_now_ns();
	xs_rt_stop(rt);
	T_OK(xs_rt_join(rt));
	T_ASSERT(t_now_ns() - t0 < LIVE_NS, "(stop not noticed)");
	xs_rt_destroy(rt);
	free(m);
}

int main(void)
{
	T_EQ(xs_idle_parse("futex"), XS_IDLE_FUTEX);
	T_ASSERT(!strcmp(xs_idle_name(XS_IDLE_FUTEX), "futex"));
	futex_reactors();
	fallback();
	return 0;
}
