/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shaq formats: the table, the header probe, sizes, the one create/join
 * validation path of SPSC and MPMC, upstream's error texts, and the futex
 * half of format 3.0's waiting protocol.
 */
#include "xsched/shaq.h"
#include "xsched/shm.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- the table */

static const struct xs_shaq_fmt shaq_formats[XS_SHAQ_NFORMATS] = {
	[XS_SHAQ_0_2] = {
		.format = XS_SHAQ_0_2, .version_kind = XS_SHAQ_VER_NONE,
		.size_kind = XS_SHAQ_SIZE_U64, .cap_round = XS_SHAQ_ROUND_NONE,
		.version = 0, .name = "0.2", .crates = "shaq 0.2.0",
		.magic = { 0, 0 }, .header_size = { 192, 0 },
		.spsc_write = 0, .spsc_read = 64,
		.size_off = 128, .version_off = 0,
	},
	[XS_SHAQ_1_0] = {
		.format = XS_SHAQ_1_0, .version_kind = XS_SHAQ_VER_BYTE,
		.size_kind = XS_SHAQ_SIZE_U64, .cap_round = XS_SHAQ_ROUND_NONE,
		.version = XS_SHAQ_VERSION_1_0, .name = "1.0", .crates = "shaq 1.0.0-1.0.2",
		.magic = { 0, 0 }, .header_size = { 192, 0 },
		.spsc_write = 0, .spsc_read = 64,
		.size_off = 128, .version_off = 136,
	},
	[XS_SHAQ_2_0] = {
		.format = XS_SHAQ_2_0, .version_kind = XS_SHAQ_VER_WORD,
		.size_kind = XS_SHAQ_SIZE_MASK, .cap_round = XS_SHAQ_ROUND_POW2,
		.version = XS_SHAQ_VERSION_2_0, .name = "2.0", .crates = "shaq 2.0.0, 3.0.0",
		.magic = { XS_SHAQ_MAGIC_SPSC, XS_SHAQ_MAGIC_MPMC }, .header_size = { 192, 320 },
		.spsc_write = 64, .spsc_read = 128,
		.mpmc_prod_res = 64, .mpmc_prod_pub = 128, .mpmc_cons_res = 192, .mpmc_cons_rel = 256,
		.size_off = 12, .version_off = 8,
		.region_align = XS_SHAQ_REGION_ALIGN, .max_elem_align = XS_SHAQ_REGION_ALIGN,
		.max_capacity = 1ull << 32,
	},
	[XS_SHAQ_3_0] = {
		.format = XS_SHAQ_3_0, .version_kind = XS_SHAQ_VER_WORD,
		.size_kind = XS_SHAQ_SIZE_MASK, .cap_round = XS_SHAQ_ROUND_POW2,
		.version = XS_SHAQ_VERSION_3_0, .name = "3.0", .crates = "shaq 4.0.0",
		.magic = { XS_SHAQ_MAGIC_SPSC, XS_SHAQ_MAGIC_MPMC }, .header_size = { 256, 384 },
		.spsc_write = 64, .spsc_read = 128,
		.mpmc_prod_res = 64, .mpmc_prod_pub = 128, .mpmc_cons_res = 192, .mpmc_cons_rel = 256,
		.waiters = { 192, 320 }, .futex_word = { 64, 128 },
		.size_off = 12, .version_off = 8,
		.region_align = XS_SHAQ_REGION_ALIGN, .max_elem_align = XS_SHAQ_REGION_ALIGN,
		.max_capacity = 1ull << 32,
	},
};

const struct xs_shaq_fmt *xs_shaq_fmt_get(enum xs_shaq_format format)
{
	return (unsigned)format < XS_SHAQ_NFORMATS ? &shaq_formats[format] : NULL;
}

const char *xs_shaq_format_name(enum xs_shaq_format format)
{
	if (format == XS_SHAQ_ANY)
		return "any";
	return (unsigned)format < XS_SHAQ_NFORMATS ? shaq_formats[format].name : "?";
}

const char *xs_shaq_kind_name(enum xs_shaq_kind kind)
{
	return kind == XS_SHAQ_SPSC ? "spsc" : kind == XS_SHAQ_MPMC ? "mpmc" : "?";
}

const char *xs_shaq_formats_supported(void)
{
	return "0.2, 1.0, 2.0, 3.0";
}

/* --------------------------------------------------- last error detail */

static _Thread_local struct xs_shaq_error shaq_last;

