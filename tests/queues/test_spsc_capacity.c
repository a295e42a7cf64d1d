/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: shaq capacity arithmetic (SHAQ.md §4), exactly as upstream.
 *  - a table of (file_size, element size, alignment) -> capacity or error,
 *    including the SHAQ.md §4 worked examples, the non-power-of-two shrink
 *    (1000 x 32 B on 4 KiB pages -> 512), the nonpow2 handshake vector's
 *    queue files, alignments above 64 and the smallest files;
 *  - minimum_file_size (no power-of-two rounding, overflow -> 0);
 *  - 200 000 random cases against an independent transcription of upstream's
 *    calculate_buffer_size_in_items (next_power_of_two(items) >> 1);
 *  - create + join on a real file agree with the arithmetic.
 */
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/msg.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

struct cap_case {
	size_t file_size, esz, align;
	int64_t want; /* capacity, or a negative error */
};

static const struct cap_case cases[] = {
	/* SHAQ.md §4 worked examples: 4 KiB and 2 MiB rounded files */
	{ 2625536, 40, 8, 65536 },   /* TpuToPack 65536 */
	{ 4194304, 40, 8, 65536 },
	{ 16384, 48, 8, 256 },       /* Progress 256 */
	{ 36864, 32, 8, 1024 },      /* PackToWorker 1024 */
	{ 2097152, 32, 8, 32768 },
	{ 45056, 40, 8, 1024 },      /* WorkerToPack 1024 */
	{ 2097152, 40, 8, 32768 },
	{ 32768, 32, 8, 512 },       /* PackToWorker 1000 -> 512 */
	/* success_handshake_w1_nonpow2_caps.json queue files */
	{ 40960, 40, 8, 512 },       /* tpu_to_pack 1000 */
	{ 8192, 48, 8, 128 },        /* progress 100 */
	{ 12288, 32, 8, 256 },       /* pack_to_worker 300 */
	{ 24576, 40, 8, 512 },       /* worker_to_pack 600 */
	/* exact minimum sizes: power-of-two requests keep, others shrink */
	{ 192 + 8 * 16, 16, 8, 8 },
	{ 192 + 1000 * 32, 32, 8, 512 },
	{ 192 + 1023 * 40, 40, 8, 512 },
	{ 192 + 1024 * 40, 40, 8, 1024 },
	{ 192 + 1025 * 40, 40, 8, 1024 },
	{ 192 + 3 * 24, 24, 8, 2 },
	{ 192 + 7 * 56 + 55, 56, 8, 4 }, /* rounding down both the division and the power */
	{ 192 + 2 * 48 - 1, 48, 8, 1 },
	/* the smallest files */
	{ 0, 16, 8, -XS_EQ_TOO_SMALL },
	{ 100, 16, 8, -XS_EQ_TOO_SMALL },
	{ 191, 8, 8, -XS_EQ_TOO_SMALL },
	{ 192, 8, 8, -XS_EQ_TOO_SMALL },
	{ 192 + 15, 16, 8, -XS_EQ_TOO_SMALL },
	{ 192 + 16, 16, 8, 1 },
	{ 192 + 1, 1, 1, 1 },
	{ 192 + 3, 1, 1, 2 },
	{ 192 + 3, 3, 1, 1 },
	/* alignment: slot 0 at round_up(192, align) */
	{ 192 + 128, 128, 128, -XS_EQ_TOO_SMALL }, /* offset 256 */
	{ 256 + 128, 128, 128, 1 },
	{ 256 + 3 * 256, 256, 256, 2 },
	{ 512 + 512, 512, 512, 1 },
	{ 192 + 64 * 4, 64, 64, 4 },
	{ 192 + 12 * 5, 12, 4, 4 },
	/* unusable elements */
	{ 4096, 0, 8, -XS_EQ_ELEM },
	{ 4096, 16, 0, -XS_EQ_ELEM },
	{ 4096, 24, 3, -XS_EQ_ELEM },
	{ 4096, 20, 8, -XS_EQ_ELEM },   /* size not a multiple of the alignment */
	{ 4096, (size_t)UINT32_MAX + 1, 8, -XS_EQ_ELEM },
	/* huge files */
	{ (size_t)1 << 40, 40, 8, (int64_t)1 << 34 },
	{ SIZE_MAX / 2, 1, 1, (int64_t)1 << 62 },
};

