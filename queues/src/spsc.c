/* SPDX-License-Identifier: Apache-2.0 */
/* shaq-compatible SPSC queue: the cold half (create, join, validation). */
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
	case XS_EQ_SIZE_MISMATCH: return "queue buffer_size disagrees with the file size";
	case XS_EQ_NOT_POW2: return "queue buffer_size is not a power of two";
	case XS_EQ_VERSION: return "queue version byte is not the expected one";
	case XS_EQ_CORRUPT: return "queue counters corrupted by the peer";
	case XS_EQ_ELEM: return "unusable queue element size or alignment";
	case XS_EQ_ROLE: return "operation not valid for this queue end";
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

static int valid_elem(size_t elem_size, size_t elem_align)
{
	if (elem_size == 0 || elem_size > UINT32_MAX || elem_align == 0 ||
	    (elem_align & (elem_align - 1)) || elem_size % elem_align)
		return xs_seterr(-XS_EQ_ELEM, "element size %zu / alignment %zu unusable",
				 elem_size, elem_align);
	return 0;
}

int xs_spsc_capacity_for(size_t file_size, size_t elem_size, size_t elem_align, uint64_t *cap)
{
	size_t off = xs_spsc_buffer_offset(elem_align);
	uint64_t items;
	int err = valid_elem(elem_size, elem_align);

	if (err)
		return err;
	if (file_size < off + elem_size)
		return xs_seterr(-XS_EQ_TOO_SMALL,
				 "queue file of %zu bytes holds no %zu-byte element after its %zu-byte header",
				 file_size, elem_size, off);
	items = (file_size - off) / elem_size;
	/* largest power of two <= items (shaq: next_power_of_two(items) >> 1 unless exact) */
	while (items & (items - 1))
		items &= items - 1;
	*cap = items;
	return 0;
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
	struct xs_spsc_shm *h = mem;
	uint64_t cap, hdr_cap, w, r;
	int err;

	memset(q, 0, sizeof(*q));
	if (format != XS_SHAQ_0_2 && format != XS_SHAQ_1_0)
		return xs_seterr(-EINVAL, "unknown shaq format %d", (int)format);
	if (role != XS_SPSC_PRODUCER && role != XS_SPSC_CONSUMER)
		return xs_seterr(-EINVAL, "unknown queue role %d", (int)role);
	err = xs_spsc_capacity_for(size, elem_size, elem_align, &cap);
	if (err)
		return err;
	/* The header is a 64-byte-aligned struct of atomics and slot k must be
	 * elem_align-aligned; mmap gives page alignment, other callers must too. */
	if ((uintptr_t)mem % (elem_align > XS_CACHE_LINE ? elem_align : XS_CACHE_LINE))
		return xs_seterr(-EINVAL, "queue memory at %p is not %zu-byte aligned", mem,
				 elem_align > XS_CACHE_LINE ? elem_align : (size_t)XS_CACHE_LINE);

	if (init) {
		/* Creation order as shaq: counters (Release), buffer_size (plain),
		 * then the 1.0.x version byte last (SeqCst) so a joiner that sees
		 * it also sees a complete header. */
		__atomic_store_n(&h->write, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&h->read, 0, __ATOMIC_RELEASE);
		h->buffer_size = cap;
		if (format == XS_SHAQ_1_0)
			__atomic_store_n(&h->version, XS_SHAQ_VERSION_1_0, __ATOMIC_SEQ_CST);
	} else if (format == XS_SHAQ_1_0) {
		uint8_t v = __atomic_load_n(&h->version, __ATOMIC_SEQ_CST);

		if (v != XS_SHAQ_VERSION_1_0)
			return xs_seterr(-XS_EQ_VERSION,
					 "queue version byte is %u, shaq 1.0.x requires %u", v,
					 XS_SHAQ_VERSION_1_0);
	}

	hdr_cap = __atomic_load_n(&h->buffer_size, __ATOMIC_RELAXED);
	if (hdr_cap == 0 || (hdr_cap & (hdr_cap - 1)))
		return xs_seterr(-XS_EQ_NOT_POW2,
				 "queue header buffer_size %" PRIu64 " is not a power of two", hdr_cap);
	if (hdr_cap != cap)
		return xs_seterr(-XS_EQ_SIZE_MISMATCH,
				 "queue header buffer_size %" PRIu64 " but a %zu-byte file of "
				 "%zu-byte elements holds %" PRIu64,
				 hdr_cap, size, elem_size, cap);

	/* Ordering: Acquire pairs with the peer's Release stores of its counter,
	 * so slots it published/released before are visible to us. */
	w = __atomic_load_n(&h->write, __ATOMIC_ACQUIRE);
	r = __atomic_load_n(&h->read, __ATOMIC_ACQUIRE);
	if (w - r > cap)
		return xs_seterr(-XS_EQ_CORRUPT,
				 "queue counters write %" PRIu64 " read %" PRIu64
				 " are more than the capacity %" PRIu64 " apart",
				 w, r, cap);

	q->hdr = h;
	q->base = mem;
	q->file_size = size;
	q->ring = (uint8_t *)mem + xs_spsc_buffer_offset(elem_align);
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
	int err = xs_shm_map(fd, size, &base);

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
	uint64_t cap;
	int err;

	memset(q, 0, sizeof(*q));
	err = xs_spsc_capacity_for(file_size, elem_size, elem_align, &cap);
	if (err)
		return err;
	if (ftruncate(fd, (off_t)file_size) < 0)
		return xs_seterr(-errno, "queue ftruncate(%zu): %s", file_size, strerror(errno));
	return map_and_attach(q, fd, file_size, elem_size, elem_align, format, role, 1);
}

int xs_spsc_join(struct xs_spsc *q, int fd, size_t elem_size, size_t elem_align,
		 enum xs_shaq_format format, enum xs_spsc_role role)
{
	struct stat st;

	memset(q, 0, sizeof(*q));
	if (fstat(fd, &st) < 0)
		return xs_seterr(-errno, "queue fstat: %s", strerror(errno));
	if (st.st_size < (off_t)(xs_spsc_buffer_offset(elem_align) + elem_size))
		return xs_seterr(-XS_EQ_TOO_SMALL, "queue file of %lld bytes is too small",
				 (long long)st.st_size);
	return map_and_attach(q, fd, (size_t)st.st_size, elem_size, elem_align, format, role, 0);
}

void xs_spsc_close(struct xs_spsc *q)
{
	if (q->owns_map && q->base)
		munmap(q->base, q->file_size);
	memset(q, 0, sizeof(*q));
}

void xs_spsc_dump(const struct xs_spsc *q, void *file)
{
	FILE *f = file ? file : stderr;

	if (!q->hdr) {
		fprintf(f, "spsc: (closed)\n");
		return;
	}
	fprintf(f,
		"spsc %s fmt=%s file=%zu cap=%" PRIu64 " elem=%u | shm write=%" PRIu64
		" read=%" PRIu64 " buffer_size=%" PRIu64 " version=%u | local pos=%" PRIu64
		" limit=%" PRIu64 " published=%" PRIu64 " err=%d\n",
		q->role == XS_SPSC_PRODUCER ? "producer" : "consumer",
		q->format == XS_SHAQ_1_0 ? "1.0" : "0.2", q->file_size, q->mask + 1, q->elem_size,
		__atomic_load_n(&q->hdr->write, __ATOMIC_RELAXED),
		__atomic_load_n(&q->hdr->read, __ATOMIC_RELAXED), q->hdr->buffer_size,
		q->hdr->version, q->pos, q->limit, q->published, q->err);
}
