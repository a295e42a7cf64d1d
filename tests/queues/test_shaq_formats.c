/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: shaq formats 2.0 and 3.0 against the golden files written by
 * upstream code (vectors/v4: shaq 3.0.0 = format 2.0; vectors/current: shaq
 * 4.0.0 = format 3.0), and the format table.
 *  - SPSC Elem16 cap 8 (s0..s6 / s0..s7), SPSC TpuToPackMessage (s0..s2) and
 *    MPMC Elem16 cap 8 with two producers and two consumers (s0..s6): the
 *    operations of each folder's README redone in C on a fresh file, every
 *    byte of the file (read with pread) compared after each step; variants:
 *    tmpfile / memfd, upstream call model / xsched helpers (SPSC) or copy /
 *    zero-copy split API (MPMC), file created by either side.
 *  - the reverse direction: each Rust-written file joined by C (its own
 *    format and XS_SHAQ_ANY), as consumer (drains exactly the items the
 *    README lists, in order) and as producer (fills exactly the free slots).
 *  - xs_shaq_probe() / xs_shaq_probe_fd() on every file (and on the 1.0
 *    files of the seed era, and those with byte 136 cleared = 0.2).
 *  - shaq2_sizes.json / shaq3_sizes.json: every minimum file size, the
 *    capacities of 4096-byte files, VERSION, and the Debug/Display texts of
 *    the errors, each made by the C code doing what the generator did.
 *  - an unknown version (3.3) is refused with a message naming it and the
 *    formats this build speaks.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mini_json.h"
#include "testutil.h"
#include "xsched/mpmc.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

struct elem16 {
	uint64_t a, b;
};

static struct elem16 e16(uint64_t k)
{
	struct elem16 e = { 0xA0A0000000000000ull | k, 0xB0B0000000000000ull | k };

	return e;
}

/* TpuToPackMessage (40 bytes) k, built in zeroed memory as the generator did:
 * transaction {offset u64 @0, length u32 @8}, flags u8 @16, src_addr @17. */
static void tpu_fill(uint8_t *m, unsigned k)
{
	uint64_t off = 0x1000ull * k;
	uint32_t len = 100 + k;

	memset(m, 0, 40);
	memcpy(m, &off, 8);
	memcpy(m + 8, &len, 4);
	m[16] = (uint8_t)k;
	m[17 + 10] = 0xff;
	m[17 + 11] = 0xff;
	m[17 + 12] = 10;
	m[17 + 15] = (uint8_t)k;
}

enum file_kind { F_TMPFILE, F_MEMFD };

static int fresh_file(enum file_kind kind)
{
	int fd;

	if (kind == F_MEMFD) {
		fd = xs_memfd_create("xs-test-shaq-formats", 0);
		T_OK(fd);
		return fd;
	}
	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char path[] = "/tmp/xs-test-shaqf-XXXXXX";

		fd = mkostemp(path, O_CLOEXEC);
		T_ASSERT(fd >= 0);
		unlink(path);
	}
	return fd;
}

/* A memfd holding the bytes of vector @p vec. */
static int vector_file(const char *vec, size_t *len)
{
	uint8_t *b = t_read_vector(vec, len);
	int fd = xs_memfd_create("xs-test-shaq-vec", 0);

	T_OK(fd);
	T_EQ(pwrite(fd, b, *len, 0), *len);
	free(b);
	return fd;
}

static const char *vname(enum xs_shaq_format fmt, const char *rest)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s_%s.bin", fmt == XS_SHAQ_2_0 ? "v4/shaq2" : "current/shaq3",
		 rest);
	return buf;
}

static void expect_file(int fd, const char *vec, const char *variant)
{
	size_t len;
	uint8_t *want = t_read_vector(vec, &len);
	uint8_t *got = malloc(len + 1);
	struct stat st;
	char what[320];

	T_ASSERT(got != NULL);
	T_ASSERT(fstat(fd, &st) == 0);
	T_EQ(st.st_size, len);
	T_EQ(pread(fd, got, len + 1, 0), len);
	snprintf(what, sizeof(what), "%s [%s]", vec, variant);
	T_BYTES(what, got, want, len);
	free(got);
	free(want);
}

/* ------------------------------------------------------------- SPSC */

static void spsc_push(struct xs_spsc *p, int upstream, unsigned k0, unsigned n)
{
	if (upstream) {
		for (unsigned k = k0; k < k0 + n; k++) {
			struct elem16 *s = xs_spsc_reserve(p), e = e16(k);

			T_ASSERT(s != NULL);
			memcpy(s, &e, sizeof(e));
		}
		xs_spsc_commit(p);
	} else {
		for (unsigned k = k0; k < k0 + n; k++) {
			struct elem16 e = e16(k);

			T_OK(xs_spsc_try_push(p, &e));
		}
	}
}

static void spsc_pop(struct xs_spsc *q, int upstream, unsigned k0, unsigned n, int then_empty)
{
	struct elem16 got, want;

	if (upstream)
		T_OK(xs_spsc_cons_sync(q));
	for (unsigned k = k0; k < k0 + n; k++) {
		want = e16(k);
		if (upstream) {
			const struct elem16 *s = xs_spsc_try_read(q);

			T_ASSERT(s != NULL);
			got = *s;
		} else {
			T_OK(xs_spsc_try_pop(q, &got));
		}
		T_EQ(got.a, want.a);
		T_EQ(got.b, want.b);
	}
	if (then_empty) {
		if (upstream)
			T_ASSERT(xs_spsc_try_read(q) == NULL);
		else
			T_ERR(xs_spsc_try_pop(q, &got), -EAGAIN);
	}
	xs_spsc_finalize(q);
}

