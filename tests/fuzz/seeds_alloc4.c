/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeds of fuzz_alloc4 (input format in fuzz_alloc4.c / fuzz_common.h):
 * every format joined as named and detected, by index and by claim; header
 * fields of each format rewritten (magic, every known and some unknown
 * version words, num_workers, num_slabs, offsets, slab size, a claimed
 * byte); remote-free chains of 3.0 and 4.0 rewritten into loops, self
 * links, links out of the file, beside a slot, and garbage heads.
 */
#include "fuzz_common.h"
#include "fuzz_fixture.h"

void fz_seeds_alloc4(fz_emit_fn emit);

/* join mode: mode, arg, lg, then {u32 offset, u8 len, bytes} patches */
static void join_seed(fz_emit_fn emit, const char *name, uint8_t mode, uint8_t lg, uint32_t off,
		      const void *bytes, uint8_t len)
{
	uint8_t buf[64];
	size_t n = 0;

	buf[n++] = mode;
	buf[n++] = 1;
	buf[n++] = lg;
	if (len) {
		memcpy(buf + n, &off, 4);
		buf[n + 4] = len;
		memcpy(buf + n + 5, bytes, len);
		n += 5u + len;
	}
	emit("fuzz_alloc4", name, buf, n);
}

/* walk mode: mode | 0x10, arg (slots), lg, then {u8 target, u64 value} */
static void walk_seed(fz_emit_fn emit, const char *name, uint8_t mode, uint8_t slots, const uint8_t *t,
		      const uint64_t *v, size_t k)
{
	uint8_t buf[128];
	size_t n = 0, i;

	buf[n++] = (uint8_t)(mode | 0x10);
	buf[n++] = (uint8_t)(slots - 1);
	buf[n++] = 1;
	for (i = 0; i < k; i++) {
		buf[n++] = t[i];
		memcpy(buf + n, &v[i], 8);
		n += 8;
	}
	emit("fuzz_alloc4", name, buf, n);
}

void fz_seeds_alloc4(fz_emit_fn emit)
{
	static const char *fname[4] = {"0.2", "2.0", "3.0", "4.0"};
	static const uint32_t words[] = {1, 2, 0x00020000, 0x00030000, 0x00040000, 0x00050000, 0x00040001};
	char name[96];
	uint32_t v;
	uint8_t f, m, b;
	size_t i;

	for (f = 0; f < 4; f++) {
		for (m = 0; m < 4; m++) { /* bit 2: detect, bit 3: claim */
			uint8_t mode = (uint8_t)(f | m << 2);

			snprintf(name, sizeof(name), "join_%s%s%s", fname[f], m & 1 ? "_any" : "",
				 m & 2 ? "_claim" : "_index");
			join_seed(emit, name, mode, (uint8_t)(f + 1), 0, NULL, 0);
		}
		b = 0x5a;
		snprintf(name, sizeof(name), "magic_%s", fname[f]);
		join_seed(emit, name, (uint8_t)(f | 4), 2, 1, &b, 1);
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			snprintf(name, sizeof(name), "version_%s_%x", fname[f], words[i]);
			join_seed(emit, name, (uint8_t)(f | 4 | 8), 2, 8, &words[i], 4);
			join_seed(emit, name, (uint8_t)(f | 8), 3, 8, &words[i], 4);
		}
		for (i = 12; i <= 36; i += 4) { /* num_workers .. slabs_offset, one byte off */
			b = (uint8_t)(i == 20 ? 0x80 : 0x01);
			snprintf(name, sizeof(name), "field%zu_%s", i, fname[f]);
			join_seed(emit, name, (uint8_t)(f | 4 | 8), 2, (uint32_t)i, &b, 1);
		}
		v = 0x7f; /* a claimed byte of garbage (claim formats), list head bits (others) */
		snprintf(name, sizeof(name), "entry0_%s", fname[f]);
		join_seed(emit, name, (uint8_t)(f | 8), 2, 128, &v, 4);
		v = 0;
		snprintf(name, sizeof(name), "global_head0_%s", fname[f]);
		join_seed(emit, name, (uint8_t)(f | 4 | 8), 2, 64, &v, 4);
	}
	/* walk mode, 3.0 (mode bit 0 = 0) and 4.0 (bit 0 = 1), single (bit 1 = 0) and batched */
	for (m = 0; m < 4; m++) {
		const char *fn = m & 1 ? "4.0" : "3.0", *how = m & 2 ? "batch" : "single";
		uint8_t t[3];
		uint64_t val[3];

		snprintf(name, sizeof(name), "walk_%s_%s_clean", fn, how);
		walk_seed(emit, name, m, 12, t, val, 0);
		/* loop: slot 2's link to slot 0 (near-slot form: bit 7, index, delta 0) */
		t[0] = 0x80 | 2;
		val[0] = 0;
		snprintf(name, sizeof(name), "walk_%s_%s_loop", fn, how);
		walk_seed(emit, name, m, 12, t, val, 1);
		/* self link */
		t[0] = 0x80 | 4;
		val[0] = 4;
		snprintf(name, sizeof(name), "walk_%s_%s_self", fn, how);
		walk_seed(emit, name, m, 12, t, val, 1);
		/* beside a slot, out of the file, garbage head */
		t[0] = 0x80 | 0;
		val[0] = 2 | (uint64_t)8 << 56;
		t[1] = 6;
		val[1] = 0xFFFFFFFFFFFF0000ull;
		t[2] = 0x7F;
		val[2] = 0x123456;
		snprintf(name, sizeof(name), "walk_%s_%s_mixed", fn, how);
		walk_seed(emit, name, m, 24, t, val, 3);
		/* head at a held slot never freed */
		t[0] = 0x80 | 0x7F;
		val[0] = 1;
		snprintf(name, sizeof(name), "walk_%s_%s_head_held", fn, how);
		walk_seed(emit, name, m, 8, t, val, 1);
	}
}
