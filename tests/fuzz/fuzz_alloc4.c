/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the allocator formats of the later agave lines (0.2, 2.0,
 * 3.0, 4.0 as rows of one table), in two modes.
 *
 * Join mode: a real file of the chosen format is created (with some state:
 * slabs taken, a remote free pending), the peer's patches are applied
 * anywhere in it, then the header probe and a join (the format named or
 * detected; an index, or a claim) run. The probe and the join must agree
 * on every header error; a successful join is used: statistics, a bounded
 * clean, checked translations, allocations (never a slot that is held),
 * frees, close.
 *
 * Walk mode: an owner allocates slots, a freer frees some remotely (one by
 * one or batched), then the peer rewrites remote-free links and heads
 * (4.0: the owner's u64 stack; 3.0: the slab's u16 stack). The owner's
 * clean must end (libFuzzer's -timeout turns a hang into a finding),
 * report only the documented errors, take back each slot at most once,
 * and leave the handle consistent: every original slot is then either
 * already back (a local free says DOUBLE_FREE) or freed now, after which
 * the owner has no outstanding bytes and no slot in use.
 *
 * Input (fuzz_common.h): u8 mode, u8 arg, u8 lg, then patches. Join mode:
 * {u32 offset, u8 len, len bytes}. Walk mode: {u8 target, u64 value}.
 */
#include "fuzz_common.h"
#include "xsched/alloc.h"

#include <sys/mman.h>
#include <unistd.h>

#define SLAB 16384u
#define MAXN 48

static int memfd = -1;

static const enum xs_alloc_format fmts[4] = {XS_ALLOC_FMT_0_2, XS_ALLOC_FMT_2_0, XS_ALLOC_FMT_3_0,
					     XS_ALLOC_FMT_4_0};

static int is_claim(enum xs_alloc_format f)
{
	return xs_alloc_format_info(f)->join == XS_ALLOC_JOIN_CLAIM;
}

static uint32_t who(enum xs_alloc_format f, uint32_t index)
{
	return is_claim(f) ? XS_ALLOC_CLAIM : index;
}

static void fresh(size_t fsize)
{
	if (memfd < 0) {
		memfd = memfd_create("xs-fuzz-alloc4", MFD_CLOEXEC);
		FZ_ASSERT(memfd >= 0);
	}
	FZ_ASSERT(ftruncate(memfd, 0) == 0);
}

static int header_error(int e)
{
	return e == -XS_EA_FILE_SIZE || e == -XS_EA_MAGIC || e == -XS_EA_VERSION ||
	       e == -XS_EA_NUM_WORKERS || e == -XS_EA_SLAB_SIZE || e == -XS_EA_LAYOUT;
}

static int clean_ok(int e)
{
	return e >= 0 || e == -XS_EA_REMOTE_CORRUPT || e == -XS_EA_DOUBLE_FREE || e == -XS_EA_CORRUPT;
}

/* ------------------------------------------------------------- join mode */

static void use(struct xs_alloc *a)
{
	static const size_t sizes[] = {1, 256, 300, 700, 1500, 2048, 3000, 4096, 0, 100};
	uint64_t offs[16], lens[16], slabs = xs_alloc_slabs_offset(a);
	uint64_t end_slabs = slabs + (uint64_t)xs_alloc_num_slabs(a) * xs_alloc_slab_size(a);
	struct xs_alloc_stats st;
	size_t n = 0, i, j;
	void *p;
	int e;

	FZ_ASSERT(end_slabs <= xs_alloc_size(a));
	FZ_ASSERT(xs_alloc_stats(a, &st, NULL, 0) == 0);
	FZ_ASSERT(clean_ok(xs_alloc_clean_remote(a)));
	FZ_ASSERT(xs_alloc_check(a, 0, 1, &p) < 0);
	FZ_ASSERT(xs_alloc_check(a, xs_alloc_size(a), 1, &p) < 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && n < 16; i++) {
		uint64_t off;

		e = xs_alloc_alloc_offset(a, sizes[i], &off);
		if (e < 0) {
			FZ_ASSERT(e == -ENOMEM || e == -XS_EA_CORRUPT || e == -XS_EA_REMOTE_CORRUPT ||
				  e == -XS_EA_DOUBLE_FREE || e == -XS_EA_SLAB_LIVE ||
				  (e == -XS_EA_ZERO_SIZE && sizes[i] == 0));
			continue;
		}
		FZ_ASSERT(off >= slabs && off + xs_alloc_class_size(xs_alloc_size_class(sizes[i])) <= end_slabs);
		FZ_ASSERT(xs_alloc_check(a, off, sizes[i], &p) == 0);
		lens[n] = xs_alloc_class_size(xs_alloc_size_class(sizes[i]));
		/* no other slot held by this handle overlaps it (no clean in
		 * between: a forged remote free cannot hand a held slot back) */
		for (j = 0; j < n; j++)
			FZ_ASSERT(off + lens[n] <= offs[j] || offs[j] + lens[j] <= off);
		memset(p, 0xab, lens[n]);
		offs[n++] = off;
	}
	if (n)
		FZ_ASSERT(xs_alloc_free_offset(a, offs[0] + 8) < 0);
	if (n > 2)
		xs_alloc_free_offsets(a, offs + 2, n - 2);
	for (i = 0; i < n && i < 2; i++)
		xs_alloc_free_offset(a, offs[i]);
	FZ_ASSERT(clean_ok(xs_alloc_clean_remote(a)));
	FZ_ASSERT(xs_alloc_stats(a, &st, NULL, 0) == 0);
}

static void join_mode(uint8_t mode, uint8_t arg, size_t fsize, const uint8_t *p, size_t n)
{
	enum xs_alloc_format f = fmts[mode & 3], jf = mode & 4 ? XS_ALLOC_FMT_ANY : f;
	struct xs_alloc *a = NULL, *b = NULL, *c = NULL;
	struct xs_alloc_info info;
	uint32_t w;
	uint64_t o[3];
	int e, pe;

	/* a real file with state: slabs taken, one remote free pending */
	fresh(fsize);
	if (xs_alloc_create_fmt(&a, memfd, fsize, 2 + arg % 3, SLAB, f, who(f, 0)) < 0)
		return;
	FZ_ASSERT(xs_alloc_join_handle(&b, a, who(f, 1)) == 0);
	if (xs_alloc_alloc_offset(a, 300, &o[0]) == 0 && xs_alloc_alloc_offset(a, 3000, &o[1]) == 0 &&
	    xs_alloc_alloc_offset(b, 100, &o[2]) == 0)
		FZ_ASSERT(xs_alloc_free_offset(b, o[0]) == 0);
	xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 0);
	xs_alloc_close(b);
	xs_alloc_close(a);
	/* the peer's bytes */
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
	pe = xs_alloc_probe_fd(memfd, &info);
	FZ_ASSERT(pe == info.status && (pe == 0 || header_error(pe)));
	w = mode & 8 ? XS_ALLOC_CLAIM : arg % 4;
	e = xs_alloc_join_fmt(&c, memfd, jf, w);
	if (jf == XS_ALLOC_FMT_ANY && header_error(pe))
		FZ_ASSERT(e == pe); /* the probe and a detecting join agree */
	if (e < 0) {
		FZ_ASSERT(c == NULL);
		FZ_ASSERT(xs_strerror(e) != NULL);
		FZ_ASSERT(header_error(e) || e == -XS_EA_WORKER_INDEX || e == -XS_EA_WORKER_BUSY ||
			  e == -XS_EA_NO_WORKERS || e == -XS_EA_CORRUPT || e == -ENOMEM);
		if (header_error(e) && jf != XS_ALLOC_FMT_ANY) {
			char buf[160];

			xs_alloc_error_debug(e, jf, buf, sizeof(buf));
			xs_alloc_error_display(e, jf, buf, sizeof(buf));
		}
		return;
	}
	FZ_ASSERT(pe == 0);
	FZ_ASSERT(xs_alloc_size(c) == fsize);
	FZ_ASSERT(xs_alloc_worker(c) < xs_alloc_num_workers(c));
	FZ_ASSERT(jf == XS_ALLOC_FMT_ANY ? xs_alloc_format_of(c) == info.format : xs_alloc_format_of(c) == f);
	use(c);
	xs_alloc_close(c);
}

