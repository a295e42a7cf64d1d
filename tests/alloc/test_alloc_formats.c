/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the allocator format table and what each row changes.
 *  - the rows: names, header words, detection (VERSION 1 reads as 0.2),
 *    2.0 marked unverified and equal to 0.2 in every layout field;
 *  - the `max_workers` layout of 3.0 / 4.0 against the worked examples of
 *    RTS_ALLOC4.md §3 (64 MiB min 10 and 1 GiB, 2 MiB slabs), 3.0's 64-byte
 *    entries (twice the workers), a file whose base layout drops a slab
 *    (slack of two slabs), and against a plain transcription of upstream's
 *    loop (m += 1) over many sizes, slab sizes and minimums;
 *  - create / join round trips for every format (own and shared mappings,
 *    XS_ALLOC_FMT_ANY detection), the bytes create writes (version word,
 *    claimed bytes, list heads, 4.0 remote heads, SlabMeta), 2.0 = 0.2 byte
 *    for byte after the same operations;
 *  - claims: the creator holds slot 0, CLAIM joins take the next free
 *    slots, exact slots, busy slots, release on close and reclaim,
 *    NoAvailableWorkers, CLAIM refused by the fixed formats;
 *  - outstanding bytes: an allocation adds its class size, a local free
 *    subtracts it, a remote free only once the owner cleaned;
 *  - 4.0: 0-byte requests refused, an emptied slab returns to no owner (a
 *    late free of it is refused); the tagged head's generation counts;
 *  - error names, Debug and Display texts; the header probe.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define MiB (1024u * 1024u)

static const enum xs_alloc_format all_fmts[] = {XS_ALLOC_FMT_0_2, XS_ALLOC_FMT_2_0, XS_ALLOC_FMT_3_0,
						XS_ALLOC_FMT_4_0};
#define NF (sizeof(all_fmts) / sizeof(all_fmts[0]))

static int is_claim(enum xs_alloc_format f)
{
	return xs_alloc_format_info(f)->join == XS_ALLOC_JOIN_CLAIM;
}

