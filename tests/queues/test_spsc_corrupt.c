/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: a queue file a peer corrupted never crashes xsched.
 *  - join table: too small, buffer_size inconsistent with the file size, not
 *    a power of two, zero, wrong version byte (1.0.x; 0.2 ignores it),
 *    counters further apart than the capacity (with wrap-around cases that
 *    are valid). Each gives its error code (distinct per kind), a detailed
 *    xs_errmsg(), leaves no mapping of the file (/proc/self/maps) and no
 *    descriptor behind; both roles, both formats.
 *  - corruption while running, on a heap buffer sized exactly to the queue so
 *    that ASan sees any access past the ring: the consumer sees `write` jump
 *    past the capacity or move backwards (also to a value still >= its read
 *    position); the producer sees `read` move backwards or pass its committed
 *    write. Each is reported as -XS_EQ_CORRUPT with a message naming the
 *    counter and the direction; the handle then stays failed even after the
 *    header is repaired, and stores nothing more.
 *  - a random adversarial peer scribbling on both counters: every slot the
 *    consumer is given lies inside the ring.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

#define MEMFD_NAME "xs-test-corrupt"
#define ESZ 16
#define CAP 8
#define FILE_SIZE (192 + CAP * ESZ)

/* Mappings of our test memfd in this process. */
static int our_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:" MEMFD_NAME))
			n++;
	fclose(f);
	return n;
}

/* A valid 1.0.x queue file (created by a producer that is closed again). */
static int valid_file(enum xs_shaq_format fmt)
{
	struct xs_spsc p;
	int fd = xs_memfd_create(MEMFD_NAME, 0);

	T_OK(fd);
	T_OK(xs_spsc_create(&p, fd, FILE_SIZE, ESZ, 8, fmt, XS_SPSC_PRODUCER));
	xs_spsc_close(&p);
	return fd;
}

static void put_u64(int fd, off_t off, uint64_t v)
{
	T_EQ(pwrite(fd, &v, sizeof(v), off), sizeof(v));
}

static void put_u8(int fd, off_t off, uint8_t v)
{
	T_EQ(pwrite(fd, &v, 1, off), 1);
}

enum mut { M_TRUNC, M_BUFSIZE, M_VERSION, M_COUNTERS };

struct join_case {
	const char *what;
	enum mut mut;
	uint64_t a, b; /* truncate size | buffer_size | version | write, read */
	int want10;    /* expected result of a 1.0.x join */
	int want02;    /* expected result of a 0.2.0 join */
};

