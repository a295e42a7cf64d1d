/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MPMC stress loops shared by test_mpmc_threads (threads, TSan) and
 * test_mpmc_xproc (processes).
 *
 * Element of esz bytes (24 <= esz <= 64, esz % 8 == 0):
 *   [0, 8)          producer id << 48 | sequence number
 *   [8, esz - 8)    filler derived from both and the salt
 *   [esz - 8, esz)  checksum of everything before it
 * Every consumer checks each element (in the slot for the zero-copy calls),
 * that the sequence numbers of each producer only grow in what it receives
 * (per-producer order), and counts it in a shared table `seen` (one byte per
 * (producer, sequence)): at the end every count must be exactly 1.
 * Each loop picks its calls at random among every API of the queue: try_push,
 * push_n, reserve_write/publish; try_pop, pop_n, reserve_read/release and
 * pop_block (futex sleeps in format 3.0).
 */
#ifndef XS_TEST_MPMC_STRESS_H
#define XS_TEST_MPMC_STRESS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress_elem.h" /* se_mix, se_sum */
#include "testutil.h"
#include "xsched/mpmc.h"

#define MS_MAXP 8
#define MS_MAXESZ 64
#define MS_BATCH 16

struct ms_shared {
	uint64_t consumed; /* atomic: elements checked by all consumers */
	uint64_t total;    /* elements all producers send */
	uint64_t per[MS_MAXP];
	uint64_t seen_off[MS_MAXP]; /* start of producer p's counters in seen[] */
	uint8_t seen[];    /* one counter per element */
};

struct ms_run {
	struct xs_mpmc *q;
	struct ms_shared *sh;
	size_t esz;
	int id;               /* producer id (producers) */
	int nprod;
	unsigned block_every; /* consumers: one call in this many is pop_block (0: never) */
	uint64_t salt, seed;
	uint64_t hard_ns;
	const char *name;
	/* results */
	uint64_t items, calls, waits, stalls, blocks;
	uint64_t last[MS_MAXP]; /* consumer: last sequence + 1 seen per producer */
};

static inline void ms_fill(uint8_t *e, size_t esz, int id, uint64_t seq, uint64_t salt)
{
	uint64_t tag = (uint64_t)id << 48 | seq, f = se_mix(tag ^ salt), sum;

	memcpy(e, &tag, 8);
	for (size_t i = 8; i < esz - 8; i++)
		e[i] = (uint8_t)(f >> (8 * (i % 8)));
	sum = se_sum(e, esz - 8, salt);
	memcpy(e + esz - 8, &sum, 8);
}

static inline void ms_check(struct ms_run *r, const uint8_t *e)
{
	uint64_t tag, sum, seq;
	int id;

	memcpy(&tag, e, 8);
	memcpy(&sum, e + r->esz - 8, 8);
	id = (int)(tag >> 48);
	seq = tag & ((1ull << 48) - 1);
	if (sum != se_sum(e, r->esz - 8, r->salt) || id >= r->nprod || seq >= r->sh->per[id]) {
		xs_mpmc_dump(r->q, stderr);
		t_fail(__FILE__, __LINE__, "%s: torn or foreign element (producer %d, seq %llu)",
		       r->name, id, (unsigned long long)seq);
	}
	if (seq < r->last[id]) {
		xs_mpmc_dump(r->q, stderr);
		t_fail(__FILE__, __LINE__, "%s: producer %d's seq %llu after %llu: order lost", r->name,
		       id, (unsigned long long)seq, (unsigned long long)r->last[id] - 1);
	}
	r->last[id] = seq + 1;
	__atomic_fetch_add(&r->sh->seen[r->sh->seen_off[id] + seq], 1, __ATOMIC_RELAXED);
	r->items++;
}

static inline void ms_fail_rc(struct ms_run *r, int rc, const char *what)
{
	xs_mpmc_dump(r->q, stderr);
	t_fail(__FILE__, __LINE__, "%s: %s: %s (%s)", r->name, what, xs_strerror(rc), xs_errmsg());
}

/* Nothing moved: relax, yield often (more threads than cores), and fail
 * at the hard deadline. */
static inline void ms_wait(struct ms_run *r, uint64_t *spins)
{
	r->waits++;
	if ((++*spins & 15) == 0) {
		sched_yield();
		if (t_now_ns() > r->hard_ns) {
			xs_mpmc_dump(r->q, stderr);
			t_fail(__FILE__, __LINE__, "%s: no progress before the hard deadline (%llu items)",
			       r->name, (unsigned long long)r->items);
		}
	} else {
		xs_cpu_relax();
	}
}

