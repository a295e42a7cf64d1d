/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared-memory single-producer single-consumer queue, byte-compatible with
 * the Rust crate shaq, every file format xsched speaks: 0.2.0 and 1.0.x
 * (top-level Producer / Consumer API of the seed era), 2.0 (shaq::spsc of
 * crates 2.0.0 / 3.0.0) and 3.0 (crate 4.x, with futex waiting). The format
 * table (xsched/shaq.h) gives the header of each; the handle reaches its
 * cursors through pointers set from the format's row at create/join, so
 * the hot path is the same code for every format.
 *
 * Formats 0.2/1.0 (struct xs_spsc_shm, 192 bytes, then the ring):
 *
 *   0    write        u64, free-running, stored by the producer (own cache line)
 *   64   read         u64, free-running, stored by the consumer (own cache line)
 *   128  buffer_size  u64, capacity N in elements (a power of two), creator only
 *   136  version      u8, 1.0.x only: 1 (written last by the creator); 0.2.0: padding
 *   192  slot 0, slot 1, ... slot N-1 (stride = element size), unused tail
 *
 * Formats 2.0/3.0: magic "shaqspsc" @0, version u32 @8, buffer_mask u32 @12,
 * write @64, read @128, (3.0) waiters @192; ring at 192 (2.0) / 256 (3.0).
 *
 * Slot of position p: ring + (p & (N-1)) * elem_size. Full when
 * write - read >= N, empty when write == read (wrapping arithmetic).
 *
 * Model (as upstream): the producer reserve()s slots (local only), fills
 * them, then commit()s (one Release store of `write`); it learns about freed
 * space with prod_sync() (one Acquire load of `read`). The consumer
 * try_read()s slots (local only), processes them, then finalize()s (one
 * Release store of `read`); it learns about new items with cons_sync() (one
 * Acquire load of `write`). xsched adds: reserve() syncs by itself when the
 * cached view is full, poll() = try_read() that syncs once when empty,
 * wait() = poll() that spins, paced to the traffic, until an item comes, and
 * burst helpers.
 *
 * Peer validation: every sync checks that the peer's counter moved forward by
 * no more than is possible (consumer: last seen write <= write <=
 * published_read + N; producer: last seen read <= read <= published_write,
 * all modulo 2^64). A violation marks the handle corrupt (sticky
 * -XS_EQ_CORRUPT, see xs_spsc_error(); xs_errmsg() says which counter and
 * which way), the bad value is never used to index the ring, and the handle
 * is frozen: reserve/try_read/poll return NULL, try_push/try_pop and the syncs
 * return the error, commit/finalize store nothing. Slot addresses are always
 * masked, so a consumer never reads outside the ring whatever the peer writes
 * into the header.
 *
 * Futex (format 3.0 only): after every publication (commit, try_push) the
 * producer issues a SeqCst fence, loads `waiters` and, when a consumer
 * sleeps, FUTEX_WAKEs it (xs__shaq_wake_check()); formats without a waiters
 * line skip this (one predictable branch on a handle field). Consumers may
 * sleep with xs_spsc_wait_block() / xs_spsc_pop_block(); polling consumers
 * never touch `waiters`.
 *
 * Thread safety: one producer handle and one consumer handle per queue, each
 * used by one thread at a time (they may live in different processes).
 */
#ifndef XS_SPSC_H
#define XS_SPSC_H

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

/* ------------------------------------------------------------- constants */

/* enum xs_shaq_format, enum xs_shaq_kind, the XS_EQ_* errors: xsched/shaq.h */

enum xs_spsc_role {
	XS_SPSC_PRODUCER = 0,
	XS_SPSC_CONSUMER = 1,
};

/** Header size of formats 0.2 and 1.0 (2.0: 192 too, 3.0: 256; see the table in shaq.h). */
#define XS_SPSC_HEADER_SIZE 192u

/* --------------------------------------------------------- shared layout */

