/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stress elements and loops shared by test_spsc_stress (threads) and
 * test_spsc_xproc (processes).
 *
 * An element of esz bytes (16 <= esz, esz % 4 == 0) holds
 *   [0, 8)          sequence number (little endian; SE_END marks the end)
 *   [8, esz - 8)    filler derived from the sequence number and a salt
 *   [esz - 8, esz)  checksum of everything before it and the salt
 * so a lost, duplicated or reordered element shows in the sequence number and
 * a torn one (bytes of two different elements) in the checksum. The producer
 * sends max_items elements (fewer if its time budget runs out after
 * min_items), then one SE_END element; the consumer checks every element in
 * place, in the slot, before it releases the slot.
 */
#ifndef XS_TEST_STRESS_ELEM_H
#define XS_TEST_STRESS_ELEM_H

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "testutil.h"
#include "xsched/spsc.h"

#define SE_END UINT64_MAX
#define SE_MAX_ESZ 64

/* How the producer / consumer drive the queue. */
enum se_prod_mode { SP_PUSH, SP_BURST, SP_RESERVE, SP_NMODES };
enum se_cons_mode { SC_POP, SC_BURST, SC_READ, SC_POLL, SC_BLOCK, SC_NMODES };

static const char *const se_prod_name[] = { "try_push", "push_burst", "reserve/commit" };
static const char *const se_cons_name[] = { "try_pop", "pop_burst", "sync/try_read/finalize",
					    "poll/finalize", "wait_block/finalize" };

struct se_run {
	struct xs_spsc *q;
	size_t esz;
	uint64_t cap;
	int mode;             /* enum se_prod_mode or se_cons_mode */
	uint64_t max_items;   /* producer: stop after this many */
	uint64_t min_items;   /* producer: send at least this many, whatever the time */
	uint64_t deadline_ns; /* producer: stop (once min_items are sent) at this time */
	uint64_t hard_ns;     /* both: fail when still running at this time (a hang) */
	uint64_t salt, seed;
	const char *name;     /* configuration, for failure messages */
	/* results */
	uint64_t items;       /* producer: sent; consumer: received (without SE_END) */
	uint64_t waits;       /* producer: found full; consumer: found empty */
	uint64_t calls;       /* queue calls that moved at least one element */
};

static inline uint64_t se_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t se_sum(const uint8_t *e, size_t n, uint64_t salt)
{
	uint64_t h = 0xcbf29ce484222325ull ^ salt;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ e[i]) * 0x100000001b3ull;
	return h;
}

static inline void se_fill(uint8_t *e, size_t esz, uint64_t seq, uint64_t salt)
{
	uint64_t f = se_mix(seq ^ salt), sum;
	size_t i;

	memcpy(e, &seq, 8);
	for (i = 8; i < esz - 8; i++)
		e[i] = (uint8_t)(f >> ((i & 7) * 8)) ^ (uint8_t)i;
	sum = se_sum(e, esz - 8, salt);
	memcpy(e + esz - 8, &sum, 8);
}

/* Check one element in place; returns 1 when it is the end marker. */
static inline int se_check(struct se_run *r, const uint8_t *e)
{
	uint64_t seq, sum;

	memcpy(&seq, e, 8);
	memcpy(&sum, e + r->esz - 8, 8);
	if (sum != se_sum(e, r->esz - 8, r->salt))
		t_fail(__FILE__, __LINE__, "%s: torn element at #%llu (seq field %llu, checksum)",
		       r->name, (unsigned long long)r->items, (unsigned long long)seq);
	if (seq == SE_END)
		return 1;
	if (seq != r->items)
		t_fail(__FILE__, __LINE__, "%s: got seq %llu, expected %llu (%s)", r->name,
		       (unsigned long long)seq, (unsigned long long)r->items,
		       seq < r->items ? "duplicated or reordered" : "lost");
	{
		uint8_t want[SE_MAX_ESZ];

		se_fill(want, r->esz, seq, r->salt);
		if (memcmp(want, e, r->esz))
			t_fail(__FILE__, __LINE__, "%s: element %llu has wrong filler", r->name,
			       (unsigned long long)seq);
	}
	r->items++;
	return 0;
}

/* Nothing to do: relax, and give the core away now and then (the machine is
 * shared, the peer may not be running at all). */
static inline void se_wait(struct se_run *r, uint64_t *spins)
{
	r->waits++;
	if ((++*spins & 63) == 0) {
		sched_yield();
		if (t_now_ns() > r->hard_ns) {
			xs_spsc_dump(r->q, stderr);
			t_fail(__FILE__, __LINE__, "%s: no progress before the hard deadline "
				       "(%llu items)", r->name, (unsigned long long)r->items);
		}
	} else {
		xs_cpu_relax();
	}
}