/* Upstream's algorithm transcribed literally from SHAQ.md §4: usize math,
 * next_power_of_two(items) >> 1 unless items is already a power of two. */
static int64_t reference_capacity(size_t file_size, size_t esz, size_t align)
{
	size_t off = (192 + align - 1) / align * align;
	uint64_t items, np2;

	if (file_size < off)
		return -1;
	items = (file_size - off) / esz;
	if (items && (items & (items - 1)) == 0)
		return (int64_t)items;
	for (np2 = 1; np2 < items; np2 <<= 1)
		;
	return np2 >> 1 ? (int64_t)(np2 >> 1) : -1;
}

static void check_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cap_case *c = &cases[i];
		uint64_t cap = 0;
		int rc = xs_spsc_capacity_for(c->file_size, c->esz, c->align, &cap);

		if (c->want < 0) {
			if (rc != c->want)
				t_fail(__FILE__, __LINE__, "case %zu (%zu, %zu, %zu): rc %d (%s), want %lld",
				       i, c->file_size, c->esz, c->align, rc, xs_strerror(rc),
				       (long long)c->want);
			T_ASSERT(xs_errmsg()[0] != '\0');
			continue;
		}
		if (rc != 0 || cap != (uint64_t)c->want)
			t_fail(__FILE__, __LINE__, "case %zu (%zu, %zu, %zu): rc %d cap %llu, want %lld",
			       i, c->file_size, c->esz, c->align, rc, (unsigned long long)cap,
			       (long long)c->want);
		if (c->align <= 64 && c->esz && c->esz <= UINT32_MAX && c->file_size < SIZE_MAX)
			T_EQ(reference_capacity(c->file_size, c->esz, c->align), c->want);
	}
}

static void check_min_file_size(void)
{
	/* SHAQ.md §4 table */
	T_EQ(xs_spsc_min_file_size(65536, 40, 8), 2621632);
	T_EQ(xs_spsc_min_file_size(256, 48, 8), 12480);
	T_EQ(xs_spsc_min_file_size(1024, 32, 8), 32960);
	T_EQ(xs_spsc_min_file_size(1024, 40, 8), 41152);
	T_EQ(xs_spsc_min_file_size(1000, 32, 8), 32192); /* no power-of-two rounding */
	T_EQ(xs_spsc_min_file_size(8, 16, 8), 320);
	T_EQ(xs_spsc_min_file_size(8, 40, 8), 512);
	T_EQ(xs_spsc_min_file_size(0, 40, 8), 192);
	T_EQ(xs_spsc_min_file_size(1, 128, 128), 384);
	T_EQ(xs_spsc_min_file_size(1, 256, 256), 512);
	T_EQ(xs_spsc_min_file_size(UINT64_MAX, 40, 8), 0);  /* overflow */
	T_EQ(xs_spsc_min_file_size((SIZE_MAX - 192) / 8 + 1, 8, 8), 0);
	T_EQ(xs_spsc_min_file_size((SIZE_MAX - 192) / 8, 8, 8), 192 + (SIZE_MAX - 192) / 8 * 8);
	/* the handshake rounds these to pages; the capacity then can only grow
	 * for power-of-two requests */
	T_EQ(xs_shm_round(xs_spsc_min_file_size(65536, 40, 8), 0), 2625536);
	T_EQ(xs_shm_round(xs_spsc_min_file_size(65536, 40, 8), 1), 4194304);
	T_EQ(xs_shm_round(xs_spsc_min_file_size(1000, 32, 8), 0), 32768);
}

