/* SPDX-License-Identifier: Apache-2.0 */
/* shaq-compatible SPSC queue: the cold half (create, join, validation, blocking waits).
 * The format-specific parts come from the table in shaq.c. */
#include "xsched/spsc.h"
#include "xsched/shm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *xs_strerror_queues(int code)
{
	switch (code) {
	case XS_EQ_TOO_SMALL: return "queue file too small for its header and one element";
	case XS_EQ_SIZE_MISMATCH: return "queue capacity in the header disagrees with the file size";
	case XS_EQ_NOT_POW2: return "queue buffer_size is not a power of two";
	case XS_EQ_VERSION: return "queue version is not the expected one";
	case XS_EQ_CORRUPT: return "queue counters corrupted by the peer";
	case XS_EQ_ELEM: return "unusable queue element size or alignment";
	case XS_EQ_ROLE: return "operation not valid for this queue end";
	case XS_EQ_MAGIC: return "queue magic is not the one of the queue kind asked for";
	case XS_EQ_ALIGN: return "queue memory is not aligned as the format requires";
	case XS_EQ_TOO_LARGE: return "queue capacity or size too large for the format";
	case XS_EQ_STALLED: return "an earlier queue reservation was not published or released in time";
	default: return NULL;
	}
}

size_t xs_spsc_buffer_offset(size_t elem_align)
{
	size_t a = elem_align ? elem_align : 1;

	return (XS_SPSC_HEADER_SIZE + a - 1) / a * a;
}

size_t xs_spsc_min_file_size(uint64_t capacity, size_t elem_size, size_t elem_align)
{
	size_t off = xs_spsc_buffer_offset(elem_align);

	if (elem_size && capacity > (SIZE_MAX - off) / elem_size)
		return 0;
	return off + (size_t)capacity * elem_size;
}

int xs_spsc_capacity_for(size_t file_size, size_t elem_size, size_t elem_align, uint64_t *cap)
{
	/* the 0.2 and 1.0 rows have the same arithmetic */
	return xs_shaq_capacity_for(XS_SHAQ_1_0, XS_SHAQ_SPSC, file_size, elem_size, elem_align,
				    cap);
}

int xs__spsc_corrupt(struct xs_spsc *q, uint64_t seen, const char *what)
{
	uint64_t cap = q->mask + 1, lo, hi;
	const char *how;

	/* The window the peer's counter had to stay in (see the syncs). */
	if (q->role == XS_SPSC_PRODUCER) {
		lo = q->limit - cap; /* last read seen */
		hi = q->published;   /* last write committed */
		how = (int64_t)(seen - lo) < 0 ? "moved backwards" : "passed the committed write";
	} else {
		lo = q->limit;            /* last write seen */
		hi = q->published + cap;  /* last read finalized + N */
		how = (int64_t)(seen - lo) < 0 ? "moved backwards"
					       : "ran more than the capacity past the released read";
	}
	/* Freeze: reserve/try_read see pos == limit and fall into a sync, which
	 * returns the sticky error; commit/finalize see pos == published. */
	q->err = -XS_EQ_CORRUPT;
	q->pos = q->limit = q->published;
	return xs_seterr(-XS_EQ_CORRUPT,
			 "%s queue: peer's %s counter %s: it is %" PRIu64 " but must stay within "
			 "[%" PRIu64 ", %" PRIu64 "] (capacity %" PRIu64 ")",
			 q->role == XS_SPSC_PRODUCER ? "producer" : "consumer", what, how, seen, lo,
			 hi, cap);
}

int xs_spsc_attach_mem(struct xs_spsc *q, void *mem, size_t size, size_t elem_size,
		       size_t elem_align, enum xs_shaq_format format, enum xs_spsc_role role,
		       int init)
{
	const struct xs_shaq_fmt *f;
	uint8_t *base = mem;
	uint64_t cap, w, r;
	int err;

	memset(q, 0, sizeof(*q));
	if (role != XS_SPSC_PRODUCER && role != XS_SPSC_CONSUMER) {
		xs__shaq_fail(-EINVAL, format);
		return xs_seterr(-EINVAL, "unknown queue role %d", (int)role);
	}
	err = xs__shaq_open(mem, size, elem_size, elem_align, &format, XS_SHAQ_SPSC, init, &cap, &f);
	if (err)
		return err;

	q->wr = (uint64_t *)(void *)(base + f->spsc_write);
	q->rd = (uint64_t *)(void *)(base + f->spsc_read);
	q->waiters = f->waiters[XS_SHAQ_SPSC] ? (uint64_t *)(void *)(base + f->waiters[XS_SHAQ_SPSC])
					      : NULL;
	/* Ordering: Acquire pairs with the peer's Release stores of its counter,
	 * so slots it published/released before are visible to us. */
	w = __atomic_load_n(q->wr, __ATOMIC_ACQUIRE);
	r = __atomic_load_n(q->rd, __ATOMIC_ACQUIRE);
	if (w - r > cap) {
		memset(q, 0, sizeof(*q));
		xs__shaq_fail(-XS_EQ_CORRUPT, format);
		return xs_seterr(-XS_EQ_CORRUPT,
				 "queue counters write %" PRIu64 " read %" PRIu64
				 " are more than the capacity %" PRIu64 " apart",
				 w, r, cap);
	}

	q->base = base;
	q->file_size = size;
	q->fmt = f;
	q->ring = base + xs_shaq_ring_offset(format, XS_SHAQ_SPSC, elem_align);
	q->mask = cap - 1;
	q->elem_size = (uint32_t)elem_size;
	q->role = (uint8_t)role;
	q->format = (uint8_t)format;
	if (role == XS_SPSC_PRODUCER) {
		q->pos = q->published = w;
		q->limit = r + cap;
	} else {
		q->pos = q->published = r;
		q->limit = w;
		q->pace_mark = (uint32_t)r; /* xs_spsc_wait(): nothing taken yet */
	}
	return 0;
}

