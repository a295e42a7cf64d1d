/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: byte-exact replay of the shaq golden vectors.
 *  - shaq_elem16_cap8_s0..s5 and shaq_tpu_to_pack_cap8_s0..s2 (vectors README
 *    section (c)): the listed operations redone in C on a fresh file, every
 *    byte of the file (read back with pread, not through the mapping)
 *    compared after each step. Variants: regular temp file and memfd; the
 *    upstream call model (reserve/commit/sync, try_read/finalize/sync) and
 *    the xsched helpers (try_push/push_burst, try_pop/pop_burst); the file
 *    created by the producer or by the consumer.
 *  - the same operations in format XS_SHAQ_0_2 give the same bytes except
 *    byte 136 (the 1.0.x version byte), which stays 0.
 *  - the reverse direction: every Rust-written vector file is joined by C as
 *    consumer and as producer, in both formats, and continues correctly
 *    (a 1.0.x joiner refuses the file once byte 136 is cleared).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/msg.h"
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

/* The TpuToPackMessage for k, written field by field in a zeroed slot. */
static void tpu_fill(struct xs_tpu_to_pack *m, unsigned k)
{
	memset(m, 0, sizeof(*m));
	m->transaction.offset = 0x1000ull * k;
	m->transaction.length = 100 + k;
	m->flags = (uint8_t)k;
	m->src_addr[10] = 0xff;
	m->src_addr[11] = 0xff;
	m->src_addr[12] = 10;
	m->src_addr[15] = (uint8_t)k;
}

enum file_kind { F_TMPFILE, F_MEMFD };
enum call_model { M_UPSTREAM, M_HELPERS };

static const char *const kind_name[] = { "tmpfile", "memfd" };
static const char *const model_name[] = { "upstream", "helpers" };

/* A fresh, empty file of the given kind. */
static int fresh_file(enum file_kind kind)
{
	int fd;

	if (kind == F_MEMFD) {
		fd = xs_memfd_create("xs-test-shaq-vectors", 0);
		T_OK(fd);
		return fd;
	}
	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) { /* filesystem without O_TMPFILE: a named file, unlinked at once */
		char path[] = "/tmp/xs-test-shaq-XXXXXX";

		fd = mkostemp(path, O_CLOEXEC);
		T_ASSERT(fd >= 0);
		unlink(path);
	}
	return fd;
}

struct ctx {
	const char *name;       /* for messages */
	enum xs_shaq_format fmt;
	int fd;
};

/* The whole file must equal vector @p vec; in 0.2 format byte 136 must be 0. */
static void expect_file(const struct ctx *c, const char *vec)
{
	size_t len;
	uint8_t *want = t_read_vector(vec, &len);
	uint8_t *got = malloc(len + 1);
	struct stat st;
	char what[256];

	T_ASSERT(got != NULL);
	T_ASSERT(fstat(c->fd, &st) == 0);
	T_EQ(st.st_size, len);
	T_EQ(pread(c->fd, got, len + 1, 0), len);
	T_EQ(want[136], XS_SHAQ_VERSION_1_0); /* the vectors are shaq 1.0.2 files */
	if (c->fmt == XS_SHAQ_0_2)
		want[136] = 0;
	snprintf(what, sizeof(what), "%s [%s]", vec, c->name);
	T_BYTES(what, got, want, len);
	free(got);
	free(want);
}

static void open_pair(struct ctx *c, struct xs_spsc *p, struct xs_spsc *q, size_t file_size,
		      size_t esz, int consumer_creates)
{
	if (consumer_creates) {
		T_OK(xs_spsc_create(q, c->fd, file_size, esz, 8, c->fmt, XS_SPSC_CONSUMER));
		T_OK(xs_spsc_join(p, c->fd, esz, 8, c->fmt, XS_SPSC_PRODUCER));
	} else {
		T_OK(xs_spsc_create(p, c->fd, file_size, esz, 8, c->fmt, XS_SPSC_PRODUCER));
		T_OK(xs_spsc_join(q, c->fd, esz, 8, c->fmt, XS_SPSC_CONSUMER));
	}
	T_EQ(xs_spsc_capacity(p), 8);
	T_EQ(xs_spsc_capacity(q), 8);
}