static int fresh_fd(void)
{
	int fd = xs_memfd_create("xs-alloc-formats", 0);

	T_OK(fd);
	return fd;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ------------------------------------------------------------------ rows */

static void test_rows(void)
{
	const struct xs_alloc_format_info *a = xs_alloc_format_info(XS_ALLOC_FMT_0_2),
					  *b = xs_alloc_format_info(XS_ALLOC_FMT_2_0),
					  *c = xs_alloc_format_info(XS_ALLOC_FMT_3_0),
					  *d = xs_alloc_format_info(XS_ALLOC_FMT_4_0);

	T_ASSERT(a && b && c && d);
	T_ASSERT(xs_alloc_format_info(XS_ALLOC_FMT_ANY) == NULL);
	T_ASSERT(strcmp(a->name, "0.2") == 0 && strcmp(d->name, "4.0") == 0);
	T_EQ(a->version, 1);
	T_EQ(b->version, 1);
	T_EQ(c->version, 0x00030000);
	T_EQ(d->version, 0x00040000);
	T_EQ(a->verified, 1);
	T_EQ(b->verified + c->verified + d->verified, 0);
	T_ASSERT(strstr(b->evidence, "unverified") && strstr(c->evidence, "unverified") &&
		 strstr(d->evidence, "unverified"));
	/* 2.0 is 0.2 in every field that shapes the bytes (the assumption) */
	T_EQ(b->layout, a->layout);
	T_EQ(b->join, a->join);
	T_EQ(b->remote, a->remote);
	T_EQ(b->head_bits, a->head_bits);
	T_EQ(b->entry_size, a->entry_size);
	T_EQ(b->heads_off, a->heads_off);
	T_EQ(b->unassign_empty + b->refuse_zero, 0);
	T_EQ(c->entry_size, 64);
	T_EQ(c->heads_off, 16);
	T_EQ(c->remote, XS_ALLOC_REMOTE_SLAB_U16);
	T_EQ(d->entry_size, 128);
	T_EQ(d->remote_head_off, 64);
	T_EQ(d->remote, XS_ALLOC_REMOTE_WORKER_U64);
	T_EQ(xs_alloc_format_from_version(1), XS_ALLOC_FMT_0_2);
	T_EQ(xs_alloc_format_from_version(0x00030000), XS_ALLOC_FMT_3_0);
	T_EQ(xs_alloc_format_from_version(0x00040000), XS_ALLOC_FMT_4_0);
	T_EQ(xs_alloc_format_from_version(0x00020000), XS_ALLOC_FMT_ANY);
	T_EQ(xs_alloc_format_from_version(2), XS_ALLOC_FMT_ANY);
}

/* ---------------------------------------------------------------- layouts */

static uint64_t rup(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* RTS_ALLOC4.md §3 transcribed as written, with upstream's m += 1 loop. */
static void ref_layout_for(uint64_t n, uint64_t entry, uint64_t s, uint64_t u, uint64_t o[4])
{
	o[0] = rup(128 + entry * n, 4);
	o[1] = rup(o[0] + 12 * u, 64);
	o[2] = rup(o[1] + 128 * u, 8);
	o[3] = rup(o[2] + (4 + 2 * (s / 256)) * u, s);
}

static int ref_max_workers(uint64_t f, uint64_t s, uint64_t min, uint64_t entry, uint64_t *n_out,
			   uint64_t *u_out, uint64_t o[4])
{
	uint64_t t = f / s, m = 1;

	for (;;) {
		uint64_t u, b, n, base[4];

		if (t <= m)
			return -1;
		u = t - m;
		ref_layout_for(0, 0, s, u, base);
		b = base[3];
		if (b / s > m) {
			m = b / s;
			continue;
		}
		n = (m * s - b) / entry;
		if (n < min) {
			m++;
			continue;
		}
		*n_out = n;
		*u_out = u;
		ref_layout_for(n, entry, s, u, o);
		return 0;
	}
}

static void expect_layout(enum xs_alloc_format f, uint64_t size, uint32_t min, uint32_t nw, uint32_t ns,
			  uint32_t fle, uint32_t sm, uint32_t fs, uint32_t slabs)
{
	struct xs_alloc_layout l;

	T_OK(xs_alloc_compute_layout_fmt(f, size, 2 * MiB, min, &l));
	T_EQ(l.num_workers, nw);
	T_EQ(l.num_slabs, ns);
	T_EQ(l.free_list_elements_offset, fle);
	T_EQ(l.slab_shared_meta_offset, sm);
	T_EQ(l.slab_free_stacks_offset, fs);
	T_EQ(l.slabs_offset, slabs);
	T_EQ(l.meta_slabs, slabs / (2 * MiB));
}

static void test_layouts(void)
{
	static const uint32_t slab_sizes[] = {16384, 32768, 65536, 2 * MiB, 8 * MiB};
	struct xs_alloc_layout l, l2;
	uint64_t rng = 42, f;
	unsigned i, k, doubled = 0;

	/* RTS_ALLOC4.md §3, worked examples (format 4.0, 128-byte entries) */
	expect_layout(XS_ALLOC_FMT_4_0, 64ull * MiB, 10, 16384, 30, 2097280, 2097664, 2101504, 4194304);
	expect_layout(XS_ALLOC_FMT_4_0, 1024ull * MiB, 10, 16384, 507, 2097280, 2103424, 2168320, 10485760);
	/* the same minimum made the header's num_workers, as a join recomputes it */
	expect_layout(XS_ALLOC_FMT_4_0, 64ull * MiB, 16384, 16384, 30, 2097280, 2097664, 2101504, 4194304);
	/* format 3.0: 64-byte entries, twice as many in the same slack */
	expect_layout(XS_ALLOC_FMT_3_0, 64ull * MiB, 10, 32768, 30, 2097280, 2097664, 2101504, 4194304);
	expect_layout(XS_ALLOC_FMT_3_0, 1024ull * MiB, 10, 32768, 507, 2097280, 2103424, 2168320, 10485760);
	/* one more than fits: a metadata slab more, one data slab less */
	expect_layout(XS_ALLOC_FMT_4_0, 64ull * MiB, 16385, 32768, 29, 4194432, 4194816, 4198528, 6291456);
	/* 0.2 and 2.0 through the same call: the fixed layout (spec worked example) */
	T_OK(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_2_0, 1ull << 30, 2 * MiB, 8, &l));
	T_OK(xs_alloc_compute_layout(1ull << 30, 2 * MiB, 8, &l2));
	T_ASSERT(memcmp(&l, &l2, sizeof(l)) == 0);
	T_EQ(l.num_workers, 8);
	T_EQ(l.slabs_offset, 10485760);
	T_EQ(l.num_slabs, 507);
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_ANY, 1ull << 30, 2 * MiB, 8, &l), -EINVAL);
	/* upstream's create checks, in its order */
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 64ull * MiB, 2 * MiB, 0, &l), -XS_EA_NUM_WORKERS);
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 64ull * MiB, 3 * MiB, 1, &l), -XS_EA_SLAB_SIZE);
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 16384ull << 32, 16384, 1, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 2 * MiB, 2 * MiB, 1, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 1 * MiB, 2 * MiB, 1, &l), -XS_EA_FILE_SIZE);
	/* the slack is counted from the base layout rounded up to a slab, so
	 * worker entries always need a metadata slab of their own: 3 slabs */
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 4 * MiB, 2 * MiB, 1, &l), -XS_EA_FILE_SIZE);
	T_OK(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 6 * MiB, 2 * MiB, 1, &l));
	T_EQ(l.num_slabs, 1);
	T_EQ(l.meta_slabs, 2);
	T_EQ(l.num_workers, 16384);
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 6 * MiB, 2 * MiB, 16385, &l), -XS_EA_FILE_SIZE);
	/* a hostile minimum costs a binary search, not billions of steps */
	T_ERR(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, 1ull << 40, 16384, 0xFFFFFFFFu, &l),
	      -XS_EA_FILE_SIZE);

	/* 2 MiB slabs: the slack is whole slabs, so the worker count is a
	 * multiple of 16384; find a size where the base layout drops a slab
	 * when the first metadata slab is added (slack of two slabs) */
	for (f = 3; f <= 2048; f++) {
		T_OK(xs_alloc_compute_layout_fmt(XS_ALLOC_FMT_4_0, f * 2 * MiB, 2 * MiB, 1, &l));
		T_EQ(l.num_workers % 16384, 0);
		doubled += l.num_workers == 32768;
	}
	T_ASSERT(doubled > 0, "no file size gave a slack of two slabs");

	/* against the transcription, many shapes */
	for (i = 0; i < 3000; i++) {
		uint32_t s = slab_sizes[t_rand(&rng) % 5];
		uint64_t maxslabs = s >= 2 * MiB ? 600 : 5000, n, u, o[4];
		uint32_t min = (uint32_t)(t_rand(&rng) % (i & 1 ? 40 : 3000)) + 1;
		int rc;

		f = (t_rand(&rng) % maxslabs) * s + t_rand(&rng) % s;
		for (k = 0; k < 2; k++) {
			enum xs_alloc_format fmt = k ? XS_ALLOC_FMT_4_0 : XS_ALLOC_FMT_3_0;
			uint64_t entry = k ? 128 : 64;

			rc = ref_max_workers(f, s, min, entry, &n, &u, o);
			xs_clearerr();
			if (rc < 0) {
				T_ERR(xs_alloc_compute_layout_fmt(fmt, f, s, min, &l), -XS_EA_FILE_SIZE);
				continue;
			}
			T_OK(xs_alloc_compute_layout_fmt(fmt, f, s, min, &l));
			T_EQ(l.num_workers, n);
			T_EQ(l.num_slabs, u);
			T_EQ(l.free_list_elements_offset, o[0]);
			T_EQ(l.slab_shared_meta_offset, o[1]);
			T_EQ(l.slab_free_stacks_offset, o[2]);
			T_EQ(l.slabs_offset, o[3]);
			T_ASSERT(l.num_workers >= min);
			T_ASSERT((uint64_t)l.slabs_offset + (uint64_t)l.num_slabs * s <= f);
		}
	}
}