int xs__shaq_fail(int code, enum xs_shaq_format format)
{
	memset(&shaq_last, 0, sizeof(shaq_last));
	shaq_last.code = code;
	shaq_last.format = (uint8_t)format;
	return code;
}

void xs_shaq_last_error(struct xs_shaq_error *out)
{
	*out = shaq_last;
}

/* ------------------------------------------------------------ sizes */

static const struct xs_shaq_fmt *row_of(enum xs_shaq_format format, enum xs_shaq_kind kind)
{
	const struct xs_shaq_fmt *f = xs_shaq_fmt_get(format);

	if (!f || (unsigned)kind > XS_SHAQ_MPMC || !f->header_size[kind])
		return NULL;
	return f;
}

static int bad_kind(enum xs_shaq_format format, enum xs_shaq_kind kind)
{
	xs__shaq_fail(-EINVAL, format);
	if (xs_shaq_fmt_get(format) && (unsigned)kind <= XS_SHAQ_MPMC)
		return xs_seterr(-EINVAL, "shaq format %s has no %s queues (MPMC exists from 2.0 on)",
				 xs_shaq_format_name(format), xs_shaq_kind_name(kind));
	return xs_seterr(-EINVAL, "unknown shaq format %d / queue kind %d", (int)format, (int)kind);
}

static int check_elem(const struct xs_shaq_fmt *f, size_t elem_size, size_t elem_align)
{
	if (elem_size == 0 || elem_size > UINT32_MAX || elem_align == 0 ||
	    (elem_align & (elem_align - 1)) || elem_size % elem_align ||
	    (f->max_elem_align && elem_align > f->max_elem_align)) {
		xs__shaq_fail(-XS_EQ_ELEM, (enum xs_shaq_format)f->format);
		return xs_seterr(-XS_EQ_ELEM,
				 "element size %zu / alignment %zu unusable (shaq format %s%s)",
				 elem_size, elem_align, f->name,
				 f->max_elem_align ? ": alignment at most 4096" : "");
	}
	return 0;
}

size_t xs_shaq_ring_offset(enum xs_shaq_format format, enum xs_shaq_kind kind, size_t elem_align)
{
	const struct xs_shaq_fmt *f = row_of(format, kind);
	size_t a = elem_align ? elem_align : 1, h;

	if (!f)
		return 0;
	h = f->header_size[kind];
	return (h + a - 1) / a * a;
}

int xs_shaq_try_min_file_size(enum xs_shaq_format format, enum xs_shaq_kind kind,
			      uint64_t capacity, size_t elem_size, size_t elem_align, size_t *out)
{
	const struct xs_shaq_fmt *f = row_of(format, kind);
	size_t off;
	uint64_t c = capacity;
	int err;

	if (!f)
		return bad_kind(format, kind);
	if ((err = check_elem(f, elem_size, elem_align)))
		return err;
	off = xs_shaq_ring_offset(format, kind, elem_align);
	if (f->cap_round == XS_SHAQ_ROUND_POW2 && c > 1 && (c & (c - 1))) {
		if (c > (1ull << 63))
			goto overflow;
		c = 1ull << (64 - __builtin_clzll(c - 1));
	}
	if (c > (SIZE_MAX - off) / elem_size)
		goto overflow;
	*out = off + (size_t)c * elem_size;
	return 0;
overflow:
	xs__shaq_fail(-XS_EQ_TOO_LARGE, format);
	return xs_seterr(-XS_EQ_TOO_LARGE,
			 "shaq %s %s minimum file size of %" PRIu64 " elements of %zu bytes overflows",
			 f->name, xs_shaq_kind_name(kind), capacity, elem_size);
}

size_t xs_shaq_min_file_size(enum xs_shaq_format format, enum xs_shaq_kind kind,
			     uint64_t capacity, size_t elem_size, size_t elem_align)
{
	size_t n;

	return xs_shaq_try_min_file_size(format, kind, capacity, elem_size, elem_align, &n) ? 0 : n;
}