/* --------------------------------------------------------- Elem16, cap 8 */

static void expect_e16(const void *slot, uint64_t k)
{
	struct elem16 e, w = e16(k);

	T_ASSERT(slot != NULL, "(item k=%llu missing)", (unsigned long long)k);
	memcpy(&e, slot, sizeof(e));
	T_EQ(e.a, w.a);
	T_EQ(e.b, w.b);
}

static void replay_elem16(struct ctx *c, enum call_model model, int consumer_creates)
{
	struct xs_spsc p, q;
	struct elem16 buf[9];
	uint64_t k;
	size_t file_size = xs_spsc_min_file_size(8, sizeof(struct elem16), 8);

	T_EQ(file_size, 320);
	open_pair(c, &p, &q, file_size, sizeof(struct elem16), consumer_creates);
	expect_file(c, "shaq_elem16_cap8_s0_created.bin");

	/* s1: try_write k=1,2,3; commit */
	if (model == M_UPSTREAM) {
		for (k = 1; k <= 3; k++) {
			struct elem16 e = e16(k);
			void *slot = xs_spsc_reserve(&p);

			T_ASSERT(slot != NULL);
			memcpy(slot, &e, sizeof(e));
		}
		T_EQ(xs_spsc_len_cached(&p), 3);
		xs_spsc_commit(&p);
	} else {
		for (k = 1; k <= 3; k++)
			buf[k - 1] = e16(k);
		T_EQ(xs_spsc_push_burst(&p, buf, 3), 3);
	}
	expect_file(c, "shaq_elem16_cap8_s1_push3.bin");

	/* s2: consumer sync; try_read x2; finalize */
	if (model == M_UPSTREAM) {
		T_ASSERT(xs_spsc_try_read(&q) == NULL); /* nothing until sync */
		T_OK(xs_spsc_cons_sync(&q));
		T_EQ(xs_spsc_avail_cached(&q), 3);
		expect_e16(xs_spsc_try_read(&q), 1);
		expect_e16(xs_spsc_try_read(&q), 2);
		xs_spsc_finalize(&q);
	} else {
		T_EQ(xs_spsc_pop_burst(&q, buf, 2), 2);
		expect_e16(&buf[0], 1);
		expect_e16(&buf[1], 2);
	}
	expect_file(c, "shaq_elem16_cap8_s2_pop2.bin");

	/* s3: producer sync; try_write k=4..10; k=11 fails (full); commit */
	if (model == M_UPSTREAM) {
		T_OK(xs_spsc_prod_sync(&p));
		T_EQ(xs_spsc_free_cached(&p), 7);
		for (k = 4; k <= 10; k++) {
			struct elem16 e = e16(k);
			void *slot = xs_spsc_reserve(&p);

			T_ASSERT(slot != NULL);
			memcpy(slot, &e, sizeof(e));
		}
		T_ASSERT(xs_spsc_reserve(&p) == NULL);
		T_EQ(xs_spsc_len_cached(&p), 8);
		xs_spsc_commit(&p);
	} else {
		for (k = 4; k <= 11; k++)
			buf[k - 4] = e16(k);
		T_EQ(xs_spsc_push_burst(&p, buf, 8), 7);
		buf[0] = e16(11);
		T_ERR(xs_spsc_try_push(&p, &buf[0]), -EAGAIN);
	}
	expect_file(c, "shaq_elem16_cap8_s3_push7_full.bin");

	/* s4: consumer sync; try_read x8 (k=3..10); the next is None; finalize */
	if (model == M_UPSTREAM) {
		T_OK(xs_spsc_cons_sync(&q));
		for (k = 3; k <= 10; k++)
			expect_e16(xs_spsc_try_read(&q), k);
		T_ASSERT(xs_spsc_try_read(&q) == NULL);
		xs_spsc_finalize(&q);
	} else {
		T_EQ(xs_spsc_pop_burst(&q, buf, 9), 8);
		for (k = 3; k <= 10; k++)
			expect_e16(&buf[k - 3], k);
		T_ERR(xs_spsc_try_pop(&q, buf), -EAGAIN);
	}
	expect_file(c, "shaq_elem16_cap8_s4_pop8_empty.bin");

	/* s5: producer sync; try_write k=11; commit */
	if (model == M_UPSTREAM) {
		struct elem16 e = e16(11);
		void *slot;

		T_OK(xs_spsc_prod_sync(&p));
		slot = xs_spsc_reserve(&p);
		T_ASSERT(slot != NULL);
		memcpy(slot, &e, sizeof(e));
		xs_spsc_commit(&p);
	} else {
		buf[0] = e16(11);
		T_OK(xs_spsc_try_push(&p, &buf[0]));
	}
	expect_file(c, "shaq_elem16_cap8_s5_push1.bin");

	xs_spsc_close(&p);
	xs_spsc_close(&q);
}

