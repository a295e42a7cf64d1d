/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: joining an allocator file a peer prepared (header validation
 * of xs_alloc_join on a memfd), then using it: statistics, the bounded clean
 * of remote free lists, checked offset translation, allocations and frees
 * (good, double and interior). Every byte of the file is the peer's; the
 * allocator must refuse or work, never crash or hang (libFuzzer's -timeout
 * turns a hang into a finding), and never hand out a slot it already handed
 * out and nobody freed. Input format: fuzz_common.h.
 */
#include "fuzz_common.h"
#include "xsched/alloc.h"

#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1;

static void exercise(struct xs_alloc *a)
{
	static const size_t sizes[] = {1, 256, 300, 512, 600, 1000, 1500, 2048, 3000, 4096, 0, 257};
	uint64_t offs[24], lens[24], slabs = xs_alloc_slabs_offset(a), size = xs_alloc_size(a);
	uint32_t ns = xs_alloc_num_slabs(a), S = xs_alloc_slab_size(a), s, k;
	struct xs_alloc_stats st;
	size_t n = 0, i, fresh = 0;
	uint64_t cleaned;
	void *p;
	int err;

	FZ_ASSERT(slabs + (uint64_t)ns * S <= size);
	FZ_ASSERT(xs_alloc_stats(a, &st, NULL, 0) == 0);
	err = xs_alloc_clean_remote(a);
	FZ_ASSERT(err >= 0 || err == -XS_EA_REMOTE_CORRUPT || err == -XS_EA_DOUBLE_FREE ||
		  err == -XS_EA_CORRUPT);

	/* checked translation: whatever the metadata says, a success lies in its slab */
	for (s = 0; s < ns && s < 16; s++) {
		for (k = 0; k < 4; k++) {
			uint64_t off = slabs + (uint64_t)s * S + (uint64_t)k * 256 * (k + 1);

			if (xs_alloc_check(a, off, 100, &p) == 0) {
				FZ_ASSERT((uint8_t *)p == xs_alloc_base(a) + off);
				FZ_ASSERT(off + 100 <= slabs + (uint64_t)(s + 1) * S);
			}
		}
	}
	FZ_ASSERT(xs_alloc_check(a, 0, 1, &p) < 0);
	FZ_ASSERT(xs_alloc_check(a, size, 1, &p) < 0);
	FZ_ASSERT(xs_alloc_check(a, UINT64_MAX - 255, 1, &p) < 0);
	FZ_ASSERT(xs_alloc_free_offset(a, 0) < 0);
	FZ_ASSERT(xs_alloc_alloc_offset(a, 4097, &offs[0]) == -XS_EA_TOO_BIG);

	/* allocate: every slot handed out lies inside the slabs of the file,
	 * and no slot is handed out while it is still held: a global free list
	 * that offers a slab we own or have live slots in (linked in by the
	 * peer, or linked twice) is refused (-XS_EA_SLAB_LIVE), a free stack
	 * that offers a live slot is vetoed by the shadow bitmap. The one
	 * legitimate way to get a held slot back is a remote free, which the
	 * peer may have forged into a remote free list: slots allocated before
	 * a clean took something back are no longer checked (offs[0, fresh)). */
	cleaned = xs_alloc_counters(a)->cleaned;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) * 2 && n < 24; i++) {
		size_t want = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))], j;
		uint64_t off, end;

		err = xs_alloc_alloc_offset(a, want, &off);
		if (xs_alloc_counters(a)->cleaned != cleaned) {
			cleaned = xs_alloc_counters(a)->cleaned;
			fresh = n;
		}
		if (err) {
			FZ_ASSERT(err == -ENOMEM || err == -XS_EA_CORRUPT || err == -XS_EA_REMOTE_CORRUPT ||
				  err == -XS_EA_DOUBLE_FREE || err == -XS_EA_SLAB_LIVE);
			continue;
		}
		FZ_ASSERT(off >= slabs && off + (want ? want : 1) <= slabs + (uint64_t)ns * S);
		FZ_ASSERT(xs_alloc_check(a, off, want, &p) == 0);
		/* the whole slot of its class is ours: it overlaps no held slot */
		end = off + xs_alloc_class_size(xs_alloc_size_class(want));
		for (j = fresh; j < n; j++)
			FZ_ASSERT(end <= offs[j] || offs[j] + lens[j] <= off);
		memset(p, 0xee, want);
		lens[n] = end - off;
		offs[n++] = off;
	}
	/* an interior offset is never a slot start; then free each once, then
	 * the first again (a double free: refused, or for a slab the metadata
	 * gives to another worker, left to that owner's clean to catch) */
	if (n) {
		FZ_ASSERT(xs_alloc_free_offset(a, offs[0] + 16) < 0);
		for (i = n; i-- > 0;)
			xs_alloc_free_offset(a, offs[i]);
		xs_alloc_free_offset(a, offs[0]);
	}
	err = xs_alloc_clean_remote(a);
	FZ_ASSERT(err >= 0 || err == -XS_EA_REMOTE_CORRUPT || err == -XS_EA_DOUBLE_FREE ||
		  err == -XS_EA_CORRUPT);
	FZ_ASSERT(xs_alloc_stats(a, &st, NULL, 0) == 0);
	xs_alloc_trim(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_alloc *a = NULL;
	size_t fsize, meta, n;
	const uint8_t *p;
	uint8_t worker, lg;
	int err;

	if (size < 4)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("xs-fuzz-alloc", MFD_CLOEXEC);
		FZ_ASSERT(memfd >= 0);
	}
	worker = data[0];
	lg = data[1];
	fsize = (size_t)1024 << (lg < 5 ? 5 : lg > 12 ? 12 : lg); /* 32 KiB .. 4 MiB */
	meta = fz_le16(data + 2);
	p = data + 4;
	n = size - 4;
	if (meta > n)
		meta = n;
	if (meta > fsize)
		meta = fsize;
	/* a fresh zero file of the chosen size, then the peer's bytes */
	FZ_ASSERT(ftruncate(memfd, 0) == 0 && ftruncate(memfd, (off_t)fsize) == 0);
	FZ_ASSERT(pwrite(memfd, p, meta, 0) == (ssize_t)meta);
	p += meta;
	n -= meta;
	while (n >= 5) {
		uint64_t off = fz_le32(p) % fsize;
		size_t len = p[4];

		p += 5;
		n -= 5;
		if (len > n)
			len = n;
		if (len > fsize - off)
			len = fsize - off;
		FZ_ASSERT(pwrite(memfd, p, len, (off_t)off) == (ssize_t)len);
		p += len;
		n -= len;
	}

	err = xs_alloc_join(&a, memfd, worker);
	if (err) {
		FZ_ASSERT(err < 0 && a == NULL);
		FZ_ASSERT(xs_strerror(err) != NULL);
		return 0;
	}
	FZ_ASSERT(xs_alloc_worker(a) == worker);
	FZ_ASSERT(worker < xs_alloc_num_workers(a));
	FZ_ASSERT(xs_alloc_size(a) == fsize);
	exercise(a);
	xs_alloc_close(a);
	return 0;
}