static void check_random(void)
{
	static const size_t sizes[][2] = { { 1, 1 }, { 3, 1 }, { 8, 8 }, { 12, 4 }, { 16, 8 },
					   { 24, 8 }, { 32, 8 }, { 40, 8 }, { 48, 8 }, { 56, 8 },
					   { 64, 8 }, { 72, 8 }, { 200, 8 }, { 4096, 8 } };
	uint64_t seed = 0x5eed1234abcdull;
	int i;

	for (i = 0; i < 200000; i++) {
		const size_t *s = sizes[t_rand(&seed) % (sizeof(sizes) / sizeof(sizes[0]))];
		uint64_t r = t_rand(&seed);
		unsigned bits = (unsigned)((r >> 1) % 24) + 1;
		/* file sizes just above the header (any scale up to 16 MiB) or anywhere */
		size_t fs = (r & 1) ? 192 + (size_t)(t_rand(&seed) % (1ull << bits))
				    : (size_t)(t_rand(&seed) % 100000000u);
		int64_t want = reference_capacity(fs, s[0], s[1]);
		uint64_t cap = 0;
		int rc = xs_spsc_capacity_for(fs, s[0], s[1], &cap);

		if (want < 0) {
			if (rc != -XS_EQ_TOO_SMALL)
				t_fail(__FILE__, __LINE__, "(%zu, %zu): rc %d, want too small", fs, s[0], rc);
		} else if (rc != 0 || cap != (uint64_t)want) {
			t_fail(__FILE__, __LINE__, "(%zu, %zu): rc %d cap %llu, want %lld", fs, s[0], rc,
			       (unsigned long long)cap, (long long)want);
		}
	}
}

/* Creating on a real file and joining it give the arithmetic's capacity, in
 * both formats, and the header says so. */
static void check_create_join(void)
{
	static const size_t sizes[][3] = { { 32768, 32, 8 }, { 40960, 40, 8 }, { 8192, 48, 8 },
					   { 12288, 32, 8 }, { 24576, 40, 8 }, { 320, 16, 8 },
					   { 193, 1, 1 }, { 1024, 512, 512 }, { 4096, 24, 8 } };
	size_t i;
	int fmt;

	for (fmt = 0; fmt < 2; fmt++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct xs_spsc p, q;
			uint64_t cap;
			int fd = xs_memfd_create("xs-test-capacity", 0);

			T_OK(fd);
			T_OK(xs_spsc_capacity_for(sizes[i][0], sizes[i][1], sizes[i][2], &cap));
			T_OK(xs_spsc_create(&p, fd, sizes[i][0], sizes[i][1], sizes[i][2],
					    (enum xs_shaq_format)fmt, XS_SPSC_PRODUCER));
			T_OK(xs_spsc_join(&q, fd, sizes[i][1], sizes[i][2], (enum xs_shaq_format)fmt,
					  XS_SPSC_CONSUMER));
			T_EQ(xs_spsc_capacity(&p), cap);
			T_EQ(xs_spsc_capacity(&q), cap);
			T_EQ(((struct xs_spsc_shm *)(void *)p.base)->buffer_size, cap);
			T_EQ(((struct xs_spsc_shm *)(void *)p.base)->version, fmt == XS_SHAQ_1_0 ? 1 : 0);
			T_EQ((size_t)(p.ring - p.base), xs_spsc_buffer_offset(sizes[i][2]));
			T_EQ((uintptr_t)p.ring % sizes[i][2], 0);
			xs_spsc_close(&p);
			xs_spsc_close(&q);
			close(fd);
		}
}

int main(void)
{
	check_table();
	check_min_file_size();
	check_random();
	check_create_join();
	printf("test_spsc_capacity: %zu table cases, 200000 random cases OK\n",
	       sizeof(cases) / sizeof(cases[0]));
	return 0;
}
