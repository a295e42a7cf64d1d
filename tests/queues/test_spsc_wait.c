/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xs_spsc_wait(), the consumer's paced waiting poll: returns
 * what poll() would, gives up after max_polls empty polls, returns NULL once
 * the producer corrupted the header, and carries a stream between two
 * threads (xs_spsc_try_push_sized per message, wait per message) in order
 * with nothing lost (bounded in count and time; run under TSan too).
 * Also xs_spsc_try_push_sized(): refuses a size other than the queue's,
 * publishes reserved-but-uncommitted slots as reserve+commit does.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xsched/spsc.h"

#define CAP  64
#define ESZ  40
#define MSGS 50000

struct qpair {
	struct xs_spsc p __attribute__((aligned(128)));
	struct xs_spsc c __attribute__((aligned(128)));
	uint8_t *mem;
	size_t size;
};

static void open_pair(struct qpair *q)
{
	q->size = xs_spsc_min_file_size(CAP, ESZ, 8);
	T_ASSERT(posix_memalign((void **)&q->mem, 4096, q->size) == 0);
	memset(q->mem, 0, q->size);
	T_OK(xs_spsc_attach_mem(&q->p, q->mem, q->size, ESZ, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1));
	T_OK(xs_spsc_attach_mem(&q->c, q->mem, q->size, ESZ, 8, XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0));
}

static void single_thread(void)
{
	struct qpair q;
	uint64_t m[ESZ / 8] = {0}, big[ESZ / 8 + 1] = {0};
	const uint64_t *got;
	int i;

	open_pair(&q);
	/* empty: gives up after max_polls, never blocks */
	T_ASSERT(xs_spsc_wait(&q.c, 1) == NULL);
	T_ASSERT(xs_spsc_wait(&q.c, 5) == NULL);
	T_EQ(xs_spsc_error(&q.c), 0);
	/* items: returned in order, same slots as poll() would give */
	for (i = 0; i < 3; i++) {
		m[0] = 100 + (uint64_t)i;
		T_OK(xs_spsc_try_push(&q.p, m));
	}
	for (i = 0; i < 3; i++) {
		got = xs_spsc_wait(&q.c, 1);
		T_ASSERT(got != NULL, "item %d", i);
		T_EQ(got[0], 100 + (uint64_t)i);
	}
	xs_spsc_finalize(&q.c);
	T_ASSERT(xs_spsc_wait(&q.c, 3) == NULL);
	/* what wait() took is released by finalize() as for poll(): the
	 * producer can fill the whole ring again */
	for (i = 0; i < CAP; i++)
		T_OK(xs_spsc_try_push(&q.p, m));
	T_ERR(xs_spsc_try_push(&q.p, m), -EAGAIN);
	for (i = 0; i < CAP; i++)
		T_ASSERT(xs_spsc_wait(&q.c, 1) != NULL);
	xs_spsc_finalize(&q.c);

	/* try_push_sized: wrong size copies nothing; it commits earlier
	 * reserved slots along with its own, as reserve + commit would */
	T_ERR(xs_spsc_try_push_sized(&q.p, big, ESZ + 8), -XS_EQ_ELEM);
	T_ERR(xs_spsc_try_push_sized(&q.p, big, ESZ - 8), -XS_EQ_ELEM);
	T_ASSERT(xs_spsc_wait(&q.c, 1) == NULL);
	memcpy(xs_spsc_reserve(&q.p), m, ESZ); /* reserved, not committed */
	T_ASSERT(xs_spsc_wait(&q.c, 1) == NULL);
	m[0] = 7;
	T_OK(xs_spsc_try_push_sized(&q.p, m, ESZ));
	T_ASSERT(xs_spsc_wait(&q.c, 1) != NULL);
	got = xs_spsc_wait(&q.c, 1);
	T_ASSERT(got != NULL);
	T_EQ(got[0], 7);
	xs_spsc_finalize(&q.c);

	/* corrupt header: NULL at once (even with max_polls 0), sticky error */
	__atomic_store_n(&((struct xs_spsc_shm *)q.mem)->write, q.c.pos + 3 * CAP,
			 __ATOMIC_RELEASE);
	T_ASSERT(xs_spsc_wait(&q.c, 0) == NULL);
	T_EQ(xs_spsc_error(&q.c), -XS_EQ_CORRUPT);
	free(q.mem);
}

struct stream {
	struct qpair q;
	uint64_t deadline_ns;
	int timed_out;
};

static void *producer(void *arg)
{
	struct stream *s = arg;
	uint64_t m[ESZ / 8] = {0}, i;

	for (i = 0; i < MSGS; i++) {
		void *slot;

		m[0] = i;
		m[4] = ~i;
		if (i & 1) { /* alternate the two ways of pushing */
			while (!(slot = xs_spsc_reserve(&s->q.p))) {
				if (t_now_ns() > s->deadline_ns)
					goto timeout;
				xs_cpu_relax();
			}
			memcpy(slot, m, ESZ);
			xs_spsc_commit(&s->q.p);
			continue;
		}
		while (xs_spsc_try_push_sized(&s->q.p, m, ESZ) == -EAGAIN) {
			if (t_now_ns() > s->deadline_ns)
				goto timeout;
			xs_cpu_relax();
		}
	}
	return NULL;
timeout:
	__atomic_store_n(&s->timed_out, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void stream_two_threads(void)
{
	struct stream *s;
	pthread_t th;
	uint64_t i;

	T_ASSERT(posix_memalign((void **)&s, 128, sizeof(*s)) == 0);
	memset(s, 0, sizeof(*s));
	open_pair(&s->q);
	s->deadline_ns = t_now_ns() + 20ull * 1000 * 1000 * 1000;
	T_ASSERT(pthread_create(&th, NULL, producer, s) == 0);
	for (i = 0; i < MSGS; i++) {
		const uint64_t *got;

		/* bounded waits, so that a stuck producer fails the test */
		while (!(got = xs_spsc_wait(&s->q.c, 1u << 16))) {
			T_EQ(xs_spsc_error(&s->q.c), 0);
			T_ASSERT(!__atomic_load_n(&s->timed_out, __ATOMIC_RELAXED) &&
					 t_now_ns() < s->deadline_ns,
				 "stream stuck at %llu", (unsigned long long)i);
		}
		T_EQ(got[0], i);
		T_EQ(got[4], ~i);
		if ((i & 7) == 7)
			xs_spsc_finalize(&s->q.c);
	}
	xs_spsc_finalize(&s->q.c);
	pthread_join(th, NULL);
	T_ASSERT(!s->timed_out);
	T_ASSERT(xs_spsc_wait(&s->q.c, 2) == NULL);
	free(s->q.mem);
	free(s);
}

int main(void)
{
	single_thread();
	stream_two_threads();
	return 0;
}
