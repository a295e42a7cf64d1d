/* SPDX-License-Identifier: Apache-2.0 */
/*
 * futex_bench: what shaq format 3.0's futex waiting costs and gives.
 *
 * Latency rows (publish -> the blocked consumer runs, one way, ns):
 *   eventfd_wake      floor: the consumer blocks in read(eventfd); the
 *                     producer stamps the clock and write()s 1
 *   futex_spsc_wake   the consumer sleeps in xs_spsc_wait_block() (format
 *                     3.0: waiters += 1, fence, FUTEX_WAIT on the low half
 *                     of `write`); the producer stamps the clock and
 *                     publishes (xs_spsc_try_push: Release store, fence,
 *                     waiters load, FUTEX_WAKE)
 *   futex_mpmc_wake   the same through the MPMC queue (xs_mpmc_pop_block /
 *                     xs_mpmc_try_push)
 * Each sample starts only once the consumer is registered as a waiter (or
 * about to read the eventfd) and a settle time has passed, so it measures a
 * real wake from sleep, not the spin phase. Producer and consumer are
 * pinned to two CPUs; the stamp travels in the message (one-way: both ends
 * read the same clock, the invariant TSC when there is one). The rows are
 * measured interleaved, round after round; each futex row reports the
 * median over the rounds of its p50 over the eventfd p50 of the same round.
 *
 * Throughput rows (the producer's side, one thread, no consumer running;
 * the queue is drained between bursts, outside the timing):
 *   spsc2_publish            format 2.0: a Release store per message
 *   spsc3_publish            format 3.0, nobody asleep: + SeqCst fence +
 *                            waiters load per message (floor: spsc2_publish)
 *   spsc3_publish_sleeper    format 3.0 with a consumer registered as
 *                            asleep: + FUTEX_WAKE per message
 * and streaming between the two CPUs (a publication per message, the
 * consumer polling with xs_spsc_wait(), never asleep), where the fence
 * waits for the producer's store to own its line:
 *   spsc2_stream, spsc3_stream (floor: spsc2_stream)
 * Nothing is asserted.
 *
 * Usage: futex_bench [--quick] [harness options: --iters N, --duration S,
 *                    --format json, --only PATTERN, --cpus LIST ...]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "harness.h"
#include "xsched/mpmc.h"
#include "xsched/spsc.h"

#define SETTLE_NS 30000.0 /* after registering, before the publication */
#define ROUNDS 5

enum kind { K_EVENTFD, K_SPSC, K_MPMC, K_N };

static const char *const kname[K_N] = { "eventfd_wake", "futex_spsc_wake", "futex_mpmc_wake" };

struct stamp {
	uint64_t t0, seq;
};

struct lat {
	enum kind k;
	int cpu[2];
	uint64_t n;
	uint8_t *mem;
	struct xs_spsc sp, sc;
	struct xs_mpmc mp, mc;
	int efd;
	uint64_t ev_t0;      /* eventfd: the stamp (atomic) */
	uint64_t armed;      /* eventfd: consumer about to read (atomic, = sample + 1) */
	uint64_t ack;        /* samples the consumer recorded (atomic) */
	struct bench_hist *h;
	struct bench_barrier bar;
	int err;
};