static void spsc_open(int fd, size_t size, size_t esz, enum xs_shaq_format fmt, int cons_creates,
		      struct xs_spsc *p, struct xs_spsc *q)
{
	if (cons_creates) {
		T_OK(xs_spsc_create(q, fd, size, esz, 8, fmt, XS_SPSC_CONSUMER));
		T_OK(xs_spsc_join(p, fd, esz, 8, fmt, XS_SPSC_PRODUCER));
	} else {
		T_OK(xs_spsc_create(p, fd, size, esz, 8, fmt, XS_SPSC_PRODUCER));
		T_OK(xs_spsc_join(q, fd, esz, 8, XS_SHAQ_ANY, XS_SPSC_CONSUMER));
	}
	T_EQ(q->format, fmt);
	T_EQ(p->format, fmt);
}

static void spsc_elem16(enum xs_shaq_format fmt, enum file_kind fk, int upstream, int cons_creates)
{
	int fd = fresh_file(fk);
	size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_SPSC, 8, 16, 8);
	struct xs_spsc p, q;
	struct elem16 e = e16(11);
	char variant[96];

	snprintf(variant, sizeof(variant), "%s %s %s-created", fk == F_MEMFD ? "memfd" : "tmpfile",
		 upstream ? "upstream" : "helpers", cons_creates ? "consumer" : "producer");
	T_EQ(size, fmt == XS_SHAQ_2_0 ? 320 : 384);
	spsc_open(fd, size, 16, fmt, cons_creates, &p, &q);
	T_EQ(xs_spsc_capacity(&p), 8);
	expect_file(fd, vname(fmt, "spsc_elem16_cap8_s0_created"), variant);
	spsc_push(&p, upstream, 1, 3);
	expect_file(fd, vname(fmt, "spsc_elem16_cap8_s1_push3"), variant);
	spsc_pop(&q, upstream, 1, 2, 0);
	expect_file(fd, vname(fmt, "spsc_elem16_cap8_s2_pop2"), variant);
	spsc_push(&p, upstream, 4, 7);
	if (upstream)
		T_ASSERT(xs_spsc_reserve(&p) == NULL); /* k = 11 refused: full */
	else
		T_ERR(xs_spsc_try_push(&p, &e), -EAGAIN);
	expect_file(fd, vname(fmt, "spsc_elem16_cap8_s3_push7_full"), variant);
	spsc_pop(&q, upstream, 3, 8, 1);
	expect_file(fd, vname(fmt, "spsc_elem16_cap8_s4_pop8_empty"), variant);
	spsc_push(&p, upstream, 11, 1);
	expect_file(fd, vname(fmt, "spsc_elem16_cap8_s5_push1"), variant);
	if (fmt == XS_SHAQ_3_0) {
		/* write_batch(): three items, one publication */
		struct elem16 b[3] = { e16(12), e16(13), e16(14) };

		if (upstream)
			spsc_push(&p, 1, 12, 3);
		else
			T_EQ(xs_spsc_push_burst(&p, b, 3), 3);
		expect_file(fd, vname(fmt, "spsc_elem16_cap8_s6_batch3"), variant);
	}
	xs_spsc_close(&q);
	T_OK(xs_spsc_join(&q, fd, 16, 8, fmt, XS_SPSC_CONSUMER));
	spsc_pop(&q, upstream, 11, 1, 0);
	expect_file(fd, vname(fmt, fmt == XS_SHAQ_3_0 ? "spsc_elem16_cap8_s7_rejoin_pop1"
						       : "spsc_elem16_cap8_s6_rejoin_pop1"),
		    variant);
	xs_spsc_close(&p);
	xs_spsc_close(&q);
	close(fd);
}

static void spsc_tpu(enum xs_shaq_format fmt, int cons_creates)
{
	unsigned cap = fmt == XS_SHAQ_2_0 ? 8 : 4;
	const char *stem = fmt == XS_SHAQ_2_0 ? "spsc_tpu_to_pack_cap8" : "spsc_tpu_to_pack6_cap4";
	size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_SPSC, cap, 40, 8);
	int fd = fresh_file(F_MEMFD);
	struct xs_spsc p, q;
	uint8_t m[40], want[40];
	char name[96];

	T_EQ(size, fmt == XS_SHAQ_2_0 ? 512 : 416);
	spsc_open(fd, size, 40, fmt, cons_creates, &p, &q);
	snprintf(name, sizeof(name), "%s_s0_created", stem);
	expect_file(fd, vname(fmt, name), "tpu");
	for (unsigned k = 1; k <= 3; k++) {
		uint8_t *s = xs_spsc_reserve(&p);

		T_ASSERT(s != NULL);
		tpu_fill(s, k); /* written in place, as through reserve() upstream */
	}
	xs_spsc_commit(&p);
	snprintf(name, sizeof(name), "%s_s1_push3", stem);
	expect_file(fd, vname(fmt, name), "tpu");
	T_OK(xs_spsc_try_pop(&q, m));
	tpu_fill(want, 1);
	T_BYTES("tpu k=1", m, want, 40);
	snprintf(name, sizeof(name), "%s_s2_pop1", stem);
	expect_file(fd, vname(fmt, name), "tpu");
	xs_spsc_close(&p);
	xs_spsc_close(&q);
	close(fd);
}