/* ----------------------------------------------------- create and join */

/* The bytes create writes for each format. */
static void check_created(struct xs_alloc *a, enum xs_alloc_format f, uint32_t min)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(f);
	const uint8_t *b = xs_alloc_base(a);
	struct xs_alloc_layout l;
	uint32_t w, s, c, nw = rd32(b + 12);
	static const uint8_t ff[40] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	T_OK(xs_alloc_compute_layout_fmt(f, xs_alloc_size(a), rd32(b + 20), min, &l));
	T_EQ(rd64(b), XS_ALLOC_MAGIC);
	T_EQ(rd32(b + 8), fi->version);
	T_EQ(nw, l.num_workers);
	T_EQ(nw, xs_alloc_num_workers(a));
	if (!is_claim(f))
		T_EQ(nw, min);
	else
		T_ASSERT(nw >= min);
	T_EQ(rd32(b + 16), l.num_slabs);
	T_EQ(rd32(b + 24), l.free_list_elements_offset);
	T_EQ(rd32(b + 36), l.slabs_offset);
	for (c = 40; c < 64; c++)
		T_EQ(b[c], 0);
	T_EQ(rd32(b + 64), 0); /* global head: slab 0, generation 0 */
	T_EQ(rd32(b + 68), 0);
	for (w = 0; w < nw; w++) {
		const uint8_t *e = b + 128 + (size_t)fi->entry_size * w;

		T_ASSERT(memcmp(e + fi->heads_off, ff, 40) == 0, "worker %u heads", w);
		if (fi->claimed_off >= 0) {
			T_EQ(e[fi->claimed_off], w == xs_alloc_worker(a) ? 1 : 0);
			T_EQ(rd64(e + fi->outstanding_off), 0);
			for (c = 1; c < 8; c++)
				T_EQ(e[c], 0);
			T_EQ(rd64(e + 56), 0);
		}
		if (fi->remote_head_off >= 0) {
			T_EQ(rd64(e + fi->remote_head_off), XS_ALLOC_NULL_USIZE);
			for (c = 72; c < 128; c++)
				T_EQ(e[c], 0);
		}
	}
	for (s = 0; s < l.num_slabs; s++) {
		const uint8_t *m = b + l.slab_shared_meta_offset + 128 * (size_t)s;
		const uint8_t *n = b + l.free_list_elements_offset + 12 * (size_t)s;

		T_EQ(rd32(m), XS_ALLOC_NULL_U32);
		T_EQ(rd64(m + 8), 0);
		/* 0.2 - 3.0: the slab's u16 remote head; 4.0 has none (zero) */
		T_EQ(rd32(m + 64) & 0xFFFF, fi->remote == XS_ALLOC_REMOTE_SLAB_U16 ? 0xFFFF : 0);
		T_EQ(rd32(n), s + 1 < l.num_slabs ? s + 1 : XS_ALLOC_NULL_U32);
		T_EQ(rd32(n + 4), XS_ALLOC_NULL_U32);
		T_EQ(rd32(n + 8), XS_ALLOC_NULL_U32);
	}
}