/* ------------------------------------------------------------- walk mode */

static void walk_mode(uint8_t mode, uint8_t arg, size_t fsize, const uint8_t *p, size_t n)
{
	enum xs_alloc_format f = mode & 1 ? XS_ALLOC_FMT_4_0 : XS_ALLOC_FMT_3_0;
	struct xs_alloc *a = NULL, *b = NULL;
	struct xs_alloc_stats st;
	uint64_t off[MAXN], batch[MAXN], nb = 0, held = 0, again;
	uint32_t k, cnt = 1 + arg % MAXN;
	uint8_t *base;
	int e;

	fresh(fsize);
	if (xs_alloc_create_fmt(&a, memfd, fsize, 2, SLAB, f, XS_ALLOC_CLAIM) < 0)
		return;
	FZ_ASSERT(xs_alloc_join_fmt(&b, memfd, f, XS_ALLOC_CLAIM) == 0); /* its own mapping */
	base = xs_alloc_base(a);
	for (k = 0; k < cnt; k++) {
		/* sizes 256 .. 2048 from the mode bits and the index */
		if (xs_alloc_alloc_offset(a, (size_t)256 << ((k + (mode >> 5)) % 4), &off[k]) < 0)
			break;
	}
	cnt = k;
	/* remote frees: every other slot, singly or batched by mode bit 1 */
	for (k = 0; k < cnt; k++) {
		if ((k + (mode >> 2)) % 2)
			continue;
		if (mode & 2)
			batch[nb++] = off[k];
		else
			FZ_ASSERT(xs_alloc_free_offset(b, off[k]) == 0);
	}
	if (nb)
		FZ_ASSERT(xs_alloc_free_offsets(b, batch, nb) == 0);
	/* the peer rewrites links (target < cnt: that slot's link) and heads */
	while (n >= 9 && cnt) {
		uint8_t t = p[0];
		uint64_t v = fz_le64(p + 1);

		p += 9;
		n -= 9;
		if (t & 0x80) /* a value near a slot: offsets that are almost right */
			v = off[v % cnt] + (int64_t)(int8_t)(v >> 56);
		if ((t & 0x7F) < cnt) {
			if (f == XS_ALLOC_FMT_4_0)
				memcpy(base + off[t & 0x7F], &v, 8);
			else
				memcpy(base + off[t & 0x7F], &v, 2);
		} else if (f == XS_ALLOC_FMT_4_0) {
			memcpy(base + 128 + 64, &v, 8); /* worker 0's remote_free_head */
		} else {
			uint64_t s = (off[0] - xs_alloc_slabs_offset(a)) / SLAB;
			uint32_t sm = fz_le32(base + 28);

			memcpy(base + sm + 128 * s + 64, &v, 2); /* slab's u16 remote head */
		}
	}
	e = xs_alloc_clean_remote(a);
	FZ_ASSERT(clean_ok(e));
	e = xs_alloc_clean_remote(a); /* again: whatever is left is walked once more, safely */
	FZ_ASSERT(clean_ok(e));
	FZ_ASSERT(xs_alloc_counters(a)->cleaned <= cnt);
	/* every original slot exactly once: back already (a double free; 4.0:
	 * or no owner, when its emptied slab went back), or freed now */
	for (k = 0; k < cnt; k++) {
		e = xs_alloc_free_offset(a, off[k]);
		FZ_ASSERT(e == 0 || e == -XS_EA_DOUBLE_FREE ||
			  (e == -XS_EA_UNASSIGNED && f == XS_ALLOC_FMT_4_0));
		held += e == 0;
	}
	FZ_ASSERT(held + xs_alloc_counters(a)->cleaned == cnt);
	/* a corrupt stack in the 3.0 slabs may be left for the next clean;
	 * the owner's own books balance either way */
	FZ_ASSERT(xs_alloc_stats(a, &st, NULL, 0) == 0);
	FZ_ASSERT(st.handle_outstanding == 0);
	/* and it keeps working: fresh slots, none handed out twice */
	for (k = 0; k < 8 && k < MAXN; k++)
		if (xs_alloc_alloc_offset(a, 256, &batch[k]) < 0)
			break;
	again = k;
	for (k = 0; k < again; k++)
		FZ_ASSERT(xs_alloc_free_offset(a, batch[k]) == 0);
	xs_alloc_close(b);
	xs_alloc_close(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode, arg, lg;
	size_t fsize;

	if (size < 3)
		return 0;
	mode = data[0];
	arg = data[1];
	lg = data[2];
	/* 256 KiB .. 2 MiB with 16 KiB slabs: the claim formats need a few
	 * metadata slabs */
	fsize = (size_t)1024 << (lg % 4 + 8);
	if (mode & 0x10)
		walk_mode(mode, arg, fsize, data + 3, size - 3);
	else
		join_mode(mode, arg, fsize, data + 3, size - 3);
	return 0;
}
