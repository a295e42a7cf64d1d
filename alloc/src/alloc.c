/* SPDX-License-Identifier: Apache-2.0 */
/* rts-alloc-compatible allocator: the cold half (errors, layout, create,
 * join, handles, checked offsets, policy). Orderings are labelled as in
 * the contract at the top of xsched/alloc.h. */
#include "alloc_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ errors */

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
	case 0: return NULL;
	default:
		if ((err < 0 ? -err : err) < XS_E_BASE)
			return "IoError";
		return NULL;
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
	return 0;
}

/* ---------------------------------------------------------------- mappings */

static int map_new(uint8_t *base, size_t size, const struct xs_alloc_layout *lay,
		   uint32_t num_workers, uint32_t slab_size, struct xs_alloc_map **out)
{
	size_t words = ((size_t)num_workers + 63) / 64;
	struct xs_alloc_map *m = calloc(1, sizeof(*m) + words * sizeof(uint64_t));

	if (!m)
		return xs_seterr(-ENOMEM, "no memory for the allocator mapping record");
	if (pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		return xs_seterr(-ENOMEM, "pthread_mutex_init failed");
	}
	m->base = base;
	m->size = size;
	m->lay = *lay;
	m->num_workers = num_workers;
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

/* Take worker index w on m (refcount + busy bit). */
static int map_claim(struct xs_alloc_map *m, uint32_t w)
{
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (m->open_ids[w / 64] & (1ull << (w % 64))) {
		rc = xs_seterr(-XS_EA_WORKER_BUSY, "worker index %" PRIu32 " already has a handle on this mapping", w);
	} else {
		m->open_ids[w / 64] |= 1ull << (w % 64);
		m->refs++;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Release worker index w. @return the references left; the caller
 * destroys the mapping when none are. */
static uint32_t map_unclaim(struct xs_alloc_map *m, uint32_t w)
{
	uint32_t left;

	pthread_mutex_lock(&m->lock);
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
			 * the caller ordered that close before this open). */
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

static int handle_open(struct xs_alloc_map *m, uint32_t worker, struct xs_alloc **out)
{
	const struct xs_alloc_layout *lay = &m->lay;
	struct xs_alloc *a;
	uint64_t bits;
	unsigned c;
	int rc;

	if (worker >= m->num_workers)
		return xs_seterr(-XS_EA_WORKER_INDEX, "worker index %" PRIu32 " >= num_workers %" PRIu32,
				 worker, m->num_workers);
	rc = map_claim(m, worker);
	if (rc < 0)
		return rc;
	a = calloc(1, sizeof(*a));
	if (!a) {
		map_unclaim(m, worker);
		return xs_seterr(-ENOMEM, "no memory for an allocator handle");
	}
	a->base = m->base;
	a->size = m->size;
	a->map = m;
	a->hdr = (struct xs_alloc_header_shm *)(void *)m->base;
	a->worker = worker;
	a->num_workers = m->num_workers;
	a->num_slabs = lay->num_slabs;
	a->slab_size = m->slab_size;
	a->slab_shift = (uint32_t)__builtin_ctz(m->slab_size);
	a->slab_mask = m->slab_size - 1u;
	a->slabs_off = lay->slabs_offset;
	a->fs_stride = lay->fstack_stride;
	a->me = (struct xs_alloc_worker_shm *)(void *)(m->base + XS_ALLOC_HEADER_SIZE +
							(size_t)XS_ALLOC_WORKER_SIZE * worker);
	a->nodes = (struct xs_alloc_node_shm *)(void *)(m->base + lay->free_list_elements_offset);
	a->meta = (struct xs_alloc_slab_meta_shm *)(void *)(m->base + lay->slab_shared_meta_offset);
	a->fstacks = m->base + lay->slab_free_stacks_offset;
	for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++)
		a->cap[c] = (uint16_t)(m->slab_size >> (XS_ALLOC_MIN_SHIFT + c));
	a->shadow_shift = a->slab_shift - XS_ALLOC_MIN_SHIFT;
	a->policy = XS_ALLOC_POLICY_XSCHED;
	a->keep = XS_ALLOC_KEEP_DEFAULT;
	a->tagged = XS_ALLOC_HAVE_TAG;
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
		map_unclaim(m, worker);
		return rc;
	}
	a->owned = a->shadow + (bits >> 6);
	rc = shadow_rebuild(a);
	if (rc < 0) {
		munmap(a->shadow, a->shadow_bytes);
		free(a);
		map_unclaim(m, worker);
		return rc;
	}
	*out = a;
	return 0;
}

/* xs_alloc_create() and xs_alloc_create_sized(): @p presized accepts a file
 * already sized to exactly @p file_size (and never written) by its creator. */
static int alloc_create(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
			uint32_t slab_size, uint32_t worker_id, int presized)
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
	/* Upstream's order: index first (so N == 0 reports the index), then N,
	 * slab size, layout. */
	if (worker_id >= num_workers)
		return xs_seterr(-XS_EA_WORKER_INDEX, "worker index %" PRIu32 " >= num_workers %" PRIu32,
				 worker_id, num_workers);
	rc = xs_alloc_compute_layout(file_size, slab_size, num_workers, &lay);
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
	 * spec's (§3 step 7); for an xsched joiner they are all published by H1
	 * (magic, last). Nothing else can touch the file yet. */
	h = (struct xs_alloc_header_shm *)(void *)base;
	h->num_workers = num_workers;
	h->num_slabs = lay.num_slabs;
	h->slab_size = slab_size;
	h->free_list_elements_offset = lay.free_list_elements_offset;
	h->slab_shared_meta_offset = lay.slab_shared_meta_offset;
	h->slab_free_stacks_offset = lay.slab_free_stacks_offset;
	h->slabs_offset = lay.slabs_offset;
	h->version = XS_ALLOC_VERSION;
	__atomic_store_n(&h->global.half.index, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
	for (w = 0; w < num_workers; w++) {
		struct xs_alloc_worker_shm *we =
			(struct xs_alloc_worker_shm *)(void *)(base + XS_ALLOC_HEADER_SIZE +
							       (size_t)XS_ALLOC_WORKER_SIZE * w);

		for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
			__atomic_store_n(&we->cls[c].partial, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
			__atomic_store_n(&we->cls[c].full, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
		}
	}
	nodes = (struct xs_alloc_node_shm *)(void *)(base + lay.free_list_elements_offset);
	for (i = 0; i < lay.num_slabs; i++) {
		__atomic_store_n(&nodes[i].global_next, i + 1 < lay.num_slabs ? i + 1 : XS_ALLOC_NULL_U32,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&nodes[i].local_prev, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
		__atomic_store_n(&nodes[i].local_next, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&h->global.half.index, 0, __ATOMIC_RELEASE);
	meta = (struct xs_alloc_slab_meta_shm *)(void *)(base + lay.slab_shared_meta_offset);
	for (i = 0; i < lay.num_slabs; i++) {
		__atomic_store_n(&meta[i].assigned_worker, XS_ALLOC_NULL_U32, __ATOMIC_RELEASE);
		__atomic_store_n(&meta[i].size_class_index, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&meta[i].remote_head, XS_ALLOC_NULL_U16, __ATOMIC_RELEASE);
	}
	/* H1: magic last, Release: a joiner that sees it sees all of the above. */
	__atomic_store_n(&h->magic, XS_ALLOC_MAGIC, __ATOMIC_RELEASE);

	rc = map_new(base, file_size, &lay, num_workers, slab_size, &m);
	if (rc < 0) {
		munmap(base, file_size);
		return rc;
	}
	rc = handle_open(m, worker_id, out);
	if (rc < 0)
		map_destroy(m); /* never referenced: unmaps */
	return rc;
}

int xs_alloc_create(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
		    uint32_t slab_size, uint32_t worker_id)
{
	return alloc_create(out, fd, file_size, num_workers, slab_size, worker_id, 0);
}

int xs_alloc_create_sized(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
			  uint32_t slab_size, uint32_t worker_id)
{
	return alloc_create(out, fd, file_size, num_workers, slab_size, worker_id, 1);
}

/* Validate the header of a mapped file of f bytes (spec §4 steps 2..5). */
static int validate_header(const uint8_t *base, size_t f, uint32_t worker_id,
			   struct xs_alloc_layout *lay)
{
	const struct xs_alloc_header_shm *h = (const void *)base;
	/* H2: Acquire load of magic, pairs with H1 of an xsched creator. */
	uint64_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
	int rc;

	if (magic != XS_ALLOC_MAGIC)
		return xs_seterr(-XS_EA_MAGIC, "allocator magic 0x%016" PRIx64 ", expected 0x%016llx",
				 magic, XS_ALLOC_MAGIC);
	if (h->version != XS_ALLOC_VERSION)
		return xs_seterr(-XS_EA_VERSION,
				 "allocator header version %" PRIu32 " (0x%08" PRIx32 "), this build speaks %u "
				 "(rts-alloc 0.1/0.2)", h->version, h->version, XS_ALLOC_VERSION);
	if (h->num_workers == 0)
		return xs_seterr(-XS_EA_NUM_WORKERS, "allocator header says 0 workers");
	rc = check_slab_size(h->slab_size);
	if (rc < 0)
		return rc;
	rc = xs_alloc_compute_layout(f, h->slab_size, h->num_workers, lay);
	if (rc < 0)
		return rc;
#define XS__CMP(field, want)                                                                  \
	if (h->field != (want))                                                               \
		return xs_seterr(-XS_EA_LAYOUT, "allocator header " #field " %" PRIu32             \
				 ", but %zu bytes with %" PRIu32 " workers and %" PRIu32             \
				 "-byte slabs give %" PRIu32, h->field, f, h->num_workers,        \
				 h->slab_size, (uint32_t)(want))
	XS__CMP(num_slabs, lay->num_slabs);
	XS__CMP(free_list_elements_offset, lay->free_list_elements_offset);
	XS__CMP(slab_shared_meta_offset, lay->slab_shared_meta_offset);
	XS__CMP(slab_free_stacks_offset, lay->slab_free_stacks_offset);
	XS__CMP(slabs_offset, lay->slabs_offset);
#undef XS__CMP
	if (worker_id >= h->num_workers)
		return xs_seterr(-XS_EA_WORKER_INDEX, "worker index %" PRIu32 " >= num_workers %" PRIu32,
				 worker_id, h->num_workers);
	return 0;
}

int xs_alloc_join(struct xs_alloc **out, int fd, uint32_t worker_id)
{
	struct xs_alloc_layout lay;
	struct xs_alloc_map *m;
	struct stat st;
	uint8_t *base;
	size_t f;
	uint32_t nw, ss;
	int rc;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return xs_seterr(-errno, "fstat of the allocator file failed: %s", strerror(errno));
	if (st.st_size < (off_t)XS_ALLOC_HEADER_SIZE)
		return xs_seterr(-XS_EA_FILE_SIZE, "allocator file of %lld bytes is shorter than its %u-byte header",
				 (long long)st.st_size, XS_ALLOC_HEADER_SIZE);
	if ((uint64_t)st.st_size > XS_ALLOC_MAX_FILE)
		return xs_seterr(-XS_EA_FILE_SIZE,
				 "allocator file of %lld bytes >= 4 GiB (rts-alloc 0.2.0 truncates it to 32 bits)",
				 (long long)st.st_size);
	f = (size_t)st.st_size;
	base = mmap(NULL, f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return xs_seterr(-errno, "mmap of the %zu-byte allocator file failed: %s", f, strerror(errno));
	rc = validate_header(base, f, worker_id, &lay);
	if (rc < 0) {
		munmap(base, f);
		return rc;
	}
	nw = ((struct xs_alloc_header_shm *)(void *)base)->num_workers;
	ss = ((struct xs_alloc_header_shm *)(void *)base)->slab_size;
	rc = map_new(base, f, &lay, nw, ss, &m);
	if (rc < 0) {
		munmap(base, f);
		return rc;
	}
	rc = handle_open(m, worker_id, out);
	if (rc < 0)
		map_destroy(m); /* never referenced: unmaps */
	return rc;
}

int xs_alloc_join_handle(struct xs_alloc **out, struct xs_alloc *existing, uint32_t worker_id)
{
	*out = NULL;
	if (!existing)
		return xs_seterr(-EINVAL, "join_handle needs an open handle");
	return handle_open(existing->map, worker_id, out);
}

void xs_alloc_close(struct xs_alloc *a)
{
	if (!a)
		return;
	/* Give back what we kept; a damaged list only stops the trim. */
	(void)xs_alloc_trim(a);
	munmap(a->shadow, a->shadow_bytes);
	if (map_unclaim(a->map, a->worker) == 0)
		map_destroy(a->map);
	free(a);
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