static const struct join_case join_cases[] = {
	{ "empty file", M_TRUNC, 0, 0, -XS_EQ_TOO_SMALL, -XS_EQ_TOO_SMALL },
	{ "100-byte file", M_TRUNC, 100, 0, -XS_EQ_TOO_SMALL, -XS_EQ_TOO_SMALL },
	{ "header minus one byte", M_TRUNC, 191, 0, -XS_EQ_TOO_SMALL, -XS_EQ_TOO_SMALL },
	{ "header only", M_TRUNC, 192, 0, -XS_EQ_TOO_SMALL, -XS_EQ_TOO_SMALL },
	{ "header + part of a slot", M_TRUNC, 192 + ESZ - 1, 0, -XS_EQ_TOO_SMALL, -XS_EQ_TOO_SMALL },
	{ "file shrunk (holds 4)", M_TRUNC, 192 + 7 * ESZ, 0, -XS_EQ_SIZE_MISMATCH,
	  -XS_EQ_SIZE_MISMATCH },
	{ "file grown (holds 256)", M_TRUNC, 4096, 0, -XS_EQ_SIZE_MISMATCH, -XS_EQ_SIZE_MISMATCH },
	{ "file grown, still 8", M_TRUNC, FILE_SIZE + ESZ, 0, 0, 0 },
	{ "buffer_size 16", M_BUFSIZE, 16, 0, -XS_EQ_SIZE_MISMATCH, -XS_EQ_SIZE_MISMATCH },
	{ "buffer_size 4", M_BUFSIZE, 4, 0, -XS_EQ_SIZE_MISMATCH, -XS_EQ_SIZE_MISMATCH },
	{ "buffer_size 2^63", M_BUFSIZE, 1ull << 63, 0, -XS_EQ_SIZE_MISMATCH, -XS_EQ_SIZE_MISMATCH },
	{ "buffer_size 6", M_BUFSIZE, 6, 0, -XS_EQ_NOT_POW2, -XS_EQ_NOT_POW2 },
	{ "buffer_size 9", M_BUFSIZE, 9, 0, -XS_EQ_NOT_POW2, -XS_EQ_NOT_POW2 },
	{ "buffer_size 2^64-1", M_BUFSIZE, UINT64_MAX, 0, -XS_EQ_NOT_POW2, -XS_EQ_NOT_POW2 },
	{ "buffer_size 0", M_BUFSIZE, 0, 0, -XS_EQ_NOT_POW2, -XS_EQ_NOT_POW2 },
	{ "version 0", M_VERSION, 0, 0, -XS_EQ_VERSION, 0 },
	{ "version 2", M_VERSION, 2, 0, -XS_EQ_VERSION, 0 },
	{ "version 255", M_VERSION, 255, 0, -XS_EQ_VERSION, 0 },
	{ "write 9 read 0", M_COUNTERS, 9, 0, -XS_EQ_CORRUPT, -XS_EQ_CORRUPT },
	{ "write 0 read 1", M_COUNTERS, 0, 1, -XS_EQ_CORRUPT, -XS_EQ_CORRUPT },
	{ "write 2^64-1 read 0", M_COUNTERS, UINT64_MAX, 0, -XS_EQ_CORRUPT, -XS_EQ_CORRUPT },
	{ "write 8 read 0 (full)", M_COUNTERS, 8, 0, 0, 0 },
	{ "write 3 read 2^64-5 (wrapped, full)", M_COUNTERS, 3, UINT64_MAX - 4, 0, 0 },
	{ "write 4 read 2^64-5 (wrapped, 9)", M_COUNTERS, 4, UINT64_MAX - 4, -XS_EQ_CORRUPT,
	  -XS_EQ_CORRUPT },
	{ "write 2^64-1 read 2^64-1", M_COUNTERS, UINT64_MAX, UINT64_MAX, 0, 0 },
};

static void check_join_table(void)
{
	size_t i;
	int fmt, role;

	for (i = 0; i < sizeof(join_cases) / sizeof(join_cases[0]); i++) {
		const struct join_case *c = &join_cases[i];

		for (fmt = 0; fmt < 2; fmt++)
			for (role = 0; role < 2; role++) {
				struct xs_spsc q;
				int want = fmt == XS_SHAQ_1_0 ? c->want10 : c->want02;
				int fd = valid_file(XS_SHAQ_1_0), rc;

				switch (c->mut) {
				case M_TRUNC: T_ASSERT(ftruncate(fd, (off_t)c->a) == 0); break;
				case M_BUFSIZE: put_u64(fd, 128, c->a); break;
				case M_VERSION: put_u8(fd, 136, (uint8_t)c->a); break;
				case M_COUNTERS:
					put_u64(fd, 0, c->a);
					put_u64(fd, 64, c->b);
					break;
				}
				xs_clearerr();
				rc = xs_spsc_join(&q, fd, ESZ, 8, (enum xs_shaq_format)fmt,
						  (enum xs_spsc_role)role);
				if (rc != want)
					t_fail(__FILE__, __LINE__, "%s (fmt %s, %s): join gave %d (%s: %s), want %d (%s)",
					       c->what, fmt ? "1.0" : "0.2", role ? "consumer" : "producer",
					       rc, xs_strerror(rc), xs_errmsg(), want, xs_strerror(want));
				if (rc < 0) {
					T_ASSERT(xs_errmsg()[0] != '\0', "(%s: no detail)", c->what);
					T_ASSERT(q.wr == NULL && q.base == NULL);
					T_EQ(our_mappings(), 0); /* the failed join unmapped */
				} else {
					T_EQ(our_mappings(), 1);
					T_EQ(xs_spsc_capacity(&q), CAP);
					xs_spsc_close(&q);
					T_EQ(our_mappings(), 0); /* the whole file, not from 192 on */
				}
				close(fd);
			}
	}
	/* The kinds of bad header have different codes and texts. */
	{
		static const int kinds[] = { XS_EQ_TOO_SMALL, XS_EQ_SIZE_MISMATCH, XS_EQ_NOT_POW2,
					     XS_EQ_VERSION, XS_EQ_CORRUPT };
		size_t a, b;

		for (a = 0; a < 5; a++)
			for (b = a + 1; b < 5; b++)
				T_ASSERT(strcmp(xs_strerror(-kinds[a]), xs_strerror(-kinds[b])));
	}
}