/* ---------------------------------------------- TpuToPackMessage, cap 8 */

static void replay_tpu(struct ctx *c, enum call_model model, int consumer_creates)
{
	struct xs_spsc p, q;
	struct xs_tpu_to_pack want, got;
	size_t file_size = xs_spsc_min_file_size(8, sizeof(struct xs_tpu_to_pack),
						  _Alignof(struct xs_tpu_to_pack));
	unsigned k;

	T_EQ(file_size, 512);
	open_pair(c, &p, &q, file_size, sizeof(struct xs_tpu_to_pack), consumer_creates);
	expect_file(c, "shaq_tpu_to_pack_cap8_s0_created.bin");

	for (k = 1; k <= 3; k++) {
		if (model == M_UPSTREAM) {
			struct xs_tpu_to_pack *m = xs_tpu_to_pack_reserve(&p);

			T_ASSERT(m != NULL);
			tpu_fill(m, k); /* zero the slot, then each field */
		} else {
			tpu_fill(&want, k);
			T_OK(xs_tpu_to_pack_try_push(&p, &want));
		}
	}
	xs_spsc_commit(&p);
	expect_file(c, "shaq_tpu_to_pack_cap8_s1_push3.bin");

	tpu_fill(&want, 1);
	if (model == M_UPSTREAM) {
		const struct xs_tpu_to_pack *m;

		T_OK(xs_spsc_cons_sync(&q));
		m = xs_tpu_to_pack_try_read(&q);
		T_ASSERT(m != NULL);
		T_BYTES("tpu_to_pack k=1", (const uint8_t *)m, (const uint8_t *)&want, sizeof(want));
		xs_spsc_finalize(&q);
	} else {
		T_OK(xs_spsc_try_pop(&q, &got));
		T_BYTES("tpu_to_pack k=1", (const uint8_t *)&got, (const uint8_t *)&want, sizeof(want));
	}
	expect_file(c, "shaq_tpu_to_pack_cap8_s2_pop1.bin");

	xs_spsc_close(&p);
	xs_spsc_close(&q);
}

/* ----------------------------------------- C joins the Rust-written files */

/* Copy a vector into a fresh memfd; in 0.2 format clear the version byte. */
static int vector_file(const char *vec, enum xs_shaq_format fmt, size_t *len)
{
	uint8_t *b = t_read_vector(vec, len);
	int fd = fresh_file(F_MEMFD);

	if (fmt == XS_SHAQ_0_2)
		b[136] = 0;
	T_EQ(pwrite(fd, b, *len, 0), *len);
	free(b);
	return fd;
}

static uint64_t hdr_u64(int fd, off_t off)
{
	uint64_t v;

	T_EQ(pread(fd, &v, sizeof(v), off), sizeof(v));
	return v;
}

/* Join each step's file as consumer: the items still queued are exactly the
 * expected ones, and draining them stores read == write. Join it as producer:
 * exactly cap - len more items fit. */