/** The 0.2/1.0 shared header, exactly as shaq's SharedQueueHeader (repr(C), align 64). */
struct xs_spsc_shm {
	uint64_t write; /**< producer's counter (atomic) */
	uint8_t pad0_[56];
	uint64_t read; /**< consumer's counter (atomic) */
	uint8_t pad1_[56];
	uint64_t buffer_size; /**< capacity in elements, immutable after creation */
	uint8_t version;      /**< 1.0.x: 1; 0.2.0: padding (0) */
	uint8_t pad2_[55];
} XS_CACHE_ALIGNED;

XS_STATIC_ASSERT(sizeof(struct xs_spsc_shm) == 192, "shaq header size");
XS_STATIC_ASSERT(offsetof(struct xs_spsc_shm, write) == 0, "shaq write");
XS_STATIC_ASSERT(offsetof(struct xs_spsc_shm, read) == 64, "shaq read");
XS_STATIC_ASSERT(offsetof(struct xs_spsc_shm, buffer_size) == 128, "shaq buffer_size");
XS_STATIC_ASSERT(offsetof(struct xs_spsc_shm, version) == 136, "shaq version");

/* --------------------------------------------------------- local handle */

/**
 * A process-local handle on one end of a queue. The first cache line holds
 * what the hot path touches (the 3.0 producer also reads `waiters`, in the
 * second line of this private, L1-resident handle); the peer never writes
 * to it. The cursor pointers are set from the format's row at create/join.
 */
struct xs_spsc {
	uint64_t pos;       /**< producer: next position to reserve; consumer: next to read */
	uint64_t limit;     /**< producer: cached read + N; consumer: cached write */
	uint64_t published; /**< producer: last committed write; consumer: last finalized read */
	uint8_t *ring;      /**< first slot */
	uint64_t mask;      /**< N - 1 */
	uint64_t *wr;       /**< shared `write` cursor (the futex word in format 3.0) */
	uint64_t *rd;       /**< shared `read` cursor */
	uint32_t elem_size;
	int err; /**< sticky error once the peer corrupted the header, else 0 */
	/* line 2 */
	uint64_t *waiters;  /**< shared waiters count (format 3.0), NULL when the format has none */
	uint32_t pace_mark; /**< consumer: low bits of pos when xs_spsc_wait() last found
	                         the queue empty (process-local pacing state) */
	uint8_t role;   /**< enum xs_spsc_role */
	uint8_t format; /**< enum xs_shaq_format */
	uint8_t owns_map;
	uint8_t pad_;
	/* cold */
	uint8_t *base;      /**< start of the file (the header) */
	size_t file_size;
	const struct xs_shaq_fmt *fmt; /**< the format's row */
} XS_CACHE_ALIGNED;

/* ------------------------------------------------------ cold functions */

/** Offset of slot 0 in formats 0.2/1.0: 192 rounded up to @p elem_align (others: xs_shaq_ring_offset()). */
size_t xs_spsc_buffer_offset(size_t elem_align);

/**
 * shaq 1.0 minimum_file_size: buffer offset + capacity * elem_size (no
 * power-of-two rounding; formats 0.2 and 1.0). Other formats:
 * xs_shaq_min_file_size(). 0 on overflow.
 */
size_t xs_spsc_min_file_size(uint64_t capacity, size_t elem_size, size_t elem_align);

/**
 * Capacity a file of @p file_size bytes gives in formats 0.2/1.0 (shaq
 * calculate_buffer_size_in_items): the largest power of two <=
 * (file_size - offset) / elem_size. Other formats: xs_shaq_capacity_for().
 * @return 0 and *cap, or -XS_EQ_TOO_SMALL / -XS_EQ_ELEM.
 */
int xs_spsc_capacity_for(size_t file_size, size_t elem_size, size_t elem_align, uint64_t *cap);

/**
 * Create a queue in @p fd (the side that owns the file): check the size
 * arithmetic, ftruncate to @p file_size, map whole, initialise the header
 * as upstream does for @p format (1.0.x: version byte written last,
 * seq-cst; >= 2.0: cursors, waiters, mask, version, then the magic last with
 * Release), and open the @p role end. The descriptor is not taken; the
 * mapping is owned by the handle. Failures also record
 * xs_shaq_last_error() (upstream's terms, for rejection texts).
 */