static int map_and_attach(struct xs_spsc *q, int fd, size_t size, size_t elem_size,
			  size_t elem_align, enum xs_shaq_format format, enum xs_spsc_role role,
			  int init)
{
	uint8_t *base;
	int err;

	memset(q, 0, sizeof(*q));
	err = xs__shaq_map(fd, &size, init, format, XS_SHAQ_SPSC, elem_size, elem_align, &base);
	if (err)
		return err;
	err = xs_spsc_attach_mem(q, base, size, elem_size, elem_align, format, role, init);
	if (err) {
		munmap(base, size); /* unlike upstream, a failed join leaves nothing mapped */
		return err;
	}
	q->owns_map = 1;
	return 0;
}

int xs_spsc_create(struct xs_spsc *q, int fd, size_t file_size, size_t elem_size,
		   size_t elem_align, enum xs_shaq_format format, enum xs_spsc_role role)
{
	return map_and_attach(q, fd, file_size, elem_size, elem_align, format, role, 1);
}

int xs_spsc_join(struct xs_spsc *q, int fd, size_t elem_size, size_t elem_align,
		 enum xs_shaq_format format, enum xs_spsc_role role)
{
	return map_and_attach(q, fd, 0, elem_size, elem_align, format, role, 0);
}

void xs_spsc_close(struct xs_spsc *q)
{
	if (q->owns_map && q->base)
		munmap(q->base, q->file_size);
	memset(q, 0, sizeof(*q));
}

/* ------------------------------------------------------------ blocking */

/* xs_shaq_wait() check: one poll (an Acquire load of `write` when the
 * cached view is empty). 1 = an item is there, < 0 = corrupt. */
static int spsc_ready(void *arg)
{
	struct xs_spsc *q = arg;

	if (q->pos != q->limit)
		return 1;
	if (xs_spsc_cons_sync(q) < 0)
		return q->err;
	return q->pos != q->limit;
}

const void *xs_spsc_wait_block(struct xs_spsc *q, uint64_t timeout_ns)
{
	struct xs_shaq_waitref w = { q->waiters, q->wr };

	if (q->role != XS_SPSC_CONSUMER || q->err)
		return NULL;
	if (xs_shaq_wait(&w, spsc_ready, q, xs_shaq_deadline(timeout_ns)) <= 0)
		return NULL;
	return xs_spsc_try_read(q);
}

int xs_spsc_pop_block(struct xs_spsc *q, void *out, uint64_t timeout_ns)
{
	const void *slot;

	if (q->role != XS_SPSC_CONSUMER)
		return xs_seterr(-XS_EQ_ROLE, "xs_spsc_pop_block on a producer handle");
	slot = xs_spsc_wait_block(q, timeout_ns);
	if (!slot)
		return q->err ? q->err : -ETIMEDOUT;
	memcpy(out, slot, q->elem_size);
	xs_spsc_finalize(q);
	return 0;
}

int xs_spsc_waitref(const struct xs_spsc *q, struct xs_shaq_waitref *out)
{
	if (q->role != XS_SPSC_CONSUMER)
		return xs_seterr(-XS_EQ_ROLE, "only a consumer waits on a queue");
	if (!q->waiters)
		return xs_seterr(-EOPNOTSUPP, "shaq format %s has no waiters line (futex waiting "
				 "needs format 3.0)", xs_shaq_format_name((enum xs_shaq_format)q->format));
	out->waiters = q->waiters;
	out->cursor = q->wr;
	return 0;
}

void xs_spsc_dump(const struct xs_spsc *q, void *file)
{
	FILE *f = file ? file : stderr;

	if (!q->base) {
		fprintf(f, "spsc: (closed)\n");
		return;
	}
	fprintf(f,
		"spsc %s fmt=%s file=%zu cap=%" PRIu64 " elem=%u | shm write=%" PRIu64
		" read=%" PRIu64 " waiters=%" PRIu64 " | local pos=%" PRIu64 " limit=%" PRIu64
		" published=%" PRIu64 " err=%d\n",
		q->role == XS_SPSC_PRODUCER ? "producer" : "consumer",
		xs_shaq_format_name((enum xs_shaq_format)q->format), q->file_size, q->mask + 1,
		q->elem_size, __atomic_load_n(q->wr, __ATOMIC_RELAXED),
		__atomic_load_n(q->rd, __ATOMIC_RELAXED),
		q->waiters ? __atomic_load_n(q->waiters, __ATOMIC_RELAXED) : 0, q->pos, q->limit,
		q->published, q->err);
}
