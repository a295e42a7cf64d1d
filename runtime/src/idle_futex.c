/* SPDX-License-Identifier: Apache-2.0 */
/* XS_IDLE_FUTEX: reactors sleeping on the futex words of the queues their
 * lthreads consume (see idle_futex.h for the protocol). */
#include "idle_futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "xsched/common.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* the same number on every architecture */
#endif

struct fx_reg {
	int reactor, lt;
	struct xs_shaq_waitref ref;
};

struct xs__fx {
	int n, cap;
	struct fx_reg r[];
};

int xs__fx_add(struct xs__fx **fx, int reactor, int lt, const struct xs_shaq_waitref *ref)
{
	struct xs__fx *f = *fx;

	if (!f || f->n == f->cap) {
		int cap = f ? 2 * f->cap : 8;
		struct xs__fx *g = realloc(f, sizeof(*g) + sizeof(g->r[0]) * (size_t)cap);

		if (!g)
			return -ENOMEM;
		if (!f)
			g->n = 0;
		g->cap = cap;
		*fx = f = g;
	}
	f->r[f->n++] = (struct fx_reg){ reactor, lt, *ref };
	return 0;
}

void xs__fx_free(struct xs__fx *fx)
{
	free(fx);
}

/* Is FUTEX_WAITV there? An empty vector is refused with EINVAL when it is,
 * ENOSYS when not (Linux < 5.16). */
static int have_waitv(void)
{
	return syscall(SYS_futex_waitv, NULL, 0, 0, NULL, 0) < 0 && errno != ENOSYS;
}

struct xs__fidle *xs__fidle_build(const struct xs__fx *fx, int reactor, int *err)
{
	struct xs__fidle *f;
	struct futex_waitv *v;
	int nq = 0;

	*err = 0;
	for (int i = 0; fx && i < fx->n; i++) {
		if (fx->r[i].reactor != reactor)
			continue;
		if (!fx->r[i].ref.waiters || !fx->r[i].ref.cursor)
			return NULL; /* a queue nobody wakes: back off */
		nq++;
	}
	if (!nq || nq > FUTEX_WAITV_MAX)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (f) {
		f->waiters = calloc((size_t)nq, sizeof(*f->waiters));
		f->cursor = calloc((size_t)nq, sizeof(*f->cursor));
		f->snap = calloc((size_t)nq, sizeof(*f->snap));
		f->vec = calloc((size_t)nq, sizeof(struct futex_waitv));
	}
	if (!f || !f->waiters || !f->cursor || !f->snap || !f->vec) {
		xs__fidle_free(f);
		*err = -ENOMEM;
		return NULL;
	}
	v = f->vec;
	for (int i = 0; i < fx->n; i++) {
		if (fx->r[i].reactor != reactor)
			continue;
		f->waiters[f->nq] = fx->r[i].ref.waiters;
		f->cursor[f->nq] = fx->r[i].ref.cursor;
		/* the low half of the little-endian cursor; shared (not
		 * FUTEX2_PRIVATE): the producers are other processes */
		v[f->nq].uaddr = (uint64_t)(uintptr_t)fx->r[i].ref.cursor;
		v[f->nq].flags = FUTEX_32;
		f->nq++;
	}
	f->waitv = f->nq == 1 || have_waitv();
	if (!f->waitv) { /* several queues and no FUTEX_WAITV: back off */
		xs__fidle_free(f);
		return NULL;
	}
	return f;
}

void xs__fidle_free(struct xs__fidle *f)
{
	if (!f)
		return;
	free(f->waiters);
	free(f->cursor);
	free(f->snap);
	free(f->vec);
	free(f);
}

static void arm(struct xs__fidle *f)
{
	for (int i = 0; i < f->nq; i++)
		__atomic_fetch_add(f->waiters[i], 1, __ATOMIC_RELAXED);
	/* Orders the increments before the cursor loads (the snapshots here
	 * and the polls of the next round); pairs with the producers' fence
	 * between their cursor store and their waiters load
	 * (xs__shaq_wake_check()). */
	XS__SHAQ_FENCE_SC();
	for (int i = 0; i < f->nq; i++)
		f->snap[i] = (uint32_t)__atomic_load_n(f->cursor[i], __ATOMIC_ACQUIRE);
	f->armed = 1;
}

void xs__fidle_disarm(struct xs__fidle *f)
{
	if (!f->armed)
		return;
	for (int i = 0; i < f->nq; i++)
		__atomic_fetch_sub(f->waiters[i], 1, __ATOMIC_ACQ_REL);
	f->armed = 0;
}

int xs__fidle_step(struct xs__fidle *f, uint64_t timeout_ns)
{
	struct timespec ts;

	if (!f->armed) {
		arm(f);
		return 0; /* the next round is the re-check */
	}
	if (f->nq == 1) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
		ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
		syscall(SYS_futex, (uint32_t *)(void *)f->cursor[0], FUTEX_WAIT, f->snap[0], &ts,
			NULL, 0);
	} else {
		struct futex_waitv *v = f->vec;
		uint64_t t;

		for (int i = 0; i < f->nq; i++)
			v[i].val = f->snap[i];
		clock_gettime(CLOCK_MONOTONIC, &ts); /* FUTEX_WAITV takes an absolute time */
		t = (uint64_t)ts.tv_nsec + timeout_ns % 1000000000ull;
		ts.tv_sec += (time_t)(timeout_ns / 1000000000ull + t / 1000000000ull);
		ts.tv_nsec = (long)(t % 1000000000ull);
		syscall(SYS_futex_waitv, v, (unsigned)f->nq, 0, &ts, CLOCK_MONOTONIC);
	}
	/* woken, a word changed (EAGAIN), timed out or interrupted: all mean
	 * "poll again" */
	xs__fidle_disarm(f);
	return 1;
}