/* ------------------------------------------------------------- MPMC */

static void mpmc_push(struct xs_mpmc *p, int split, unsigned k0, unsigned n)
{
	struct elem16 e[8];

	T_ASSERT(n <= 8);
	for (unsigned i = 0; i < n; i++)
		e[i] = e16(k0 + i);
	if (split) {
		uint64_t pos;

		T_OK(xs_mpmc_reserve_write(p, n, &pos));
		for (unsigned i = 0; i < n; i++)
			memcpy(xs_mpmc_slot(p, pos + i), &e[i], sizeof(e[i]));
		T_OK(xs_mpmc_publish(p));
	} else if (n == 1) {
		T_OK(xs_mpmc_try_push(p, &e[0]));
	} else {
		T_OK(xs_mpmc_push_n(p, e, n));
	}
}

static void mpmc_pop1(struct xs_mpmc *q, int split, unsigned k)
{
	struct elem16 got, want = e16(k);

	if (split) {
		uint64_t pos;
		uint32_t n;

		T_OK(xs_mpmc_reserve_read(q, 1, &pos, &n));
		T_EQ(n, 1);
		memcpy(&got, xs_mpmc_slot(q, pos), sizeof(got));
		T_OK(xs_mpmc_release(q));
	} else {
		T_OK(xs_mpmc_try_pop(q, &got));
	}
	T_EQ(got.a, want.a);
	T_EQ(got.b, want.b);
}

static void mpmc_elem16(enum xs_shaq_format fmt, enum file_kind fk, int split, int prod_creates)
{
	int fd = fresh_file(fk);
	size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_MPMC, 8, 16, 8);
	struct xs_mpmc p1, p2, c, c2;
	struct elem16 e = e16(11), out[8];
	char variant[96];

	snprintf(variant, sizeof(variant), "%s %s %s-created", fk == F_MEMFD ? "memfd" : "tmpfile",
		 split ? "split" : "copy", prod_creates ? "producer" : "consumer");
	T_EQ(size, fmt == XS_SHAQ_2_0 ? 448 : 512);
	if (prod_creates) {
		T_OK(xs_mpmc_create(&p1, fd, size, 16, 8, fmt, XS_MPMC_PRODUCER));
		T_OK(xs_mpmc_join(&c, fd, 16, 8, XS_SHAQ_ANY, XS_MPMC_CONSUMER));
	} else {
		T_OK(xs_mpmc_create(&c, fd, size, 16, 8, fmt, XS_MPMC_CONSUMER));
		T_OK(xs_mpmc_join(&p1, fd, 16, 8, fmt, XS_MPMC_PRODUCER));
	}
	T_OK(xs_mpmc_join(&p2, fd, 16, 8, XS_SHAQ_ANY, XS_MPMC_PRODUCER));
	T_EQ(p2.format, fmt);
	T_EQ(xs_mpmc_capacity(&c), 8);
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s0_created"), variant);
	mpmc_push(&p1, split, 1, 1);
	mpmc_push(&p2, split, 2, 1);
	mpmc_push(&p1, split, 3, 1);
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s1_push3_two_producers"), variant);
	mpmc_pop1(&c, split, 1);
	mpmc_pop1(&c, split, 2);
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s2_pop2"), variant);
	for (unsigned k = 4; k <= 10; k++)
		mpmc_push(&p2, split, k, 1);
	T_ERR(xs_mpmc_try_push(&p1, &e), -EAGAIN);
	{
		uint64_t pos;

		T_ERR(xs_mpmc_reserve_write(&p1, 1, &pos), -EAGAIN);
	}
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s3_push7_full"), variant);
	if (split) {
		for (unsigned k = 3; k <= 10; k++)
			mpmc_pop1(&c, 1, k);
	} else {
		T_EQ(xs_mpmc_pop_n(&c, out, 8), 8);
		for (unsigned k = 3; k <= 10; k++)
			T_EQ(out[k - 3].a, e16(k).a);
	}
	T_ERR(xs_mpmc_try_pop(&c, out), -EAGAIN);
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s4_pop8_empty"), variant);
	mpmc_push(&p1, split, 11, 2); /* try_write_slice([11, 12]) */
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s5_push_slice2"), variant);
	T_OK(xs_mpmc_join(&c2, fd, 16, 8, fmt, XS_MPMC_CONSUMER));
	mpmc_pop1(&c2, split, 11);
	expect_file(fd, vname(fmt, "mpmc_elem16_cap8_s6_second_consumer_pop1"), variant);
	mpmc_pop1(&c, split, 12); /* and the queue goes on */
	xs_mpmc_close(&p1);
	xs_mpmc_close(&p2);
	xs_mpmc_close(&c);
	xs_mpmc_close(&c2);
	close(fd);
}

/* -------------------------------------------------- reverse direction */

