/* SPDX-License-Identifier: Apache-2.0 */
/* rts-alloc-compatible allocator: the cold half (errors, layout, create,
 * join, handles, checked offsets, policy). Orderings are labelled as in
 * the contract at the top of xsched/alloc.h. */
#include "alloc_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ format table */

/*
 * One row per on-disk format; everything that differs between formats is
 * a field (see struct xs_alloc_format_info). Every guess about a format no
 * golden file confirms lives in its row:
 *  - 2.0 is rts-alloc 2.0.0, whose source nobody could read: the row is an
 *    ASSUMPTION, byte for byte 0.2's (agave calls the same API; the spec's
 *    inference). Proving it wrong is a change of this one row.
 *  - 3.0 and 4.0 are read from the spec only (RTS_ALLOC4.md, AGAVE_4X.md
 *    §5.2); what the spec itself marks inferred for them is the free-stack
 *    alignment of the layout (8, layout_for() below), the initial
 *    generation of the global head (0) and the 4.0.0 error names.
 */
static const struct xs_alloc_format_info formats[] = {
	{XS_ALLOC_FMT_0_2, "0.2", "rts-alloc 0.2.0 (1.0.0 assumed equal)",
	 "3.1.x; master 2025-11 .. 2026-01 (handshake VERSION 2)", "golden files (shared/vectors)",
	 XS_ALLOC_VERSION, 0, 1, XS_ALLOC_LAYOUT_FIXED, XS_ALLOC_JOIN_INDEX, XS_ALLOC_REMOTE_SLAB_U16,
	 32, 0, 0, 0, XS_ALLOC_WORKER_SIZE, 0, -1, -1, -1},
	{XS_ALLOC_FMT_2_0, "2.0", "rts-alloc 2.0.0 (source unread)", "4.0.x",
	 "none: ASSUMED equal to 0.2, unverified",
	 XS_ALLOC_VERSION, 0, 0, XS_ALLOC_LAYOUT_FIXED, XS_ALLOC_JOIN_INDEX, XS_ALLOC_REMOTE_SLAB_U16,
	 32, 0, 0, 0, XS_ALLOC_WORKER_SIZE, 0, -1, -1, -1},
	{XS_ALLOC_FMT_3_0, "3.0", "rts-alloc 4.0.0", "4.1.x, 4.2.x, 4.3.x",
	 "spec only (RTS_ALLOC4.md, AGAVE_4X.md 5.2), unverified",
	 XS_ALLOC_VERSION_3_0, 1, 0, XS_ALLOC_LAYOUT_MAX_WORKERS, XS_ALLOC_JOIN_CLAIM,
	 XS_ALLOC_REMOTE_SLAB_U16, 64, 0, 0, 1, 64, 16, 0, 8, -1},
	{XS_ALLOC_FMT_4_0, "4.0", "rts-alloc 5.0.0, 5.1.x", "4.4.x, agave-sdk",
	 "spec only (RTS_ALLOC4.md), unverified",
	 XS_ALLOC_VERSION_4_0, 1, 0, XS_ALLOC_LAYOUT_MAX_WORKERS, XS_ALLOC_JOIN_CLAIM,
	 XS_ALLOC_REMOTE_WORKER_U64, 64, 1, 1, 1, XS_ALLOC_WORKER_SIZE_4, 16, 0, 8, 64},
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const struct xs_alloc_format_info *xs_alloc_format_info(enum xs_alloc_format f)
{
	size_t i;

	for (i = 0; i < NFORMATS; i++)
		if (formats[i].format == f)
			return &formats[i];
	return NULL;
}

enum xs_alloc_format xs_alloc_format_from_version(uint32_t version)
{
	size_t i;

	for (i = 0; i < NFORMATS; i++)
		if (formats[i].version == version)
			return formats[i].format;
	return XS_ALLOC_FMT_ANY;
}

/* The newest row: what XS_ALLOC_FMT_ANY stands for in error texts. */
static const struct xs_alloc_format_info *newest(void)
{
	return &formats[NFORMATS - 1];
}

/* "0x00030000 (format 3.0)", "1 (format 0.2 / 2.0)", "0x00050000 (5.0, unknown)". */
static const char *version_text(uint32_t v, char *buf, size_t n)
{
	enum xs_alloc_format f = xs_alloc_format_from_version(v);
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(f);

	if (fi && !fi->version_packed)
		snprintf(buf, n, "%" PRIu32 " (format 0.2, or 2.0 assumed equal, unverified)", v);
	else if (fi)
		snprintf(buf, n, "0x%08" PRIx32 " = %" PRIu32 " (format %s)", v, v, fi->name);
	else if (v >= 0x10000u)
		snprintf(buf, n, "0x%08" PRIx32 " = %" PRIu32 " (%" PRIu32 ".%" PRIu32
			 ", a format this build does not know)", v, v, v >> 16, v & 0xFFFFu);
	else
		snprintf(buf, n, "%" PRIu32 " (a format this build does not know)", v);
	return buf;
}

/* ------------------------------------------------------------------ errors */

/* The header word the calling thread's last -XS_EA_VERSION found (for the
 * InvalidVersion { expected, actual } texts; per thread as xs_errmsg()). */
static _Thread_local uint32_t found_version;

const char *xs_strerror_alloc(int code)
{
	switch (code) {
	case XS_EA_SLAB_SIZE: return "allocator slab size is not a power of two in 16 KiB..8 MiB";
	case XS_EA_NUM_WORKERS: return "allocator has no workers";
	case XS_EA_WORKER_INDEX: return "allocator worker index out of range";
	case XS_EA_FILE_SIZE: return "allocator file size unusable";
	case XS_EA_ALREADY_INIT: return "allocator file is not empty";
	case XS_EA_MAGIC: return "allocator header has the wrong magic";
	case XS_EA_VERSION: return "allocator header version not supported";
	case XS_EA_LAYOUT: return "allocator header disagrees with the file size";
	case XS_EA_TOO_BIG: return "allocation larger than 4096 bytes";
	case XS_EA_OFFSET: return "offset outside the allocator's slabs";
	case XS_EA_NOT_SLOT: return "offset is not the start of an allocation slot";
	case XS_EA_LENGTH: return "length runs past the end of the allocation slot";
	case XS_EA_UNASSIGNED: return "offset lies in a slab no worker owns";
	case XS_EA_DOUBLE_FREE: return "allocation slot freed twice";
	case XS_EA_REMOTE_CORRUPT: return "remote free list corrupt (bad link or double remote free)";
	case XS_EA_CORRUPT: return "allocator metadata corrupt";
	case XS_EA_WORKER_BUSY: return "allocator worker index already open on this mapping";
	case XS_EA_SLAB_LIVE:
		return "allocator global free list offers a slab still in use by this worker (list corrupt)";
	case XS_EA_NO_WORKERS: return "every allocator worker slot is claimed";
	case XS_EA_ZERO_SIZE: return "0-byte allocation (refused by rts-alloc format 4.0)";
	default: return NULL;
	}
}

const char *xs_alloc_error_name(int err)
{
	switch (err < 0 ? -err : err) {
	case XS_EA_SLAB_SIZE: return "InvalidSlabSize";
	case XS_EA_NUM_WORKERS: return "InvalidNumWorkers";
	case XS_EA_WORKER_INDEX: return "InvalidWorkerIndex";
	case XS_EA_FILE_SIZE: return "InvalidFileSize";
	case XS_EA_ALREADY_INIT: return "AlreadyInitialized";
	case XS_EA_MAGIC:
	case XS_EA_VERSION:
	case XS_EA_LAYOUT: return "InvalidHeader";
	case XS_EA_NO_WORKERS: return "NoAvailableWorkers";
	case 0: return NULL;
	default:
		if ((err < 0 ? -err : err) < XS_E_BASE)
			return "IoError";
		return NULL;
	}
}

static const struct xs_alloc_format_info *err_row(enum xs_alloc_format fmt)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(fmt);

	return fi ? fi : newest();
}