static inline void se_no_error(struct se_run *r, int rc, const char *what)
{
	if (rc < 0 && rc != -EAGAIN) {
		xs_spsc_dump(r->q, stderr);
		t_fail(__FILE__, __LINE__, "%s: %s failed: %s (%s)", r->name, what, xs_strerror(rc),
		       xs_errmsg());
	}
	if (xs_spsc_error(r->q))
		t_fail(__FILE__, __LINE__, "%s: %s: queue marked corrupt: %s", r->name, what,
		       xs_errmsg());
}

static inline void se_producer(struct se_run *r)
{
	uint8_t *buf = malloc((2 * r->cap + 1) * r->esz);
	uint64_t seq = 0, spins = 0, iter = 0;

	T_ASSERT(buf != NULL);
	for (;; iter++) {
		uint64_t left = r->max_items - seq, k, i;

		if (!left || (seq >= r->min_items && (iter & 31) == 0 && t_now_ns() >= r->deadline_ns))
			break;
		switch (r->mode) {
		case SP_PUSH:
			se_fill(buf, r->esz, seq, r->salt);
			k = xs_spsc_try_push(r->q, buf) == 0;
			break;
		case SP_BURST:
			k = 1 + t_rand(&r->seed) % (2 * r->cap + 1);
			k = k < left ? k : left;
			for (i = 0; i < k; i++)
				se_fill(buf + i * r->esz, r->esz, seq + i, r->salt);
			k = xs_spsc_push_burst(r->q, buf, (size_t)k);
			break;
		default: /* SP_RESERVE: fill k slots in place, publish once */
			k = 1 + t_rand(&r->seed) % r->cap;
			k = k < left ? k : left;
			for (i = 0; i < k; i++) {
				uint8_t *slot = xs_spsc_reserve(r->q);

				if (!slot)
					break;
				se_fill(slot, r->esz, seq + i, r->salt);
			}
			xs_spsc_commit(r->q);
			k = i;
			break;
		}
		se_no_error(r, 0, se_prod_name[r->mode]);
		if (k) {
			seq += k;
			r->calls++;
			spins = 0;
		} else {
			se_wait(r, &spins);
		}
	}
	r->items = seq;
	/* the end marker */
	se_fill(buf, r->esz, SE_END, r->salt);
	while (xs_spsc_try_push(r->q, buf) != 0) {
		se_no_error(r, 0, "push end");
		se_wait(r, &spins);
	}
	free(buf);
}

static inline void se_consumer(struct se_run *r)
{
	uint8_t *buf = malloc((2 * r->cap + 1) * r->esz);
	uint64_t spins = 0, k, i;
	int end = 0;

	T_ASSERT(buf != NULL);
	while (!end) {
		const uint8_t *s;

		switch (r->mode) {
		case SC_POP:
			k = 0;
			if (xs_spsc_try_pop(r->q, buf) == 0) {
				k = 1;
				end = se_check(r, buf);
			}
			break;
		case SC_BURST:
			k = 1 + t_rand(&r->seed) % (2 * r->cap + 1);
			k = xs_spsc_pop_burst(r->q, buf, (size_t)k);
			for (i = 0; i < k && !end; i++) {
				end = se_check(r, buf + i * r->esz);
				if (end && i + 1 != k)
					t_fail(__FILE__, __LINE__, "%s: items after the end marker", r->name);
			}
			break;
		case SC_READ: /* upstream's model: sync, read all in place, finalize */
			se_no_error(r, xs_spsc_cons_sync(r->q), "cons_sync");
			for (k = 0; !end && (s = xs_spsc_try_read(r->q)) != NULL; k++)
				end = se_check(r, s);
			xs_spsc_finalize(r->q);
			break;
		case SC_BLOCK: /* sleep when empty (format 3.0: futex; others: short sleeps) */
			k = 0;
			s = xs_spsc_wait_block(r->q, 100000000ull);
			if (s) {
				end = se_check(r, s);
				xs_spsc_finalize(r->q);
				k = 1;
			} else if (t_now_ns() > r->hard_ns) {
				xs_spsc_dump(r->q, stderr);
				t_fail(__FILE__, __LINE__, "%s: consumer slept past the hard deadline",
				       r->name);
			}
			break;
		default: /* SC_POLL: up to a random number in place, then finalize */
			k = 1 + t_rand(&r->seed) % (2 * r->cap + 1);
			for (i = 0; i < k && !end && (s = xs_spsc_poll(r->q)) != NULL; i++)
				end = se_check(r, s);
			xs_spsc_finalize(r->q);
			k = i;
			break;
		}
		se_no_error(r, 0, se_cons_name[r->mode]);
		if (k) {
			r->calls++;
			spins = 0;
		} else {
			se_wait(r, &spins);
		}
	}
	/* The marker was the last element: nothing follows it. */
	if (xs_spsc_cons_sync(r->q) < 0 || xs_spsc_avail_cached(r->q) != 0)
		t_fail(__FILE__, __LINE__, "%s: elements after the end marker", r->name);
	free(buf);
}

#endif