int xs_shaq_capacity_for(enum xs_shaq_format format, enum xs_shaq_kind kind, size_t file_size,
			 size_t elem_size, size_t elem_align, uint64_t *cap)
{
	const struct xs_shaq_fmt *f = row_of(format, kind);
	size_t off;
	uint64_t items;
	int err;

	if (!f)
		return bad_kind(format, kind);
	if ((err = check_elem(f, elem_size, elem_align)))
		return err;
	off = xs_shaq_ring_offset(format, kind, elem_align);
	if (file_size < off + elem_size) {
		xs__shaq_fail(-XS_EQ_TOO_SMALL, format);
		return xs_seterr(-XS_EQ_TOO_SMALL,
				 "queue file of %zu bytes holds no %zu-byte element after its %zu-byte "
				 "header (shaq %s %s)",
				 file_size, elem_size, off, f->name, xs_shaq_kind_name(kind));
	}
	items = (file_size - off) / elem_size;
	/* largest power of two <= items (upstream: next_power_of_two(items) >> 1 unless exact) */
	while (items & (items - 1))
		items &= items - 1;
	if (f->max_capacity && items > f->max_capacity) {
		xs__shaq_fail(-XS_EQ_TOO_LARGE, format);
		return xs_seterr(-XS_EQ_TOO_LARGE,
				 "queue file of %zu bytes gives %" PRIu64 " elements of %zu bytes, more "
				 "than shaq %s's limit of %" PRIu64,
				 file_size, items, elem_size, f->name, f->max_capacity);
	}
	*cap = items;
	return 0;
}

/* ------------------------------------------------------------ probe */

/* Header reads. The header of a live queue is shared memory: the 0.2/1.0
 * `write` cursor sits where later formats keep the magic, so every read is
 * an atomic load (Acquire for the magic: pairs with the creator's Release
 * store of it, written last, so the fields read after it are complete). */
static uint64_t ld64(const void *mem, size_t off, int order)
{
	return __atomic_load_n((const uint64_t *)(const void *)((const uint8_t *)mem + off), order);
}

static uint32_t ld32(const void *mem, size_t off)
{
	return __atomic_load_n((const uint32_t *)(const void *)((const uint8_t *)mem + off),
			       __ATOMIC_RELAXED);
}

static uint8_t ld8(const void *mem, size_t off)
{
	return __atomic_load_n((const uint8_t *)mem + off, __ATOMIC_RELAXED);
}

static const struct xs_shaq_fmt *row_by_version(uint32_t v)
{
	for (unsigned i = 0; i < XS_SHAQ_NFORMATS; i++)
		if (shaq_formats[i].version_kind == XS_SHAQ_VER_WORD && shaq_formats[i].version == v)
			return &shaq_formats[i];
	return NULL;
}