static void test_round_trip(enum xs_alloc_format f)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(f);
	struct xs_alloc *a, *b, *c;
	struct xs_alloc_info info;
	uint64_t o[3];
	int fd = fresh_fd(), i;

	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 3, 16384, f, t_alloc_worker_arg(f, 0)));
	T_EQ(xs_alloc_format_of(a), f);
	T_EQ(xs_alloc_worker(a), 0);
	check_created(a, f, 3);
	/* its own mapping, the format named */
	T_OK(xs_alloc_join_fmt(&b, fd, f, t_alloc_worker_arg(f, 1)));
	T_EQ(xs_alloc_worker(b), 1);
	T_EQ(xs_alloc_format_of(b), f);
	/* a third, detected from the header (VERSION 1 reads as 0.2) */
	T_OK(xs_alloc_join_fmt(&c, fd, XS_ALLOC_FMT_ANY, t_alloc_worker_arg(f, 2)));
	T_EQ(xs_alloc_worker(c), 2);
	T_EQ(xs_alloc_format_of(c), f == XS_ALLOC_FMT_2_0 ? XS_ALLOC_FMT_0_2 : f);
	T_EQ(xs_alloc_num_workers(c), xs_alloc_num_workers(a));
	/* probe: what a handshake checks */
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.version, fi->version);
	T_EQ(info.format, f == XS_ALLOC_FMT_2_0 ? XS_ALLOC_FMT_0_2 : f);
	T_EQ(info.num_workers, xs_alloc_num_workers(a));
	T_EQ(info.slabs_offset, xs_alloc_slabs_offset(a));
	T_EQ(info.layout_checked, 1);
	T_EQ(info.claimed, is_claim(f) ? 3 : 0);
	T_EQ(info.first_free, is_claim(f) ? 3 : XS_ALLOC_NULL_U32);
	/* use: a allocates, b and c free remotely (through their own / the
	 * detected handle), a cleans */
	for (i = 0; i < 3; i++) {
		T_OK(xs_alloc_alloc_offset(a, 100 + 1000 * (size_t)i, &o[i]));
		memset(xs_alloc_ptr(a, o[i]), 0x5a, 100);
	}
	T_OK(xs_alloc_free_offset(b, o[0]));
	T_OK(xs_alloc_free_offsets(c, &o[1], 2));
	T_EQ(xs_alloc_clean_remote(a), 3);
	T_EQ(xs_alloc_clean_remote(a), 0);
	xs_alloc_close(c);
	xs_alloc_close(b);
	xs_alloc_close(a);
	/* once more from nothing: a join of every other format is refused */
	for (i = 0; i < (int)NF; i++) {
		enum xs_alloc_format g = all_fmts[i];

		if (xs_alloc_format_info(g)->version == fi->version)
			continue;
		T_ERR(xs_alloc_join_fmt(&b, fd, g, t_alloc_worker_arg(g, 0)), -XS_EA_VERSION);
		T_ASSERT(b == NULL);
	}
	close(fd);
}

