/* SPDX-License-Identifier: Apache-2.0 */
/* Private parts of the allocator shared by its source files. */
#ifndef XS_ALLOC_PVT_H
#define XS_ALLOC_PVT_H

#include <pthread.h>

#include "xsched/alloc.h"

/* The xsched tag on a 0.2 / 2.0 head needs mixed-width locked RMW on one
 * word; the argument in alloc.h is made for x86-64 only. (3.0 and 4.0 have
 * a 64-bit head of their own: their tagged path runs everywhere.) */
#if defined(__x86_64__)
#define XS_ALLOC_HAVE_TAG 1
#else
#define XS_ALLOC_HAVE_TAG 0
#endif

/** One mapping of an allocator file, shared by every handle opened on it
 *  with xs_alloc_join_handle(). */
struct xs_alloc_map {
	uint8_t *base;
	size_t size;
	pthread_mutex_t lock; /* guards refs and open_ids */
	uint32_t refs;
	uint32_t num_workers;
	uint32_t slab_size;
	const struct xs_alloc_format_info *fi; /* the row the file was opened with */
	struct xs_alloc_layout lay;
	uint64_t open_ids[]; /* bit w: worker index w has an open handle */
};

/* Worker-local list selectors. */
enum { XS__PARTIAL = 0, XS__FULL = 1 };

XS_INLINE uint32_t *xs__alloc_head(struct xs_alloc *a, unsigned c, int which)
{
	return which == XS__PARTIAL ? &a->me->cls[c].partial : &a->me->cls[c].full;
}

/* Worker w's entry in the mapping at base (w < num_workers). */
XS_INLINE uint8_t *xs__alloc_entry_at(uint8_t *base, const struct xs_alloc_format_info *fi, uint32_t w)
{
	return base + XS_ALLOC_HEADER_SIZE + (size_t)fi->entry_size * w;
}

XS_INLINE uint8_t *xs__alloc_entry(const struct xs_alloc *a, uint32_t w)
{
	return xs__alloc_entry_at(a->base, a->fi, w);
}

/* Worker w's list heads. */
XS_INLINE struct xs_alloc_heads_shm *xs__alloc_heads_of(const struct xs_alloc *a, uint32_t w)
{
	return (struct xs_alloc_heads_shm *)(void *)(xs__alloc_entry(a, w) + a->fi->heads_off);
}

XS_INLINE int xs__alloc_valid_link(const struct xs_alloc *a, uint32_t v)
{
	return v == XS_ALLOC_NULL_U32 || v < a->num_slabs;
}

/* The handle's record of the slabs it owns (taken from the global list or
 * found on its lists at open, and not given back since). Private memory:
 * a peer cannot forge it. */
XS_INLINE int xs__alloc_owned(const struct xs_alloc *a, uint32_t s)
{
	return (int)((a->owned[s >> 6] >> (s & 63)) & 1);
}

XS_INLINE void xs__alloc_set_owned(struct xs_alloc *a, uint32_t s, int on)
{
	if (on)
		a->owned[s >> 6] |= 1ull << (s & 63);
	else
		a->owned[s >> 6] &= ~(1ull << (s & 63));
}

/* alloc_ops.c */
int xs__alloc_list_push(struct xs_alloc *a, uint32_t *head, uint32_t s);
int xs__alloc_list_remove(struct xs_alloc *a, uint32_t *head, uint32_t s);
int xs__alloc_global_push(struct xs_alloc *a, uint32_t s);
int xs__alloc_global_pop(struct xs_alloc *a, uint32_t *out);
int xs__alloc_corrupt(struct xs_alloc *a, const char *fmt, ...) XS_PRINTF(2, 3) XS_COLD;
int xs__alloc_return_slab(struct xs_alloc *a, uint32_t s);

XS_LINK_ERROR_TEXTS(xs_strerror_alloc);

#endif /* XS_ALLOC_PVT_H */
