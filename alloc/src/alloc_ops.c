/* SPDX-License-Identifier: Apache-2.0 */
/* rts-alloc-compatible allocator: the out-of-line operations (global free
 * list, worker lists, slab take/return, remote frees, clean, trim). The
 * labels (G1, M1, R1, ...) refer to the ordering contract in
 * xsched/alloc.h. Every index read from shared memory is range checked
 * before it is used to compute an address. */
#include "alloc_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Slots ahead that the clean prefetches along a strided remote chain. */
#define XS_ALLOC_PF_DIST 4

int xs__alloc_corrupt(struct xs_alloc *a, const char *fmt, ...)
{
	char buf[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	a->cnt.errors++;
	return xs_seterr(-XS_EA_CORRUPT, "allocator worker %" PRIu32 ": %s", a->worker, buf);
}

/* ------------------------------------------------------- worker-local lists */

/* Push s at the head (spec §8.2). L1: Acquire head load, Release stores. */
int xs__alloc_list_push(struct xs_alloc *a, uint32_t *head, uint32_t s)
{
	uint32_t h = __atomic_load_n(head, __ATOMIC_ACQUIRE);

	if (!xs__alloc_valid_link(a, h) || h == s)
		return xs__alloc_corrupt(a, "list head %" PRIu32 " invalid while pushing slab %" PRIu32, h, s);
	__atomic_store_n(&a->nodes[s].local_prev, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
	__atomic_store_n(&a->nodes[s].local_next, h, __ATOMIC_RELEASE);
	if (h != XS_ALLOC_NULL_U32)
		__atomic_store_n(&a->nodes[h].local_prev, s, __ATOMIC_RELEASE);
	__atomic_store_n(head, s, __ATOMIC_RELEASE);
	return 0;
}

/* Unlink s (spec §8.2). L1: AcqRel swaps of s's links, Release stores.
 * The neighbours are checked first; the unlink never writes through a bad
 * link, and a slab without a predecessor must be the head. */
int xs__alloc_list_remove(struct xs_alloc *a, uint32_t *head, uint32_t s)
{
	uint32_t p = __atomic_exchange_n(&a->nodes[s].local_prev, XS_ALLOC_NULL_U32, __ATOMIC_ACQ_REL);
	uint32_t n = __atomic_exchange_n(&a->nodes[s].local_next, XS_ALLOC_NULL_U32, __ATOMIC_ACQ_REL);

	if (!xs__alloc_valid_link(a, p) || !xs__alloc_valid_link(a, n) ||
	    (p == XS_ALLOC_NULL_U32 && __atomic_load_n(head, __ATOMIC_ACQUIRE) != s))
		return xs__alloc_corrupt(a, "slab %" PRIu32 " has list links prev %" PRIu32 " next %" PRIu32
					 " (head %" PRIu32 ")", s, p, n, __atomic_load_n(head, __ATOMIC_ACQUIRE));
	if (p != XS_ALLOC_NULL_U32)
		__atomic_store_n(&a->nodes[p].local_next, n, __ATOMIC_RELEASE);
	else
		__atomic_store_n(head, n, __ATOMIC_RELEASE);
	if (n != XS_ALLOC_NULL_U32)
		__atomic_store_n(&a->nodes[n].local_prev, p, __ATOMIC_RELEASE);
	return 0;
}

/* ------------------------------------------------------- global free list */

int xs__alloc_global_push(struct xs_alloc *a, uint32_t s)
{
	union xs_alloc_global_head_shm *g = &a->hdr->global;

	a->cnt.slab_returns++;
	xs__alloc_set_owned(a, s, 0); /* from the push on, the next taker's */
	if (a->tagged) {
		/* G1 */
		uint64_t old = __atomic_load_n(&g->word, __ATOMIC_ACQUIRE), nw;

		for (;;) {
			__atomic_store_n(&a->nodes[s].global_next, (uint32_t)old, __ATOMIC_RELEASE);
			/* tag + 1 (mod 2^32) in the high half, s in the low half: every
			 * successful update changes the generation (3.0 / 4.0 too) */
			nw = (((old >> 32) + 1) << 32) | s;
			/* G2: Release publishes global_next and the slab's state. */
			if (__atomic_compare_exchange_n(&g->word, &old, nw, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return 0;
			a->cnt.cas_retries++;
		}
	}
	{
		uint32_t old = __atomic_load_n(&g->half.index, __ATOMIC_ACQUIRE); /* G1 */

		for (;;) {
			__atomic_store_n(&a->nodes[s].global_next, old, __ATOMIC_RELEASE);
			if (__atomic_compare_exchange_n(&g->half.index, &old, s, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) /* G2 */
				return 0;
			a->cnt.cas_retries++;
		}
	}
}

/* A head or next index out of range: corrupt only if the head did not move
 * meanwhile (a delayed popper may read a stale `next`). */
static int global_bad(struct xs_alloc *a, uint32_t h, uint32_t n)
{
	return xs__alloc_corrupt(a, "global free list head %" PRIu32 " next %" PRIu32 " (%" PRIu32 " slabs)",
				 h, n, a->num_slabs);
}

int xs__alloc_global_pop(struct xs_alloc *a, uint32_t *out)
{
	union xs_alloc_global_head_shm *g = &a->hdr->global;

	/* a->tagged: the xsched tag of 0.2 / 2.0 (x86-64) or the 3.0 / 4.0 head */
	if (a->tagged) {
		uint64_t old = __atomic_load_n(&g->word, __ATOMIC_ACQUIRE), nw; /* G1 */

		for (;;) {
			uint32_t h = (uint32_t)old, n;

			if (h == XS_ALLOC_NULL_U32)
				return -ENOMEM;
			if (h >= a->num_slabs)
				return global_bad(a, h, XS_ALLOC_NULL_U32);
			/* G1 made the pusher's global_next store visible. */
			n = __atomic_load_n(&a->nodes[h].global_next, __ATOMIC_ACQUIRE);
			if (!xs__alloc_valid_link(a, n) || n == h) {
				uint64_t now = __atomic_load_n(&g->word, __ATOMIC_ACQUIRE);

				if (now == old)
					return global_bad(a, h, n);
				old = now;
				continue;
			}
			if (XS_UNLIKELY(a->hook))
				a->hook(a, XS_ALLOC_HOOK_POP_WINDOW, h, n, a->hook_arg);
			/* An interleaved pop-h/pop-n/push-h by xsched peers bumped the tag:
			 * this CAS then fails instead of installing a stale n. */
			nw = (((old >> 32) + 1) << 32) | n;
			if (__atomic_compare_exchange_n(&g->word, &old, nw, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) { /* G2 */
				__atomic_store_n(&a->nodes[h].global_next, XS_ALLOC_NULL_U32,
						 __ATOMIC_RELEASE);
				a->cnt.slab_takes++;
				*out = h;
				return 0;
			}
			a->cnt.cas_retries++;
		}
	}
	{
		/* The 0.2.0 algorithm (no ABA protection). */
		uint32_t old = __atomic_load_n(&g->half.index, __ATOMIC_ACQUIRE); /* G1 */

		for (;;) {
			uint32_t n;

			if (old == XS_ALLOC_NULL_U32)
				return -ENOMEM;
			if (old >= a->num_slabs)
				return global_bad(a, old, XS_ALLOC_NULL_U32);
			n = __atomic_load_n(&a->nodes[old].global_next, __ATOMIC_ACQUIRE);
			if (!xs__alloc_valid_link(a, n) || n == old) {
				uint32_t now = __atomic_load_n(&g->half.index, __ATOMIC_ACQUIRE);

				if (now == old)
					return global_bad(a, old, n);
				old = now;
				continue;
			}
			if (XS_UNLIKELY(a->hook))
				a->hook(a, XS_ALLOC_HOOK_POP_WINDOW, old, n, a->hook_arg);
			if (__atomic_compare_exchange_n(&g->half.index, &old, n, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) { /* G2 */
				__atomic_store_n(&a->nodes[old].global_next, XS_ALLOC_NULL_U32,
						 __ATOMIC_RELEASE);
				a->cnt.slab_takes++;
				*out = old;
				return 0;
			}
			a->cnt.cas_retries++;
		}
	}
}

/* ------------------------------------------------------------ slab states */

/* 8 free-stack entries at a time (GCC/clang vector extension, SSE2 on x86-64). */
typedef uint16_t xs__v8u16 __attribute__((vector_size(16)));

/* stack[k] = cap - 1 - k for k < cap (cap is a power of two >= 4). The
 * scalar loop costs ~3 us for a 2 MiB slab of 256-byte slots (8192 entries)
 * and dominates a slab take; 16-byte stores cut that by about 8. */
static void fstack_reset(uint16_t *stack, uint32_t cap)
{
	uint32_t k = 0;

	if (cap >= 8) {
		xs__v8u16 v, step = {8, 8, 8, 8, 8, 8, 8, 8};
		uint16_t c = (uint16_t)(cap - 1);

		v = (xs__v8u16){c, (uint16_t)(c - 1), (uint16_t)(c - 2), (uint16_t)(c - 3),
				(uint16_t)(c - 4), (uint16_t)(c - 5), (uint16_t)(c - 6), (uint16_t)(c - 7)};
		for (; k < cap; k += 8, v -= step)
			memcpy(stack + k, &v, sizeof(v));
		return;
	}
	for (; k < cap; k++)
		stack[k] = (uint16_t)(cap - 1 - k);
}

/*
 * The global list offered slab s, which this handle owns or has live slots
 * in: the list is corrupt (a slab linked twice, one of ours linked in, or
 * an ABA by 0.2.0 peers). Re-initialising s would hand its live slots out a
 * second time, and rewrite the class and lists of a slab in use. The slab is
 * left as it is: it is off the global list now (pop took it), which is
 * where it should be; pushing it back would let another worker take it.
 * The handle takes nothing more from a list it knows to be corrupt.
 */
static XS_COLD XS_NOINLINE int refuse_slab(struct xs_alloc *a, uint32_t s, unsigned c, uint32_t live,
					   int owned)
{
	char why[96];

	if (owned)
		snprintf(why, sizeof(why), "this worker owns (%" PRIu32 " of its slots live)", live);
	else
		snprintf(why, sizeof(why), "this worker gave back with %" PRIu32 " slots still live", live);
	a->global_bad = s;
	a->cnt.errors++;
	return xs_seterr(-XS_EA_SLAB_LIVE, "allocator worker %" PRIu32 ": the global free list offered slab %"
			 PRIu32 " for class %u, a slab %s; the list is corrupt (a slab linked twice, or "
			 "one in use linked in): the slab is not used and this handle takes no more slabs "
			 "from the list", a->worker, s, c, why);
}

/* Assign slab s (just popped) to this worker for class c (spec §6 step 2).
 * First make sure it is not a slab this handle still uses (see
 * refuse_slab()): owned, or with slots the shadow bitmap shows live. The
 * shadow words of a slab we do not own are all zero (the bitmap starts
 * zero, and a slab is given back only once every slot we handed out came
 * back, unless a forged free stack made us give it back early: the case
 * caught here), so the scan replaces the clearing a take needs and costs
 * about what that memset did (S/2048 bytes, slab-take path only). */
static int take_slab(struct xs_alloc *a, uint32_t s, unsigned c)
{
	struct xs_alloc_slab_meta_shm *m = &a->meta[s];
	struct xs_alloc_fstack_shm *fs = xs__alloc_fstack(a, s);
	uint32_t cap = a->cap[c];
	const uint64_t *w = &a->shadow[((uint64_t)s << a->shadow_shift) >> 6];
	size_t k, words = ((size_t)1 << a->shadow_shift) / 64;
	uint64_t any = 0;

	for (k = 0; k < words; k++)
		any |= w[k];
	if (XS_UNLIKELY(any || xs__alloc_owned(a, s))) {
		uint32_t live = 0;

		for (k = 0; k < words; k++)
			live += (uint32_t)__builtin_popcountll(w[k]);
		return refuse_slab(a, s, c, live, xs__alloc_owned(a, s));
	}
	xs__alloc_set_owned(a, s, 1);
	/* M1: Release each, pairs with M2 of whoever frees into this slab. */
	__atomic_store_n(&m->assigned_worker, a->worker, __ATOMIC_RELEASE);
	__atomic_store_n(&m->size_class_index, (uint64_t)c, __ATOMIC_RELEASE);
	if (a->remote_kind == XS_ALLOC_REMOTE_SLAB_U16) /* 4.0 has no per-slab stack */
		__atomic_store_n(&m->remote_head, XS_ALLOC_NULL_U16, __ATOMIC_RELEASE);
	/* Only entries [0, cap) are written, as upstream (the rest keeps stale
	 * values that are part of the file image). Pops return 0, 1, 2, ... */
	fstack_reset(fs->stack, cap);
	__atomic_store_n(&fs->top, (uint16_t)cap, __ATOMIC_RELAXED);      /* F1 */
	__atomic_store_n(&fs->capacity, (uint16_t)cap, __ATOMIC_RELAXED); /* F1 */
	a->kept[c] = 0; /* the partial list was empty, so nothing was kept */
	return xs__alloc_list_push(a, &a->me->cls[c].partial, s);
}

int xs__alloc_to_full(struct xs_alloc *a, unsigned c, uint32_t s)
{
	int rc = xs__alloc_list_remove(a, &a->me->cls[c].partial, s);

	if (rc < 0)
		return rc;
	return xs__alloc_list_push(a, &a->me->cls[c].full, s);
}

/* An emptied slab goes back to the global list. 4.0 first resets its
 * owner (Release, pairs with M2 of a late free into it, which then finds no
 * owner); the other formats keep owner and class until the next take. */
int xs__alloc_return_slab(struct xs_alloc *a, uint32_t s)
{
	if (a->fi->unassign_empty)
		__atomic_store_n(&a->meta[s].assigned_worker, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
	return xs__alloc_global_push(a, s);
}

int xs__alloc_free_slow(struct xs_alloc *a, uint32_t s, unsigned c, uint32_t top)
{
	int rc;

	if (top == 1) {
		/* Was full: full -> partial. The class was read with Acquire by the
		 * caller; upstream re-reads it Relaxed here, same value. */
		rc = xs__alloc_list_remove(a, &a->me->cls[c].full, s);
		if (rc < 0)
			return rc;
		return xs__alloc_list_push(a, &a->me->cls[c].partial, s);
	}
	/* Now unused and not kept: back to the global list (0.2 - 3.0: the
	 * metadata keeps its old owner and class until the next take). */
	rc = xs__alloc_list_remove(a, &a->me->cls[c].partial, s);
	if (rc < 0)
		return rc;
	return xs__alloc_return_slab(a, s);
}

/* The partial head s failed the fast path: find out why, report, and make
 * sure the next call does not trip over the same thing. */
static int bad_partial_head(struct xs_alloc *a, unsigned c, uint32_t s)
{
	struct xs_alloc_fstack_shm *fs = xs__alloc_fstack(a, s);
	uint32_t cap = a->cap[c], top = fs->top, capacity = fs->capacity, idx;
	uint64_t bit, *w;

	if (capacity != cap || top > cap) {
		/* Unusable stack: quarantine the slab (off every list). */
		(void)xs__alloc_list_remove(a, &a->me->cls[c].partial, s);
		return xs__alloc_corrupt(a, "slab %" PRIu32 " (class %u) has free-stack top %" PRIu32
					 " capacity %" PRIu32 ", expected capacity %" PRIu32 "; slab set aside",
					 s, c, top, capacity, cap);
	}
	if (top == 0) {
		/* A full slab on the partial list: move it where it belongs. */
		(void)xs__alloc_to_full(a, c, s);
		return xs__alloc_corrupt(a, "slab %" PRIu32 " on the partial list of class %u has no free slot",
					 s, c);
	}
	idx = fs->stack[top - 1];
	w = idx < cap ? xs__alloc_shadow_word(a, s, idx, &bit) : NULL;
	/* Drop the bad entry: a slot in use is never handed out again (F1). */
	__atomic_store_n(&fs->top, (uint16_t)(top - 1), __ATOMIC_RELAXED);
	if (top == 1)
		(void)xs__alloc_to_full(a, c, s);
	if (!w)
		return xs__alloc_corrupt(a, "free stack of slab %" PRIu32 " offers slot %" PRIu32
					 " >= capacity %" PRIu32 "; entry dropped", s, idx, cap);
	return xs__alloc_corrupt(a, "free stack of slab %" PRIu32 " offers slot %" PRIu32
				 " which is in use; entry dropped", s, idx);
}

static long clean_list(struct xs_alloc *a, unsigned c, int which, int *err);
static long drain_worker(struct xs_alloc *a, int *err);

int xs__alloc_refill(struct xs_alloc *a, unsigned c, uint64_t *off)
{
	int tries, rc, err = 0;

	for (tries = 0; tries < 4; tries++) {
		uint32_t s = __atomic_load_n(&a->me->cls[c].partial, __ATOMIC_ACQUIRE); /* L1 */

		if (s != XS_ALLOC_NULL_U32) {
			if (s >= a->num_slabs)
				return xs__alloc_corrupt(a, "partial head of class %u is slab %" PRIu32
							 " (%" PRIu32 " slabs)", c, s, a->num_slabs);
			if (xs__alloc_pop(a, c, s, off) == 0)
				return 0;
			return bad_partial_head(a, c, s);
		}
		if (a->policy == XS_ALLOC_POLICY_XSCHED && tries == 0) {
			/* Remote frees into our full slabs may have made room: use it
			 * before taking a fresh slab (4.0: they all wait on one stack). */
			if ((a->remote_kind == XS_ALLOC_REMOTE_WORKER_U64 ? drain_worker(a, &err) :
			     clean_list(a, c, XS__FULL, &err)) > 0)
				continue;
		}
		if (XS_UNLIKELY(a->global_bad != XS_ALLOC_NULL_U32)) {
			a->cnt.errors++;
			return xs_seterr(-XS_EA_SLAB_LIVE, "allocator worker %" PRIu32 ": no %u-byte slot left "
					 "and no slab is taken from the global free list, found corrupt earlier "
					 "(it offered slab %" PRIu32 ", in use by this worker)", a->worker,
					 xs_alloc_class_size(c), a->global_bad);
		}
		rc = xs__alloc_global_pop(a, &s);
		if (rc == -ENOMEM) {
			if (a->policy == XS_ALLOC_POLICY_XSCHED && tries < 2) {
				/* Out of slabs: clean every class and give back what we
				 * keep, then try once more. */
				int cleaned = xs_alloc_clean_remote(a);
				int trimmed = xs_alloc_trim(a);

				if (cleaned > 0 || trimmed > 0)
					continue;
			}
			a->cnt.alloc_fails++;
			return xs_seterr(-ENOMEM, "allocator worker %" PRIu32 ": no free %u-byte slot and "
					 "no free slab left (%" PRIu32 " slabs of %" PRIu32 " bytes)",
					 a->worker, xs_alloc_class_size(c), a->num_slabs, a->slab_size);
		}
		if (rc < 0)
			return rc;
		rc = take_slab(a, s, c);
		if (rc < 0)
			return rc;
	}
	return xs__alloc_corrupt(a, "class %u: no slot after taking a slab", c);
}

/* ------------------------------------------------------------ remote frees */

XS_INLINE uint16_t *slot_link(const struct xs_alloc *a, uint32_t s, unsigned c, uint32_t idx)
{
	return (uint16_t *)(void *)(a->base + xs__alloc_slot_off(a, s, c, idx));
}

/* Publish the chain first -> ... -> last (links already stored) on slab s's
 * remote stack (spec §7.2; a single slot is a chain of one). */
static void remote_push_chain(struct xs_alloc *a, uint32_t s, uint16_t first, uint16_t *last)
{
	uint16_t *rh = &a->meta[s].remote_head;
	uint16_t h = __atomic_load_n(rh, __ATOMIC_ACQUIRE);

	for (;;) {
		/* R1: the link goes into the freed slot, then the CAS publishes it. */
		__atomic_store_n(last, h, __ATOMIC_RELEASE);
		if (__atomic_compare_exchange_n(rh, &h, first, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
		a->cnt.cas_retries++;
	}
	a->cnt.remote_pushes++;
}

/* Format 4.0: worker w's remote_free_head (w < num_workers). */
static uint64_t *worker_remote_head(const struct xs_alloc *a, uint32_t w)
{
	return (uint64_t *)(void *)(xs__alloc_entry(a, w) + a->fi->remote_head_off);
}

/* The u64 link in the first 8 bytes of the slot at offset off (a checked
 * slot start: aligned to >= 256 and inside the slabs). */
static uint64_t *slot_link64(const struct xs_alloc *a, uint64_t off)
{
	return (uint64_t *)(void *)(a->base + off);
}

/* Format 4.0: publish the chain head -> ... -> tail (inner links stored) on
 * worker w's stack (RTS_ALLOC4.md §7; a single slot is a chain of one). */
static void remote_push_worker(struct xs_alloc *a, uint32_t w, uint64_t head, uint64_t tail)
{
	uint64_t *rh = worker_remote_head(a, w);
	uint64_t h = __atomic_load_n(rh, __ATOMIC_ACQUIRE);

	for (;;) {
		/* W1: the old head goes into the tail slot's link, then the CAS
		 * publishes the chain. */
		__atomic_store_n(slot_link64(a, tail), h, __ATOMIC_RELEASE);
		if (__atomic_compare_exchange_n(rh, &h, head, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
		a->cnt.cas_retries++;
	}
	a->cnt.remote_pushes++;
}

int xs__alloc_free_remote(struct xs_alloc *a, uint32_t s, unsigned c, uint32_t idx, uint32_t owner)
{
	if (a->remote_kind == XS_ALLOC_REMOTE_WORKER_U64) {
		uint64_t off = xs__alloc_slot_off(a, s, c, idx);

		remote_push_worker(a, owner, off, off);
	} else {
		remote_push_chain(a, s, (uint16_t)idx, slot_link(a, s, c, idx));
	}
	a->cnt.frees_remote++;
	return 0;
}

int xs__alloc_bad_size(struct xs_alloc *a, size_t size)
{
	if (size == 0)
		return xs_seterr(-XS_EA_ZERO_SIZE, "allocator format %s serves no 0-byte allocation "
				 "(rts-alloc 5.x returns none)", a->fi->name);
	return xs_seterr(-XS_EA_TOO_BIG, "allocation of %zu bytes: the largest is %u", size, XS_ALLOC_MAX_SIZE);
}

/* Error text for a refused free. The loads here only describe what was
 * seen (relaxed); nothing is decided on them. */
int xs__alloc_bad_free(struct xs_alloc *a, uint64_t off, int code)
{
	uint64_t rel = off - a->slabs_off, s = rel >> a->slab_shift;

	a->cnt.errors++;
	switch (-code) {
	case XS_EA_OFFSET:
		return xs_seterr(code, "free of offset %" PRIu64 ": outside the slabs [%" PRIu64 ", %" PRIu64 ")",
				 off, a->slabs_off, a->slabs_off + ((uint64_t)a->num_slabs << a->slab_shift));
	case XS_EA_NOT_SLOT:
		return xs_seterr(code, "free of offset %" PRIu64 ": not a slot start in slab %" PRIu64
				 " (class size %u)", off, s,
				 xs_alloc_class_size((unsigned)__atomic_load_n(&a->meta[s].size_class_index,
									      __ATOMIC_RELAXED) & 7));
	case XS_EA_UNASSIGNED:
		return xs_seterr(code, "free of offset %" PRIu64 ": slab %" PRIu64 " has owner %" PRIu32, off, s,
				 __atomic_load_n(&a->meta[s].assigned_worker, __ATOMIC_RELAXED));
	case XS_EA_DOUBLE_FREE:
		return xs_seterr(code, "free of offset %" PRIu64 " (slab %" PRIu64 "): the slot is already free",
				 off, s);
	case XS_EA_CORRUPT: {
		uint64_t c = s < a->num_slabs ?
			__atomic_load_n(&a->meta[s].size_class_index, __ATOMIC_RELAXED) : 0;
		struct xs_alloc_fstack_shm *fs;
		unsigned top, capacity;

		if (s >= a->num_slabs)
			return code;
		if (c >= XS_ALLOC_NUM_CLASSES)
			return xs_seterr(code, "free of offset %" PRIu64 ": slab %" PRIu64 " has class index %" PRIu64,
					 off, s, c);
		fs = xs__alloc_fstack(a, (uint32_t)s);
		top = __atomic_load_n(&fs->top, __ATOMIC_RELAXED);            /* F1 */
		capacity = __atomic_load_n(&fs->capacity, __ATOMIC_RELAXED); /* F1 */
		if (capacity != a->cap[c] || top >= a->cap[c])
			return xs_seterr(code, "free of offset %" PRIu64 ": slab %" PRIu64 " free stack has top %u"
					 " capacity %u, class %" PRIu64 " needs capacity %u", off, s, top,
					 capacity, c, a->cap[c]);
		/* else a list link was bad: recorded where it was found */
		return code;
	}
	default:
		return code;
	}
}

/* One destination of a format 4.0 batch: the chain head -> ... -> tail. */
struct batch_chain {
	uint64_t head, tail;
	uint32_t w, n;
};

/* Publish the gathered chains, last destination first (as upstream's
 * RemoteFreeBatch flush takes them from the end of its list). */
static void batch_flush(struct xs_alloc *a, struct batch_chain *ch, unsigned nch)
{
	while (nch-- > 0) {
		if (XS_UNLIKELY(a->hook))
			a->hook(a, XS_ALLOC_HOOK_REMOTE_FLUSH, ch[nch].w, ch[nch].n, a->hook_arg);
		remote_push_worker(a, ch[nch].w, ch[nch].head, ch[nch].tail);
	}
}

/* xs_alloc_free_offsets() for format 4.0 (RTS_ALLOC4.md §7, RemoteFreeBatch). */
static int free_offsets_worker(struct xs_alloc *a, const uint64_t *offs, size_t n)
{
	struct batch_chain ch[XS_ALLOC_BATCH_OWNERS];
	unsigned nch = 0, last = 0, k;
	uint64_t chained = 0;
	int first_err = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct xs__alloc_loc l;
		int rc = xs__alloc_locate(a, offs[i], &l);

		if (rc == 0 && l.owner == a->worker) {
			rc = xs__alloc_free_local(a, l.s, l.c, l.idx);
		} else if (rc == 0 && l.owner >= a->num_workers) {
			rc = -XS_EA_UNASSIGNED;
		} else if (rc == 0) {
			/* the chain of this destination: the last one used first */
			if (nch && ch[last].w == l.owner) {
				k = last;
			} else {
				for (k = 0; k < nch && ch[k].w != l.owner; k++)
					;
			}
			if (k < nch) {
				/* W1: in front of its chain (ours until published) */
				__atomic_store_n(slot_link64(a, offs[i]), ch[k].head, __ATOMIC_RELEASE);
				ch[k].head = offs[i];
				ch[k].n++;
			} else {
				if (nch == XS_ALLOC_BATCH_OWNERS) {
					batch_flush(a, ch, nch);
					nch = 0;
				}
				k = nch++;
				ch[k].w = l.owner;
				ch[k].head = ch[k].tail = offs[i]; /* tail's link: written at flush */
				ch[k].n = 1;
			}
			last = k;
			chained++;
		}
		if (rc < 0) {
			rc = xs__alloc_bad_free(a, offs[i], rc);
			if (!first_err)
				first_err = rc;
		}
	}
	batch_flush(a, ch, nch);
	a->cnt.frees_remote += chained;
	return first_err;
}

int xs_alloc_free_offsets(struct xs_alloc *a, const uint64_t *offs, size_t n)
{
	uint32_t cs = XS_ALLOC_NULL_U32; /* slab of the open chain */
	uint16_t first = 0, *last = NULL;
	uint64_t chained = 0;
	int first_err = 0;
	size_t i;

	if (a->remote_kind == XS_ALLOC_REMOTE_WORKER_U64)
		return free_offsets_worker(a, offs, n);
	for (i = 0; i < n; i++) {
		struct xs__alloc_loc l;
		int rc = xs__alloc_locate(a, offs[i], &l);

		if (rc == 0 && l.owner == a->worker) {
			rc = xs__alloc_free_local(a, l.s, l.c, l.idx);
		} else if (rc == 0 && l.owner >= a->num_workers) {
			rc = -XS_EA_UNASSIGNED;
		} else if (rc == 0) {
			uint16_t *link = slot_link(a, l.s, l.c, l.idx);

			if (l.s == cs) {
				/* Extend the chain: previous slot -> this one (R1; the
				 * chain is ours until published). */
				__atomic_store_n(last, (uint16_t)l.idx, __ATOMIC_RELEASE);
			} else {
				if (last)
					remote_push_chain(a, cs, first, last);
				cs = l.s;
				first = (uint16_t)l.idx;
			}
			last = link;
			chained++;
		}
		if (rc < 0) {
			rc = xs__alloc_bad_free(a, offs[i], rc);
			if (!first_err)
				first_err = rc;
		}
	}
	if (last)
		remote_push_chain(a, cs, first, last);
	a->cnt.frees_remote += chained;
	return first_err;
}

/* ------------------------------------------------------------------- clean */

/* Take back slab s's remote frees (spec §7.3), walking at most as many
 * links as the slab has allocated slots. */
static long clean_slab(struct xs_alloc *a, uint32_t s, unsigned c, int *err)
{
	struct xs_alloc_slab_meta_shm *m = &a->meta[s];
	struct xs_alloc_fstack_shm *fs = xs__alloc_fstack(a, s);
	uint32_t cap = a->cap[c], top, budget, i, prev = XS_ALLOC_NULL_U16, cshift = XS_ALLOC_MIN_SHIFT + c;
	uint8_t *slab = a->base + a->slabs_off + ((uint64_t)s << a->slab_shift);
	long cleaned = 0;
	int rc;

	/* A load first (Acquire, as R2): an empty stack costs no RMW (a swap of
	 * NULL by NULL would leave the same bytes). */
	if (__atomic_load_n(&m->remote_head, __ATOMIC_ACQUIRE) == XS_ALLOC_NULL_U16)
		return 0;
	/* M2: the slab must still be ours, for the class of the list. */
	if (__atomic_load_n(&m->assigned_worker, __ATOMIC_ACQUIRE) != a->worker ||
	    __atomic_load_n(&m->size_class_index, __ATOMIC_ACQUIRE) != c) {
		rc = xs__alloc_corrupt(a, "slab %" PRIu32 " on our class %u list has owner %" PRIu32
				       " class %" PRIu64 "; not cleaned", s, c,
				       __atomic_load_n(&m->assigned_worker, __ATOMIC_RELAXED),
				       __atomic_load_n(&m->size_class_index, __ATOMIC_RELAXED));
		goto fail;
	}
	top = __atomic_load_n(&fs->top, __ATOMIC_RELAXED); /* F1 */
	if (top > cap || __atomic_load_n(&fs->capacity, __ATOMIC_RELAXED) != cap) {
		rc = xs__alloc_corrupt(a, "slab %" PRIu32 " free stack top %" PRIu32 " capacity %u, expected %"
				       PRIu32 "; not cleaned", s, top, fs->capacity, cap);
		goto fail;
	}
	budget = cap - top; /* slots a user may hold: no chain is longer */
	/* R2: take the whole stack; pairs with R1 of every pusher. */
	i = __atomic_exchange_n(&m->remote_head, XS_ALLOC_NULL_U16, __ATOMIC_ACQ_REL);
	while (i != XS_ALLOC_NULL_U16) {
		uint32_t n;

		if (i >= cap) {
			a->cnt.errors++;
			rc = xs_seterr(-XS_EA_REMOTE_CORRUPT, "remote free list of slab %" PRIu32
				       " links to slot %" PRIu32 " of %" PRIu32 " (after %ld slots); rest abandoned",
				       s, i, cap, cleaned);
			goto fail;
		}
		if (budget == 0) {
			a->cnt.errors++;
			rc = xs_seterr(-XS_EA_REMOTE_CORRUPT, "remote free list of slab %" PRIu32
				       " is longer than its %" PRIu32 " allocated slots (a cycle: double remote "
				       "free or corrupt link at slot %" PRIu32 "); rest abandoned",
				       s, cap - top, i);
			goto fail;
		}
		budget--;
		/* R3: the link R1 stored, read before the slot is freed. */
		n = __atomic_load_n((uint16_t *)(void *)(slab + ((size_t)i << cshift)), __ATOMIC_ACQUIRE);
		if (prev != XS_ALLOC_NULL_U16) {
			/* Chains are mostly runs of consecutive slots: prefetch
			 * where the stride says the walk will be a few steps on. */
			int64_t p = (int64_t)i + XS_ALLOC_PF_DIST * ((int64_t)i - (int64_t)prev);

			if (p >= 0 && p < (int64_t)cap)
				__builtin_prefetch(slab + ((size_t)p << cshift), 0, 3);
		}
		rc = xs__alloc_free_local(a, s, c, i);
		if (rc < 0) {
			a->cnt.errors++;
			if (rc == -XS_EA_DOUBLE_FREE)
				rc = xs_seterr(rc, "remote free list of slab %" PRIu32 " holds slot %" PRIu32
					       " which is already free (double free); rest abandoned", s, i);
			goto fail;
		}
		cleaned++;
		prev = i;
		i = n;
	}
	a->cnt.cleaned += (uint64_t)cleaned;
	return cleaned;
fail:
	a->cnt.cleaned += (uint64_t)cleaned;
	if (!*err)
		*err = rc;
	return cleaned;
}

/* Clean every slab of one list; reads each node's next before cleaning it
 * (cleaning may move it), bounded by the slab count. */
static long clean_list(struct xs_alloc *a, unsigned c, int which, int *err)
{
	uint32_t s = __atomic_load_n(xs__alloc_head(a, c, which), __ATOMIC_ACQUIRE); /* L1 */
	uint32_t steps = 0;
	long total = 0;

	while (s != XS_ALLOC_NULL_U32) {
		uint32_t next;

		if (s >= a->num_slabs || steps++ >= a->num_slabs) {
			int rc = xs__alloc_corrupt(a, "class %u %s list reaches slab %" PRIu32 " after %" PRIu32
						   " steps", c, which == XS__FULL ? "full" : "partial", s, steps);

			if (!*err)
				*err = rc;
			break;
		}
		next = __atomic_load_n(&a->nodes[s].local_next, __ATOMIC_ACQUIRE); /* L1 */
		total += clean_slab(a, s, c, err);
		s = next;
	}
	return total;
}

/*
 * Format 4.0: take this worker's whole remote stack (W2) and free each slot
 * locally (RTS_ALLOC4.md §7, clean_remote_frees). Every offset is located
 * and checked before its link is read; a slot must lie in a slab this
 * handle owns and be held (shadow bit set), so each step frees a distinct
 * live slot: the walk ends after at most as many steps as slots are out.
 */
static long drain_worker(struct xs_alloc *a, int *err)
{
	uint64_t h;
	long cleaned = 0;
	int rc = 0;

	/* A load first (Acquire, as W2): an empty stack costs no RMW. */
	if (__atomic_load_n(a->remote_head, __ATOMIC_ACQUIRE) == XS_ALLOC_NULL_USIZE)
		return 0;
	/* W2: take the whole stack; pairs with W1 of every pusher. */
	h = __atomic_exchange_n(a->remote_head, XS_ALLOC_NULL_USIZE, __ATOMIC_ACQ_REL);
	while (h != XS_ALLOC_NULL_USIZE) {
		struct xs__alloc_loc l;
		uint64_t next;

		rc = xs__alloc_locate(a, h, &l);
		if (rc < 0 || l.owner != a->worker || !xs__alloc_owned(a, l.s)) {
			const char *why = rc == -XS_EA_OFFSET ? "outside the slabs" :
					  rc == -XS_EA_NOT_SLOT ? "not at a slot start" :
					  rc < 0 ? "in a slab with a bad class" : "in a slab this worker does not own";

			rc = xs_seterr(-XS_EA_REMOTE_CORRUPT, "allocator worker %" PRIu32 ": remote free chain "
				       "links to offset %" PRIu64 ", %s (after %ld slots); rest abandoned",
				       a->worker, h, why, cleaned);
			break;
		}
		/* W3: the link W1 stored, read before the slot is freed. */
		next = __atomic_load_n(slot_link64(a, h), __ATOMIC_ACQUIRE);
		if (next < a->size)
			__builtin_prefetch(a->base + next, 0, 3);
		rc = xs__alloc_free_local(a, l.s, l.c, l.idx); /* also O1 */
		if (rc == -XS_EA_DOUBLE_FREE) {
			rc = xs_seterr(-XS_EA_REMOTE_CORRUPT, "allocator worker %" PRIu32 ": remote free chain "
				       "reaches offset %" PRIu64 ", a slot already free (the chain loops, or a "
				       "double remote free), after %ld slots; rest abandoned", a->worker, h,
				       cleaned);
			break;
		}
		if (rc < 0)
			break;
		cleaned++;
		h = next;
	}
	a->cnt.cleaned += (uint64_t)cleaned;
	if (rc < 0) {
		if (rc == -XS_EA_REMOTE_CORRUPT)
			a->cnt.errors++;
		if (!*err)
			*err = rc;
	}
	return cleaned;
}

int xs_alloc_clean_remote(struct xs_alloc *a)
{
	long total = 0;
	unsigned c;
	int err = 0;

	a->cnt.cleans++;
	if (a->remote_kind == XS_ALLOC_REMOTE_WORKER_U64) {
		total = drain_worker(a, &err);
		if (err)
			return err;
		return total > INT32_MAX ? INT32_MAX : (int)total;
	}
	for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
		/* Partial first: a full slab that becomes partial is then not
		 * visited twice. */
		total += clean_list(a, c, XS__PARTIAL, &err);
		total += clean_list(a, c, XS__FULL, &err);
	}
	if (err)
		return err;
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

/* -------------------------------------------------------------------- trim */

/* Walks our partial lists (L1 loads) and returns every slab whose free
 * stack is full (F1 loads: our own fields). */
int xs_alloc_trim(struct xs_alloc *a)
{
	unsigned c;
	int returned = 0, rc;

	for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
		uint32_t *head = &a->me->cls[c].partial;
		uint32_t s = __atomic_load_n(head, __ATOMIC_ACQUIRE), steps = 0;

		a->kept[c] = 0;
		while (s != XS_ALLOC_NULL_U32) {
			struct xs_alloc_fstack_shm *fs;
			uint32_t next;

			if (s >= a->num_slabs || steps++ >= a->num_slabs)
				return xs__alloc_corrupt(a, "class %u partial list reaches slab %" PRIu32
							 " after %" PRIu32 " steps", c, s, steps);
			next = __atomic_load_n(&a->nodes[s].local_next, __ATOMIC_ACQUIRE);
			fs = xs__alloc_fstack(a, s);
			if (__atomic_load_n(&fs->top, __ATOMIC_RELAXED) == a->cap[c] &&
			    __atomic_load_n(&fs->capacity, __ATOMIC_RELAXED) == a->cap[c]) {
				rc = xs__alloc_list_remove(a, head, s);
				if (rc < 0)
					return rc;
				rc = xs__alloc_return_slab(a, s);
				if (rc < 0)
					return rc;
				returned++;
			}
			s = next;
		}
	}
	return returned;
}