/* 2.0 is assumed to be 0.2: the same operations give the same bytes. */
static void test_2_0_is_0_2(void)
{
	enum xs_alloc_format f[2] = {XS_ALLOC_FMT_0_2, XS_ALLOC_FMT_2_0};
	uint8_t *img[2];
	int k;

	for (k = 0; k < 2; k++) {
		struct xs_alloc *a, *b;
		uint64_t o[4];
		int fd = fresh_fd(), i;

		T_OK(xs_alloc_create_fmt(&a, fd, 256 * 1024, 2, 16384, f[k], 0));
		T_OK(xs_alloc_join_fmt(&b, fd, f[k], 1));
		T_EQ(xs_alloc_format_of(b), f[k]);
		for (i = 0; i < 4; i++)
			T_OK(xs_alloc_alloc_offset(a, 256u << i, &o[i]));
		T_OK(xs_alloc_free_offset(a, o[0]));
		T_OK(xs_alloc_free_offset(b, o[1]));
		T_OK(xs_alloc_clean_remote(a));
		img[k] = malloc(256 * 1024);
		T_ASSERT(img[k] != NULL);
		T_EQ(pread(fd, img[k], 256 * 1024, 0), 256 * 1024);
		xs_alloc_close(b);
		xs_alloc_close(a);
		close(fd);
	}
	T_BYTES("2.0 file vs 0.2 file", img[1], img[0], 256 * 1024);
	free(img[0]);
	free(img[1]);
}

/* ----------------------------------------------------------------- claims */