static uint64_t cursor(int fd, uint32_t off)
{
	uint64_t v;

	T_EQ(pread(fd, &v, 8, off), 8);
	return v;
}

/* Join the Rust-written file @p vec as consumer and as producer of kind
 * @p kind (format @p fmt or any) and continue: the consumer drains exactly
 * the items between the cursors (value k at position k - 1), then the
 * producer fills exactly the capacity. */
static void reverse(const char *vec, enum xs_shaq_format fmt, enum xs_shaq_kind kind, size_t esz,
		    int any)
{
	const struct xs_shaq_fmt *f = xs_shaq_fmt_get(fmt);
	size_t len;
	int fd = vector_file(vec, &len);
	enum xs_shaq_format jf = any ? XS_SHAQ_ANY : fmt;
	uint64_t from, to, cap, k;
	uint8_t buf[64], want[64];
	struct xs_shaq_info info;

	T_OK(xs_shaq_probe_fd(fd, &info));
	T_EQ(info.format, fmt);
	T_EQ(info.kind, kind);
	T_EQ(info.version, f->version);
	T_EQ(info.ring_offset, f->header_size[kind]);
	T_EQ(info.file_size, len);
	if (kind == XS_SHAQ_SPSC) {
		struct xs_spsc q, p;

		from = cursor(fd, f->spsc_read);
		to = cursor(fd, f->spsc_write);
		T_OK(xs_spsc_join(&q, fd, esz, 8, jf, XS_SPSC_CONSUMER));
		cap = xs_spsc_capacity(&q);
		T_EQ(info.capacity, cap);
		for (k = from + 1; k <= to; k++) {
			T_OK(xs_spsc_try_pop(&q, buf));
			if (esz == 16) {
				struct elem16 e = e16(k);

				memcpy(want, &e, 16);
			} else {
				tpu_fill(want, (unsigned)k);
			}
			T_BYTES(vec, buf, want, esz);
		}
		T_ERR(xs_spsc_try_pop(&q, buf), -EAGAIN);
		T_OK(xs_spsc_join(&p, fd, esz, 8, jf, XS_SPSC_PRODUCER));
		for (k = 0; xs_spsc_try_push(&p, buf) == 0; k++)
			T_ASSERT(k <= cap);
		T_EQ(k, cap);
		T_EQ(xs_spsc_push_burst(&p, buf, 1), 0);
		xs_spsc_close(&p);
		xs_spsc_close(&q);
	} else {
		struct xs_mpmc q, p;

		from = cursor(fd, f->mpmc_cons_rel);
		to = cursor(fd, f->mpmc_prod_pub);
		T_EQ(cursor(fd, f->mpmc_cons_res), from);
		T_EQ(cursor(fd, f->mpmc_prod_res), to);
		T_OK(xs_mpmc_join(&q, fd, esz, 8, jf, XS_MPMC_CONSUMER));
		cap = xs_mpmc_capacity(&q);
		T_EQ(info.capacity, cap);
		for (k = from + 1; k <= to; k++) {
			struct elem16 e = e16(k);

			T_OK(xs_mpmc_try_pop(&q, buf));
			T_BYTES(vec, buf, (const uint8_t *)&e, 16);
		}
		T_ERR(xs_mpmc_try_pop(&q, buf), -EAGAIN);
		T_OK(xs_mpmc_join(&p, fd, esz, 8, jf, XS_MPMC_PRODUCER));
		for (k = 0; xs_mpmc_try_push(&p, buf) == 0; k++)
			T_ASSERT(k <= cap);
		T_EQ(k, cap);
		xs_mpmc_close(&p);
		xs_mpmc_close(&q);
	}
	close(fd);
}

static void reverse_all(void)
{
	static const char *const spsc[] = {
		"spsc_elem16_cap8_s0_created", "spsc_elem16_cap8_s1_push3",
		"spsc_elem16_cap8_s2_pop2",    "spsc_elem16_cap8_s3_push7_full",
		"spsc_elem16_cap8_s4_pop8_empty", "spsc_elem16_cap8_s5_push1",
	};
	static const char *const mpmc[] = {
		"mpmc_elem16_cap8_s0_created", "mpmc_elem16_cap8_s1_push3_two_producers",
		"mpmc_elem16_cap8_s2_pop2", "mpmc_elem16_cap8_s3_push7_full",
		"mpmc_elem16_cap8_s4_pop8_empty", "mpmc_elem16_cap8_s5_push_slice2",
		"mpmc_elem16_cap8_s6_second_consumer_pop1",
	};
	int n = 0;

	for (int any = 0; any < 2; any++)
		for (enum xs_shaq_format fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++) {
			for (size_t i = 0; i < sizeof(spsc) / sizeof(spsc[0]); i++, n++)
				reverse(vname(fmt, spsc[i]), fmt, XS_SHAQ_SPSC, 16, any);
			for (size_t i = 0; i < sizeof(mpmc) / sizeof(mpmc[0]); i++, n++)
				reverse(vname(fmt, mpmc[i]), fmt, XS_SHAQ_MPMC, 16, any);
			reverse(vname(fmt, fmt == XS_SHAQ_2_0 ? "spsc_elem16_cap8_s6_rejoin_pop1"
							       : "spsc_elem16_cap8_s7_rejoin_pop1"),
				fmt, XS_SHAQ_SPSC, 16, any);
			n++;
			for (int s = 0; s < 3; s++, n++) {
				static const char *const st[] = { "s0_created", "s1_push3", "s2_pop1" };
				char name[96];

				snprintf(name, sizeof(name), "%s_%s",
					 fmt == XS_SHAQ_2_0 ? "spsc_tpu_to_pack_cap8"
							    : "spsc_tpu_to_pack6_cap4",
					 st[s]);
				reverse(vname(fmt, name), fmt, XS_SHAQ_SPSC, 40, any);
			}
		}
	reverse("current/shaq3_spsc_elem16_cap8_s6_batch3.bin", XS_SHAQ_3_0, XS_SHAQ_SPSC, 16, 1);
	printf("reverse: %d Rust-written files joined and continued\n", n + 1);
}

