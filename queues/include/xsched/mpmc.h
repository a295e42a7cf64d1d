/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared-memory multi-producer multi-consumer queue, byte-compatible with
 * shaq::mpmc ("DPDK-style bounded ring"), file formats 2.0 (crates 2.0.0,
 * 3.0.0: agave VERSION 5 check-worker queues) and 3.0 (crate 4.x, with futex
 * waiting). Any number of producer and consumer handles, in any processes.
 *
 * File (offsets from the format table, xsched/shaq.h):
 *   0    magic "shaqmpmc" (u64, written last by the creator)
 *   8    version u32 (0x0002_0000 / 0x0003_0000), 12 buffer_mask u32 (N - 1)
 *   64   producer_reservation   128  producer_publication (3.0: the futex word)
 *   192  consumer_reservation   256  consumer_release     (3.0: 320 waiters)
 *   320 (2.0) / 384 (3.0)  ring of N slots, slot of position p at ring + (p & (N-1)) * size
 * Every cursor is a free-running u64 in its own cache line.
 *
 * Algorithm (SHAQ3.md §7), n items written / up to m read:
 *   producer: reserve: rel = consumer_release; r = producer_reservation; full
 *             if r - rel > N - n; else CAS producer_reservation r -> r + n.
 *             Fill slots r .. r+n-1. Publish: wait until producer_publication
 *             == r, store r + n (Release), then (3.0) the futex wake check.
 *   consumer: reserve: c = consumer_reservation; p = producer_publication;
 *             avail = p - c, empty if 0; CAS c -> c + min(avail, m). Read the
 *             slots. Release: wait until consumer_release == c, store c + k.
 * Publication and release therefore happen in reservation order.
 *
 * Differences from upstream (none visible in the file):
 *  - loads: upstream loads its own reservation cursor Relaxed before the
 *    peer's; xsched loads the cursor that must be behind first, both with
 *    Acquire, so that in a sane queue the second value is never behind the
 *    first. Then "producer_reservation - consumer_release > N" (producer) or
 *    "producer_publication - consumer_reservation > N" (consumer) can only
 *    be a stale view (the first cursor moved meanwhile: retry, and after
 *    XS_MPMC_RETRY_MAX retries report full/empty as upstream does) or an
 *    impossible cursor (the first cursor did not move: corrupt). A slot
 *    index is always masked, so no cursor value reaches outside the ring.
 *  - the in-order waits are bounded: spin XS_MPMC_SPINS times, then
 *    sched_yield() between checks (on 2 cores the peer we wait for may be
 *    preempted), and give up after the handle's stall timeout (1 s by
 *    default, xs_mpmc_set_stall_timeout()) with -XS_EQ_STALLED. A peer that
 *    died between its reservation and its publication/release then stalls
 *    the others for that long per call instead of forever; recovery is the
 *    caller's (xs_mpmc_recover*(), upstream's recover_as_exclusive*).
 *    The wait restarts its clock whenever the awaited cursor moves.
 *
 * Errors (sticky, as the SPSC queue's): a cursor outside its window marks
 * the handle corrupt (-XS_EQ_CORRUPT, xs_errmsg() names the cursors and the
 * window); from then on every call returns that error and stores nothing.
 *
 * Outstanding publications/releases: when the in-order wait gives up, the
 * reservation stays with the handle (state "outstanding"). try_push / push_n
 * / pop calls then report success for the items they took (they are in the
 * ring, or were copied out) and the next call on the handle first finishes
 * the outstanding one (returning -XS_EQ_STALLED, without taking anything new,
 * while it still cannot). xs_mpmc_flush() finishes it explicitly. So a
 * negative return always means "nothing was taken".
 *
 * Thread safety: a handle is used by one thread at a time; use one handle
 * per thread or process (they share nothing local).
 */
#ifndef XS_MPMC_H
#define XS_MPMC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xsched/common.h"
#include "xsched/shaq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

enum xs_mpmc_role {
	XS_MPMC_PRODUCER = 0,
	XS_MPMC_CONSUMER = 1,
};

/** Default bound of one in-order wait (ns) before -XS_EQ_STALLED. */
#define XS_MPMC_STALL_NS_DEFAULT 1000000000ull
/** Pure spins (xs_cpu_relax()) of an in-order wait before it starts yielding. */
#define XS_MPMC_SPINS 128u
/** Retries of a reservation that saw a stale window before reporting full/empty. */
#define XS_MPMC_RETRY_MAX 64u
/** Failed CAS rounds of one reservation before it reports full/empty (-EAGAIN). */
#define XS_MPMC_CAS_MAX (1u << 16)

/* reservation state of a handle */
#define XS_MPMC_PEND_NONE 0 /* nothing reserved */
#define XS_MPMC_PEND_OPEN 1 /* reserve_write/reserve_read done, publish/release not yet called */
#define XS_MPMC_PEND_OUT  2 /* publish/release called, its in-order wait gave up: outstanding */

/**
 * A process-local handle on a queue. Line 1 holds what the hot path reads;
 * the cursor pointers are set from the format's row at create/join and are
 * role-neutral (own reservation, own publication/release, the peer cursor
 * that bounds ours).
 */
struct xs_mpmc {
	uint64_t *res;     /**< producer_reservation (producer) / consumer_reservation (consumer) */
	uint64_t *done;    /**< producer_publication (producer) / consumer_release (consumer) */
	uint64_t *peer;    /**< consumer_release (producer) / producer_publication (consumer) */
	uint64_t *waiters; /**< waiters count (format 3.0), NULL when the format has none */
	uint8_t *ring;     /**< first slot */
	uint64_t mask;     /**< N - 1 */
	uint32_t elem_size;
	int err;           /**< sticky error (-XS_EQ_CORRUPT), else 0 */
	uint8_t pend;      /**< XS_MPMC_PEND_* */
	uint8_t role;      /**< enum xs_mpmc_role */
	uint8_t format;    /**< enum xs_shaq_format */
	uint8_t owns_map;
	uint32_t pend_n;   /**< slots of the pending reservation */
	/* line 2: cold */
	uint64_t pend_pos; /**< first position of the pending reservation */
	uint64_t stall_ns; /**< bound of one in-order wait */
	uint64_t stalls;   /**< times an in-order wait gave up (diagnostics) */
	uint8_t *base;     /**< start of the file (the header) */
	size_t file_size;
	const struct xs_shaq_fmt *fmt; /**< the format's row */
} XS_CACHE_ALIGNED;

/* ------------------------------------------------------ cold functions */

/**
 * Create a queue in @p fd: check the size arithmetic, ftruncate to
 * @p file_size, map whole, initialise the header as upstream (cursors and
 * waiters := 0 with Release, mask and version, magic last with Release) and
 * open the @p role end. @p format: XS_SHAQ_2_0 or XS_SHAQ_3_0. Size a file
 * with xs_shaq_min_file_size(format, XS_SHAQ_MPMC, ...). The descriptor is
 * not taken; the mapping is owned by the handle.
 * @return 0, -XS_EQ_*, -EINVAL (format without MPMC) or -errno.
 */
int xs_mpmc_create(struct xs_mpmc *q, int fd, size_t file_size, size_t elem_size,
		   size_t elem_align, enum xs_shaq_format format, enum xs_mpmc_role role);

/**
 * Join a queue file as @p role: fstat, map whole, validate in upstream's
 * order (magic with Acquire: an SPSC file is -XS_EQ_MAGIC; version word:
 * -XS_EQ_VERSION naming the version found and those supported; mask against
 * the file size: -XS_EQ_SIZE_MISMATCH), then the four cursors
 * (-XS_EQ_CORRUPT unless consumer_release <= consumer_reservation <=
 * producer_publication <= producer_reservation <= consumer_release + N).
 * @p format XS_SHAQ_ANY detects 2.0/3.0. On failure nothing stays mapped.
 */
int xs_mpmc_join(struct xs_mpmc *q, int fd, size_t elem_size, size_t elem_align,
		 enum xs_shaq_format format, enum xs_mpmc_role role);

/**
 * Open a queue in memory the caller maps and keeps (4096-byte aligned, as
 * upstream requires: -XS_EQ_ALIGN otherwise). @p init != 0 initialises the
 * header as create does, else it is validated as join does.
 */
int xs_mpmc_attach_mem(struct xs_mpmc *q, void *mem, size_t size, size_t elem_size,
		       size_t elem_align, enum xs_shaq_format format, enum xs_mpmc_role role,
		       int init);

/** Release the handle (unmaps the file if the handle mapped it). A pending reservation is dropped. */
void xs_mpmc_close(struct xs_mpmc *q);

/** Bound of one in-order wait, in ns (0: the default, XS_MPMC_STALL_NS_DEFAULT). */
void xs_mpmc_set_stall_timeout(struct xs_mpmc *q, uint64_t ns);

/**
 * Finish a publication (producer) or release (consumer) that an earlier call
 * left outstanding. @return 0 (nothing outstanding any more; an open
 * reservation is left alone), -XS_EQ_STALLED (still not our turn after the
 * stall timeout), or the sticky error.
 */
int xs_mpmc_flush(struct xs_mpmc *q);

/**
 * Recovery after a crashed peer, for a caller that knows it is the only live
 * handle of its side (upstream recover_as_exclusive): producer:
 * producer_reservation := producer_publication (slots reserved but never
 * published are given up); consumer: consumer_reservation :=
 * consumer_release (slots reserved but never released are read again).
 * Drops this handle's own pending reservation.
 * @return the number of slots given back (>= 0), or -XS_EQ_CORRUPT (sticky)
 *         when the reservation is not within [publication/release, + N].
 */
int64_t xs_mpmc_recover(struct xs_mpmc *q);

/**
 * Consumer recovery that skips instead (upstream recover_as_exclusive_lossy):
 * consumer_release := consumer_reservation; items reserved by a dead consumer
 * are lost. @return the number of slots skipped, -XS_EQ_ROLE, or -XS_EQ_CORRUPT
 * (sticky; also when the reservation is not within [release, release + N]).
 */
int64_t xs_mpmc_recover_lossy(struct xs_mpmc *q);

/**
 * Consumer: what a sleeper needs to wait on this queue with the futex
 * protocol. @return 0; -EOPNOTSUPP (format 2.0 has no waiters line);
 * -XS_EQ_ROLE for a producer handle.
 */
int xs_mpmc_waitref(const struct xs_mpmc *q, struct xs_shaq_waitref *out);

/**
 * Consumer: xs_mpmc_try_pop(), sleeping while the queue is empty, at most
 * @p timeout_ns: spins, then (format 3.0) the waiter protocol of upstream
 * (waiters += 1, SeqCst fence, re-check, FUTEX_WAIT on the low 32 bits of
 * producer_publication, waiters -= 1 AcqRel, re-check); format 2.0 polls
 * with short sleeps. @return 0, -ETIMEDOUT, -XS_EQ_STALLED or the sticky error.
 */
int xs_mpmc_pop_block(struct xs_mpmc *q, void *out, uint64_t timeout_ns);

/** Print header and handle state (for failures and tools). */
void xs_mpmc_dump(const struct xs_mpmc *q, void *file /* FILE * */);

/* cold halves of the hot path */
int xs__mpmc_window(struct xs_mpmc *q, uint64_t first, uint64_t second, unsigned tries);
int xs__mpmc_finish(struct xs_mpmc *q);
int xs__mpmc_state(struct xs_mpmc *q, enum xs_mpmc_role want);

/* ------------------------------------------------------------ hot path */

/** Capacity N in elements. */
XS_INLINE uint64_t xs_mpmc_capacity(const struct xs_mpmc *q)
{
	return q->mask + 1;
}

/** Sticky error: 0, or -XS_EQ_CORRUPT once a peer wrote an impossible cursor. */
XS_INLINE int xs_mpmc_error(const struct xs_mpmc *q)
{
	return q->err;
}

/** Slot address of position @p p (always inside the ring). */
XS_INLINE void *xs_mpmc_slot(const struct xs_mpmc *q, uint64_t p)
{
	return q->ring + (size_t)(p & q->mask) * q->elem_size;
}

/* Entry check of every operation: right role, nothing pending, not corrupt.
 * The slow half finishes an outstanding reservation or reports why not. */
XS_INLINE int xs__mpmc_enter(struct xs_mpmc *q, enum xs_mpmc_role want)
{
	if (XS_LIKELY(q->role == want && !q->pend && !q->err))
		return 0;
	return xs__mpmc_state(q, want);
}

/*
 * Producer: reserve n slots (1 <= n <= N). Returns 0 and *pos, -EAGAIN
 * when fewer than n are free, or the sticky error.
 */
XS_INLINE int xs__mpmc_prod_reserve(struct xs_mpmc *q, uint32_t n, uint64_t *pos)
{
	uint64_t cap = q->mask + 1;

	for (unsigned tries = 0, cas = 0;;) {
		/* Acquire: pairs with the consumers' Release store of
		 * consumer_release (xs__mpmc_release_at()): their reads of the
		 * slots freed up to `rel` happen before we overwrite them. */
		uint64_t rel = __atomic_load_n(q->peer, __ATOMIC_ACQUIRE);
		/* Acquire (upstream: Relaxed): keeps this load after the one of
		 * `rel`, so in a sane queue r >= rel (see the header comment). */
		uint64_t r = __atomic_load_n(q->res, __ATOMIC_ACQUIRE);

		if (XS_UNLIKELY(r - rel > cap)) {
			int rc = xs__mpmc_window(q, rel, r, tries++);

			if (rc)
				return rc;
			continue;
		}
		if (r - rel > cap - n)
			return -EAGAIN;
		/* AcqRel on success as upstream (orders our slot writes after the
		 * claim); Relaxed on failure: we reload both cursors anyway. */
		if (__atomic_compare_exchange_n(q->res, &r, r + n, 1, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			*pos = r;
			return 0;
		}
		if (XS_UNLIKELY(++cas >= XS_MPMC_CAS_MAX))
			return -EAGAIN;
	}
}

/*
 * Producer: publish [pos, pos + n) in reservation order.
 * Ordering: Acquire load of producer_publication (pairs with the Release
 * store of the producer that published the slots before ours: the chain of
 * Release/Acquire makes every earlier slot visible to whoever sees our
 * value), then Release store of pos + n (pairs with the consumers' Acquire
 * load in xs__mpmc_cons_reserve(): our slot bytes are visible to them);
 * then, format 3.0, the wake check (SeqCst fence, waiters, FUTEX_WAKE of up
 * to n sleepers). Not our turn yet: the bounded wait of xs__mpmc_finish().
 */
XS_INLINE int xs__mpmc_publish_at(struct xs_mpmc *q, uint64_t pos, uint32_t n)
{
	if (XS_LIKELY(__atomic_load_n(q->done, __ATOMIC_ACQUIRE) == pos)) {
		__atomic_store_n(q->done, pos + n, __ATOMIC_RELEASE);
		if (q->waiters)
			xs__shaq_wake_check(q->waiters, q->done, n);
		return 0;
	}
	q->pend = XS_MPMC_PEND_OUT;
	q->pend_pos = pos;
	q->pend_n = n;
	return xs__mpmc_finish(q);
}

/*
 * Consumer: reserve up to @p max (>= 1) published slots. Returns 0 with *pos
 * and *n, -EAGAIN when empty, or the sticky error.
 */
XS_INLINE int xs__mpmc_cons_reserve(struct xs_mpmc *q, uint32_t max, uint64_t *pos, uint32_t *n)
{
	uint64_t cap = q->mask + 1;

	for (unsigned tries = 0, cas = 0;;) {
		/* Acquire (upstream: Relaxed): keeps this load before the one of
		 * producer_publication, so in a sane queue p >= c. */
		uint64_t c = __atomic_load_n(q->res, __ATOMIC_ACQUIRE);
		/* Acquire: pairs with the producers' Release store of
		 * producer_publication (xs__mpmc_publish_at()): the slot bytes up
		 * to `p` are visible after it. */
		uint64_t p = __atomic_load_n(q->peer, __ATOMIC_ACQUIRE);
		uint64_t avail = p - c, k;

		if (avail == 0)
			return -EAGAIN;
		if (XS_UNLIKELY(avail > cap)) {
			int rc = xs__mpmc_window(q, c, p, tries++);

			if (rc)
				return rc;
			continue;
		}
		k = avail < max ? avail : max;
		/* AcqRel on success as upstream; Relaxed on failure (reloaded). */
		if (__atomic_compare_exchange_n(q->res, &c, c + k, 1, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			*pos = c;
			*n = (uint32_t)k;
			return 0;
		}
		if (XS_UNLIKELY(++cas >= XS_MPMC_CAS_MAX))
			return -EAGAIN;
	}
}

/*
 * Consumer: release [pos, pos + n) in reservation order.
 * Ordering: Acquire load of consumer_release (pairs with the Release store
 * of the consumer before us), then Release store of pos + n: pairs with the
 * producers' Acquire load in xs__mpmc_prod_reserve(), so our reads of the
 * slots happen before they are overwritten. Consumers never wake anyone.
 */
XS_INLINE int xs__mpmc_release_at(struct xs_mpmc *q, uint64_t pos, uint32_t n)
{
	if (XS_LIKELY(__atomic_load_n(q->done, __ATOMIC_ACQUIRE) == pos)) {
		__atomic_store_n(q->done, pos + n, __ATOMIC_RELEASE);
		return 0;
	}
	q->pend = XS_MPMC_PEND_OUT;
	q->pend_pos = pos;
	q->pend_n = n;
	return xs__mpmc_finish(q);
}

/* Copy n elements between a buffer and the ring from position pos (two
 * pieces when the range wraps). */
XS_INLINE void xs__mpmc_copy_in(struct xs_mpmc *q, uint64_t pos, const void *src, uint32_t n)
{
	size_t es = q->elem_size, idx = (size_t)(pos & q->mask), first = (size_t)q->mask + 1 - idx;

	if (first >= n) {
		memcpy(q->ring + idx * es, src, n * es);
	} else {
		memcpy(q->ring + idx * es, src, first * es);
		memcpy(q->ring, (const uint8_t *)src + first * es, (n - first) * es);
	}
}

XS_INLINE void xs__mpmc_copy_out(const struct xs_mpmc *q, uint64_t pos, void *dst, uint32_t n)
{
	size_t es = q->elem_size, idx = (size_t)(pos & q->mask), first = (size_t)q->mask + 1 - idx;

	if (first >= n) {
		memcpy(dst, q->ring + idx * es, n * es);
	} else {
		memcpy(dst, q->ring + idx * es, first * es);
		memcpy((uint8_t *)dst + first * es, q->ring, (n - first) * es);
	}
}

/**
 * Producer: copy one element in and publish it (upstream try_write).
 * @return 0 (taken; published, or outstanding if the in-order wait gave
 *         up, see the header comment), -EAGAIN (full), -XS_EQ_STALLED (an
 *         earlier publication of this handle is still outstanding: nothing
 *         taken), -XS_EQ_ROLE, -EBUSY (a reserve_write is open), or the
 *         sticky error.
 */
XS_INLINE int xs_mpmc_try_push(struct xs_mpmc *q, const void *elem)
{
	uint64_t pos;
	int rc = xs__mpmc_enter(q, XS_MPMC_PRODUCER);

	if (XS_UNLIKELY(rc))
		return rc;
	if ((rc = xs__mpmc_prod_reserve(q, 1, &pos)))
		return rc;
	memcpy(xs_mpmc_slot(q, pos), elem, q->elem_size);
	rc = xs__mpmc_publish_at(q, pos, 1);
	return rc == -XS_EQ_STALLED ? 0 : rc;
}

/**
 * Producer: copy @p n contiguous elements in and publish them at once, all
 * or nothing (upstream try_write_slice).
 * @return 0, -EAGAIN (fewer than n free), -EINVAL (n > N), or as try_push.
 */
XS_INLINE int xs_mpmc_push_n(struct xs_mpmc *q, const void *elems, uint32_t n)
{
	uint64_t pos;
	int rc = xs__mpmc_enter(q, XS_MPMC_PRODUCER);

	if (XS_UNLIKELY(rc))
		return rc;
	if (!n)
		return 0;
	if (XS_UNLIKELY(n - 1 > q->mask))
		return -EINVAL;
	if ((rc = xs__mpmc_prod_reserve(q, n, &pos)))
		return rc;
	xs__mpmc_copy_in(q, pos, elems, n);
	rc = xs__mpmc_publish_at(q, pos, n);
	return rc == -XS_EQ_STALLED ? 0 : rc;
}

/**
 * Consumer: take one element out (upstream try_read).
 * @return 0, -EAGAIN (empty), -XS_EQ_STALLED (an earlier release of this
 *         handle is still outstanding: nothing taken), or as try_push.
 */
XS_INLINE int xs_mpmc_try_pop(struct xs_mpmc *q, void *out)
{
	uint64_t pos;
	uint32_t n;
	int rc = xs__mpmc_enter(q, XS_MPMC_CONSUMER);

	if (XS_UNLIKELY(rc))
		return rc;
	if ((rc = xs__mpmc_cons_reserve(q, 1, &pos, &n)))
		return rc;
	memcpy(out, xs_mpmc_slot(q, pos), q->elem_size);
	rc = xs__mpmc_release_at(q, pos, 1);
	return rc == -XS_EQ_STALLED ? 0 : rc;
}

/**
 * Consumer: take up to @p max elements out into @p out (contiguous).
 * @return how many (> 0), -EAGAIN (empty), or as try_pop.
 */
XS_INLINE int xs_mpmc_pop_n(struct xs_mpmc *q, void *out, uint32_t max)
{
	uint64_t pos;
	uint32_t n;
	int rc = xs__mpmc_enter(q, XS_MPMC_CONSUMER);

	if (XS_UNLIKELY(rc))
		return rc;
	if (!max)
		return 0;
	if (max > INT32_MAX)
		max = INT32_MAX;
	if ((rc = xs__mpmc_cons_reserve(q, max, &pos, &n)))
		return rc;
	xs__mpmc_copy_out(q, pos, out, n);
	rc = xs__mpmc_release_at(q, pos, n);
	return rc && rc != -XS_EQ_STALLED ? rc : (int)n;
}

/**
 * Producer, zero-copy: reserve @p n slots (all or nothing); fill them
 * through xs_mpmc_slot(q, *pos + i), then xs_mpmc_publish(). One
 * reservation per handle at a time (-EBUSY otherwise). *pos is 0 on failure.
 * @return 0, -EAGAIN (full), -EINVAL (n == 0 or n > N), or as try_push.
 */
XS_INLINE int xs_mpmc_reserve_write(struct xs_mpmc *q, uint32_t n, uint64_t *pos)
{
	int rc = xs__mpmc_enter(q, XS_MPMC_PRODUCER);

	*pos = 0;
	if (XS_UNLIKELY(rc))
		return rc;
	if (XS_UNLIKELY(n - 1 > q->mask)) /* n == 0 wraps too */
		return -EINVAL;
	if ((rc = xs__mpmc_prod_reserve(q, n, pos)))
		return rc;
	q->pend = XS_MPMC_PEND_OPEN;
	q->pend_pos = *pos;
	q->pend_n = n;
	return 0;
}

/**
 * Producer: publish the open reservation (in order after earlier ones).
 * @return 0 (also when nothing is open), -XS_EQ_STALLED (outstanding: call
 *         again or xs_mpmc_flush()), -XS_EQ_ROLE, or the sticky error.
 */
XS_INLINE int xs_mpmc_publish(struct xs_mpmc *q)
{
	int rc;

	if (XS_UNLIKELY(q->role != XS_MPMC_PRODUCER || q->err))
		return xs__mpmc_state(q, XS_MPMC_PRODUCER);
	if (q->pend != XS_MPMC_PEND_OPEN)
		return q->pend ? xs__mpmc_finish(q) : 0;
	rc = xs__mpmc_publish_at(q, q->pend_pos, q->pend_n);
	if (!rc)
		q->pend = XS_MPMC_PEND_NONE;
	return rc;
}

/**
 * Consumer, zero-copy: reserve up to @p max published slots: *pos, *n;
 * read them through xs_mpmc_slot(q, *pos + i), then xs_mpmc_release().
 * @return 0, -EAGAIN (empty), -EINVAL (max == 0), -EBUSY, or as try_pop.
 */
XS_INLINE int xs_mpmc_reserve_read(struct xs_mpmc *q, uint32_t max, uint64_t *pos, uint32_t *n)
{
	int rc = xs__mpmc_enter(q, XS_MPMC_CONSUMER);

	*pos = 0;
	*n = 0;
	if (XS_UNLIKELY(rc))
		return rc;
	if (XS_UNLIKELY(!max))
		return -EINVAL;
	if ((rc = xs__mpmc_cons_reserve(q, max, pos, n)))
		return rc;
	q->pend = XS_MPMC_PEND_OPEN;
	q->pend_pos = *pos;
	q->pend_n = *n;
	return 0;
}

/**
 * Consumer: release the open reservation (in order after earlier ones).
 * @return as xs_mpmc_publish().
 */
XS_INLINE int xs_mpmc_release(struct xs_mpmc *q)
{
	int rc;

	if (XS_UNLIKELY(q->role != XS_MPMC_CONSUMER || q->err))
		return xs__mpmc_state(q, XS_MPMC_CONSUMER);
	if (q->pend != XS_MPMC_PEND_OPEN)
		return q->pend ? xs__mpmc_finish(q) : 0;
	rc = xs__mpmc_release_at(q, q->pend_pos, q->pend_n);
	if (!rc)
		q->pend = XS_MPMC_PEND_NONE;
	return rc;
}

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_MPMC_H */