/* @p avail bytes of the header are readable at @p mem, the file has @p file_size. */
static int probe_hdr(const void *mem, size_t avail, size_t file_size, struct xs_shaq_info *out)
{
	uint64_t magic;

	memset(out, 0, sizeof(*out));
	out->format = XS_SHAQ_ANY;
	out->file_size = file_size;
	if ((uintptr_t)mem % 8) {
		xs__shaq_fail(-EINVAL, XS_SHAQ_ANY);
		return xs_seterr(-EINVAL, "shaq probe: header at %p is not 8-byte aligned", mem);
	}
	magic = avail >= 8 ? ld64(mem, 0, __ATOMIC_ACQUIRE) : 0;
	out->magic = magic;
	if (magic == XS_SHAQ_MAGIC_SPSC || magic == XS_SHAQ_MAGIC_MPMC) {
		enum xs_shaq_kind kind = magic == XS_SHAQ_MAGIC_SPSC ? XS_SHAQ_SPSC : XS_SHAQ_MPMC;
		const struct xs_shaq_fmt *f;

		out->kind = kind;
		if (avail < 16) {
			xs__shaq_fail(-XS_EQ_TOO_SMALL, XS_SHAQ_ANY);
			return xs_seterr(-XS_EQ_TOO_SMALL,
					 "shaq %s queue file of %zu bytes ends inside its header",
					 xs_shaq_kind_name(kind), file_size);
		}
		out->version = ld32(mem, 8);
		out->capacity = (uint64_t)ld32(mem, 12) + 1;
		f = row_by_version(out->version);
		if (!f) {
			xs__shaq_fail(-XS_EQ_VERSION, XS_SHAQ_ANY);
			shaq_last.actual = out->version;
			return xs_seterr(-XS_EQ_VERSION,
					 "shaq format %u.%u not supported (%s queue, version word 0x%08" PRIx32
					 "); this build speaks %s",
					 out->version >> 16, out->version & 0xFFFF,
					 xs_shaq_kind_name(kind), out->version,
					 xs_shaq_formats_supported());
		}
		out->format = (enum xs_shaq_format)f->format;
		out->ring_offset = f->header_size[kind];
	} else {
		const struct xs_shaq_fmt *f;
		uint8_t v;

		out->kind = XS_SHAQ_SPSC;
		if (avail < 192) {
			xs__shaq_fail(-XS_EQ_TOO_SMALL, XS_SHAQ_ANY);
			return xs_seterr(-XS_EQ_TOO_SMALL,
					 "queue file of %zu bytes has no shaq magic and is smaller than "
					 "the 192-byte header of formats 0.2/1.0",
					 file_size);
		}
		v = ld8(mem, 136);
		out->version = v;
		out->capacity = ld64(mem, 128, __ATOMIC_RELAXED);
		if (v > XS_SHAQ_VERSION_1_0) {
			xs__shaq_fail(-XS_EQ_VERSION, XS_SHAQ_ANY);
			shaq_last.actual = v;
			return xs_seterr(-XS_EQ_VERSION,
					 "queue file has no shaq magic (u64 at 0 is 0x%016" PRIx64
					 ") and version byte %u (0.2: 0, 1.0: 1): not a shaq format "
					 "this build speaks (%s)",
					 magic, v, xs_shaq_formats_supported());
		}
		f = &shaq_formats[v == XS_SHAQ_VERSION_1_0 ? XS_SHAQ_1_0 : XS_SHAQ_0_2];
		out->format = (enum xs_shaq_format)f->format;
		out->ring_offset = f->header_size[XS_SHAQ_SPSC];
	}
	if (out->capacity == 0 || (out->capacity & (out->capacity - 1))) {
		xs__shaq_fail(-XS_EQ_NOT_POW2, out->format);
		return xs_seterr(-XS_EQ_NOT_POW2,
				 "shaq %s %s header capacity %" PRIu64 " is not a power of two",
				 xs_shaq_format_name(out->format), xs_shaq_kind_name(out->kind),
				 out->capacity);
	}
	if (file_size < out->ring_offset) {
		xs__shaq_fail(-XS_EQ_TOO_SMALL, out->format);
		return xs_seterr(-XS_EQ_TOO_SMALL,
				 "shaq %s %s queue file of %zu bytes is smaller than its %zu-byte header",
				 xs_shaq_format_name(out->format), xs_shaq_kind_name(out->kind),
				 file_size, out->ring_offset);
	}
	return 0;
}

int xs_shaq_probe(const void *mem, size_t size, struct xs_shaq_info *out)
{
	if (!mem || !out) {
		xs__shaq_fail(-EINVAL, XS_SHAQ_ANY);
		return xs_seterr(-EINVAL, "shaq probe: no memory or no output");
	}
	return probe_hdr(mem, size, size, out);
}

int xs_shaq_probe_fd(int fd, struct xs_shaq_info *out)
{
	uint64_t buf[64]; /* 512 bytes: every header there is, aligned */
	struct stat st;
	ssize_t n;
	size_t want;

	if (!out) {
		xs__shaq_fail(-EINVAL, XS_SHAQ_ANY);
		return xs_seterr(-EINVAL, "shaq probe: no output");
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;

		xs__shaq_fail(-e, XS_SHAQ_ANY);
		shaq_last.io = 1;
		return xs_seterr(-e, "shaq probe: fstat: %s", strerror(e));
	}
	want = (size_t)st.st_size < sizeof(buf) ? (size_t)st.st_size : sizeof(buf);
	memset(buf, 0, sizeof(buf));
	do
		n = pread(fd, buf, want, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		xs__shaq_fail(-e, XS_SHAQ_ANY);
		shaq_last.io = 1;
		return xs_seterr(-e, "shaq probe: pread: %s", strerror(e));
	}
	return probe_hdr(buf, (size_t)n, (size_t)st.st_size, out);
}

/* ------------------------------------------------- create / join / attach */