/* ---------------------------------------------------- probe, old formats */

static void probe_old(void)
{
	static const char *const v[] = { "shaq_elem16_cap8_s3_push7_full.bin",
					 "shaq_tpu_to_pack_cap8_s1_push3.bin" };

	for (size_t i = 0; i < 2; i++) {
		size_t len;
		uint8_t *b = t_read_vector(v[i], &len);
		uint8_t *m = aligned_alloc(4096, 4096);
		struct xs_shaq_info info;

		T_ASSERT(m && len <= 4096);
		memcpy(m, b, len);
		T_OK(xs_shaq_probe(m, len, &info));
		T_EQ(info.format, XS_SHAQ_1_0);
		T_EQ(info.kind, XS_SHAQ_SPSC);
		T_EQ(info.version, 1);
		T_EQ(info.capacity, 8);
		T_EQ(info.ring_offset, 192);
		m[136] = 0;
		T_OK(xs_shaq_probe(m, len, &info));
		T_EQ(info.format, XS_SHAQ_0_2);
		m[136] = 2;
		T_ERR(xs_shaq_probe(m, len, &info), -XS_EQ_VERSION);
		T_ASSERT(strstr(xs_errmsg(), "version byte 2"), "(%s)", xs_errmsg());
		free(m);
		free(b);
	}
}

/* ------------------------------------------------ unknown versions */

static void unknown_version(void)
{
	static const enum xs_shaq_kind kinds[] = { XS_SHAQ_SPSC, XS_SHAQ_MPMC };

	for (int i = 0; i < 2; i++) {
		enum xs_shaq_kind kind = kinds[i];
		size_t len;
		int fd = vector_file(kind == XS_SHAQ_SPSC ? "current/shaq3_spsc_elem16_cap8_s1_push3.bin"
						       : "current/shaq3_mpmc_elem16_cap8_s1_push3_two_producers.bin",
				     &len);
		uint32_t v33 = 0x00030003;
		struct xs_shaq_info info;
		struct xs_shaq_error e;
		struct xs_spsc s;
		struct xs_mpmc m;
		char dbg[128];
		int rc;

		T_EQ(pwrite(fd, &v33, 4, 8), 4);
		T_ERR(xs_shaq_probe_fd(fd, &info), -XS_EQ_VERSION);
		T_EQ(info.kind, kind);
		T_EQ(info.version, v33);
		T_EQ(info.format, XS_SHAQ_ANY);
		T_ASSERT(strstr(xs_errmsg(), "shaq format 3.3 not supported") &&
				 strstr(xs_errmsg(), "this build speaks 0.2, 1.0, 2.0, 3.0"),
			 "(%s)", xs_errmsg());
		for (int any = 0; any < 2; any++) {
			enum xs_shaq_format f = any ? XS_SHAQ_3_0 : XS_SHAQ_ANY; /* specific last */

			rc = kind == XS_SHAQ_SPSC ? xs_spsc_join(&s, fd, 16, 8, f, XS_SPSC_CONSUMER)
						  : xs_mpmc_join(&m, fd, 16, 8, f, XS_MPMC_CONSUMER);
			T_ERR(rc, -XS_EQ_VERSION);
			T_ASSERT(strstr(xs_errmsg(), "shaq format 3.3 not supported") &&
					 strstr(xs_errmsg(), "0.2, 1.0, 2.0, 3.0"),
				 "(%s)", xs_errmsg());
		}
		/* the format-specific join reports it in upstream's terms */
		xs_shaq_last_error(&e);
		T_EQ(e.code, -XS_EQ_VERSION);
		T_EQ(e.expected, XS_SHAQ_VERSION_3_0);
		T_EQ(e.actual, v33);
		xs_shaq_error_text(&e, 1, dbg, sizeof(dbg));
		T_ASSERT(!strcmp(dbg, "InvalidVersion { expected: 196608, actual: 196611 }"), "(%s)", dbg);
		xs_shaq_error_text(&e, 0, dbg, sizeof(dbg));
		T_ASSERT(!strcmp(dbg, "invalid version; expected=3.0; found=3.3"), "(%s)", dbg);
		close(fd);
	}
}

/* ------------------------------------------------------------ sizes */

struct msgsz {
	const char *name;
	size_t size;
};

static size_t layout_size(const struct mj *layout, const char *type)
{
	const struct mj *t = mj_get(layout, type);

	T_ASSERT(t != NULL, "(layout lacks %s)", type);
	T_EQ(mj_num(t, "align"), 8);
	return (size_t)mj_num(t, "size");
}