/* ------------------------------------------------ corruption while running */

/* A queue on a heap block of exactly FILE_SIZE bytes: the last slot ends at
 * the block's end, so ASan reports any byte read or written past the ring. */
struct heapq {
	uint8_t *mem;
	struct xs_spsc p, q;
};

static void heapq_open(struct heapq *h, size_t esz, uint64_t cap)
{
	size_t size = xs_spsc_min_file_size(cap, esz, 8);

	T_ASSERT(posix_memalign((void **)&h->mem, 64, size) == 0);
	memset(h->mem, 0, size);
	T_OK(xs_spsc_attach_mem(&h->p, h->mem, size, esz, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1));
	T_OK(xs_spsc_attach_mem(&h->q, h->mem, size, esz, 8, XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0));
}

static void heapq_close(struct heapq *h)
{
	xs_spsc_close(&h->p);
	xs_spsc_close(&h->q);
	free(h->mem);
}

static void expect_corrupt_msg(const char *counter, const char *how)
{
	const char *m = xs_errmsg();

	T_ASSERT(strstr(m, counter) && strstr(m, how), "(message '%s' lacks '%s' / '%s')", m,
		 counter, how);
}

/* A consumer that failed stays failed, even after the header is repaired. */
static void expect_consumer_dead(struct heapq *h)
{
	uint8_t buf[ESZ * 4];
	uint64_t r = *h->q.rd;

	T_ERR(xs_spsc_error(&h->q), -XS_EQ_CORRUPT);
	T_ERR(xs_spsc_cons_sync(&h->q), -XS_EQ_CORRUPT);
	T_ASSERT(xs_spsc_try_read(&h->q) == NULL);
	T_ASSERT(xs_spsc_poll(&h->q) == NULL);
	T_ERR(xs_spsc_try_pop(&h->q, buf), -XS_EQ_CORRUPT);
	T_EQ(xs_spsc_pop_burst(&h->q, buf, 4), 0);
	T_EQ(xs_spsc_avail_cached(&h->q), 0);
	xs_spsc_finalize(&h->q);
	T_EQ(*h->q.rd, r); /* nothing stored */
}

static void expect_producer_dead(struct heapq *h)
{
	uint8_t buf[ESZ * 4];
	uint64_t w = *h->p.wr;

	memset(buf, 0x77, sizeof(buf));
	T_ERR(xs_spsc_error(&h->p), -XS_EQ_CORRUPT);
	T_ERR(xs_spsc_prod_sync(&h->p), -XS_EQ_CORRUPT);
	T_ASSERT(xs_spsc_reserve(&h->p) == NULL);
	T_ERR(xs_spsc_try_push(&h->p, buf), -XS_EQ_CORRUPT);
	T_EQ(xs_spsc_push_burst(&h->p, buf, 4), 0);
	T_EQ(xs_spsc_free_cached(&h->p), 0);
	xs_spsc_commit(&h->p);
	T_EQ(*h->p.wr, w); /* nothing stored */
}