const char *xs_alloc_error_name_fmt(int err, enum xs_alloc_format fmt)
{
	if (!err_row(fmt)->rust_errors)
		return xs_alloc_error_name(err);
	/* The 4.0.0 enum (RTS_ALLOC4.md §10; 5.x assumed equal). */
	switch (err < 0 ? -err : err) {
	case XS_EA_MAGIC: return "InvalidMagic";
	case XS_EA_VERSION: return "InvalidVersion";
	case XS_EA_LAYOUT: return "HeaderMismatch";
	default: return xs_alloc_error_name(err);
	}
}

int xs_alloc_error_debug(int err, enum xs_alloc_format fmt, char *buf, size_t len)
{
	const struct xs_alloc_format_info *fi = err_row(fmt);
	const char *name = xs_alloc_error_name_fmt(err, fmt);

	if (!name) {
		snprintf(buf, len, "%s", xs_strerror(err));
		return -EINVAL;
	}
	if (fi->rust_errors && (err == -XS_EA_VERSION || err == XS_EA_VERSION))
		return snprintf(buf, len, "InvalidVersion { expected: %" PRIu32 ", actual: %" PRIu32 " }",
				fi->version, found_version);
	return snprintf(buf, len, "%s", name);
}

int xs_alloc_error_display(int err, enum xs_alloc_format fmt, char *buf, size_t len)
{
	const struct xs_alloc_format_info *fi = err_row(fmt);
	int e = err < 0 ? -err : err;

	if (!fi->rust_errors || !xs_alloc_error_name_fmt(err, fmt))
		return xs_alloc_error_debug(err, fmt, buf, len);
	switch (e) {
	case XS_EA_MAGIC: return snprintf(buf, len, "invalid magic");
	case XS_EA_VERSION:
		/* major.patch of both words, as the crate prints them */
		return snprintf(buf, len, "invalid version; expected=%" PRIu32 ".%" PRIu32 "; found=%" PRIu32
				".%" PRIu32, fi->version >> 16, fi->version & 0xFFFFu, found_version >> 16,
				found_version & 0xFFFFu);
	case XS_EA_LAYOUT: return snprintf(buf, len, "header mismatch");
	case XS_EA_NO_WORKERS: return snprintf(buf, len, "no available workers");
	/* Not in the spec: texts inferred from the variant names. */
	case XS_EA_SLAB_SIZE: return snprintf(buf, len, "invalid slab size");
	case XS_EA_NUM_WORKERS: return snprintf(buf, len, "invalid number of workers");
	case XS_EA_WORKER_INDEX: return snprintf(buf, len, "invalid worker index");
	case XS_EA_FILE_SIZE: return snprintf(buf, len, "invalid file size");
	case XS_EA_ALREADY_INIT: return snprintf(buf, len, "already initialized");
	default:
		/* -errno: std::io::Error's Display is "<text> (os error N)" */
		return snprintf(buf, len, "io error; err=%s (os error %d)", strerror(e), e);
	}
}

/* ------------------------------------------------------------------ layout */

static uint64_t round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) / align * align;
}

static int check_slab_size(uint32_t s)
{
	if (s < XS_ALLOC_MIN_SLAB || (s & (s - 1)) || s / 256 > 0xFFFFu)
		return xs_seterr(-XS_EA_SLAB_SIZE,
				 "slab size %" PRIu32 " is not a power of two in %u..%u", s,
				 XS_ALLOC_MIN_SLAB, XS_ALLOC_MAX_SLAB);
	return 0;
}

int xs_alloc_compute_layout(uint64_t f, uint32_t s, uint32_t n, struct xs_alloc_layout *out)
{
	uint64_t fle, u, sm, fs, stride, slabs;
	int err = check_slab_size(s);

	if (err)
		return err;
	if (n == 0)
		return xs_seterr(-XS_EA_NUM_WORKERS, "number of workers is 0");
	/* Upstream computes num_slabs from F mod 2^32: refuse what it truncates. */
	if (f > XS_ALLOC_MAX_FILE)
		return xs_seterr(-XS_EA_FILE_SIZE,
				 "file size %" PRIu64 " >= 4 GiB (rts-alloc 0.2.0 truncates it to 32 bits)", f);
	/* Upstream's U = F/S - 1 wraps below one slab. */
	if (f < s)
		return xs_seterr(-XS_EA_FILE_SIZE,
				 "file size %" PRIu64 " is smaller than one slab (%" PRIu32 ")", f, s);
	fle = round_up(XS_ALLOC_HEADER_SIZE + (uint64_t)XS_ALLOC_WORKER_SIZE * n, 4);
	u = f / s - 1;
	sm = round_up(fle + XS_ALLOC_NODE_SIZE * u, 64);
	fs = round_up(sm + XS_ALLOC_META_SIZE * u, 8); /* 8: upstream's alignment quirk */
	stride = 4 + 2 * (uint64_t)(s / 256);
	slabs = round_up(fs + stride * u, s);
	if (slabs >= f || (f - slabs) / s == 0)
		return xs_seterr(-XS_EA_FILE_SIZE,
				 "file size %" PRIu64 " leaves no %" PRIu32 "-byte slab after %" PRIu64
				 " bytes of metadata for %" PRIu32 " workers (need at least %" PRIu64 ")",
				 f, s, slabs, n, slabs + s);
	out->free_list_elements_offset = (uint32_t)fle;
	out->slab_shared_meta_offset = (uint32_t)sm;
	out->slab_free_stacks_offset = (uint32_t)fs;
	out->slabs_offset = (uint32_t)slabs;
	out->num_slabs = (uint32_t)((f - slabs) / s);
	out->max_slabs = (uint32_t)u;
	out->fstack_stride = (uint32_t)stride;
	out->num_workers = n;
	out->meta_slabs = (uint32_t)(slabs / s);
	return 0;
}