/* Formats 0.2 and 1.0 (SPSC only): buffer_size u64 @128, version byte @136. */
static int open_legacy(const struct xs_shaq_fmt *f, uint8_t *mem, size_t size, size_t elem_size,
		       size_t elem_align, int init, uint64_t *capp)
{
	enum xs_shaq_format format = (enum xs_shaq_format)f->format;
	uint64_t *wr = (uint64_t *)(void *)(mem + f->spsc_write);
	uint64_t *rd = (uint64_t *)(void *)(mem + f->spsc_read);
	uint64_t *bs = (uint64_t *)(void *)(mem + f->size_off);
	uint64_t cap, hdr_cap;
	size_t need = elem_align > XS_CACHE_LINE ? elem_align : XS_CACHE_LINE;
	int err = xs_shaq_capacity_for(format, XS_SHAQ_SPSC, size, elem_size, elem_align, &cap);

	if (err)
		return err;
	/* The header is a 64-byte-aligned struct of atomics and slot k must be
	 * elem_align-aligned; mmap gives page alignment, other callers must too. */
	if ((uintptr_t)mem % need) {
		xs__shaq_fail(-EINVAL, format);
		return xs_seterr(-EINVAL, "queue memory at %p is not %zu-byte aligned", (void *)mem,
				 need);
	}
	if (init) {
		/* Creation order as shaq: counters (Release), buffer_size (plain),
		 * then the 1.0.x version byte last (SeqCst) so a joiner that sees
		 * it also sees a complete header. */
		__atomic_store_n(wr, 0, __ATOMIC_RELEASE);
		__atomic_store_n(rd, 0, __ATOMIC_RELEASE);
		__atomic_store_n(bs, cap, __ATOMIC_RELAXED);
		if (f->version_kind == XS_SHAQ_VER_BYTE)
			__atomic_store_n(mem + f->version_off, (uint8_t)f->version, __ATOMIC_SEQ_CST);
	} else if (f->version_kind == XS_SHAQ_VER_BYTE) {
		uint8_t v = __atomic_load_n(mem + f->version_off, __ATOMIC_SEQ_CST);

		if (v != f->version) {
			xs__shaq_fail(-XS_EQ_VERSION, format);
			shaq_last.expected = f->version;
			shaq_last.actual = v;
			return xs_seterr(-XS_EQ_VERSION,
					 "queue version byte is %u, shaq 1.0.x requires %u", v,
					 (unsigned)f->version);
		}
	}
	hdr_cap = __atomic_load_n(bs, __ATOMIC_RELAXED);
	if (hdr_cap == 0 || (hdr_cap & (hdr_cap - 1))) {
		xs__shaq_fail(-XS_EQ_NOT_POW2, format);
		return xs_seterr(-XS_EQ_NOT_POW2,
				 "queue header buffer_size %" PRIu64 " is not a power of two", hdr_cap);
	}
	if (hdr_cap != cap) {
		xs__shaq_fail(-XS_EQ_SIZE_MISMATCH, format);
		return xs_seterr(-XS_EQ_SIZE_MISMATCH,
				 "queue header buffer_size %" PRIu64 " but a %zu-byte file of "
				 "%zu-byte elements holds %" PRIu64,
				 hdr_cap, size, elem_size, cap);
	}
	*capp = cap;
	return 0;
}

static void init_cursor(uint8_t *mem, uint32_t off)
{
	if (off)
		__atomic_store_n((uint64_t *)(void *)(mem + off), 0, __ATOMIC_RELEASE);
}