static void push_n(struct heapq *h, int n)
{
	uint8_t e[ESZ];
	int i;

	for (i = 0; i < n; i++) {
		memset(e, i, sizeof(e));
		T_OK(xs_spsc_try_push(&h->p, e));
	}
}

static void check_running(void)
{
	struct heapq h;
	uint8_t e[ESZ];

	/* consumer: write jumps past published read + N */
	heapq_open(&h, ESZ, CAP);
	push_n(&h, 3);
	T_OK(xs_spsc_try_pop(&h.q, e)); /* read 1 published */
	*h.q.wr = 1 + CAP;       /* exactly full: legal */
	T_OK(xs_spsc_cons_sync(&h.q));
	T_EQ(xs_spsc_avail_cached(&h.q), CAP);
	*h.q.wr = 1 + CAP + 1;
	xs_clearerr();
	T_ERR(xs_spsc_cons_sync(&h.q), -XS_EQ_CORRUPT);
	expect_corrupt_msg("write", "capacity");
	*h.q.wr = 3; /* "repair" */
	expect_consumer_dead(&h);
	heapq_close(&h);

	/* consumer: write moves backwards but stays >= the read position */
	heapq_open(&h, ESZ, CAP);
	push_n(&h, 3);
	T_OK(xs_spsc_cons_sync(&h.q));
	T_ASSERT(xs_spsc_try_read(&h.q) != NULL); /* pos 1, limit 3 */
	*h.q.wr = 2;
	T_ERR(xs_spsc_cons_sync(&h.q), -XS_EQ_CORRUPT);
	expect_corrupt_msg("write", "backwards");
	*h.q.wr = 3;
	expect_consumer_dead(&h);
	heapq_close(&h);

	/* consumer: write moves backwards below what was read, via poll() */
	heapq_open(&h, ESZ, CAP);
	push_n(&h, 2);
	T_OK(xs_spsc_try_pop(&h.q, e));
	T_OK(xs_spsc_try_pop(&h.q, e));
	*h.q.wr = 0;
	T_ASSERT(xs_spsc_poll(&h.q) == NULL);
	expect_corrupt_msg("write", "backwards");
	*h.q.wr = 2;
	expect_consumer_dead(&h);
	heapq_close(&h);

	/* producer: read moves backwards */
	heapq_open(&h, ESZ, CAP);
	push_n(&h, 3);
	T_OK(xs_spsc_try_pop(&h.q, e));
	T_OK(xs_spsc_try_pop(&h.q, e));
	T_OK(xs_spsc_prod_sync(&h.p)); /* sees read 2 */
	T_ASSERT(xs_spsc_reserve(&h.p) != NULL); /* reserved, never committed */
	*h.p.rd = 1;
	T_ERR(xs_spsc_prod_sync(&h.p), -XS_EQ_CORRUPT);
	expect_corrupt_msg("read", "backwards");
	*h.p.rd = 2;
	expect_producer_dead(&h);
	T_EQ(*h.p.wr, 3); /* the reserved slot was dropped, not published */
	heapq_close(&h);

	/* producer: read passes the committed write (noticed inside try_push) */
	heapq_open(&h, ESZ, CAP);
	push_n(&h, 3);
	*h.p.rd = 3; /* == write: legal */
	T_OK(xs_spsc_prod_sync(&h.p));
	push_n(&h, CAP); /* fills up to read + N */
	*h.p.rd = 3 + CAP + 1;
	memset(e, 1, sizeof(e));
	T_ERR(xs_spsc_try_push(&h.p, e), -XS_EQ_CORRUPT);
	expect_corrupt_msg("read", "passed");
	*h.p.rd = 3;
	expect_producer_dead(&h);
	heapq_close(&h);
}