static void test_claims(enum xs_alloc_format f)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(f);
	struct xs_alloc *a, *b, *c, *d, *e, *x;
	struct xs_alloc_info info;
	char buf[128];
	uint8_t *claimed;
	uint32_t nw, w;
	int fd = fresh_fd();

	T_ERR(xs_alloc_create_fmt(&a, fd, 1 * MiB, 3, 16384, f, 0), -XS_EA_WORKER_INDEX);
	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 3, 16384, f, XS_ALLOC_CLAIM));
	nw = xs_alloc_num_workers(a);
	T_EQ(xs_alloc_worker(a), 0);
	T_OK(xs_alloc_join_fmt(&b, fd, f, XS_ALLOC_CLAIM));
	T_EQ(xs_alloc_worker(b), 1);
	T_OK(xs_alloc_join_handle(&c, a, XS_ALLOC_CLAIM)); /* join_from_existing */
	T_EQ(xs_alloc_worker(c), 2);
	T_OK(xs_alloc_join_fmt(&d, fd, f, 5)); /* exactly slot 5 */
	T_EQ(xs_alloc_worker(d), 5);
	T_ERR(xs_alloc_join_handle(&x, a, 5), -XS_EA_WORKER_BUSY);  /* claimed through another mapping */
	T_ERR(xs_alloc_join_handle(&x, a, 2), -XS_EA_WORKER_BUSY);  /* open on this mapping */
	T_ERR(xs_alloc_join_fmt(&x, fd, f, 1), -XS_EA_WORKER_BUSY);
	T_ERR(xs_alloc_join_handle(&x, a, nw), -XS_EA_WORKER_INDEX);
	T_OK(xs_alloc_join_fmt(&e, fd, f, XS_ALLOC_CLAIM));
	T_EQ(xs_alloc_worker(e), 3);
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 5);
	T_EQ(info.first_free, 4);
	/* release and reclaim */
	xs_alloc_close(b);
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 4);
	T_EQ(info.first_free, 1);
	T_OK(xs_alloc_join_handle(&b, e, XS_ALLOC_CLAIM));
	T_EQ(xs_alloc_worker(b), 1);
	/* every slot taken (the others forged): NoAvailableWorkers */
	claimed = xs_alloc_base(a) + 128 + fi->claimed_off;
	for (w = 0; w < nw; w++)
		if (claimed[(size_t)fi->entry_size * w] == 0)
			claimed[(size_t)fi->entry_size * w] = 2; /* any non-zero value is taken */
	xs_clearerr();
	T_ERR(xs_alloc_join_fmt(&x, fd, f, XS_ALLOC_CLAIM), -XS_EA_NO_WORKERS);
	T_ASSERT(strstr(xs_errmsg(), "claimed") != NULL, "%s", xs_errmsg());
	T_ERR(xs_alloc_join_handle(&x, a, XS_ALLOC_CLAIM), -XS_EA_NO_WORKERS);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_NO_WORKERS, f), "NoAvailableWorkers") == 0);
	T_OK(xs_alloc_error_display(-XS_EA_NO_WORKERS, f, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "no available workers") == 0, "%s", buf);
	for (w = 0; w < nw; w++)
		if (claimed[(size_t)fi->entry_size * w] == 2)
			claimed[(size_t)fi->entry_size * w] = 0;
	/* a fixed format has no claims */
	xs_alloc_close(e);
	xs_alloc_close(d);
	xs_alloc_close(c);
	xs_alloc_close(b);
	xs_alloc_close(a);
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 0);
	T_EQ(info.first_free, 0);
	close(fd);

	fd = fresh_fd();
	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 3, 16384, XS_ALLOC_FMT_0_2, 0));
	T_ERR(xs_alloc_join_handle(&x, a, XS_ALLOC_CLAIM), -XS_EA_WORKER_INDEX);
	T_ERR(xs_alloc_join_fmt(&x, fd, XS_ALLOC_FMT_ANY, XS_ALLOC_CLAIM), -XS_EA_WORKER_INDEX);
	xs_alloc_close(a);
	close(fd);
	fd = fresh_fd();
	T_ERR(xs_alloc_create_fmt(&x, fd, 1 * MiB, 3, 16384, XS_ALLOC_FMT_0_2, XS_ALLOC_CLAIM),
	      -XS_EA_WORKER_INDEX);
	T_ERR(xs_alloc_create_fmt(&x, fd, 1 * MiB, 3, 16384, XS_ALLOC_FMT_ANY, 0), -EINVAL);
	close(fd);
}

/* ------------------------------------------------------------ outstanding */

static uint64_t outstanding(struct xs_alloc *a, uint32_t w)
{
	struct xs_alloc_worker_stats ws[4];
	struct xs_alloc_stats st;

	T_OK(xs_alloc_stats(a, &st, ws, 4));
	if (w == xs_alloc_worker(a) && !is_claim(xs_alloc_format_of(a)))
		return st.handle_outstanding; /* 0.2 / 2.0: no field in the file */
	if (w == xs_alloc_worker(a))
		T_EQ(st.handle_outstanding, ws[w].outstanding_bytes);
	return ws[w].outstanding_bytes;
}