/* Upstream's `layout_for(N, S, n)` (RTS_ALLOC4.md §3): the four offsets for
 * N worker entries of @p entry bytes and @p u slabs. 64-bit arithmetic; the
 * free-stack alignment 8 is the seed era's, assumed unchanged (inferred). */
static void layout_for(uint64_t n, uint64_t entry, uint32_t s, uint64_t u, uint64_t o[4])
{
	uint64_t stride = 4 + 2 * (uint64_t)(s / 256);

	o[0] = round_up(XS_ALLOC_HEADER_SIZE + entry * n, 4);
	o[1] = round_up(o[0] + XS_ALLOC_NODE_SIZE * u, 64);
	o[2] = round_up(o[1] + XS_ALLOC_META_SIZE * u, 8);
	o[3] = round_up(o[2] + stride * u, s);
}

/* SLABS of the base layout (no worker entries) with m metadata slabs out of t. */
static uint64_t base_slabs(uint32_t s, uint64_t t, uint64_t m)
{
	uint64_t o[4];

	layout_for(0, 0, s, t - m, o);
	return o[3];
}

/*
 * Upstream's `max_workers(F, S, min)` (RTS_ALLOC4.md §3): m metadata slabs,
 * starting at 1; while the base layout of the u = t - m data slabs needs
 * more than m slabs, m := that need; then, while the slack m*S - base holds
 * fewer than @p min entries, m += 1. The second loop is done as a binary
 * search, which finds the same m: once the base fits in m slabs it fits in
 * every larger m (fewer data slabs, no more metadata), so the first loop
 * never runs again, and the slack grows strictly with m (by S per step at
 * least), so "enough entries" is monotone. That keeps a hostile
 * num_workers (join) from costing billions of steps.
 */
static int layout_max_workers(const struct xs_alloc_format_info *fi, uint64_t f, uint32_t s,
			      uint32_t min, struct xs_alloc_layout *out)
{
	uint64_t t, m = 1, u, b, slack, n, o[4], lo, hi;
	int err = 0;

	if (min == 0)
		return xs_seterr(-XS_EA_NUM_WORKERS, "minimum number of workers is 0");
	err = check_slab_size(s);
	if (err)
		return err;
	t = f / s;
	if (t > UINT32_MAX) /* upstream's verify_total_slabs */
		return xs_seterr(-XS_EA_FILE_SIZE, "file size %" PRIu64 " holds %" PRIu64 " slabs of %" PRIu32
				 " bytes, more than a u32 counts", f, t, s);
	for (;;) {
		if (t <= m)
			return xs_seterr(-XS_EA_FILE_SIZE, "file size %" PRIu64 " (%" PRIu64 " slabs of %" PRIu32
					 " bytes) leaves no data slab after %" PRIu64 " metadata slabs",
					 f, t, s, m);
		b = base_slabs(s, t, m);
		if (b / s <= m)
			break;
		m = b / s;
	}
	slack = m * s - b;
	if (slack / fi->entry_size < min) {
		/* smallest m' in (m, t - 1] whose slack holds min entries */
		lo = m + 1;
		hi = t - 1;
		if (lo > hi || (hi * s - base_slabs(s, t, hi)) / fi->entry_size < min)
			return xs_seterr(-XS_EA_FILE_SIZE, "file size %" PRIu64 " cannot hold %" PRIu32
					 " worker entries of %u bytes and a data slab of %" PRIu32 " bytes",
					 f, min, fi->entry_size, s);
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if ((mid * s - base_slabs(s, t, mid)) / fi->entry_size >= min)
				hi = mid;
			else
				lo = mid + 1;
		}
		m = lo;
		b = base_slabs(s, t, m);
		slack = m * s - b;
	}
	u = t - m;
	n = slack / fi->entry_size;
	layout_for(n, fi->entry_size, s, u, o);
	if (n > UINT32_MAX || o[3] > UINT32_MAX || u > UINT32_MAX)
		return xs_seterr(-XS_EA_FILE_SIZE, "file size %" PRIu64 ": %" PRIu64 " workers and slabs at "
				 "offset %" PRIu64 " do not fit the header's 32-bit fields", f, n, o[3]);
	if (o[3] != m * s) /* cannot happen: the slack was computed to fit */
		return xs_seterr(-XS_E_INTERNAL, "max_workers layout: slabs at %" PRIu64 ", expected %" PRIu64,
				 o[3], m * s);
	out->free_list_elements_offset = (uint32_t)o[0];
	out->slab_shared_meta_offset = (uint32_t)o[1];
	out->slab_free_stacks_offset = (uint32_t)o[2];
	out->slabs_offset = (uint32_t)o[3];
	out->num_slabs = (uint32_t)u;
	out->max_slabs = (uint32_t)u;
	out->fstack_stride = 4 + 2 * (s / 256);
	out->num_workers = (uint32_t)n;
	out->meta_slabs = (uint32_t)m;
	return 0;
}

static int layout_row(const struct xs_alloc_format_info *fi, uint64_t f, uint32_t s, uint32_t workers,
		      struct xs_alloc_layout *out)
{
	if (fi->layout == XS_ALLOC_LAYOUT_FIXED)
		return xs_alloc_compute_layout(f, s, workers, out);
	return layout_max_workers(fi, f, s, workers, out);
}

int xs_alloc_compute_layout_fmt(enum xs_alloc_format fmt, uint64_t file_size, uint32_t slab_size,
				uint32_t workers, struct xs_alloc_layout *out)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(fmt);

	if (!fi)
		return xs_seterr(-EINVAL, "allocator format %d: no such format", (int)fmt);
	return layout_row(fi, file_size, slab_size, workers, out);
}

/* ---------------------------------------------------------------- mappings */

static int map_new(uint8_t *base, size_t size, const struct xs_alloc_layout *lay,
		   const struct xs_alloc_format_info *fi, uint32_t slab_size, struct xs_alloc_map **out)
{
	size_t words = ((size_t)lay->num_workers + 63) / 64;
	struct xs_alloc_map *m = calloc(1, sizeof(*m) + words * sizeof(uint64_t));

	if (!m)
		return xs_seterr(-ENOMEM, "no memory for the allocator mapping record (%" PRIu32 " workers)",
				 lay->num_workers);
	if (pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		return xs_seterr(-ENOMEM, "pthread_mutex_init failed");
	}
	m->base = base;
	m->size = size;
	m->lay = *lay;
	m->fi = fi;
	m->num_workers = lay->num_workers;
	m->slab_size = slab_size;
	*out = m;
	return 0;
}