static void expect_text(const struct xs_shaq_error *e, int debug, const char *want)
{
	char buf[160];
	int n = xs_shaq_error_text(e, debug, buf, sizeof(buf));

	T_ASSERT(!strcmp(buf, want), "(%s text '%s', golden '%s')", debug ? "Debug" : "Display", buf,
		 want);
	T_EQ(n, strlen(want));
}

static const char *jstr(const struct mj *o, const char *key)
{
	const struct mj *v = mj_get(o, key);

	T_ASSERT(v && v->t == MJ_STR, "(JSON string '%s' missing)", key);
	return v->str;
}

static void sizes_v4(void)
{
	struct mj j = mj_load("v4/shaq2_sizes.json"), lay = mj_load("v4/layout4_rust.json");
	static const char *const types[] = { "TpuToPackMessage", "ProgressMessage",
					     "PackToWorkerMessage", "WorkerToPackMessage" };
	static const uint64_t caps[] = { 0, 1, 1000, 1024, 65536, 262144 };
	struct xs_shaq_error e;
	struct xs_spsc q;
	char key[128];
	int checked = 0, fd;
	size_t len;

	for (int kind = 0; kind < 2; kind++)
		for (int c = 0; c < 4; c++) {
			static const uint64_t ecaps[] = { 0, 1, 8, 9 };

			snprintf(key, sizeof(key), "%s_minimum_file_size_Elem16_cap%llu",
				 kind ? "mpmc" : "spsc", (unsigned long long)ecaps[c]);
			T_EQ(xs_shaq_min_file_size(XS_SHAQ_2_0, (enum xs_shaq_kind)kind, ecaps[c], 16, 8),
			     mj_num(&j, key));
			checked++;
		}
	for (int t = 0; t < 4; t++) {
		size_t sz = layout_size(&lay, types[t]);
		uint64_t cap;

		for (int c = 0; c < 6; c++) {
			size_t got;

			snprintf(key, sizeof(key), "spsc_minimum_file_size_%s_cap%llu", types[t],
				 (unsigned long long)caps[c]);
			T_OK(xs_shaq_try_min_file_size(XS_SHAQ_2_0, XS_SHAQ_SPSC, caps[c], sz, 8, &got));
			T_EQ(got, mj_num(&j, key));
			checked++;
		}
		snprintf(key, sizeof(key), "spsc_capacity_in_4096_byte_file_%s", types[t]);
		T_OK(xs_shaq_capacity_for(XS_SHAQ_2_0, XS_SHAQ_SPSC, 4096, sz, 8, &cap));
		T_EQ(cap, mj_num(&j, key));
		checked++;
	}
	/* create with 191 bytes */
	fd = fresh_file(F_MEMFD);
	T_ERR(xs_spsc_create(&q, fd, 191, 16, 8, XS_SHAQ_2_0, XS_SPSC_PRODUCER), -XS_EQ_TOO_SMALL);
	xs_shaq_last_error(&e);
	expect_text(&e, 1, jstr(&j, "spsc_create_191_bytes_error"));
	close(fd);
	/* join of an all-zero file */
	fd = fresh_file(F_MEMFD);
	T_EQ(ftruncate(fd, 320), 0);
	T_ERR(xs_spsc_join(&q, fd, 16, 8, XS_SHAQ_2_0, XS_SPSC_CONSUMER), -XS_EQ_MAGIC);
	xs_shaq_last_error(&e);
	expect_text(&e, 1, jstr(&j, "spsc_join_zero_file_error"));
	expect_text(&e, 0, "invalid magic");
	close(fd);
	/* join of a file whose version says 3.0 */
	fd = vector_file("v4/shaq2_spsc_elem16_cap8_s0_created.bin", &len);
	{
		uint32_t v = XS_SHAQ_VERSION_3_0;

		T_EQ(pwrite(fd, &v, 4, 8), 4);
	}
	T_ERR(xs_spsc_join(&q, fd, 16, 8, XS_SHAQ_2_0, XS_SPSC_CONSUMER), -XS_EQ_VERSION);
	xs_shaq_last_error(&e);
	expect_text(&e, 1, jstr(&j, "spsc_join_version_0x00030000_error"));
	expect_text(&e, 0, jstr(&j, "spsc_join_version_0x00030000_error_display"));
	close(fd);
	mj_free(&j);
	mj_free(&lay);
	printf("shaq2_sizes.json: %d sizes/capacities and 3 error texts match\n", checked);
}

