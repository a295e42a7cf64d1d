/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: hostile queue files and peers, formats 2.0 and 3.0, SPSC and
 * MPMC. Each case must give its own error with a detail message, no crash,
 * no hang, and leave no mapping (/proc/self/maps) and no descriptor behind.
 *  - join: wrong magic (zero, random, the other kind's), unknown or other
 *    versions, a mask disagreeing with the file size, files too small or
 *    grown, cursors out of order or out of window.
 *  - running: an MPMC peer moving consumer_release / producer_publication /
 *    a reservation cursor outside its window (sticky -XS_EQ_CORRUPT, nothing
 *    stored afterwards); a stale view (the first cursor moved meanwhile) is
 *    a retry, not corruption; SPSC 2.0/3.0 counters jumping.
 *  - stalls: a producer (consumer) that reserved and never publishes
 *    (releases) makes the others return -XS_EQ_STALLED after their stall
 *    timeout instead of spinning forever; once it publishes they continue
 *    in order; when it is dead, recovery (recover, recover_lossy) makes the
 *    queue usable again.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/mpmc.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

#define MEMFD_NAME "xs-test-hostile"
#define CAP 8
#define ESZ 16

struct elem16 {
	uint64_t a, b;
};

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

static size_t fsize(enum xs_shaq_format fmt, enum xs_shaq_kind kind)
{
	return xs_shaq_min_file_size(fmt, kind, CAP, ESZ, 8);
}

static int valid_file(enum xs_shaq_format fmt, enum xs_shaq_kind kind)
{
	int fd = xs_memfd_create(MEMFD_NAME, 0);

	T_OK(fd);
	if (kind == XS_SHAQ_SPSC) {
		struct xs_spsc p;

		T_OK(xs_spsc_create(&p, fd, fsize(fmt, kind), ESZ, 8, fmt, XS_SPSC_PRODUCER));
		xs_spsc_close(&p);
	} else {
		struct xs_mpmc p;

		T_OK(xs_mpmc_create(&p, fd, fsize(fmt, kind), ESZ, 8, fmt, XS_MPMC_PRODUCER));
		xs_mpmc_close(&p);
	}
	return fd;
}

static void put32(int fd, off_t off, uint32_t v)
{
	T_EQ(pwrite(fd, &v, 4, off), 4);
}

static void put64(int fd, off_t off, uint64_t v)
{
	T_EQ(pwrite(fd, &v, 8, off), 8);
}

/* Join @p fd as every role (in @p fmt and any); each must fail with @p want. */
static void expect_join(int fd, enum xs_shaq_format fmt, enum xs_shaq_kind kind, int want,
			const char *what)
{
	for (int any = 0; any < 2; any++)
		for (int role = 0; role < 2; role++) {
			enum xs_shaq_format f = any ? XS_SHAQ_ANY : fmt;
			int rc;

			xs_clearerr();
			if (kind == XS_SHAQ_SPSC) {
				struct xs_spsc q;

				rc = xs_spsc_join(&q, fd, ESZ, 8, f, (enum xs_spsc_role)role);
				if (rc == 0)
					xs_spsc_close(&q);
			} else {
				struct xs_mpmc q;

				rc = xs_mpmc_join(&q, fd, ESZ, 8, f, (enum xs_mpmc_role)role);
				if (rc == 0)
					xs_mpmc_close(&q);
			}
			/* detection may see a different first problem, e.g. a version
			 * it does not know: either is an error, never a success; a
			 * header that is a valid file of another format may join */
			if (any && !strcmp(what, "other format"))
				T_ASSERT(rc == 0 || rc == -XS_EQ_SIZE_MISMATCH, "(%s, any: %d)", what, rc);
			else if (any && want != -XS_EQ_CORRUPT && want != -XS_EQ_SIZE_MISMATCH &&
				 want != -XS_EQ_TOO_SMALL)
				T_ASSERT(rc < 0, "(%s, any: joined)", what);
			else if (rc != want)
				t_fail(__FILE__, __LINE__, "%s (%s %s, %s): %d (%s) instead of %d (%s) [%s]",
				       what, xs_shaq_format_name(f), xs_shaq_kind_name(kind),
				       role ? "consumer" : "producer", rc, xs_strerror(rc), want,
				       xs_strerror(want), xs_errmsg());
			T_ASSERT(rc == 0 || xs_errmsg()[0], "(%s: no detail)", what);
			T_EQ(our_mappings(), 0);
		}
}

static void hostile_joins(void)
{
	int cases = 0;

	for (int fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++)
		for (int kind = 0; kind < 2; kind++) {
			const struct xs_shaq_fmt *f = xs_shaq_fmt_get((enum xs_shaq_format)fmt);
			enum xs_shaq_format F = (enum xs_shaq_format)fmt;
			enum xs_shaq_kind K = (enum xs_shaq_kind)kind;
			static const uint64_t magics[] = { 0, 0x0123456789abcdefull, ~0ull };
			static const uint32_t versions[] = { 0x00010000, 0x00020001, 0x00030003,
							     0xffffffffu, 0x00040000 };
			uint32_t masks[] = { 2 * CAP - 1, CAP / 2 - 1, 0, 0xffffffffu };
			int fd;

			for (size_t i = 0; i < 4; i++, cases++) {
				fd = valid_file(F, K);
				put64(fd, 0, i < 3 ? magics[i] : f->magic[!kind]);
				expect_join(fd, F, K, -XS_EQ_MAGIC, "wrong magic");
				close(fd);
			}
			for (size_t i = 0; i < 6; i++, cases++) {
				fd = valid_file(F, K);
				put32(fd, 8, i < 5 ? versions[i]
						   : xs_shaq_fmt_get(fmt == XS_SHAQ_2_0 ? XS_SHAQ_3_0
										      : XS_SHAQ_2_0)->version);
				expect_join(fd, F, K, -XS_EQ_VERSION, i < 5 ? "version" : "other format");
				close(fd);
			}
			for (size_t i = 0; i < 4; i++, cases++) {
				fd = valid_file(F, K);
				put32(fd, 12, masks[i]);
				expect_join(fd, F, K, -XS_EQ_SIZE_MISMATCH, "mask");
				close(fd);
			}
			/* sizes: too small for the header; header only; grown to twice */
			fd = valid_file(F, K);
			T_EQ(ftruncate(fd, 10), 0);
			expect_join(fd, F, K, -XS_EQ_TOO_SMALL, "10-byte file");
			T_EQ(ftruncate(fd, 0), 0);
			expect_join(fd, F, K, -XS_EQ_TOO_SMALL, "empty file");
			close(fd);
			fd = valid_file(F, K);
			T_EQ(ftruncate(fd, f->header_size[kind]), 0);
			expect_join(fd, F, K, -XS_EQ_TOO_SMALL, "header-only file");
			T_EQ(ftruncate(fd, (off_t)fsize(F, K) + CAP * ESZ), 0);
			expect_join(fd, F, K, -XS_EQ_SIZE_MISMATCH, "grown file");
			close(fd);
			cases += 4;
			/* cursors */
			if (K == XS_SHAQ_SPSC) {
				static const uint64_t wr[][2] = { { CAP + 1, 0 }, { 0, 1 }, { ~0ull, 5 } };

				for (size_t i = 0; i < 3; i++, cases++) {
					fd = valid_file(F, K);
					put64(fd, f->spsc_write, wr[i][0]);
					put64(fd, f->spsc_read, wr[i][1]);
					expect_join(fd, F, K, -XS_EQ_CORRUPT, "spsc cursors");
					close(fd);
				}
			} else {
				/* {c_rel, c_res, p_pub, p_res}: each breaks one link of the chain */
				static const uint64_t c[][4] = {
					{ 5, 4, 5, 5 },            /* reservation behind release */
					{ 0, 5, 4, 5 },            /* publication behind consumer reservation */
					{ 0, 0, 5, 4 },            /* producer reservation behind publication */
					{ 0, 0, 0, CAP + 1 },      /* more than the capacity in flight */
					{ 0, 0, 1ull << 63, 1ull << 63 }, /* far away */
				};

				for (size_t i = 0; i < 5; i++, cases++) {
					fd = valid_file(F, K);
					put64(fd, f->mpmc_cons_rel, c[i][0]);
					put64(fd, f->mpmc_cons_res, c[i][1]);
					put64(fd, f->mpmc_prod_pub, c[i][2]);
					put64(fd, f->mpmc_prod_res, c[i][3]);
					expect_join(fd, F, K, -XS_EQ_CORRUPT, "mpmc cursors");
					close(fd);
				}
				/* the window edges are legal: CAP in flight, wrapping counters */
				fd = valid_file(F, K);
				put64(fd, f->mpmc_cons_rel, ~0ull - 2);
				put64(fd, f->mpmc_cons_res, ~0ull - 1);
				put64(fd, f->mpmc_prod_pub, ~0ull);
				put64(fd, f->mpmc_prod_res, ~0ull - 2 + CAP);
				{
					struct xs_mpmc q;

					T_OK(xs_mpmc_join(&q, fd, ESZ, 8, F, XS_MPMC_CONSUMER));
					xs_mpmc_close(&q);
				}
				close(fd);
			}
		}
	printf("hostile joins: %d cases, each refused with its error, nothing left mapped\n", cases);
}

/* ------------------------------------------------------------ running */

struct mq {
	uint8_t *mem;
	struct xs_mpmc p, p2, c, c2;
};

static void mq_open(struct mq *m, enum xs_shaq_format fmt)
{
	size_t size = fsize(fmt, XS_SHAQ_MPMC);

	m->mem = aligned_alloc(4096, 4096);
	T_ASSERT(m->mem != NULL);
	memset(m->mem, 0, 4096);
	T_OK(xs_mpmc_attach_mem(&m->p, m->mem, size, ESZ, 8, fmt, XS_MPMC_PRODUCER, 1));
	T_OK(xs_mpmc_attach_mem(&m->p2, m->mem, size, ESZ, 8, fmt, XS_MPMC_PRODUCER, 0));
	T_OK(xs_mpmc_attach_mem(&m->c, m->mem, size, ESZ, 8, fmt, XS_MPMC_CONSUMER, 0));
	T_OK(xs_mpmc_attach_mem(&m->c2, m->mem, size, ESZ, 8, fmt, XS_MPMC_CONSUMER, 0));
}

static uint64_t *cur(struct mq *m, uint32_t off)
{
	return (uint64_t *)(void *)(m->mem + off);
}

static void expect_dead(struct xs_mpmc *q, const char *what)
{
	struct elem16 e = { 7, 7 }, out[4];
	uint64_t pos, before[4];
	uint32_t n;

	T_ASSERT(strstr(xs_errmsg(), "mpmc") != NULL, "(%s: message '%s')", what, xs_errmsg());
	for (int i = 0; i < 4; i++)
		before[i] = __atomic_load_n((uint64_t *)(void *)(q->base + 64 + 64 * i), __ATOMIC_RELAXED);
	T_ERR(xs_mpmc_error(q), -XS_EQ_CORRUPT);
	if (q->role == XS_MPMC_PRODUCER) {
		T_ERR(xs_mpmc_try_push(q, &e), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_push_n(q, out, 2), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_reserve_write(q, 1, &pos), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_publish(q), -XS_EQ_CORRUPT);
	} else {
		T_ERR(xs_mpmc_try_pop(q, &e), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_pop_n(q, out, 4), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_reserve_read(q, 1, &pos, &n), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_release(q), -XS_EQ_CORRUPT);
		T_ERR(xs_mpmc_pop_block(q, &e, 1000000), -XS_EQ_CORRUPT);
	}
	T_ERR(xs_mpmc_flush(q), -XS_EQ_CORRUPT);
	T_ERR(xs_mpmc_recover(q), -XS_EQ_CORRUPT);
	for (int i = 0; i < 4; i++) /* nothing stored */
		T_EQ(__atomic_load_n((uint64_t *)(void *)(q->base + 64 + 64 * i), __ATOMIC_RELAXED),
		     before[i]);
}

static void push(struct xs_mpmc *p, uint64_t k)
{
	struct elem16 e = { k, ~k };

	T_OK(xs_mpmc_try_push(p, &e));
}

static void pop_expect(struct xs_mpmc *c, uint64_t k)
{
	struct elem16 e;

	T_OK(xs_mpmc_try_pop(c, &e));
	T_EQ(e.a, k);
	T_EQ(e.b, ~k);
}

static void hostile_running(void)
{
	for (int fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++) {
		const struct xs_shaq_fmt *f = xs_shaq_fmt_get((enum xs_shaq_format)fmt);
		struct mq m;
		struct elem16 e = { 1, 2 };
		uint64_t pos, r;
		uint32_t n;

		/* producer: consumer_release ahead of producer_reservation */
		mq_open(&m, (enum xs_shaq_format)fmt);
		push(&m.p, 1);
		*cur(&m, f->mpmc_cons_rel) = 5;
		T_ERR(xs_mpmc_try_push(&m.p, &e), -XS_EQ_CORRUPT);
		expect_dead(&m.p, "release ahead");
		/* the other producer and the consumer are hit too, each with its error */
		T_ERR(xs_mpmc_try_push(&m.p2, &e), -XS_EQ_CORRUPT);
		free(m.mem);

		/* producer: consumer_release more than the capacity behind */
		mq_open(&m, (enum xs_shaq_format)fmt);
		*cur(&m, f->mpmc_prod_res) = *cur(&m, f->mpmc_prod_pub) = 100;
		*cur(&m, f->mpmc_cons_res) = *cur(&m, f->mpmc_cons_rel) = 100 - CAP - 1;
		T_ERR(xs_mpmc_reserve_write(&m.p, 1, &pos), -XS_EQ_CORRUPT);
		expect_dead(&m.p, "release behind");
		/* consumer: publication more than the capacity ahead */
		T_ERR(xs_mpmc_try_pop(&m.c, &e), -XS_EQ_CORRUPT);
		expect_dead(&m.c, "publication ahead");
		free(m.mem);

		/* consumer: publication behind the consumer reservation */
		mq_open(&m, (enum xs_shaq_format)fmt);
		push(&m.p, 1);
		push(&m.p, 2);
		pop_expect(&m.c, 1);
		*cur(&m, f->mpmc_prod_pub) = 0;
		T_ERR(xs_mpmc_reserve_read(&m.c, 4, &pos, &n), -XS_EQ_CORRUPT);
		expect_dead(&m.c, "publication behind");
		free(m.mem);

		/* producer waiting for its turn sees the publication jump past it */
		mq_open(&m, (enum xs_shaq_format)fmt);
		T_OK(xs_mpmc_reserve_write(&m.p, 2, &pos));
		T_OK(xs_mpmc_reserve_write(&m.p2, 1, &r));
		T_EQ(r, pos + 2);
		*cur(&m, f->mpmc_prod_pub) = r + 3;
		T_ERR(xs_mpmc_publish(&m.p2), -XS_EQ_CORRUPT);
		expect_dead(&m.p2, "publication past our reservation");
		free(m.mem);

		/* consumer waiting for its turn sees the release jump past it */
		mq_open(&m, (enum xs_shaq_format)fmt);
		push(&m.p, 1);
		push(&m.p, 2);
		T_OK(xs_mpmc_reserve_read(&m.c, 1, &pos, &n));
		T_OK(xs_mpmc_reserve_read(&m.c2, 1, &r, &n));
		*cur(&m, f->mpmc_cons_rel) = r + 5;
		T_ERR(xs_mpmc_release(&m.c2), -XS_EQ_CORRUPT);
		expect_dead(&m.c2, "release past our reservation");
		free(m.mem);

		/* a stale view is a retry (then "empty"), an unmoved one is corrupt */
		mq_open(&m, (enum xs_shaq_format)fmt);
		push(&m.p, 1);
		r = *cur(&m, f->mpmc_cons_res);
		T_EQ(xs__mpmc_window(&m.c, r - 1, r + 100, 0), 0);
		T_ERR(xs__mpmc_window(&m.c, r - 1, r + 100, XS_MPMC_RETRY_MAX - 1), -EAGAIN);
		T_EQ(xs_mpmc_error(&m.c), 0);
		pop_expect(&m.c, 1);
		r = *cur(&m, f->mpmc_cons_rel);
		T_EQ(xs__mpmc_window(&m.p, r + 1, r + 100, 0), 0);
		T_ERR(xs__mpmc_window(&m.p, r, r + 100, 0), -XS_EQ_CORRUPT);
		free(m.mem);

		/* wrong role, open reservations */
		mq_open(&m, (enum xs_shaq_format)fmt);
		T_ERR(xs_mpmc_try_pop(&m.p, &e), -XS_EQ_ROLE);
		T_ERR(xs_mpmc_try_push(&m.c, &e), -XS_EQ_ROLE);
		T_ERR(xs_mpmc_recover_lossy(&m.p), -XS_EQ_ROLE);
		T_OK(xs_mpmc_reserve_write(&m.p, 1, &pos));
		T_ERR(xs_mpmc_try_push(&m.p, &e), -EBUSY);
		T_ERR(xs_mpmc_reserve_write(&m.p, 0, &pos), -EBUSY);
		T_OK(xs_mpmc_publish(&m.p));
		T_ERR(xs_mpmc_reserve_write(&m.p, 0, &pos), -EINVAL);
		T_ERR(xs_mpmc_reserve_write(&m.p, CAP + 1, &pos), -EINVAL);
		T_ERR(xs_mpmc_push_n(&m.p, &e, CAP + 1), -EINVAL);
		T_OK(xs_mpmc_publish(&m.p)); /* nothing open: nothing to do */
		free(m.mem);
	}
	printf("hostile peers while running: each cursor outside its window is a sticky error\n");
}

static void stalls(void)
{
	for (int fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++) {
		struct mq m;
		struct elem16 e = { 9, ~9ull };
		uint64_t pos, t0;
		uint32_t n;

		/* a producer that reserved and does not publish (yet) */
		mq_open(&m, (enum xs_shaq_format)fmt);
		xs_mpmc_set_stall_timeout(&m.p2, 20000000ull);
		T_OK(xs_mpmc_reserve_write(&m.p, 1, &pos));
		memcpy(xs_mpmc_slot(&m.p, pos), &(struct elem16){ 8, ~8ull }, sizeof(e));
		t0 = t_now_ns();
		T_OK(xs_mpmc_try_push(&m.p2, &e)); /* taken; its publication is outstanding */
		T_ASSERT(t_now_ns() - t0 >= 20000000ull);
		T_EQ(m.p2.pend, XS_MPMC_PEND_OUT);
		T_ASSERT(strstr(xs_errmsg(), "stuck"), "(%s)", xs_errmsg());
		T_ERR(xs_mpmc_try_push(&m.p2, &e), -XS_EQ_STALLED); /* nothing taken */
		T_ERR(xs_mpmc_flush(&m.p2), -XS_EQ_STALLED);
		T_ERR(xs_mpmc_try_pop(&m.c, &e), -EAGAIN); /* nothing published yet */
		T_OK(xs_mpmc_publish(&m.p));
		T_OK(xs_mpmc_flush(&m.p2));
		T_EQ(m.p2.pend, XS_MPMC_PEND_NONE);
		T_EQ(m.p2.stalls, 3);
		pop_expect(&m.c, 8);
		pop_expect(&m.c, 9);
		T_ERR(xs_mpmc_try_pop(&m.c, &e), -EAGAIN);

		/* it dies instead: the survivor recovers (it is the only producer left) */
		T_OK(xs_mpmc_reserve_write(&m.p, 2, &pos));
		xs_mpmc_close(&m.p);
		T_OK(xs_mpmc_try_push(&m.p2, &e));
		T_EQ(xs_mpmc_recover(&m.p2), 3); /* 2 of the dead one, 1 of its own */
		for (int k = 0; k < CAP; k++)
			push(&m.p2, (uint64_t)k);
		T_ERR(xs_mpmc_try_push(&m.p2, &e), -EAGAIN);
		for (int k = 0; k < CAP; k++)
			pop_expect(&m.c, (uint64_t)k);

		/* a consumer that reserved and died: the other stalls, then skips (lossy) */
		push(&m.p2, 100);
		push(&m.p2, 101);
		T_OK(xs_mpmc_reserve_read(&m.c, 1, &pos, &n));
		xs_mpmc_close(&m.c);
		xs_mpmc_set_stall_timeout(&m.c2, 20000000ull);
		pop_expect(&m.c2, 101); /* read; its release is outstanding */
		T_EQ(m.c2.pend, XS_MPMC_PEND_OUT);
		T_ERR(xs_mpmc_try_pop(&m.c2, &e), -XS_EQ_STALLED);
		T_EQ(xs_mpmc_recover_lossy(&m.c2), 2);
		for (int k = 0; k < CAP; k++) /* the whole ring is free again */
			push(&m.p2, (uint64_t)k);
		for (int k = 0; k < CAP; k++)
			pop_expect(&m.c2, (uint64_t)k);

		/* consumer recovery that re-reads instead */
		push(&m.p2, 200);
		T_OK(xs_mpmc_reserve_read(&m.c2, 1, &pos, &n)); /* then "crashes" */
		m.c2.pend = XS_MPMC_PEND_NONE;
		T_EQ(xs_mpmc_recover(&m.c2), 1);
		pop_expect(&m.c2, 200);
		xs_mpmc_close(&m.p2);
		xs_mpmc_close(&m.c2);
		free(m.mem);
	}
	printf("stalls: bounded waits, in-order completion, recovery after a dead peer\n");
}

static void spsc_running(void)
{
	for (int fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++) {
		size_t size = fsize((enum xs_shaq_format)fmt, XS_SHAQ_SPSC);
		uint8_t *mem = aligned_alloc(4096, 4096);
		struct xs_spsc p, q;
		struct elem16 e = { 1, 2 };

		T_ASSERT(mem != NULL);
		memset(mem, 0, 4096);
		T_OK(xs_spsc_attach_mem(&p, mem, size, ESZ, 8, (enum xs_shaq_format)fmt,
					XS_SPSC_PRODUCER, 1));
		T_OK(xs_spsc_attach_mem(&q, mem, size, ESZ, 8, (enum xs_shaq_format)fmt,
					XS_SPSC_CONSUMER, 0));
		T_OK(xs_spsc_try_push(&p, &e));
		__atomic_store_n(p.wr, 1 + CAP + 1, __ATOMIC_RELEASE); /* the producer ran away */
		T_ERR(xs_spsc_try_pop(&q, &e), -XS_EQ_CORRUPT);
		__atomic_store_n(p.wr, 1, __ATOMIC_RELEASE);
		for (int i = 0; i < CAP; i++)
			(void)xs_spsc_try_push(&p, &e);
		__atomic_store_n(q.rd, 1000, __ATOMIC_RELEASE); /* read past write */
		T_ERR(xs_spsc_try_push(&p, &e), -XS_EQ_CORRUPT);
		T_ASSERT(strstr(xs_errmsg(), "read"), "(%s)", xs_errmsg());
		free(mem);
	}
}

int main(void)
{
	int fds = t_fd_count();

	hostile_joins();
	hostile_running();
	spsc_running();
	stalls();
	T_EQ(t_fd_count(), fds);
	T_EQ(our_mappings(), 0);
	return 0;
}