/* Formats >= 2.0: magic u64 @0, version u32 @8, buffer_mask u32 @12. */
static int open_word(const struct xs_shaq_fmt *f, uint8_t *mem, size_t size, size_t elem_size,
		     size_t elem_align, enum xs_shaq_kind kind, int init, uint64_t *capp)
{
	enum xs_shaq_format format = (enum xs_shaq_format)f->format;
	uint64_t cap, magic;
	uint32_t v, mask;
	int err;

	/* upstream checks the mapping's alignment right after mapping it */
	if (f->region_align && (uintptr_t)mem % f->region_align) {
		xs__shaq_fail(-XS_EQ_ALIGN, format);
		shaq_last.align_min = f->region_align;
		shaq_last.align_actual = f->region_align - (uintptr_t)mem % f->region_align;
		return xs_seterr(-XS_EQ_ALIGN,
				 "shaq %s queue memory at %p is not %u-byte aligned", f->name,
				 (void *)mem, f->region_align);
	}
	if (init) {
		if ((err = xs_shaq_capacity_for(format, kind, size, elem_size, elem_align, &cap)))
			return err;
		/* Creation order as upstream: cursors and waiters (Release), mask
		 * and version (plain), then the magic last with Release: a joiner
		 * that sees the magic (Acquire) sees a complete header. */
		if (kind == XS_SHAQ_SPSC) {
			init_cursor(mem, f->spsc_write);
			init_cursor(mem, f->spsc_read);
		} else {
			init_cursor(mem, f->mpmc_prod_res);
			init_cursor(mem, f->mpmc_prod_pub);
			init_cursor(mem, f->mpmc_cons_res);
			init_cursor(mem, f->mpmc_cons_rel);
		}
		init_cursor(mem, f->waiters[kind]);
		__atomic_store_n((uint32_t *)(void *)(mem + f->size_off), (uint32_t)(cap - 1),
				 __ATOMIC_RELAXED);
		__atomic_store_n((uint32_t *)(void *)(mem + f->version_off), f->version,
				 __ATOMIC_RELAXED);
		__atomic_store_n((uint64_t *)(void *)mem, f->magic[kind], __ATOMIC_RELEASE);
		*capp = cap;
		return 0;
	}
	if (size < 16) {
		xs__shaq_fail(-XS_EQ_TOO_SMALL, format);
		return xs_seterr(-XS_EQ_TOO_SMALL, "shaq %s queue file of %zu bytes has no header",
				 f->name, size);
	}
	/* Join order as upstream: magic (Acquire, pairs with the creator's
	 * Release store of it), version, then the mask against the file size. */
	magic = ld64(mem, 0, __ATOMIC_ACQUIRE);
	if (magic != f->magic[kind]) {
		xs__shaq_fail(-XS_EQ_MAGIC, format);
		if (magic == f->magic[!kind])
			return xs_seterr(-XS_EQ_MAGIC,
					 "queue file is a shaq %s queue (magic shaq%s), joined as %s",
					 xs_shaq_kind_name(!kind), xs_shaq_kind_name(!kind),
					 xs_shaq_kind_name(kind));
		return xs_seterr(-XS_EQ_MAGIC,
				 "queue magic is 0x%016" PRIx64 ", shaq %s %s needs 0x%016" PRIx64
				 " (\"shaq%s\")",
				 magic, f->name, xs_shaq_kind_name(kind), f->magic[kind],
				 xs_shaq_kind_name(kind));
	}
	v = ld32(mem, f->version_off);
	if (v != f->version) {
		const struct xs_shaq_fmt *other = row_by_version(v);

		xs__shaq_fail(-XS_EQ_VERSION, format);
		shaq_last.expected = f->version;
		shaq_last.actual = v;
		if (other)
			return xs_seterr(-XS_EQ_VERSION,
					 "queue is shaq format %s (version word 0x%08" PRIx32
					 ") but format %s (0x%08" PRIx32 ") was asked for",
					 other->name, v, f->name, f->version);
		return xs_seterr(-XS_EQ_VERSION,
				 "shaq format %u.%u not supported (version word 0x%08" PRIx32
				 ", format %s asked for); this build speaks %s",
				 v >> 16, v & 0xFFFF, v, f->name, xs_shaq_formats_supported());
	}
	if ((err = xs_shaq_capacity_for(format, kind, size, elem_size, elem_align, &cap)))
		return err;
	mask = ld32(mem, f->size_off);
	if ((uint64_t)mask + 1 != cap) {
		xs__shaq_fail(-XS_EQ_SIZE_MISMATCH, format);
		return xs_seterr(-XS_EQ_SIZE_MISMATCH,
				 "shaq %s %s header buffer_mask %" PRIu32 " (capacity %" PRIu64
				 ") but a %zu-byte file of %zu-byte elements holds %" PRIu64,
				 f->name, xs_shaq_kind_name(kind), mask, (uint64_t)mask + 1, size,
				 elem_size, cap);
	}
	*capp = cap;
	return 0;
}

int xs__shaq_open(void *mem, size_t size, size_t elem_size, size_t elem_align,
		  enum xs_shaq_format *format, enum xs_shaq_kind kind, int init, uint64_t *cap,
		  const struct xs_shaq_fmt **rowp)
{
	enum xs_shaq_format fmt = *format;
	const struct xs_shaq_fmt *f;
	int err;

	if (!mem) {
		xs__shaq_fail(-EINVAL, fmt);
		return xs_seterr(-EINVAL, "shaq queue: no memory");
	}
	if (fmt == XS_SHAQ_ANY) {
		struct xs_shaq_info info;

		if (init) {
			xs__shaq_fail(-EINVAL, fmt);
			return xs_seterr(-EINVAL, "shaq create needs a concrete format, not 'any'");
		}
		if ((err = probe_hdr(mem, size, size, &info)))
			return err;
		if (info.kind != kind) {
			xs__shaq_fail(-XS_EQ_MAGIC, info.format);
			return xs_seterr(-XS_EQ_MAGIC,
					 "queue file is a shaq %s %s queue, joined as %s",
					 xs_shaq_format_name(info.format),
					 xs_shaq_kind_name(info.kind), xs_shaq_kind_name(kind));
		}
		fmt = info.format;
	}
	f = row_of(fmt, kind);
	if (!f)
		return bad_kind(fmt, kind);
	if ((err = check_elem(f, elem_size, elem_align)))
		return err;
	if (f->version_kind == XS_SHAQ_VER_WORD)
		err = open_word(f, mem, size, elem_size, elem_align, kind, init, cap);
	else
		err = open_legacy(f, mem, size, elem_size, elem_align, init, cap);
	if (err)
		return err;
	*format = fmt;
	*rowp = f;
	return 0;
}