static void sizes_current(void)
{
	struct mj j = mj_load("current/shaq3_sizes.json"), lay = mj_load("current/layout6_rust.json");
	static const struct {
		const char *key, *type;
		enum xs_shaq_kind kind;
	} b6[] = {
		{ "spsc_tpu_to_pack", "TpuToPackMessage", XS_SHAQ_SPSC },
		{ "spsc_progress", "ProgressMessage", XS_SHAQ_SPSC },
		{ "spsc_pack_to_execution_worker", "PackToExecutionWorkerMessage", XS_SHAQ_SPSC },
		{ "spsc_execution_worker_to_pack", "ExecutionWorkerToPackMessage", XS_SHAQ_SPSC },
		{ "mpmc_pack_to_check_worker", "PackToCheckWorkerMessage", XS_SHAQ_MPMC },
		{ "mpmc_check_worker_to_pack", "CheckWorkerToPackMessage", XS_SHAQ_MPMC },
	};
	const struct mj *rows = mj_get(&j, "minimum_file_size_bindings6");
	struct xs_shaq_error e;
	struct xs_spsc q;
	int checked = 0, fd;
	size_t len;

	T_EQ(mj_num(&j, "shaq_VERSION"), XS_SHAQ_VERSION_3_0);
	T_EQ(xs_shaq_fmt_get(XS_SHAQ_3_0)->version, XS_SHAQ_VERSION_3_0);
	for (int kind = 0; kind < 2; kind++) {
		const struct mj *o = mj_get(&j, kind ? "mpmc_minimum_file_size_elem16"
						     : "spsc_minimum_file_size_elem16");

		T_ASSERT(o && o->t == MJ_OBJ && o->n == 4);
		for (int i = 0; i < o->n; i++) {
			uint64_t cap = strtoull(o->keys[i], NULL, 10);

			T_EQ(xs_shaq_min_file_size(XS_SHAQ_3_0, (enum xs_shaq_kind)kind, cap, 16, 8),
			     o->v[i].num);
			checked++;
		}
	}
	T_ASSERT(rows && rows->t == MJ_ARR && rows->n == 6);
	for (int r = 0; r < rows->n; r++) {
		uint64_t cap = (uint64_t)mj_num(&rows->v[r], "capacity");

		for (size_t t = 0; t < sizeof(b6) / sizeof(b6[0]); t++) {
			size_t got, sz = layout_size(&lay, b6[t].type);

			T_OK(xs_shaq_try_min_file_size(XS_SHAQ_3_0, b6[t].kind, cap, sz, 8, &got));
			T_EQ(got, mj_num(&rows->v[r], b6[t].key));
			checked++;
		}
	}
	/* the texts the SDK server sends for this format (no golden file: the
	 * format of shaq 4.x's Debug/Display is that of 3.0.0, checked above) */
	fd = vector_file("v4/shaq2_spsc_elem16_cap8_s1_push3.bin", &len);
	T_ERR(xs_spsc_join(&q, fd, 16, 8, XS_SHAQ_3_0, XS_SPSC_CONSUMER), -XS_EQ_VERSION);
	T_ASSERT(strstr(xs_errmsg(), "format 2.0") && strstr(xs_errmsg(), "format 3.0"), "(%s)",
		 xs_errmsg());
	xs_shaq_last_error(&e);
	expect_text(&e, 1, "InvalidVersion { expected: 196608, actual: 131072 }");
	expect_text(&e, 0, "invalid version; expected=3.0; found=2.0");
	close(fd);
	fd = vector_file("current/shaq3_mpmc_elem16_cap8_s0_created.bin", &len);
	T_ERR(xs_spsc_join(&q, fd, 16, 8, XS_SHAQ_3_0, XS_SPSC_CONSUMER), -XS_EQ_MAGIC);
	T_ASSERT(strstr(xs_errmsg(), "mpmc") && strstr(xs_errmsg(), "joined as spsc"), "(%s)",
		 xs_errmsg());
	xs_shaq_last_error(&e);
	expect_text(&e, 1, "InvalidMagic");
	T_ERR(xs_spsc_join(&q, fd, 16, 8, XS_SHAQ_ANY, XS_SPSC_CONSUMER), -XS_EQ_MAGIC);
	/* the file is 512 bytes: as SPSC of 3.0 it would hold 16 slots, not 8 */
	close(fd);
	{
		uint8_t *mem = aligned_alloc(4096, 3 * 4096);
		struct xs_mpmc m;

		T_ASSERT(mem != NULL);
		memset(mem, 0, 3 * 4096);
		T_ERR(xs_mpmc_attach_mem(&m, mem + 64, 4096, 16, 8, XS_SHAQ_3_0, XS_MPMC_PRODUCER, 1),
		      -XS_EQ_ALIGN);
		xs_shaq_last_error(&e);
		expect_text(&e, 1, "InvalidRegionAlignment { minimum: 4096, actual: 4032 }");
		expect_text(&e, 0, "invalid region alignment; minimum=4096; actual=4032");
		T_ERR(xs_spsc_attach_mem(&q, mem, 255, 16, 8, XS_SHAQ_3_0, XS_SPSC_PRODUCER, 1),
		      -XS_EQ_TOO_SMALL);
		xs_shaq_last_error(&e);
		expect_text(&e, 1, "InvalidBufferSize");
		expect_text(&e, 0, "invalid buffer size");
		free(mem);
	}
	/* legacy formats: field-less InvalidVersion, I/O errors as std::io::Error */
	e = (struct xs_shaq_error){ .code = -XS_EQ_VERSION, .format = XS_SHAQ_1_0 };
	expect_text(&e, 1, "InvalidVersion");
	expect_text(&e, 0, "invalid version");
	e = (struct xs_shaq_error){ .code = -ENOENT, .format = XS_SHAQ_3_0, .io = 1 };
	expect_text(&e, 1, "Io(Os { code: 2, kind: NotFound, message: \"No such file or directory\" })");
	expect_text(&e, 0, "io; err=No such file or directory (os error 2)");
	e.io = 2;
	e.code = -ENOMEM;
	expect_text(&e, 1, "Mmap(Os { code: 12, kind: OutOfMemory, message: \"Cannot allocate memory\" })");
	expect_text(&e, 0, "mmap; err=Cannot allocate memory (os error 12)");
	mj_free(&j);
	mj_free(&lay);
	printf("shaq3_sizes.json: %d sizes match; error texts of format 3.0 checked\n", checked);
}