static void map_destroy(struct xs_alloc_map *m)
{
	munmap(m->base, m->size);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int map_busy(const struct xs_alloc_map *m, uint32_t w)
{
	return (int)((m->open_ids[w / 64] >> (w % 64)) & 1);
}

/* The `claimed` byte of slot w (claim formats). */
static uint8_t *claimed_byte(const struct xs_alloc_map *m, uint32_t w)
{
	return xs__alloc_entry_at(m->base, m->fi, w) + m->fi->claimed_off;
}

/* C1: take slot w in the file. A load first, so that a scan over taken
 * slots costs no locked instruction; the CAS decides (upstream CASes each
 * slot; a failed CAS and a non-zero load are the same answer). */
static int try_claim(const struct xs_alloc_map *m, uint32_t w)
{
	uint8_t *c = claimed_byte(m, w), want = 0;

	if (__atomic_load_n(c, __ATOMIC_ACQUIRE) != 0)
		return 0;
	return __atomic_compare_exchange_n(c, &want, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/*
 * Take a worker index on m: the refcount, the per-mapping busy bit, and for
 * the claim formats the slot's `claimed` byte (*w = XS_ALLOC_CLAIM: the
 * first free slot, as upstream; else exactly *w). @return 0 and *w, or an
 * error with nothing taken.
 */
static int map_claim(struct xs_alloc_map *m, uint32_t *w)
{
	int claim = m->fi->join == XS_ALLOC_JOIN_CLAIM, rc = 0;
	uint32_t i = *w;

	if (i == XS_ALLOC_CLAIM && !claim)
		return xs_seterr(-XS_EA_WORKER_INDEX, "allocator format %s has no claim flags: the worker "
				 "index must be given (< %" PRIu32 ")", m->fi->name, m->num_workers);
	if (i != XS_ALLOC_CLAIM && i >= m->num_workers)
		return xs_seterr(-XS_EA_WORKER_INDEX, "worker index %" PRIu32 " >= num_workers %" PRIu32,
				 i, m->num_workers);
	pthread_mutex_lock(&m->lock);
	if (i == XS_ALLOC_CLAIM) {
		for (i = 0; i < m->num_workers; i++)
			if (!map_busy(m, i) && try_claim(m, i))
				break;
		if (i == m->num_workers)
			rc = xs_seterr(-XS_EA_NO_WORKERS, "all %" PRIu32 " worker slots of the allocator "
				       "(format %s) are claimed", m->num_workers, m->fi->name);
	} else if (map_busy(m, i)) {
		rc = xs_seterr(-XS_EA_WORKER_BUSY, "worker index %" PRIu32 " already has a handle on this mapping", i);
	} else if (claim && !try_claim(m, i)) {
		rc = xs_seterr(-XS_EA_WORKER_BUSY, "worker slot %" PRIu32 " is claimed by another handle "
			       "(claimed byte %u)", i, __atomic_load_n(claimed_byte(m, i), __ATOMIC_RELAXED));
	}
	if (rc == 0) {
		m->open_ids[i / 64] |= 1ull << (i % 64);
		m->refs++;
		*w = i;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Release worker index w (C2 for the claim formats: a Release store of 0,
 * pairs with the next claimer's C1, so it sees everything this handle left).
 * @return the references left; the caller destroys the mapping when none are. */
static uint32_t map_unclaim(struct xs_alloc_map *m, uint32_t w, int claimed)
{
	uint32_t left;

	pthread_mutex_lock(&m->lock);
	if (claimed)
		__atomic_store_n(claimed_byte(m, w), 0, __ATOMIC_RELEASE);
	m->open_ids[w / 64] &= ~(1ull << (w % 64));
	left = --m->refs;
	pthread_mutex_unlock(&m->lock);
	return left;
}

/* ----------------------------------------------------------------- handles */

/* Mark slots [0, cap) of slab s as held, then free the ones on its stack. */
static int shadow_from_stack(struct xs_alloc *a, uint32_t s, unsigned c, int which)
{
	struct xs_alloc_fstack_shm *fs = xs__alloc_fstack(a, s);
	uint32_t cap = a->cap[c], top = fs->top, k;
	uint64_t *w = &a->shadow[((uint64_t)s << a->shadow_shift) >> 6];
	/* M2: pair with M1 of the take that put the slab on our list. */
	uint32_t owner = __atomic_load_n(&a->meta[s].assigned_worker, __ATOMIC_ACQUIRE);
	uint64_t cls = __atomic_load_n(&a->meta[s].size_class_index, __ATOMIC_ACQUIRE);

	if (owner != a->worker || cls != c || fs->capacity != cap || top > cap ||
	    (which == XS__FULL && top != 0) || (which == XS__PARTIAL && top == 0))
		return xs__alloc_corrupt(a, "slab %" PRIu32 " on worker %" PRIu32 "'s %s list of class %u "
					 "has owner %" PRIu32 ", class %" PRIu64 ", top %" PRIu32 ", capacity %u",
					 s, a->worker, which == XS__FULL ? "full" : "partial", c, owner, cls,
					 top, fs->capacity);
	if (xs__alloc_owned(a, s))
		return xs__alloc_corrupt(a, "slab %" PRIu32 " is on worker %" PRIu32 "'s lists twice", s, a->worker);
	for (k = 0; k < cap; k++)
		w[k >> 6] |= 1ull << (k & 63);
	for (k = 0; k < top; k++) {
		uint32_t idx = fs->stack[k];

		if (idx >= cap || !(w[idx >> 6] & (1ull << (idx & 63))))
			return xs__alloc_corrupt(a, "free stack of slab %" PRIu32 " holds slot %" PRIu32
						 " out of range or twice (capacity %" PRIu32 ")", s, idx, cap);
		w[idx >> 6] &= ~(1ull << (idx & 63));
	}
	if (top == cap)
		a->kept[c]++;
	xs__alloc_set_owned(a, s, 1);
	return 0;
}

/* Rebuild the shadow bitmap and kept counts from this worker's lists (a
 * handle reopening an index that already owns slabs). Bounded walks. */
static int shadow_rebuild(struct xs_alloc *a)
{
	unsigned c;
	int which, rc;

	for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
		for (which = XS__PARTIAL; which <= XS__FULL; which++) {
			/* L1: our own lists (a previous handle of this index wrote them;
			 * the caller ordered that close before this open: C1/C2 for
			 * the claim formats). */
			uint32_t s = __atomic_load_n(xs__alloc_head(a, c, which), __ATOMIC_ACQUIRE);
			uint32_t steps = 0;

			while (s != XS_ALLOC_NULL_U32) {
				if (s >= a->num_slabs || steps++ >= a->num_slabs)
					return xs__alloc_corrupt(a, "worker %" PRIu32 " class %u list runs to slab %"
								 PRIu32 " after %" PRIu32 " steps (%" PRIu32 " slabs)",
								 a->worker, c, s, steps, a->num_slabs);
				rc = shadow_from_stack(a, s, c, which);
				if (rc < 0)
					return rc;
				s = __atomic_load_n(&a->nodes[s].local_next, __ATOMIC_ACQUIRE);
			}
		}
	}
	return 0;
}

/* Open a handle for worker @p worker (an index, or XS_ALLOC_CLAIM) on m. */
static int handle_open(struct xs_alloc_map *m, uint32_t worker, const struct xs_alloc_format_info *fi,
		       struct xs_alloc **out)
{
	const struct xs_alloc_layout *lay = &m->lay;
	int claimed = m->fi->join == XS_ALLOC_JOIN_CLAIM;
	struct xs_alloc *a;
	uint64_t bits;
	unsigned c;
	int rc;

	rc = map_claim(m, &worker);
	if (rc < 0)
		return rc;
	a = calloc(1, sizeof(*a));
	if (!a) {
		map_unclaim(m, worker, claimed);
		return xs_seterr(-ENOMEM, "no memory for an allocator handle");
	}
	a->base = m->base;
	a->size = m->size;
	a->map = m;
	a->fi = fi;
	a->claimed = (uint32_t)claimed;
	a->hdr = (struct xs_alloc_header_shm *)(void *)m->base;
	a->worker = worker;
	a->num_workers = m->num_workers;
	a->num_slabs = lay->num_slabs;
	a->slab_size = m->slab_size;
	a->slab_shift = (uint32_t)__builtin_ctz(m->slab_size);
	a->slab_mask = m->slab_size - 1u;
	a->slabs_off = lay->slabs_offset;
	a->fs_stride = lay->fstack_stride;
	a->entry = xs__alloc_entry(a, worker);
	a->me = (struct xs_alloc_heads_shm *)(void *)(a->entry + fi->heads_off);
	a->outstanding = fi->outstanding_off >= 0 ? (uint64_t *)(void *)(a->entry + fi->outstanding_off) :
						     &a->outstanding_local;
	a->remote_head = fi->remote_head_off >= 0 ? (uint64_t *)(void *)(a->entry + fi->remote_head_off) :
						     NULL;
	a->remote_kind = fi->remote;
	a->min_req = fi->refuse_zero ? 1 : 0;
	a->nodes = (struct xs_alloc_node_shm *)(void *)(m->base + lay->free_list_elements_offset);
	a->meta = (struct xs_alloc_slab_meta_shm *)(void *)(m->base + lay->slab_shared_meta_offset);
	a->fstacks = m->base + lay->slab_free_stacks_offset;
	for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++)
		a->cap[c] = (uint16_t)(m->slab_size >> (XS_ALLOC_MIN_SHIFT + c));
	a->shadow_shift = a->slab_shift - XS_ALLOC_MIN_SHIFT;
	a->policy = XS_ALLOC_POLICY_XSCHED;
	a->keep = XS_ALLOC_KEEP_DEFAULT;
	/* 0.2 / 2.0: the xsched tag in padding where the mixed-width argument
	 * holds; 3.0 / 4.0: upstream's own 64-bit tagged head, always. */
	a->tagged = fi->head_bits == 64 ? 1 : XS_ALLOC_HAVE_TAG;
	a->global_bad = XS_ALLOC_NULL_U32;

	/* One bit per 256-byte granule of every slab; S/256 >= 64, so each slab
	 * owns whole words. Then one bit per slab: the slabs this handle owns.
	 * Anonymous and lazily backed: only slabs this worker uses cost memory. */
	bits = (uint64_t)a->num_slabs << a->shadow_shift;
	a->shadow_bytes = (size_t)round_up(bits / 8 + ((uint64_t)a->num_slabs + 63) / 64 * 8, 4096);
	a->shadow = mmap(NULL, a->shadow_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->shadow == MAP_FAILED) {
		rc = xs_seterr(-errno, "mapping a %zu-byte shadow bitmap failed: %s", a->shadow_bytes,
			       strerror(errno));
		free(a);
		map_unclaim(m, worker, claimed);
		return rc;
	}
	a->owned = a->shadow + (bits >> 6);
	rc = shadow_rebuild(a);
	if (rc < 0) {
		munmap(a->shadow, a->shadow_bytes);
		free(a);
		map_unclaim(m, worker, claimed);
		return rc;
	}
	*out = a;
	return 0;
}

/* The 32-bit (0.2 / 2.0) or 64-bit tagged (3.0 / 4.0) global head := index,
 * generation 0 (the initial generation upstream uses is not in the spec:
 * inferred). */
static void init_global_head(struct xs_alloc_header_shm *h, const struct xs_alloc_format_info *fi,
			     uint32_t index)
{
	if (fi->head_bits == 64)
		__atomic_store_n(&h->global.word, (uint64_t)index, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&h->global.half.index, index, __ATOMIC_RELEASE);
}

/* Create (all formats). @p presized accepts a file already sized to exactly
 * @p file_size (and never written) by its creator. */
static int alloc_create(struct xs_alloc **out, int fd, size_t file_size, uint32_t workers,
			uint32_t slab_size, const struct xs_alloc_format_info *fi, uint32_t worker_id,
			int presized)
{
	struct xs_alloc_layout lay;
	struct xs_alloc_header_shm *h;
	struct xs_alloc_node_shm *nodes;
	struct xs_alloc_slab_meta_shm *meta;
	struct xs_alloc_map *m;
	struct stat st;
	uint8_t *base;
	uint32_t i, w, c;
	int rc;

	*out = NULL;
	if (fi->join == XS_ALLOC_JOIN_INDEX) {
		/* Upstream's order: index first (so N == 0 reports the index), then
		 * N, slab size, layout. */
		if (worker_id >= workers)
			return xs_seterr(-XS_EA_WORKER_INDEX, "worker index %" PRIu32 " >= num_workers %" PRIu32,
					 worker_id, workers);
	} else if (worker_id != XS_ALLOC_CLAIM) {
		return xs_seterr(-XS_EA_WORKER_INDEX, "allocator format %s: the creator claims a slot; pass "
				 "XS_ALLOC_CLAIM, not worker %" PRIu32, fi->name, worker_id);
	}
	/* 3.0 / 4.0: min_workers, slab size, total slabs, layout, data slabs, in
	 * upstream's order (RTS_ALLOC4.md §4). */
	rc = layout_row(fi, file_size, slab_size, workers, &lay);
	if (rc < 0)
		return rc;
	if (fstat(fd, &st) < 0)
		return xs_seterr(-errno, "fstat of the allocator file failed: %s", strerror(errno));
	if (st.st_size != 0 && !(presized && (uint64_t)st.st_size == (uint64_t)file_size))
		return xs_seterr(-XS_EA_ALREADY_INIT, "allocator file already has %lld bytes%s",
				 (long long)st.st_size, presized ? " (not the size asked for)" : "");
	if (ftruncate(fd, (off_t)file_size) < 0)
		return xs_seterr(-errno, "ftruncate of the allocator file to %zu failed: %s", file_size,
				 strerror(errno));
	base = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return xs_seterr(-errno, "mmap of the %zu-byte allocator file failed: %s", file_size,
				 strerror(errno));

	/* The file is fresh (all zero); store fields one by one so padding
	 * stays zero, as upstream's bytes. The Release stores below are the
	 * spec's (RTS_ALLOC.md §3 step 7, RTS_ALLOC4.md §4); for an xsched
	 * joiner they are all published by H1 (magic, last). Nothing else can
	 * touch the file yet. */
	h = (struct xs_alloc_header_shm *)(void *)base;
	h->num_workers = lay.num_workers;
	h->num_slabs = lay.num_slabs;
	h->slab_size = slab_size;
	h->free_list_elements_offset = lay.free_list_elements_offset;
	h->slab_shared_meta_offset = lay.slab_shared_meta_offset;
	h->slab_free_stacks_offset = lay.slab_free_stacks_offset;
	h->slabs_offset = lay.slabs_offset;
	if (!fi->version_packed)
		h->version = fi->version; /* 0.2: with the other fields */
	init_global_head(h, fi, XS_ALLOC_NULL_U32);
	for (w = 0; w < lay.num_workers; w++) {
		uint8_t *e = xs__alloc_entry_at(base, fi, w);
		struct xs_alloc_heads_shm *hd = (struct xs_alloc_heads_shm *)(void *)(e + fi->heads_off);

		for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
			__atomic_store_n(&hd->cls[c].partial, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
			__atomic_store_n(&hd->cls[c].full, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
		}
		/* 4.0: NULL_USIZE ends the drain; 0 would be walked (never valid) */
		if (fi->remote_head_off >= 0)
			__atomic_store_n((uint64_t *)(void *)(e + fi->remote_head_off), XS_ALLOC_NULL_USIZE,
					 __ATOMIC_RELEASE);
	}
	nodes = (struct xs_alloc_node_shm *)(void *)(base + lay.free_list_elements_offset);
	for (i = 0; i < lay.num_slabs; i++) {
		__atomic_store_n(&nodes[i].global_next, i + 1 < lay.num_slabs ? i + 1 : XS_ALLOC_NULL_U32,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&nodes[i].local_prev, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
		__atomic_store_n(&nodes[i].local_next, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
	}
	init_global_head(h, fi, 0);
	meta = (struct xs_alloc_slab_meta_shm *)(void *)(base + lay.slab_shared_meta_offset);
	for (i = 0; i < lay.num_slabs; i++) {
		__atomic_store_n(&meta[i].assigned_worker, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
		__atomic_store_n(&meta[i].size_class_index, 0, __ATOMIC_RELEASE);
		/* 4.0 has no per-slab remote stack (the field is gone) */
		if (fi->remote == XS_ALLOC_REMOTE_SLAB_U16)
			__atomic_store_n(&meta[i].remote_head, XS_ALLOC_NULL_U16, __ATOMIC_RELEASE);
	}
	if (fi->version_packed)
		h->version = fi->version; /* 3.0 / 4.0: version, then magic */
	/* H1: magic last, Release: a joiner that sees it sees all of the above. */
	__atomic_store_n(&h->magic, XS_ALLOC_MAGIC, __ATOMIC_RELEASE);

	rc = map_new(base, file_size, &lay, fi, slab_size, &m);
	if (rc < 0) {
		munmap(base, file_size);
		return rc;
	}
	rc = handle_open(m, worker_id, fi, out);
	if (rc < 0)
		map_destroy(m); /* never referenced: unmaps */
	return rc;
}

static int create_fmt(struct xs_alloc **out, int fd, size_t file_size, uint32_t min_workers,
		      uint32_t slab_size, enum xs_alloc_format fmt, uint32_t worker_id, int presized)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(fmt);

	*out = NULL;
	if (!fi)
		return xs_seterr(-EINVAL, "allocator format %d: no such format (create needs one)", (int)fmt);
	return alloc_create(out, fd, file_size, min_workers, slab_size, fi, worker_id, presized);
}

int xs_alloc_create(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
		    uint32_t slab_size, uint32_t worker_id)
{
	return create_fmt(out, fd, file_size, num_workers, slab_size, XS_ALLOC_FMT_0_2, worker_id, 0);
}

int xs_alloc_create_sized(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
			  uint32_t slab_size, uint32_t worker_id)
{
	return create_fmt(out, fd, file_size, num_workers, slab_size, XS_ALLOC_FMT_0_2, worker_id, 1);
}

int xs_alloc_create_fmt(struct xs_alloc **out, int fd, size_t file_size, uint32_t min_workers,
			uint32_t slab_size, enum xs_alloc_format fmt, uint32_t worker_id)
{
	return create_fmt(out, fd, file_size, min_workers, slab_size, fmt, worker_id, 0);
}

int xs_alloc_create_fmt_sized(struct xs_alloc **out, int fd, size_t file_size, uint32_t min_workers,
			      uint32_t slab_size, enum xs_alloc_format fmt, uint32_t worker_id)
{
	return create_fmt(out, fd, file_size, min_workers, slab_size, fmt, worker_id, 1);
}

/*
 * Validate the header of a mapped file of f bytes against format @p fmt
 * (XS_ALLOC_FMT_ANY: the row its version word names). *fi_out is the row
 * (also on a layout error), *lay the recomputed layout, *lay_ok whether it
 * could be computed. Reads only.
 */
static int validate_header(const uint8_t *base, size_t f, enum xs_alloc_format fmt,
			   const struct xs_alloc_format_info **fi_out, struct xs_alloc_layout *lay,
			   int *lay_ok)
{
	const struct xs_alloc_header_shm *h = (const void *)base;
	const struct xs_alloc_format_info *fi = fmt == XS_ALLOC_FMT_ANY ? NULL : xs_alloc_format_info(fmt);
	/* H2: Acquire load of magic, pairs with H1 of an xsched creator. */
	uint64_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
	uint32_t v = h->version, nw;
	char t1[96], t2[96];
	int rc;

	*lay_ok = 0;
	if (magic != XS_ALLOC_MAGIC)
		return xs_seterr(-XS_EA_MAGIC, "allocator magic 0x%016" PRIx64 ", expected 0x%016llx",
				 magic, XS_ALLOC_MAGIC);
	if (fmt == XS_ALLOC_FMT_ANY) {
		fi = xs_alloc_format_info(xs_alloc_format_from_version(v));
		if (!fi) {
			found_version = v;
			return xs_seterr(-XS_EA_VERSION, "allocator header version %s; this build speaks %" PRIu32
					 " (formats 0.2 and 2.0, the latter unverified), 0x%08x (3.0) and 0x%08x (4.0)",
					 version_text(v, t1, sizeof(t1)), formats[0].version,
					 XS_ALLOC_VERSION_3_0, XS_ALLOC_VERSION_4_0);
		}
	} else if (v != fi->version) {
		found_version = v;
		return xs_seterr(-XS_EA_VERSION, "allocator header version %s, expected %s for format %s",
				 version_text(v, t1, sizeof(t1)), version_text(fi->version, t2, sizeof(t2)),
				 fi->name);
	}
	*fi_out = fi;
	nw = h->num_workers;
	if (nw == 0)
		return xs_seterr(-XS_EA_NUM_WORKERS, "allocator header (format %s) says 0 workers", fi->name);
	rc = check_slab_size(h->slab_size);
	if (rc < 0)
		return rc;
	rc = layout_row(fi, f, h->slab_size, nw, lay);
	if (rc < 0)
		return rc;
	*lay_ok = 1;
	if (lay->num_workers != nw)
		return xs_seterr(-XS_EA_LAYOUT, "allocator header (format %s) num_workers %" PRIu32
				 ", but %zu bytes with %" PRIu32 "-byte slabs lay out %" PRIu32
				 " worker entries (%" PRIu32 " metadata slabs)", fi->name, nw, f,
				 h->slab_size, lay->num_workers, lay->meta_slabs);
#define XS__CMP(field, want)                                                                  \
	if (h->field != (want))                                                               \
		return xs_seterr(-XS_EA_LAYOUT, "allocator header (format %s) " #field " %" PRIu32 \
				 ", but %zu bytes with %" PRIu32 " workers and %" PRIu32             \
				 "-byte slabs give %" PRIu32, fi->name, h->field, f, nw,           \
				 h->slab_size, (uint32_t)(want))
	XS__CMP(num_slabs, lay->num_slabs);
	XS__CMP(free_list_elements_offset, lay->free_list_elements_offset);
	XS__CMP(slab_shared_meta_offset, lay->slab_shared_meta_offset);
	XS__CMP(slab_free_stacks_offset, lay->slab_free_stacks_offset);
	XS__CMP(slabs_offset, lay->slabs_offset);
#undef XS__CMP
	return 0;
}

/* Size checks before mapping a file of @p size bytes for format row @p fi
 * (NULL: not known yet). */
static int check_file_size(uint64_t size, const struct xs_alloc_format_info *fi)
{
	if (size < XS_ALLOC_HEADER_SIZE)
		return xs_seterr(-XS_EA_FILE_SIZE, "allocator file of %" PRIu64 " bytes is shorter than its %u-byte header",
				 size, XS_ALLOC_HEADER_SIZE);
	if (fi && fi->layout == XS_ALLOC_LAYOUT_FIXED && size > XS_ALLOC_MAX_FILE)
		return xs_seterr(-XS_EA_FILE_SIZE,
				 "allocator file of %" PRIu64 " bytes >= 4 GiB (rts-alloc 0.2.0 truncates it to 32 bits)",
				 size);
	if (size > XS_ALLOC_MAX_FILE_CLAIM)
		return xs_seterr(-XS_EA_FILE_SIZE, "allocator file of %" PRIu64 " bytes is larger than %llu",
				 size, XS_ALLOC_MAX_FILE_CLAIM);
	return 0;
}

int xs_alloc_join_fmt(struct xs_alloc **out, int fd, enum xs_alloc_format fmt, uint32_t worker_id)
{
	const struct xs_alloc_format_info *fi = NULL;
	struct xs_alloc_layout lay;
	struct xs_alloc_map *m;
	struct stat st;
	uint8_t *base;
	size_t f;
	int rc, lay_ok;

	*out = NULL;
	if (fmt != XS_ALLOC_FMT_ANY && !(fi = xs_alloc_format_info(fmt)))
		return xs_seterr(-EINVAL, "allocator format %d: no such format", (int)fmt);
	if (fstat(fd, &st) < 0)
		return xs_seterr(-errno, "fstat of the allocator file failed: %s", strerror(errno));
	rc = check_file_size((uint64_t)st.st_size, fi);
	if (rc < 0)
		return rc;
	f = (size_t)st.st_size;
	base = mmap(NULL, f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return xs_seterr(-errno, "mmap of the %zu-byte allocator file failed: %s", f, strerror(errno));
	rc = validate_header(base, f, fmt, &fi, &lay, &lay_ok);
	if (rc < 0) {
		munmap(base, f);
		return rc;
	}
	rc = map_new(base, f, &lay, fi, ((struct xs_alloc_header_shm *)(void *)base)->slab_size, &m);
	if (rc < 0) {
		munmap(base, f);
		return rc;
	}
	rc = handle_open(m, worker_id, fi, out);
	if (rc < 0)
		map_destroy(m); /* never referenced: unmaps */
	return rc;
}

int xs_alloc_join(struct xs_alloc **out, int fd, uint32_t worker_id)
{
	return xs_alloc_join_fmt(out, fd, XS_ALLOC_FMT_0_2, worker_id);
}

int xs_alloc_join_handle(struct xs_alloc **out, struct xs_alloc *existing, uint32_t worker_id)
{
	*out = NULL;
	if (!existing)
		return xs_seterr(-EINVAL, "join_handle needs an open handle");
	return handle_open(existing->map, worker_id, existing->fi, out);
}

void xs_alloc_close(struct xs_alloc *a)
{
	if (!a)
		return;
	/* Give back what we kept; a damaged list only stops the trim. */
	(void)xs_alloc_trim(a);
	munmap(a->shadow, a->shadow_bytes);
	if (map_unclaim(a->map, a->worker, (int)a->claimed) == 0)
		map_destroy(a->map);
	free(a);
}

enum xs_alloc_format xs_alloc_format_of(const struct xs_alloc *a)
{
	return a->fi->format;
}

/* ------------------------------------------------------------------- probe */

int xs_alloc_probe(const void *mem, size_t size, struct xs_alloc_info *o)
{
	const struct xs_alloc_header_shm *h = mem;
	const struct xs_alloc_format_info *fi = NULL;
	uint32_t w;

	memset(o, 0, sizeof(*o));
	o->format = XS_ALLOC_FMT_ANY;
	o->first_free = XS_ALLOC_NULL_U32;
	o->file_size = size;
	o->status = check_file_size(size, NULL);
	if (o->status < 0)
		return o->status;
	o->magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE); /* H2 */
	o->version = h->version;
	o->format = xs_alloc_format_from_version(o->version);
	o->num_workers = h->num_workers;
	o->num_slabs = h->num_slabs;
	o->slab_size = h->slab_size;
	o->free_list_elements_offset = h->free_list_elements_offset;
	o->slab_shared_meta_offset = h->slab_shared_meta_offset;
	o->slab_free_stacks_offset = h->slab_free_stacks_offset;
	o->slabs_offset = h->slabs_offset;
	o->status = validate_header(mem, size, XS_ALLOC_FMT_ANY, &fi, &o->expected, &o->layout_checked);
	if (o->status == 0 && fi->join == XS_ALLOC_JOIN_CLAIM) {
		/* the layout was checked: the entries lie below FLE <= size */
		for (w = 0; w < o->num_workers; w++) {
			const uint8_t *c = (const uint8_t *)mem + XS_ALLOC_HEADER_SIZE +
					   (size_t)fi->entry_size * w + fi->claimed_off;

			if (__atomic_load_n(c, __ATOMIC_ACQUIRE))
				o->claimed++;
			else if (o->first_free == XS_ALLOC_NULL_U32)
				o->first_free = w;
		}
	}
	return o->status;
}

int xs_alloc_probe_fd(int fd, struct xs_alloc_info *o)
{
	struct stat st;
	void *mem;
	int rc;

	memset(o, 0, sizeof(*o));
	o->format = XS_ALLOC_FMT_ANY;
	o->first_free = XS_ALLOC_NULL_U32;
	if (fstat(fd, &st) < 0)
		return o->status = xs_seterr(-errno, "fstat of the allocator file failed: %s", strerror(errno));
	o->file_size = (uint64_t)st.st_size;
	if ((rc = check_file_size((uint64_t)st.st_size, NULL)) < 0)
		return o->status = rc;
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return o->status = xs_seterr(-errno, "mmap of the %lld-byte allocator file failed: %s",
					     (long long)st.st_size, strerror(errno));
	rc = xs_alloc_probe(mem, (size_t)st.st_size, o);
	munmap(mem, (size_t)st.st_size);
	return rc;
}

uint8_t *xs_alloc_base(const struct xs_alloc *a)
{
	return a->base;
}

size_t xs_alloc_size(const struct xs_alloc *a)
{
	return a->size;
}

uint32_t xs_alloc_worker(const struct xs_alloc *a)
{
	return a->worker;
}

uint32_t xs_alloc_num_workers(const struct xs_alloc *a)
{
	return a->num_workers;
}

uint32_t xs_alloc_num_slabs(const struct xs_alloc *a)
{
	return a->num_slabs;
}

uint32_t xs_alloc_slab_size(const struct xs_alloc *a)
{
	return a->slab_size;
}

uint64_t xs_alloc_slabs_offset(const struct xs_alloc *a)
{
	return a->slabs_off;
}

/* ---------------------------------------------------------- checked offsets */

static int check_common(const struct xs_alloc *a, uint64_t off, size_t len, int exact, void **ptr)
{
	uint64_t rel = off - a->slabs_off, s = rel >> a->slab_shift, within, c, csize, start;
	uint32_t owner;

	if (off < a->slabs_off || s >= a->num_slabs)
		return xs_seterr(-XS_EA_OFFSET, "offset %" PRIu64 " outside the slabs [%" PRIu64 ", %" PRIu64 ")",
				 off, a->slabs_off, a->slabs_off + ((uint64_t)a->num_slabs << a->slab_shift));
	/* M2: pair with M1 of the assignment the peer's allocation came after. */
	owner = __atomic_load_n(&a->meta[s].assigned_worker, __ATOMIC_ACQUIRE);
	c = __atomic_load_n(&a->meta[s].size_class_index, __ATOMIC_ACQUIRE);
	if (owner >= a->num_workers)
		return xs_seterr(-XS_EA_UNASSIGNED, "offset %" PRIu64 " lies in slab %" PRIu64
				 " whose owner is %" PRIu32 " (not a worker)", off, s, owner);
	if (c >= XS_ALLOC_NUM_CLASSES)
		return xs_seterr(-XS_EA_CORRUPT, "slab %" PRIu64 " has size class index %" PRIu64, s, c);
	csize = xs_alloc_class_size((unsigned)c);
	within = rel & a->slab_mask;
	start = within & ~(csize - 1);
	if (exact && start != within)
		return xs_seterr(-XS_EA_NOT_SLOT, "offset %" PRIu64 " is %" PRIu64 " bytes into a %" PRIu64
				 "-byte slot of slab %" PRIu64, off, within - start, csize, s);
	/* [within, within + len) must stay in [start, start + csize). */
	if (len > csize - (within - start))
		return xs_seterr(-XS_EA_LENGTH, "%zu bytes at offset %" PRIu64 " run past the end of its %"
				 PRIu64 "-byte slot", len, off, csize);
	*ptr = a->base + off;
	return 0;
}

int xs_alloc_check(const struct xs_alloc *a, uint64_t off, size_t len, void **ptr)
{
	return check_common(a, off, len, 1, ptr);
}

int xs_alloc_check_within(const struct xs_alloc *a, uint64_t off, size_t len, void **ptr)
{
	return check_common(a, off, len, 0, ptr);
}

/* ------------------------------------------------------------------ policy */

int xs_alloc_set_policy(struct xs_alloc *a, enum xs_alloc_policy policy, uint32_t keep_empty)
{
	unsigned c;
	int over = 0;

	if (policy != XS_ALLOC_POLICY_UPSTREAM && policy != XS_ALLOC_POLICY_XSCHED)
		return xs_seterr(-EINVAL, "unknown allocator policy %d", (int)policy);
	a->policy = policy;
	a->keep = policy == XS_ALLOC_POLICY_XSCHED ? keep_empty : 0;
	for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++)
		over |= a->kept[c] > a->keep;
	if (over) {
		int rc = xs_alloc_trim(a);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int xs_alloc_set_aba_tag(struct xs_alloc *a, int on)
{
	if (a->fi->head_bits == 64) {
		if (!on)
			return xs_seterr(-ENOTSUP, "allocator format %s has a tagged 64-bit global head of its "
					 "own: the untagged algorithm does not apply", a->fi->name);
		return 0;
	}
	if (on && !XS_ALLOC_HAVE_TAG)
		return xs_seterr(-ENOTSUP, "tagged global free list needs x86-64");
	a->tagged = on ? 1 : 0;
	return 0;
}

void xs_alloc_set_test_hook(struct xs_alloc *a, xs_alloc_hook_fn fn, void *arg)
{
	a->hook = fn;
	a->hook_arg = arg;
}