static void join_rust_file(const char *vec, size_t esz, enum xs_shaq_format fmt, int is_tpu)
{
	size_t len;
	int fd = vector_file(vec, fmt, &len);
	struct xs_spsc q, p;
	uint64_t w = hdr_u64(fd, 0), r = hdr_u64(fd, 64), pos, n = 0;
	const void *slot;
	uint8_t item[64];

	T_OK(xs_spsc_join(&q, fd, esz, 8, fmt, XS_SPSC_CONSUMER));
	T_EQ(xs_spsc_capacity(&q), 8);
	T_EQ(xs_spsc_avail_cached(&q), w - r);
	for (pos = r; (slot = xs_spsc_poll(&q)) != NULL; pos++, n++) {
		if (is_tpu) {
			struct xs_tpu_to_pack want;

			tpu_fill(&want, (unsigned)pos + 1);
			T_BYTES(vec, (const uint8_t *)slot, (const uint8_t *)&want, sizeof(want));
		} else {
			expect_e16(slot, pos + 1); /* k = position + 1 in these files */
		}
	}
	T_EQ(n, w - r);
	xs_spsc_finalize(&q);
	T_EQ(hdr_u64(fd, 64), w);
	xs_spsc_close(&q);

	T_OK(xs_spsc_join(&p, fd, esz, 8, fmt, XS_SPSC_PRODUCER));
	memset(item, 0x5A, sizeof(item));
	for (n = 0; xs_spsc_try_push(&p, item) == 0; n++)
		T_ASSERT(n <= 8);
	T_EQ(n, 8); /* everything was drained above */
	T_EQ(hdr_u64(fd, 0), w + 8);
	xs_spsc_close(&p);

	/* A 1.0.x joiner refuses a file without the version byte, 0.2 takes it. */
	if (fmt == XS_SHAQ_0_2)
		T_ERR(xs_spsc_join(&q, fd, esz, 8, XS_SHAQ_1_0, XS_SPSC_CONSUMER), -XS_EQ_VERSION);
	close(fd);
}

int main(void)
{
	static const char *const e16_files[] = {
		"shaq_elem16_cap8_s0_created.bin",   "shaq_elem16_cap8_s1_push3.bin",
		"shaq_elem16_cap8_s2_pop2.bin",      "shaq_elem16_cap8_s3_push7_full.bin",
		"shaq_elem16_cap8_s4_pop8_empty.bin", "shaq_elem16_cap8_s5_push1.bin",
	};
	static const char *const tpu_files[] = {
		"shaq_tpu_to_pack_cap8_s0_created.bin", "shaq_tpu_to_pack_cap8_s1_push3.bin",
		"shaq_tpu_to_pack_cap8_s2_pop1.bin",
	};
	int fds_before = t_fd_count(), runs = 0;
	unsigned f, kind, model, cc;
	size_t i;

	for (f = 0; f < 2; f++) {
		enum xs_shaq_format fmt = f ? XS_SHAQ_0_2 : XS_SHAQ_1_0;

		for (kind = 0; kind < 2; kind++)
			for (model = 0; model < 2; model++)
				for (cc = 0; cc < 2; cc++) {
					char name[128];
					struct ctx c = { name, fmt, -1 };

					snprintf(name, sizeof(name), "fmt %s, %s, %s calls, created by %s",
						 f ? "0.2" : "1.0", kind_name[kind], model_name[model],
						 cc ? "consumer" : "producer");
					c.fd = fresh_file((enum file_kind)kind);
					replay_elem16(&c, (enum call_model)model, (int)cc);
					close(c.fd);
					c.fd = fresh_file((enum file_kind)kind);
					replay_tpu(&c, (enum call_model)model, (int)cc);
					close(c.fd);
					runs += 2;
				}
		for (i = 0; i < sizeof(e16_files) / sizeof(*e16_files); i++)
			join_rust_file(e16_files[i], sizeof(struct elem16), fmt, 0);
		for (i = 0; i < sizeof(tpu_files) / sizeof(*tpu_files); i++)
			join_rust_file(tpu_files[i], sizeof(struct xs_tpu_to_pack), fmt, 1);
	}
	T_EQ(t_fd_count(), fds_before);
	printf("test_shaq_vectors: %d replays byte-exact, 18 Rust files joined\n", runs);
	return 0;
}