int xs__shaq_map(int fd, size_t *size, int create, enum xs_shaq_format format,
		 enum xs_shaq_kind kind, size_t elem_size, size_t elem_align, uint8_t **base)
{
	int err;

	if (create) {
		uint64_t cap;

		if (format == XS_SHAQ_ANY)
			return bad_kind(format, kind);
		/* the arithmetic first, so that a bad request leaves the file alone */
		err = xs_shaq_capacity_for(format, kind, *size, elem_size, elem_align, &cap);
		if (err)
			return err;
		if (ftruncate(fd, (off_t)*size) < 0) {
			int e = errno;

			xs__shaq_fail(-e, format);
			shaq_last.io = 1;
			return xs_seterr(-e, "queue ftruncate(%zu): %s", *size, strerror(e));
		}
	} else {
		struct stat st;
		size_t min;

		if (fstat(fd, &st) < 0) {
			int e = errno;

			xs__shaq_fail(-e, format);
			shaq_last.io = 1;
			return xs_seterr(-e, "queue fstat: %s", strerror(e));
		}
		if (format == XS_SHAQ_ANY)
			min = 16;
		else if (!row_of(format, kind))
			return bad_kind(format, kind);
		else if (xs_shaq_fmt_get(format)->version_kind == XS_SHAQ_VER_WORD)
			min = 16; /* magic, version, mask: checked before the size (upstream order) */
		else
			min = xs_shaq_ring_offset(format, kind, elem_align) + elem_size;
		if (st.st_size < (off_t)min) {
			xs__shaq_fail(-XS_EQ_TOO_SMALL, format);
			return xs_seterr(-XS_EQ_TOO_SMALL,
					 "queue file of %lld bytes is too small (shaq %s %s)",
					 (long long)st.st_size, xs_shaq_format_name(format),
					 xs_shaq_kind_name(kind));
		}
		*size = (size_t)st.st_size;
	}
	err = xs_shm_map(fd, *size, base);
	if (err) {
		xs__shaq_fail(err, format);
		shaq_last.io = 2;
	}
	return err;
}

/* ------------------------------------------------------- error texts */


int xs_shaq_error_text(const struct xs_shaq_error *e, int debug, char *buf, size_t len)
{
	int legacy = e->format == XS_SHAQ_0_2 || e->format == XS_SHAQ_1_0;
	int code = e->code < 0 ? -e->code : e->code;
	char dummy[1];

	if (!buf || !len) {
		buf = dummy;
		len = sizeof(dummy);
	}
	switch (code) {
	case XS_EQ_MAGIC:
		return snprintf(buf, len, debug ? "InvalidMagic" : "invalid magic");
	case XS_EQ_VERSION:
		if (legacy)
			return snprintf(buf, len, debug ? "InvalidVersion" : "invalid version");
		if (debug)
			return snprintf(buf, len, "InvalidVersion { expected: %" PRIu32
					", actual: %" PRIu32 " }", e->expected, e->actual);
		return snprintf(buf, len, "invalid version; expected=%u.%u; found=%u.%u",
				e->expected >> 16, e->expected & 0xFFFF, e->actual >> 16,
				e->actual & 0xFFFF);
	case XS_EQ_ALIGN:
		if (debug)
			return snprintf(buf, len,
					"InvalidRegionAlignment { minimum: %" PRIu64 ", actual: %" PRIu64
					" }", e->align_min, e->align_actual);
		return snprintf(buf, len, "invalid region alignment; minimum=%" PRIu64
				"; actual=%" PRIu64, e->align_min, e->align_actual);
	case XS_EQ_TOO_SMALL:
	case XS_EQ_SIZE_MISMATCH:
	case XS_EQ_NOT_POW2:
	case XS_EQ_TOO_LARGE:
	case XS_EQ_ELEM:
		return snprintf(buf, len, debug ? "InvalidBufferSize" : "invalid buffer size");
	default:
		break;
	}
	if (code > 0 && code < XS_E_BASE) {
		const char *what = e->io == 2 ? "Mmap" : "Io";
		char msg[128];

		if (debug) {
			xs_rust_os_error(msg, sizeof(msg), code);
			return snprintf(buf, len, "%s(%s)", what, msg);
		}
		/* std::io::Error's own texts: strerror_r's, as glibc gives them */
		snprintf(msg, sizeof(msg), "%s", strerror(code));
		return snprintf(buf, len, "%s; err=%s (os error %d)", e->io == 2 ? "mmap" : "io",
				msg, code);
	}
	/* no upstream counterpart (corrupt cursors, roles, stalls): xsched's text */
	return snprintf(buf, len, "%s", xs_strerror(e->code));
}