static void test_outstanding(enum xs_alloc_format f)
{
	struct xs_alloc *a, *b;
	uint64_t o1, o2, o0;
	int fd = fresh_fd(), rc;

	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 2, 16384, f, t_alloc_worker_arg(f, 0)));
	T_OK(xs_alloc_join_fmt(&b, fd, f, t_alloc_worker_arg(f, 1)));
	T_OK(xs_alloc_alloc_offset(a, 300, &o1));
	T_EQ(outstanding(a, 0), 512);
	T_OK(xs_alloc_alloc_offset(a, 4096, &o2));
	T_EQ(outstanding(a, 0), 512 + 4096);
	T_OK(xs_alloc_free_offset(b, o1)); /* remote: counted until the owner cleans */
	T_EQ(outstanding(a, 0), 512 + 4096);
	if (is_claim(f))
		T_EQ(outstanding(b, 0), 512 + 4096); /* seen from the other mapping too */
	T_EQ(xs_alloc_clean_remote(a), 1);
	T_EQ(outstanding(a, 0), 4096);
	T_OK(xs_alloc_free_offset(a, o2));
	T_EQ(outstanding(a, 0), 0);
	/* 0 bytes: class 0 in 0.2 - 3.0, refused by 4.0 as upstream 5.x */
	xs_clearerr();
	rc = xs_alloc_alloc_offset(a, 0, &o0);
	if (f == XS_ALLOC_FMT_4_0) {
		T_EQ(rc, -XS_EA_ZERO_SIZE);
		T_ASSERT(xs_alloc_alloc(a, 0) == NULL);
		T_ASSERT(strstr(xs_errmsg(), "0-byte") != NULL, "%s", xs_errmsg());
		T_EQ(outstanding(a, 0), 0);
	} else {
		T_OK(rc);
		T_EQ(outstanding(a, 0), 256);
		T_OK(xs_alloc_free_offset(a, o0));
	}
	T_ERR(xs_alloc_alloc_offset(a, 4097, &o0), -XS_EA_TOO_BIG);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

/* An emptied slab: 4.0 gives it back with no owner; the others keep it. */
static void test_empty_slab(enum xs_alloc_format f)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(f);
	struct xs_alloc *a;
	struct xs_alloc_stats st;
	uint64_t off, gen;
	uint32_t s;
	void *p;
	int fd = fresh_fd();

	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 2, 16384, f, t_alloc_worker_arg(f, 0)));
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 0));
	if (fi->head_bits == 64) {
		T_ERR(xs_alloc_set_aba_tag(a, 0), -ENOTSUP);
		T_OK(xs_alloc_set_aba_tag(a, 1));
	}
	T_OK(xs_alloc_alloc_offset(a, 1024, &off));
	s = (uint32_t)((off - xs_alloc_slabs_offset(a)) / 16384);
	T_OK(xs_alloc_stats(a, &st, NULL, 0));
	gen = st.global_tag;
	T_EQ(gen, 1); /* one pop */
	T_OK(xs_alloc_free_offset(a, off)); /* empties the slab: back to the global list */
	T_OK(xs_alloc_stats(a, &st, NULL, 0));
	T_EQ(st.global_tag, 2);
	T_EQ(st.global_head, s);
	T_EQ(rd32(xs_alloc_base(a) + rd32(xs_alloc_base(a) + 28) + 128 * (size_t)s),
	     fi->unassign_empty ? XS_ALLOC_NULL_U32 : 0);
	if (fi->unassign_empty) {
		T_ERR(xs_alloc_check(a, off, 1, &p), -XS_EA_UNASSIGNED);
		T_ERR(xs_alloc_free_offset(a, off), -XS_EA_UNASSIGNED);
	} else {
		T_OK(xs_alloc_check(a, off, 1, &p));
		T_ERR(xs_alloc_free_offset(a, off), -XS_EA_DOUBLE_FREE);
	}
	xs_alloc_close(a);
	close(fd);
}

/* ------------------------------------------------------------------ errors */