/* A peer that writes anything into the counters, while the consumer and the
 * producer keep going. Every slot handed out is inside the ring; a corrupt
 * handle is reopened (which re-initialises the header). */
static void check_adversary(void)
{
	static const size_t elems[] = { 16, 24, 40 };
	static const uint64_t caps[] = { 1, 2, 8 };
	uint64_t seed = 0xbadc0ffee0ddf00dull;
	int corrupt = 0, items = 0;
	size_t ei, ci;

	for (ei = 0; ei < 3; ei++)
		for (ci = 0; ci < 3; ci++) {
			struct heapq h;
			size_t esz = elems[ei];
			uint64_t cap = caps[ci];
			size_t size = xs_spsc_min_file_size(cap, esz, 8);
			uint8_t buf[64];
			int it;

			heapq_open(&h, esz, cap);
			for (it = 0; it < 4000; it++) {
				uint64_t r = t_rand(&seed), *ctr;
				const uint8_t *s;

				ctr = (r & 1) ? h.q.wr : h.q.rd;
				switch ((r >> 1) % 8) {
				case 0: *ctr = t_rand(&seed); break;               /* anything */
				case 1: *ctr += (t_rand(&seed) % (2 * cap + 3)) - cap - 1; break;
				case 2: *ctr = UINT64_MAX - t_rand(&seed) % 4; break; /* near wrap */
				default: break;                                      /* honest round */
				}
				memset(buf, it & 0xff, sizeof(buf));
				(void)xs_spsc_try_push(&h.p, buf);
				while ((s = xs_spsc_poll(&h.q)) != NULL) {
					T_ASSERT(s >= h.q.ring && s + esz <= h.mem + size,
						 "(slot %p outside the ring [%p, %p))", (const void *)s,
						 (const void *)h.q.ring, (const void *)(h.mem + size));
					T_EQ((size_t)(s - h.q.ring) % esz, 0);
					memcpy(buf, s, esz); /* ASan checks the whole element */
					items++;
				}
				xs_spsc_finalize(&h.q);
				if (xs_spsc_error(&h.q) || xs_spsc_error(&h.p)) {
					corrupt++;
					xs_spsc_close(&h.p);
					xs_spsc_close(&h.q);
					T_OK(xs_spsc_attach_mem(&h.p, h.mem, size, esz, 8, XS_SHAQ_1_0,
								XS_SPSC_PRODUCER, 1));
					T_OK(xs_spsc_attach_mem(&h.q, h.mem, size, esz, 8, XS_SHAQ_1_0,
								XS_SPSC_CONSUMER, 0));
				}
			}
			heapq_close(&h);
		}
	T_ASSERT(corrupt > 100 && items > 1000, "(adversary too weak: %d corrupt, %d items)",
		 corrupt, items);
}

/* attach_mem refuses memory that is not aligned for the header. */
static void check_alignment(void)
{
	uint8_t *m;
	struct xs_spsc q;

	T_ASSERT(posix_memalign((void **)&m, 64, FILE_SIZE + 64) == 0);
	T_ERR(xs_spsc_attach_mem(&q, m + 8, FILE_SIZE, ESZ, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1),
	      -EINVAL);
	T_OK(xs_spsc_attach_mem(&q, m, FILE_SIZE, ESZ, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1));
	xs_spsc_close(&q);
	free(m);
}

int main(void)
{
	int fds = t_fd_count();

	T_EQ(our_mappings(), 0);
	check_join_table();
	check_running();
	check_adversary();
	check_alignment();
	T_EQ(our_mappings(), 0);
	T_EQ(t_fd_count(), fds);
	printf("test_spsc_corrupt: %zu header cases x 2 formats x 2 roles, runtime corruption OK\n",
	       sizeof(join_cases) / sizeof(join_cases[0]));
	return 0;
}