/* ---------------------------------------------------------------- futex */

void xs__shaq_futex_wake(uint64_t *cursor, uint64_t n)
{
	int cnt = n > (uint64_t)INT_MAX ? INT_MAX : (int)n;

	/* FUTEX_WAKE, not _PRIVATE: the sleeper may be another process mapping
	 * the same file (the kernel keys shared futexes by inode and offset). */
	syscall(SYS_futex, (uint32_t *)(void *)cursor, FUTEX_WAKE, cnt, NULL, NULL, 0);
}

int xs_shaq_futex_wait(uint64_t *cursor, uint32_t expect, uint64_t timeout_ns)
{
	struct timespec ts;

	if (!timeout_ns)
		return -ETIMEDOUT;
	ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
	ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
	if (syscall(SYS_futex, (uint32_t *)(void *)cursor, FUTEX_WAIT, expect, &ts, NULL, 0) == 0)
		return 0;
	return -errno;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xs_shaq_deadline(uint64_t timeout_ns)
{
	uint64_t now = mono_ns();

	return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

int xs_shaq_wait(const struct xs_shaq_waitref *w, int (*ready)(void *arg), void *arg,
		 uint64_t deadline_ns)
{
	uint64_t sleep_ns = 1000;
	int rc;

	for (;;) {
		if ((rc = ready(arg)))
			return rc;
		if (mono_ns() >= deadline_ns) /* a zero timeout is one check */
			return -ETIMEDOUT;
		for (uint32_t i = 0; i < XS_SHAQ_SPIN_ATTEMPTS; i++) {
			xs_cpu_relax();
			if ((rc = ready(arg)))
				return rc;
		}
		uint64_t now = mono_ns();

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (!w || !w->waiters) {
			/* no waiters line (formats < 3.0): nobody would wake us */
			uint64_t left = deadline_ns - now, ns = sleep_ns < left ? sleep_ns : left;
			struct timespec ts = { (time_t)(ns / 1000000000ull),
					       (long)(ns % 1000000000ull) };

			nanosleep(&ts, NULL);
			if (sleep_ns < 1000000)
				sleep_ns *= 2;
			continue;
		}
		/* Register, then re-check. The fence orders the increment before the
		 * cursor loads of the re-check; it pairs with the producer's fence
		 * between its cursor store and its waiters load
		 * (xs__shaq_wake_check()): either we see its publication here, or it
		 * sees our registration and wakes us. */
		__atomic_fetch_add(w->waiters, 1, __ATOMIC_RELAXED);
		XS__SHAQ_FENCE_SC();
		/* Acquire: the snapshot the futex compares against; any later
		 * publication changes the word and the wait returns at once. */
		uint32_t snap = (uint32_t)__atomic_load_n(w->cursor, __ATOMIC_ACQUIRE);

		rc = ready(arg);
		if (rc) {
			/* AcqRel as upstream's unregistration */
			__atomic_fetch_sub(w->waiters, 1, __ATOMIC_ACQ_REL);
			return rc;
		}
		rc = xs_shaq_futex_wait(w->cursor, snap, deadline_ns - now);
		__atomic_fetch_sub(w->waiters, 1, __ATOMIC_ACQ_REL);
		if (rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT && rc != -EINTR)
			return xs_seterr(rc, "FUTEX_WAIT on the queue cursor failed: %s",
					 strerror(-rc));
		/* woken, spurious, changed or timed out: re-check at the top (the
		 * deadline test follows the spins) */
	}
}