/* ------------------------------------------------------------ table */

static void table(void)
{
	static const uint32_t hdr[4][2] = { { 192, 0 }, { 192, 0 }, { 192, 320 }, { 256, 384 } };

	for (int f = 0; f < XS_SHAQ_NFORMATS; f++) {
		const struct xs_shaq_fmt *r = xs_shaq_fmt_get((enum xs_shaq_format)f);

		T_ASSERT(r && r->format == f);
		T_EQ(r->header_size[0], hdr[f][0]);
		T_EQ(r->header_size[1], hdr[f][1]);
		T_EQ(xs_shaq_ring_offset((enum xs_shaq_format)f, XS_SHAQ_SPSC, 8), hdr[f][0]);
		T_EQ(xs_shaq_ring_offset((enum xs_shaq_format)f, XS_SHAQ_SPSC, 512), 512);
		/* every cursor in a line of its own, inside the header */
		T_EQ(r->spsc_write % 64, 0);
		T_EQ(r->spsc_read % 64, 0);
		T_ASSERT(r->spsc_read + 8 <= r->header_size[0]);
		/* 0.2/1.0: the same arithmetic as the seed-era functions */
		if (f <= XS_SHAQ_1_0) {
			T_EQ(xs_shaq_min_file_size((enum xs_shaq_format)f, XS_SHAQ_SPSC, 1000, 32, 8),
			     xs_spsc_min_file_size(1000, 32, 8));
			T_EQ(xs_shaq_min_file_size((enum xs_shaq_format)f, XS_SHAQ_MPMC, 8, 16, 8), 0);
		}
	}
	T_ASSERT(xs_shaq_fmt_get(XS_SHAQ_ANY) == NULL);
	T_ASSERT(!strcmp(xs_shaq_format_name(XS_SHAQ_3_0), "3.0"));
	T_EQ(xs_shaq_fmt_get(XS_SHAQ_3_0)->waiters[XS_SHAQ_SPSC], 192);
	T_EQ(xs_shaq_fmt_get(XS_SHAQ_3_0)->waiters[XS_SHAQ_MPMC], 320);
	T_EQ(xs_shaq_fmt_get(XS_SHAQ_2_0)->waiters[XS_SHAQ_MPMC], 0);
	/* overflow-checked sizes */
	{
		size_t n;
		uint64_t cap;

		T_ERR(xs_shaq_try_min_file_size(XS_SHAQ_3_0, XS_SHAQ_SPSC, (1ull << 63) + 1, 16, 8, &n),
		      -XS_EQ_TOO_LARGE);
		T_ERR(xs_shaq_try_min_file_size(XS_SHAQ_2_0, XS_SHAQ_MPMC, 1ull << 62, 16, 8, &n),
		      -XS_EQ_TOO_LARGE);
		T_ERR(xs_shaq_try_min_file_size(XS_SHAQ_1_0, XS_SHAQ_MPMC, 8, 16, 8, &n), -EINVAL);
		T_OK(xs_shaq_try_min_file_size(XS_SHAQ_3_0, XS_SHAQ_SPSC, 1ull << 32, 1, 1, &n));
		T_EQ(n, 256 + (1ull << 32));
		T_OK(xs_shaq_capacity_for(XS_SHAQ_3_0, XS_SHAQ_SPSC, n, 1, 1, &cap));
		T_EQ(cap, 1ull << 32);
		T_ERR(xs_shaq_capacity_for(XS_SHAQ_3_0, XS_SHAQ_SPSC, 256 + (1ull << 33), 1, 1, &cap),
		      -XS_EQ_TOO_LARGE);
		/* 1.0 has no such limit */
		T_OK(xs_shaq_capacity_for(XS_SHAQ_1_0, XS_SHAQ_SPSC, 192 + (1ull << 33), 1, 1, &cap));
		T_EQ(cap, 1ull << 33);
		T_ERR(xs_shaq_capacity_for(XS_SHAQ_3_0, XS_SHAQ_SPSC, 1 << 20, 8192, 8192, &cap),
		      -XS_EQ_ELEM);
	}
}

int main(void)
{
	int n = 0;

	table();
	for (enum xs_shaq_format fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++) {
		for (int fk = 0; fk < 2; fk++)
			for (int up = 0; up < 2; up++)
				for (int cc = 0; cc < 2; cc++, n++) {
					spsc_elem16(fmt, (enum file_kind)fk, up, cc);
					mpmc_elem16(fmt, (enum file_kind)fk, up, cc);
				}
		spsc_tpu(fmt, 0);
		spsc_tpu(fmt, 1);
	}
	printf("forward: %d variants of each SPSC/MPMC sequence byte-identical, formats 2.0 and 3.0\n",
	       n);
	reverse_all();
	probe_old();
	unknown_version();
	sizes_v4();
	sizes_current();
	return 0;
}