int xs_spsc_create(struct xs_spsc *q, int fd, size_t file_size, size_t elem_size,
		   size_t elem_align, enum xs_shaq_format format, enum xs_spsc_role role);

/**
 * Join an existing queue file as @p role: size from fstat, map whole,
 * validate in upstream's order (formats >= 2.0: magic with Acquire, version
 * word, then the mask against the file size; 1.0: version byte, then
 * buffer_size), then the counters. @p format XS_SHAQ_ANY detects the format
 * (xs_shaq_probe()); an MPMC file is refused (-XS_EQ_MAGIC). An unknown
 * version is refused with a message naming it and the formats this build
 * speaks. On failure nothing stays mapped. The descriptor is not taken.
 * @return 0, -XS_EQ_* (see enum) or -errno.
 */
int xs_spsc_join(struct xs_spsc *q, int fd, size_t elem_size, size_t elem_align,
		 enum xs_shaq_format format, enum xs_spsc_role role);

/**
 * Open a queue in memory the caller maps and keeps (e.g. a segment of a
 * larger mapping, or a fuzz input). @p init != 0 initialises the header as
 * create does; otherwise it is validated as join does. Formats >= 2.0 need
 * 4096-byte aligned memory (-XS_EQ_ALIGN), 0.2/1.0 64-byte (-EINVAL).
 */
int xs_spsc_attach_mem(struct xs_spsc *q, void *mem, size_t size, size_t elem_size,
		       size_t elem_align, enum xs_shaq_format format, enum xs_spsc_role role,
		       int init);

/** Release the handle (unmaps the whole file if the handle mapped it). */
void xs_spsc_close(struct xs_spsc *q);

/** Print header and handle state (for failures and tools). */
void xs_spsc_dump(const struct xs_spsc *q, void *file /* FILE * */);

/* ------------------------------------------------------------ hot path */

/** Capacity N in elements. */
XS_INLINE uint64_t xs_spsc_capacity(const struct xs_spsc *q)
{
	return q->mask + 1;
}

/** Sticky error: 0, or -XS_EQ_CORRUPT once the peer wrote an impossible counter. */
XS_INLINE int xs_spsc_error(const struct xs_spsc *q)
{
	return q->err;
}

/** Slot address of position @p p. */
XS_INLINE uint8_t *xs__spsc_slot(const struct xs_spsc *q, uint64_t p)
{
	return q->ring + (size_t)(p & q->mask) * q->elem_size;
}

/* Cold: record that the peer's counter @p seen (@p what: "read" or "write")
 * is impossible, freeze the handle (pos = limit = published) and return
 * -XS_EQ_CORRUPT. */
int xs__spsc_corrupt(struct xs_spsc *q, uint64_t seen, const char *what);

/**
 * Producer: refresh the free space from the consumer's `read`.
 * Ordering: Acquire load of `read`, pairs with the consumer's Release
 * store in xs_spsc_finalize(); after it the slots the consumer released may
 * be overwritten.
 * @return 0, or -XS_EQ_CORRUPT if `read` left [old read, published write].
 */
XS_INLINE int xs_spsc_prod_sync(struct xs_spsc *q)
{
	uint64_t old_r = q->limit - (q->mask + 1);
	uint64_t r = __atomic_load_n(q->rd, __ATOMIC_ACQUIRE);

	if (XS_UNLIKELY(q->err))
		return q->err;
	if (XS_UNLIKELY(r - old_r > q->published - old_r))
		return xs__spsc_corrupt(q, r, "read");
	q->limit = r + q->mask + 1;
	return 0;
}

/**
 * Producer: reserve the next slot (not yet visible to the consumer).
 * Syncs with the consumer once when the cached view is full.
 * @return the slot (elem_size bytes, to fill completely), or NULL when full
 *         (or corrupt: see xs_spsc_error()).
 */