static void test_error_texts(void)
{
	struct xs_alloc *a, *x;
	char buf[160];
	int fd = fresh_fd();

	/* 0.2 names, as the seed-era server sends them */
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_MAGIC, XS_ALLOC_FMT_0_2), "InvalidHeader") == 0);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_VERSION, XS_ALLOC_FMT_2_0), "InvalidHeader") == 0);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_LAYOUT, XS_ALLOC_FMT_0_2), "InvalidHeader") == 0);
	/* 4.0.0's enum for 3.0, 4.0 and "any" */
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_MAGIC, XS_ALLOC_FMT_3_0), "InvalidMagic") == 0);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_LAYOUT, XS_ALLOC_FMT_4_0), "HeaderMismatch") == 0);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_VERSION, XS_ALLOC_FMT_ANY), "InvalidVersion") == 0);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-XS_EA_FILE_SIZE, XS_ALLOC_FMT_4_0), "InvalidFileSize") == 0);
	T_ASSERT(strcmp(xs_alloc_error_name_fmt(-EBADF, XS_ALLOC_FMT_4_0), "IoError") == 0);
	T_ASSERT(xs_alloc_error_name_fmt(-XS_EA_DOUBLE_FREE, XS_ALLOC_FMT_4_0) == NULL);
	T_ERR(xs_alloc_error_debug(-XS_EA_DOUBLE_FREE, XS_ALLOC_FMT_4_0, buf, sizeof(buf)), -EINVAL);
	T_OK(xs_alloc_error_debug(-XS_EA_FILE_SIZE, XS_ALLOC_FMT_4_0, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "InvalidFileSize") == 0, "%s", buf);
	T_OK(xs_alloc_error_display(-XS_EA_MAGIC, XS_ALLOC_FMT_4_0, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "invalid magic") == 0, "%s", buf);
	T_OK(xs_alloc_error_display(-XS_EA_LAYOUT, XS_ALLOC_FMT_3_0, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "header mismatch") == 0, "%s", buf);
	T_OK(xs_alloc_error_display(-EAGAIN, XS_ALLOC_FMT_4_0, buf, sizeof(buf)));
	T_ASSERT(strstr(buf, "io error; err=") == buf && strstr(buf, "(os error 11)"), "%s", buf);
	T_OK(xs_alloc_error_display(-XS_EA_MAGIC, XS_ALLOC_FMT_0_2, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "InvalidHeader") == 0, "%s", buf); /* 0.2 has no Display */

	/* a 3.0 file joined as 4.0: InvalidVersion with both words */
	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 2, 16384, XS_ALLOC_FMT_3_0, XS_ALLOC_CLAIM));
	xs_clearerr();
	T_ERR(xs_alloc_join_fmt(&x, fd, XS_ALLOC_FMT_4_0, XS_ALLOC_CLAIM), -XS_EA_VERSION);
	T_ASSERT(strstr(xs_errmsg(), "0x00030000") && strstr(xs_errmsg(), "0x00040000"), "%s", xs_errmsg());
	T_OK(xs_alloc_error_debug(-XS_EA_VERSION, XS_ALLOC_FMT_4_0, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "InvalidVersion { expected: 262144, actual: 196608 }") == 0, "%s", buf);
	T_OK(xs_alloc_error_display(-XS_EA_VERSION, XS_ALLOC_FMT_4_0, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "invalid version; expected=4.0; found=3.0") == 0, "%s", buf);
	/* nothing claimed by the refused join */
	xs_alloc_close(a);
	T_ERR(xs_alloc_join_fmt(&x, fd, XS_ALLOC_FMT_0_2, 0), -XS_EA_VERSION);
	T_OK(xs_alloc_error_debug(-XS_EA_VERSION, XS_ALLOC_FMT_0_2, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "InvalidHeader") == 0, "%s", buf);
	T_OK(xs_alloc_error_display(-XS_EA_VERSION, XS_ALLOC_FMT_3_0, buf, sizeof(buf)));
	T_ASSERT(strcmp(buf, "invalid version; expected=3.0; found=3.0") == 0, "%s", buf);
	close(fd);
}

int main(void)
{
	size_t i;

	test_rows();
	test_layouts();
	test_2_0_is_0_2();
	for (i = 0; i < NF; i++) {
		test_round_trip(all_fmts[i]);
		test_outstanding(all_fmts[i]);
		test_empty_slab(all_fmts[i]);
	}
	test_claims(XS_ALLOC_FMT_3_0);
	test_claims(XS_ALLOC_FMT_4_0);
	test_error_texts();
	return 0;
}
