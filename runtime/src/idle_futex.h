/* SPDX-License-Identifier: Apache-2.0 */
/*
 * XS_IDLE_FUTEX (internal): a reactor whose lthreads registered the queues
 * they consume (xs_rt_lthread_wait_on()) sleeps on those queues' futex words
 * when idle, instead of spinning, yielding or backing off.
 *
 * The sleep follows shaq format 3.0's waiter protocol, with the reactor's
 * own poll round as the re-check:
 *   1. after spin_rounds idle rounds: arm = waiters += 1 on every registered
 *      queue, SeqCst fence, snapshot the low 32 bits of every publication
 *      cursor (Acquire);
 *   2. the next round polls every lthread again (the re-check: the poll
 *      functions load the cursors after the fence);
 *   3. still nothing: FUTEX_WAITV on all the words with their snapshots
 *      (FUTEX_WAIT when there is one queue; Linux >= 5.16 for more), at most
 *      backoff_max_us so that xs_rt_stop() is noticed; then disarm
 *      (waiters -= 1, AcqRel) and poll.
 * Any round with work disarms at once. A producer that publishes between
 * the snapshot and the wait changes the word, so the wait returns at once;
 * one that published before the snapshot was seen by the re-check.
 * A reactor with nothing registered, a registered queue without a waiters
 * line (format < 3.0), more than FUTEX_WAITV_MAX queues, or a kernel without
 * FUTEX_WAITV (several queues) backs off instead (XS_IDLE_BACKOFF).
 */
#ifndef XS_IDLE_FUTEX_H
#define XS_IDLE_FUTEX_H

#include <stdint.h>

#include "xsched/shaq.h"

/* Registrations of a runtime (before start). */
struct xs__fx;

/* One reactor's sleeper, built at start. */
struct xs__fidle {
	int armed;  /* waiters incremented, snapshots taken */
	int nq;
	int waitv;  /* 1: FUTEX_WAITV usable (or one queue) */
	uint64_t **waiters;
	uint64_t **cursor;
	uint32_t *snap;
	void *vec;  /* struct futex_waitv[nq] */
};

/* Record that lthread @p lt, on reactor @p reactor, consumes the queue
 * @p ref (ref->waiters NULL: a queue nobody wakes). @return 0, -ENOMEM. */
int xs__fx_add(struct xs__fx **fx, int reactor, int lt, const struct xs_shaq_waitref *ref);
void xs__fx_free(struct xs__fx *fx);

/* The sleeper of reactor @p reactor, or NULL when it must back off instead
 * (nothing registered, a queue without waiters line, too many queues).
 * *err = -ENOMEM on allocation failure (then NULL). */
struct xs__fidle *xs__fidle_build(const struct xs__fx *fx, int reactor, int *err);
void xs__fidle_free(struct xs__fidle *f);

/* Idle step after spin_rounds idle rounds: arms (returns 0: poll once more)
 * or, when armed, sleeps at most @p timeout_ns and disarms (returns 1). */
int xs__fidle_step(struct xs__fidle *f, uint64_t timeout_ns);

/* Unregister (waiters -= 1 on every queue) if armed. */
void xs__fidle_disarm(struct xs__fidle *f);

/* A round found work: disarm if armed (one test of a flag otherwise). */
static inline void xs__fidle_work(struct xs__fidle *f)
{
	if (__builtin_expect(f->armed, 0))
		xs__fidle_disarm(f);
}

#endif /* XS_IDLE_FUTEX_H */