XS_INLINE void *xs_spsc_reserve(struct xs_spsc *q)
{
	if (XS_UNLIKELY(q->pos == q->limit)) {
		if (xs_spsc_prod_sync(q) < 0 || q->pos == q->limit)
			return NULL;
	}
	return xs__spsc_slot(q, q->pos++);
}

/** Producer: number of slots that can be reserved without a sync. */
XS_INLINE uint64_t xs_spsc_free_cached(const struct xs_spsc *q)
{
	return q->limit - q->pos;
}

/**
 * Producer: publish every reserved slot.
 * Ordering: Release store of `write`, pairs with the consumer's Acquire
 * load in xs_spsc_cons_sync(): the slot bytes written before it are visible
 * to the consumer that sees the new counter. Skipped when nothing is new
 * (no store, no cache-line transfer). Format 3.0: then the wake check
 * (xs__shaq_wake_check(): SeqCst fence, waiters load, FUTEX_WAKE of one
 * sleeping consumer if there is one).
 */
XS_INLINE void xs_spsc_commit(struct xs_spsc *q)
{
	if (q->pos != q->published) {
		__atomic_store_n(q->wr, q->pos, __ATOMIC_RELEASE);
		q->published = q->pos;
		if (q->waiters)
			xs__shaq_wake_check(q->waiters, q->wr, 1);
	}
}

/**
 * Producer: xs_spsc_try_push() for a caller that knows the element size at
 * compile time (typed wrappers pass sizeof(T)): the copy is then inlined.
 * Exactly reserve + copy + commit (slots reserved before and not yet
 * committed are published too), written so that nothing is reloaded from
 * the handle after the copy into the slot (which the compiler must assume
 * may alias it): one store of `pos`, no re-test of `published`.
 * Ordering: one Release store of `write`, as xs_spsc_commit(), and the
 * format 3.0 wake check after it.
 * @param size the queue's element size (else -XS_EQ_ELEM: a typed push on
 *             a queue of another message type copies nothing).
 * @return 0, -EAGAIN (full), -XS_EQ_ELEM or the sticky error.
 */
XS_INLINE int xs_spsc_try_push_sized(struct xs_spsc *q, const void *elem, size_t size)
{
	uint64_t pos = q->pos;
	uint64_t *wr = q->wr, *waiters = q->waiters;
	uint8_t *slot;

	if (XS_UNLIKELY(size != q->elem_size))
		return -XS_EQ_ELEM;
	if (XS_UNLIKELY(pos == q->limit)) {
		if (xs_spsc_prod_sync(q) < 0)
			return q->err;
		if (pos == q->limit)
			return -EAGAIN;
	}
	slot = q->ring + (size_t)(pos & q->mask) * size;
	memcpy(slot, elem, size);
	q->pos = q->published = ++pos;
	/* Release pairs with the consumer's Acquire load in xs_spsc_cons_sync():
	 * the slot bytes copied above are visible to whoever sees `pos`. */
	__atomic_store_n(wr, pos, __ATOMIC_RELEASE);
	if (waiters)
		xs__shaq_wake_check(waiters, wr, 1);
	return 0;
}

/** Producer: reserve, copy one element, commit. @return 0, -EAGAIN (full) or the sticky error. */
XS_INLINE int xs_spsc_try_push(struct xs_spsc *q, const void *elem)
{
	return xs_spsc_try_push_sized(q, elem, q->elem_size);
}

/**
 * Producer: copy up to @p n elements (contiguous, elem_size apart) and
 * commit once. @return how many were pushed (0 when full or corrupt).
 */
XS_INLINE size_t xs_spsc_push_burst(struct xs_spsc *q, const void *elems, size_t n)
{
	const uint8_t *src = (const uint8_t *)elems;
	size_t i;

	for (i = 0; i < n; i++) {
		void *slot = xs_spsc_reserve(q);

		if (!slot)
			break;
		memcpy(slot, src + i * q->elem_size, q->elem_size);
	}
	xs_spsc_commit(q);
	return i;
}

/**
 * Consumer: refresh the available items from the producer's `write`.
 * Ordering: Acquire load of `write`, pairs with the producer's Release
 * store in xs_spsc_commit(): slot bytes are valid after it.
 * @return 0, or -XS_EQ_CORRUPT if `write` left [last seen write, published read + N].
 */