static inline void ms_producer(struct ms_run *r)
{
	uint8_t buf[MS_BATCH * MS_MAXESZ];
	uint64_t seq = 0, per = r->sh->per[r->id], cap = xs_mpmc_capacity(r->q), spins = 0;
	int rc;

	while (seq < per) {
		uint64_t left = per - seq, k = 1 + t_rand(&r->seed) % MS_BATCH;
		uint64_t pos;

		k = k < left ? k : left;
		k = k < cap ? k : cap;
		switch (t_rand(&r->seed) % 3) {
		case 0:
			k = 1;
			ms_fill(buf, r->esz, r->id, seq, r->salt);
			rc = xs_mpmc_try_push(r->q, buf);
			break;
		case 1:
			for (uint64_t i = 0; i < k; i++)
				ms_fill(buf + i * r->esz, r->esz, r->id, seq + i, r->salt);
			rc = xs_mpmc_push_n(r->q, buf, (uint32_t)k);
			break;
		default:
			rc = xs_mpmc_reserve_write(r->q, (uint32_t)k, &pos);
			if (rc)
				break;
			for (uint64_t i = 0; i < k; i++)
				ms_fill(xs_mpmc_slot(r->q, pos + i), r->esz, r->id, seq + i, r->salt);
			rc = xs_mpmc_publish(r->q);
			if (rc == -XS_EQ_STALLED)
				rc = 0; /* taken; the publication is outstanding */
			break;
		}
		if (rc == 0) {
			seq += k;
			r->calls++;
			spins = 0;
		} else if (rc == -EAGAIN || rc == -XS_EQ_STALLED) {
			r->stalls += rc == -XS_EQ_STALLED;
			ms_wait(r, &spins);
		} else {
			ms_fail_rc(r, rc, "push");
		}
	}
	r->items = seq;
	while ((rc = xs_mpmc_flush(r->q)) == -XS_EQ_STALLED)
		ms_wait(r, &spins);
	if (rc)
		ms_fail_rc(r, rc, "flush");
}

static inline void ms_consumer(struct ms_run *r)
{
	uint8_t buf[MS_BATCH * MS_MAXESZ];
	uint64_t spins = 0;
	int rc;

	while (__atomic_load_n(&r->sh->consumed, __ATOMIC_ACQUIRE) < r->sh->total) {
		uint64_t pos, k = 0;
		uint32_t n;

		unsigned pick = (unsigned)(t_rand(&r->seed) % 1024);

		if (r->block_every && pick % r->block_every == 0)
			pick = 3;
		else
			pick %= 3;
		switch (pick) {
		case 0:
			rc = xs_mpmc_try_pop(r->q, buf);
			k = rc == 0;
			break;
		case 1:
			rc = xs_mpmc_pop_n(r->q, buf, 1 + (uint32_t)(t_rand(&r->seed) % MS_BATCH));
			k = rc > 0 ? (uint64_t)rc : 0;
			rc = rc > 0 ? 0 : rc;
			break;
		case 2:
			rc = xs_mpmc_reserve_read(r->q, 1 + (uint32_t)(t_rand(&r->seed) % MS_BATCH), &pos,
						  &n);
			if (rc)
				break;
			for (uint32_t i = 0; i < n; i++) /* checked in the slot */
				ms_check(r, xs_mpmc_slot(r->q, pos + i));
			rc = xs_mpmc_release(r->q);
			if (rc && rc != -XS_EQ_STALLED) /* stalled: read; the release is outstanding */
				ms_fail_rc(r, rc, "release");
			__atomic_fetch_add(&r->sh->consumed, n, __ATOMIC_RELEASE);
			r->calls++;
			spins = 0;
			continue;
		default:
			rc = xs_mpmc_pop_block(r->q, buf, 20000000ull);
			k = rc == 0;
			r->blocks++;
			if (rc == -ETIMEDOUT)
				rc = -EAGAIN;
			break;
		}
		if (rc == 0) {
			for (uint64_t i = 0; i < k; i++)
				ms_check(r, buf + i * r->esz);
			__atomic_fetch_add(&r->sh->consumed, k, __ATOMIC_RELEASE);
			r->calls++;
			spins = 0;
		} else if (rc == -EAGAIN || rc == -XS_EQ_STALLED) {
			r->stalls += rc == -XS_EQ_STALLED;
			ms_wait(r, &spins);
		} else {
			ms_fail_rc(r, rc, "pop");
		}
	}
	while ((rc = xs_mpmc_flush(r->q)) == -XS_EQ_STALLED)
		ms_wait(r, &spins);
	if (rc)
		ms_fail_rc(r, rc, "flush");
}

/* Size of the shared block for @p nprod producers sending @p per[] each. */
static inline size_t ms_shared_size(int nprod, const uint64_t *per)
{
	size_t n = sizeof(struct ms_shared);

	for (int p = 0; p < nprod; p++)
		n += per[p];
	return n;
}

static inline void ms_shared_init(struct ms_shared *sh, int nprod, const uint64_t *per)
{
	uint64_t off = 0;

	sh->consumed = 0;
	sh->total = 0;
	for (int p = 0; p < nprod; p++) {
		sh->per[p] = per[p];
		sh->seen_off[p] = off;
		off += per[p];
		sh->total += per[p];
	}
	memset(sh->seen, 0, off);
}

/* Every element seen exactly once. */
static inline void ms_shared_check(const struct ms_shared *sh, const char *name)
{
	for (uint64_t i = 0; i < sh->total; i++)
		if (sh->seen[i] != 1)
			t_fail(__FILE__, __LINE__, "%s: element %llu seen %u times", name,
			       (unsigned long long)i, sh->seen[i]);
	T_EQ(sh->consumed, sh->total);
}

#endif