static void *lat_consumer(void *arg)
{
	struct lat *l = arg;

	if (l->cpu[1] >= 0)
		bench_pin_self(l->cpu[1]);
	bench_barrier_wait(&l->bar);
	for (uint64_t i = 0; i < l->n; i++) {
		struct stamp s = { 0, 0 };
		uint64_t t1, v;

		if (l->k == K_EVENTFD) {
			__atomic_store_n(&l->armed, i + 1, __ATOMIC_RELEASE);
			if (read(l->efd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
				l->err = -errno;
				return NULL;
			}
			t1 = bench_ticks();
			s.t0 = __atomic_load_n(&l->ev_t0, __ATOMIC_ACQUIRE);
			s.seq = i;
		} else {
			int rc = l->k == K_SPSC ? xs_spsc_pop_block(&l->sc, &s, 5000000000ull)
						: xs_mpmc_pop_block(&l->mc, &s, 5000000000ull);

			t1 = bench_ticks();
			if (rc) {
				l->err = rc;
				return NULL;
			}
		}
		if (s.seq != i)
			l->err = -EPROTO;
		bench_hist_record(l->h, t1 > s.t0 ? t1 - s.t0 : 0);
		__atomic_store_n(&l->ack, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Wait until the consumer of sample @p i is registered to sleep. */
static int wait_asleep(struct lat *l, uint64_t i)
{
	uint64_t give_up = bench_deadline(5.0);

	for (;;) {
		int ready;

		if (l->k == K_EVENTFD)
			ready = __atomic_load_n(&l->armed, __ATOMIC_ACQUIRE) == i + 1;
		else if (l->k == K_SPSC)
			ready = __atomic_load_n(l->sc.waiters, __ATOMIC_ACQUIRE) != 0;
		else
			ready = __atomic_load_n(l->mc.waiters, __ATOMIC_ACQUIRE) != 0;
		if (ready)
			return 0;
		if (bench_expired(give_up) || l->err)
			return -ETIMEDOUT;
		bench_relax();
	}
}

static int lat_run(struct lat *l)
{
	pthread_t th;
	int rc = 0;

	l->ack = l->armed = 0;
	l->err = 0;
	bench_barrier_init(&l->bar, 2);
	if (pthread_create(&th, NULL, lat_consumer, l))
		return -EAGAIN;
	if (l->cpu[0] >= 0)
		bench_pin_self(l->cpu[0]);
	bench_barrier_wait(&l->bar);
	for (uint64_t i = 0; i < l->n && !rc; i++) {
		struct stamp s = { 0, i };
		uint64_t settle;

		if ((rc = wait_asleep(l, i)))
			break;
		settle = bench_ticks() + bench_ns_to_ticks(SETTLE_NS);
		while (bench_ticks() < settle)
			bench_relax();
		s.t0 = bench_ticks();
		if (l->k == K_EVENTFD) {
			uint64_t one = 1;

			__atomic_store_n(&l->ev_t0, s.t0, __ATOMIC_RELEASE);
			if (write(l->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
				rc = -errno;
		} else if (l->k == K_SPSC) {
			rc = xs_spsc_try_push(&l->sp, &s);
		} else {
			rc = xs_mpmc_try_push(&l->mp, &s);
		}
		while (!rc && __atomic_load_n(&l->ack, __ATOMIC_ACQUIRE) < i + 1 && !l->err)
			bench_relax();
	}
	if (rc) /* let a blocked consumer go */
		l->n = 0;
	pthread_join(th, NULL);
	return rc ? rc : l->err;
}

/* --------------------------------------------------------- publish cost */

/* Push @p n messages from one thread, draining (untimed) every 512.
 * @return msgs/s or a negative error. */
static double publish_rate(enum xs_shaq_format fmt, int sleeper, uint64_t n)
{
	uint8_t *mem;
	size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_SPSC, 1024, 16, 8);
	struct xs_spsc p, c;
	uint64_t ticks = 0, done = 0, m[2] = { 0, 0 };
	int rc;

	if (posix_memalign((void **)&mem, 4096, size))
		return -ENOMEM;
	memset(mem, 0, size);
	if ((rc = xs_spsc_attach_mem(&p, mem, size, 16, 8, fmt, XS_SPSC_PRODUCER, 1)) ||
	    (rc = xs_spsc_attach_mem(&c, mem, size, 16, 8, fmt, XS_SPSC_CONSUMER, 0))) {
		free(mem);
		return rc;
	}
	if (sleeper) /* as if a consumer slept: every publication wakes */
		__atomic_store_n(c.waiters, 1, __ATOMIC_RELEASE);
	while (done < n) {
		uint64_t t0 = bench_ticks(), k;

		for (k = 0; k < 512 && done + k < n; k++) {
			m[0] = done + k;
			xs_spsc_try_push(&p, m);
		}
		ticks += bench_ticks() - t0;
		done += k;
		while (xs_spsc_try_pop(&c, m) == 0)
			;
	}
	if (sleeper)
		__atomic_store_n(c.waiters, 0, __ATOMIC_RELEASE);
	free(mem);
	return (double)n / (bench_ticks_to_ns((double)ticks) / 1e9);
}

/* ------------------------------------------------------------- streaming */

struct stream {
	struct xs_spsc p, c;
	uint64_t n;
	int cpu[2];
	struct bench_barrier bar;
	uint64_t t0, t1;
};

static void *stream_consumer(void *arg)
{
	struct stream *st = arg;

	if (st->cpu[1] >= 0)
		bench_pin_self(st->cpu[1]);
	bench_barrier_wait(&st->bar);
	for (uint64_t i = 0; i < st->n; i++) {
		if (!xs_spsc_wait(&st->c, 0))
			break; /* corrupt: cannot happen */
		xs_spsc_finalize(&st->c);
	}
	st->t1 = bench_ticks();
	return NULL;
}

/* Stream @p n messages between the two CPUs. @return msgs/s or a negative error. */
static double stream_rate(enum xs_shaq_format fmt, uint64_t n, const int *cpu)
{
	size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_SPSC, 1024, 16, 8);
	struct stream st;
	uint64_t m[2] = { 0, 0 };
	pthread_t th;
	uint8_t *mem;
	int rc;

	if (posix_memalign((void **)&mem, 4096, size))
		return -ENOMEM;
	memset(mem, 0, size);
	memset(&st, 0, sizeof(st));
	st.n = n;
	st.cpu[0] = cpu[0];
	st.cpu[1] = cpu[1];
	if ((rc = xs_spsc_attach_mem(&st.p, mem, size, 16, 8, fmt, XS_SPSC_PRODUCER, 1)) ||
	    (rc = xs_spsc_attach_mem(&st.c, mem, size, 16, 8, fmt, XS_SPSC_CONSUMER, 0))) {
		free(mem);
		return rc;
	}
	bench_barrier_init(&st.bar, 2);
	if (pthread_create(&th, NULL, stream_consumer, &st)) {
		free(mem);
		return -EAGAIN;
	}
	if (cpu[0] >= 0)
		bench_pin_self(cpu[0]);
	bench_barrier_wait(&st.bar);
	st.t0 = bench_ticks();
	for (uint64_t i = 0; i < n; i++) {
		m[0] = i;
		while (xs_spsc_try_push(&st.p, m) == -EAGAIN)
			bench_relax();
	}
	pthread_join(th, NULL);
	free(mem);
	return (double)n / (bench_ticks_to_ns((double)(st.t1 - st.t0)) / 1e9);
}

/* ------------------------------------------------------------------ main */

static int on_extra(void *ctx, int opt, const char *arg)
{
	(void)arg;
	if (opt == 'Q') {
		*(int *)ctx = 1;
		return 0;
	}
	return -1;
}

static double dmedian(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return n ? (n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

int main(int argc, char **argv)
{
	static const struct option extra[] = { { "quick", no_argument, NULL, 'Q' },
					       { NULL, 0, NULL, 0 } };
	static const char *const pub[5] = { "spsc2_publish", "spsc3_publish",
					    "spsc3_publish_sleeper", "spsc2_stream", "spsc3_stream" };
	const char *all[K_N + 5];
	struct bench_hist h[K_N], round;
	struct bench_report rep;
	struct bench_opts o;
	struct lat l;
	double p50[K_N][ROUNDS], ratio[K_N][ROUNDS];
	char why[160], hdr[200];
	int quick = 0, rc, rounds = ROUNDS, per, cpu[2] = { -1, -1 };
	const char *placement = "core";

	memset(p50, 0, sizeof(p50));
	memset(ratio, 0, sizeof(ratio));
	for (int k = 0; k < K_N; k++)
		all[k] = kname[k];
	for (int i = 0; i < 5; i++)
		all[K_N + i] = pub[i];
	bench_opts_defaults(&o);
	o.iters = 2000;
	rc = bench_opts_parse(&o, argc, argv, extra, on_extra, &quick);
	if (rc == 1) {
		printf("usage: %s [--quick] [options]\n"
		       "  --quick   a few samples per row (CI smoke test)\n",
		       argv[0]);
		bench_opts_usage(stdout);
		return 0;
	}
	if (rc < 0 || bench_only_check(&o, all, K_N + 5) < 0)
		return 2;
	bench_clock_init(o.clock_force_monotonic);
	if (quick)
		rounds = 2;
	per = quick ? 20 : (int)(o.iters / (uint64_t)rounds > 0 ? o.iters / (uint64_t)rounds : 1);
	snprintf(hdr, sizeof(hdr),
		 "wake latency publish -> blocked consumer running (one way), %d rounds x %d "
		 "samples; settle %.0f us before each publication",
		 rounds, per, SETTLE_NS / 1000);
	if ((rc = bench_report_begin(&rep, &o, "futex_bench", hdr)) < 0) {
		fprintf(stderr, "futex_bench: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}
	if (bench_plan(&rep.topo, "core", cpu, why, sizeof(why)) < 0) {
		cpu[0] = cpu[1] = -1;
		placement = "unpinned";
		bench_report_note(&rep, placement, NULL, 0, "unpinned: %s", why);
	}
	for (int k = 0; k < K_N; k++)
		if (bench_hist_init(&h[k]) < 0)
			return 1;
	if (bench_hist_init(&round) < 0)
		return 1;

	/* ---- latency, interleaved */
	memset(&l, 0, sizeof(l));
	l.cpu[0] = cpu[0];
	l.cpu[1] = cpu[1];
	l.h = &round;
	l.efd = eventfd(0, EFD_CLOEXEC);
	if (posix_memalign((void **)&l.mem, 4096, 2 * 4096) || l.efd < 0)
		return 1;
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < K_N; k++) {
			if (!bench_selected(&o, kname[k]) &&
			    !(k == K_EVENTFD && (bench_selected(&o, kname[1]) ||
						 bench_selected(&o, kname[2]))))
				continue;
			bench_progress(&rep, r * K_N + k + 1, rounds * K_N, "%s round %d", kname[k],
				       r + 1);
			memset(l.mem, 0, 2 * 4096);
			if (k == K_SPSC) {
				xs_spsc_attach_mem(&l.sp, l.mem, 1024, 16, 8, XS_SHAQ_3_0,
						   XS_SPSC_PRODUCER, 1);
				xs_spsc_attach_mem(&l.sc, l.mem, 1024, 16, 8, XS_SHAQ_3_0,
						   XS_SPSC_CONSUMER, 0);
			} else if (k == K_MPMC) {
				xs_mpmc_attach_mem(&l.mp, l.mem, 1024, 16, 8, XS_SHAQ_3_0,
						   XS_MPMC_PRODUCER, 1);
				xs_mpmc_attach_mem(&l.mc, l.mem, 1024, 16, 8, XS_SHAQ_3_0,
						   XS_MPMC_CONSUMER, 0);
			}
			l.k = (enum kind)k;
			l.n = (uint64_t)per;
			bench_hist_reset(&round);
			if ((rc = lat_run(&l)) < 0) {
				fprintf(stderr, "futex_bench: %s: %s (%s)\n", kname[k], xs_strerror(rc),
					xs_errmsg());
				return 1;
			}
			p50[k][r] = bench_ticks_to_ns(bench_hist_percentile(&round, 50));
			bench_hist_merge(&h[k], &round);
		}
	bench_progress(&rep, 0, 0, NULL);
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < K_N; k++)
			ratio[k][r] = p50[K_EVENTFD][r] > 0 ? p50[k][r] / p50[K_EVENTFD][r] : 0;
	bench_report_section(&rep, "wake latency: publish -> blocked consumer running (ns)");
	{
		double f[ROUNDS], fmed;

		memcpy(f, p50[K_EVENTFD], sizeof(f));
		fmed = dmedian(f, rounds);
		for (int k = 0; k < K_N; k++) {
			struct bench_row row;
			struct bench_ratio rt;

			if (!bench_selected(&o, kname[k]))
				continue;
			bench_row_latency(&row, kname[k], placement, cpu, cpu[0] >= 0 ? 2 : 0, &h[k]);
			bench_ratio_of(&rt, ratio[k], rounds);
			bench_row_ratio(&row, 0, NULL, NULL, kname[K_EVENTFD], fmed, &rt, 0);
			bench_row_wait(&row, BENCH_WAIT_BLOCK);
			bench_row_num(&row, "settle_ns", SETTLE_NS);
			bench_report_row(&rep, &row);
		}
	}

	/* ---- producer cost of the wake check, interleaved */
	{
		uint64_t n = quick ? 20000 : 2000000;
		double rate[5][ROUNDS], rr[5][ROUNDS];
		int sel = 0;

		for (int i = 0; i < 3; i++)
			sel |= bench_selected(&o, pub[i]);
		if (sel) {
			bench_report_section(&rep, "producer: publications per second, one thread");
			if (cpu[0] >= 0)
				bench_pin_self(cpu[0]);
			for (int r = 0; r < rounds; r++) {
				rate[0][r] = publish_rate(XS_SHAQ_2_0, 0, n);
				rate[1][r] = publish_rate(XS_SHAQ_3_0, 0, n);
				rate[2][r] = publish_rate(XS_SHAQ_3_0, 1, quick ? n : n / 20);
				for (int i = 0; i < 3; i++)
					rr[i][r] = rate[0][r] > 0 ? rate[i][r] / rate[0][r] : 0;
			}
			for (int i = 0; i < 3; i++) {
				struct bench_row row;
				struct bench_ratio rt;
				double v[ROUNDS], f[ROUNDS];

				if (!bench_selected(&o, pub[i]))
					continue;
				memcpy(v, rate[i], sizeof(v));
				memcpy(f, rate[0], sizeof(f));
				bench_row_throughput(&row, pub[i], "one_cpu", cpu, cpu[0] >= 0 ? 1 : 0,
						     dmedian(v, rounds));
				bench_ratio_of(&rt, rr[i], rounds);
				bench_row_ratio(&row, 0, NULL, NULL, pub[0], dmedian(f, rounds), &rt, 0);
				bench_row_wait(&row, BENCH_WAIT_NONE); /* producer only: no receiver runs */
				bench_report_row(&rep, &row);
			}
		}
	}
	/* ---- streaming between the CPUs, interleaved */
	if (bench_selected(&o, pub[3]) || bench_selected(&o, pub[4])) {
		uint64_t n = quick ? 20000 : 4000000;
		double rate[2][ROUNDS], rr[2][ROUNDS];

		bench_report_section(&rep, "stream, a publication per message (msgs/s)");
		for (int r = 0; r < rounds; r++) {
			for (int i = 0; i < 2; i++) {
				bench_progress(&rep, r * 2 + i + 1, rounds * 2, "%s", pub[3 + i]);
				rate[i][r] = stream_rate(i ? XS_SHAQ_3_0 : XS_SHAQ_2_0, n, cpu);
				if (rate[i][r] < 0) {
					fprintf(stderr, "futex_bench: stream: %s\n",
						xs_strerror((int)rate[i][r]));
					return 1;
				}
			}
			for (int i = 0; i < 2; i++)
				rr[i][r] = rate[i][r] / rate[0][r];
		}
		bench_progress(&rep, 0, 0, NULL);
		for (int i = 0; i < 2; i++) {
			struct bench_row row;
			struct bench_ratio rt;
			double v[ROUNDS], f[ROUNDS];

			if (!bench_selected(&o, pub[3 + i]))
				continue;
			memcpy(v, rate[i], sizeof(v));
			memcpy(f, rate[0], sizeof(f));
			bench_row_throughput(&row, pub[3 + i], placement, cpu, cpu[0] >= 0 ? 2 : 0,
					     dmedian(v, rounds));
			bench_ratio_of(&rt, rr[i], rounds);
			bench_row_ratio(&row, 0, NULL, NULL, pub[3], dmedian(f, rounds), &rt, 0);
			bench_row_wait(&row, BENCH_WAIT_PACED); /* xs_spsc_wait() */
			bench_report_row(&rep, &row);
		}
	}
	for (int k = 0; k < K_N; k++)
		bench_hist_free(&h[k]);
	bench_hist_free(&round);
	close(l.efd);
	free(l.mem);
	return bench_report_end(&rep) < 0 ? 1 : 0;
}