XS_INLINE int xs_spsc_cons_sync(struct xs_spsc *q)
{
	uint64_t w = __atomic_load_n(q->wr, __ATOMIC_ACQUIRE);

	if (XS_UNLIKELY(q->err))
		return q->err;
	/* Valid iff limit <= w <= published + N (mod 2^64; published <= pos <=
	 * limit always holds): `write` never moves backwards, and the producer
	 * cannot run more than N past the slots we have released. */
	if (XS_UNLIKELY(w - q->published > q->mask + 1 ||
			w - q->published < q->limit - q->published))
		return xs__spsc_corrupt(q, w, "write");
	q->limit = w;
	return 0;
}

/** Consumer: next item from the cached view (no sync), or NULL. Valid until finalize(). */
XS_INLINE const void *xs_spsc_try_read(struct xs_spsc *q)
{
	if (q->pos == q->limit)
		return NULL;
	return xs__spsc_slot(q, q->pos++);
}

/** Consumer: try_read(); when the cached view is empty, sync once and retry. */
XS_INLINE const void *xs_spsc_poll(struct xs_spsc *q)
{
	if (q->pos == q->limit) {
		if (xs_spsc_cons_sync(q) < 0 || q->pos == q->limit)
			return NULL;
	}
	return xs__spsc_slot(q, q->pos++);
}

/*
 * Consumer, waiting: start fetching the line(s) of the slot the next poll
 * would return, so that the miss on it overlaps the miss on `write` in that
 * poll instead of following it. A hint only, no ordering: the slot is read
 * for real only after the Acquire load of `write` has shown it published
 * (a line fetched too early is invalidated by the producer's store and
 * fetched again).
 */
XS_INLINE void xs__spsc_prefetch_next(const struct xs_spsc *q)
{
	const uint8_t *slot = xs__spsc_slot(q, q->pos);

	__builtin_prefetch(slot, 0, 3);
	__builtin_prefetch(slot + q->elem_size - 1, 0, 3); /* a slot may straddle two lines */
}

/**
 * Longest first wait of xs_spsc_wait(), in xs_cpu_relax() periods (a
 * `pause` is about 23 ns on AMD Zen 4/5, about 40 ns on Intel since
 * Skylake). The price of pacing: after a stream of 64 items or more, the
 * next item may be seen up to this many periods late. Large enough for the
 * slow regimes of virtual machines, where one cache-line transfer takes
 * 200 ns or more (with 16, streaming with a commit per message lost 4x there).
 */
#ifndef XS_SPSC_PACE_MAX
#define XS_SPSC_PACE_MAX 64u
#endif

/**
 * Consumer: the next item, waiting for one while the queue is empty: poll(),
 * and when that finds nothing, spin with xs_cpu_relax() before polling again,
 * paced to the traffic. If k items were taken (by any read call) since the
 * last empty poll here, the first wait is min(k, XS_SPSC_PACE_MAX) periods,
 * then one period between polls. A stream (large k) thus leaves the
 * producer's counter line alone while the producer publishes a batch,
 * instead of pulling it away after every message, which is what limits
 * streaming with a commit per message; a lone message (k = 1, ping-pong)
 * waits exactly as a plain poll-and-pause loop. Before each new poll it
 * prefetches the slot that poll would return (xs__spsc_prefetch_next()).
 * Same orderings as xs_spsc_poll() (one Acquire load of `write` per poll
 * that finds the cached view empty); the waits store to no shared memory.
 * @param max_polls give up after this many empty polls (0: wait forever)
 * @return the item (valid until finalize()), or NULL after max_polls empty
 *         polls or once the queue is corrupt (see xs_spsc_error()).
 */
XS_INLINE const void *xs_spsc_wait(struct xs_spsc *q, uint32_t max_polls)
{
	const void *slot;
	uint32_t polls = 0;

	while (!(slot = xs_spsc_poll(q))) {
		uint32_t k = (uint32_t)q->pos - q->pace_mark, n;

		if (XS_UNLIKELY(q->err) || (max_polls && ++polls >= max_polls))
			return NULL;
		q->pace_mark = (uint32_t)q->pos;
		n = !k ? 1 : k < XS_SPSC_PACE_MAX ? k : XS_SPSC_PACE_MAX;
		while (n--)
			xs_cpu_relax();
		xs__spsc_prefetch_next(q);
	}
	return slot;
}

/** Consumer: items available in the cached view. */
XS_INLINE uint64_t xs_spsc_avail_cached(const struct xs_spsc *q)
{
	return q->limit - q->pos;
}

/**
 * Consumer: release every slot read so far to the producer.
 * Ordering: Release store of `read`, pairs with the producer's Acquire
 * load in xs_spsc_prod_sync(): our reads of the slots happen before the
 * producer may overwrite them. Skipped when nothing was read.
 */
XS_INLINE void xs_spsc_finalize(struct xs_spsc *q)
{
	if (q->pos != q->published) {
		__atomic_store_n(q->rd, q->pos, __ATOMIC_RELEASE);
		q->published = q->pos;
	}
}

/** Consumer: poll, copy one element out, finalize. @return 0, -EAGAIN (empty) or the sticky error. */
XS_INLINE int xs_spsc_try_pop(struct xs_spsc *q, void *out)
{
	const void *slot = xs_spsc_poll(q);

	if (!slot)
		return q->err ? q->err : -EAGAIN;
	memcpy(out, slot, q->elem_size);
	xs_spsc_finalize(q);
	return 0;
}

/** Consumer: copy out up to @p n elements, finalize once. @return how many. */
XS_INLINE size_t xs_spsc_pop_burst(struct xs_spsc *q, void *out, size_t n)
{
	uint8_t *dst = (uint8_t *)out;
	size_t i;

	for (i = 0; i < n; i++) {
		const void *slot = xs_spsc_poll(q);

		if (!slot)
			break;
		memcpy(dst + i * q->elem_size, slot, q->elem_size);
	}
	xs_spsc_finalize(q);
	return i;
}

/**
 * Consumer: the next item, sleeping while the queue is empty, at most
 * @p timeout_ns. Spins XS_SHAQ_SPIN_ATTEMPTS polls, then (format 3.0) runs
 * the waiter protocol exactly as upstream (waiters += 1, SeqCst fence,
 * re-check, FUTEX_WAIT on the low 32 bits of `write` with the snapshot,
 * waiters -= 1 AcqRel, re-check), so any producer that follows the
 * protocol (xsched or Rust) wakes it. Formats without a waiters line poll
 * with short sleeps (1 µs .. 1 ms) instead. Makes system calls: for
 * consumers that may sleep, not for the hot path (use xs_spsc_wait()).
 * @return the item (valid until finalize()), or NULL on timeout or once the
 *         queue is corrupt (see xs_spsc_error()).
 */
const void *xs_spsc_wait_block(struct xs_spsc *q, uint64_t timeout_ns);

/**
 * Consumer: xs_spsc_wait_block(), copy the item out, finalize.
 * @return 0, -ETIMEDOUT, or the sticky error.
 */
int xs_spsc_pop_block(struct xs_spsc *q, void *out, uint64_t timeout_ns);

/**
 * Consumer: what a sleeper (e.g. a reactor, xs_rt_lthread_wait_on()) needs to
 * wait on this queue with the futex protocol.
 * @return 0; -EOPNOTSUPP when the format has no waiters line (< 3.0);
 *         -XS_EQ_ROLE for a producer handle.
 */
int xs_spsc_waitref(const struct xs_spsc *q, struct xs_shaq_waitref *out);

/** Queue length as seen from this handle's cached counters (upstream len()). */
XS_INLINE uint64_t xs_spsc_len_cached(const struct xs_spsc *q)
{
	if (q->role == XS_SPSC_PRODUCER)
		return q->pos - (q->limit - (q->mask + 1));
	return q->limit - q->pos;
}

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_SPSC_H */
