/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mpmc_bench: throughput of the shaq MPMC queue (xsched/mpmc.h, formats 3.0
 * and 2.0) against DPDK's rte_ring in multi-producer / multi-consumer mode,
 * 1 -> 1 and 2 -> 2 threads, one message at a time and in batches of 8.
 *
 * Every row moves the same 24-byte message (the size of bindings 6's
 * PackToCheckWorkerMessage, what agave's check-worker MPMC queues carry)
 * through a ring of 1024 slots, with the same wait loop: a producer that
 * finds the ring full and a consumer that finds it empty call bench_relax()
 * and retry; when a shape has more threads than usable CPUs (2 -> 2 on a
 * 2-CPU machine) every 64th failed try is a sched_yield() instead, for
 * every row of that shape. Batches: push_n / pop_n(8) for
 * xsched, enqueue_bulk / dequeue_burst(8) for rte_ring (both all-or-nothing
 * on the producer side). Consumers check each producer's sequence numbers.
 *
 * The rows of one shape and batch are measured interleaved, round after
 * round (rte_ring, format 3.0, format 2.0, ...), and each xsched row reports
 * the median over the rounds of its ratio to the rte_ring trial of the same
 * round (ratio_to_floor; floor = rte_ring, measured in this run). Without
 * DPDK the format 2.0 row is the floor instead. Nothing is asserted.
 *
 * Usage: mpmc_bench [--rounds N] [--quick] [harness options: --duration S,
 *                   --format json, --only PATTERN, --cpus LIST ...]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "xsched/mpmc.h"

#if defined(MB_HAVE_DPDK)
#include <rte_ring.h>
#include <rte_ring_elem.h>
#endif

#define MSG 24      /* bytes per message */
#define CAP 1024    /* slots */
#define MAXT 4      /* threads per run */

enum impl { IM_DPDK, IM_X3, IM_X2, IM_N };

static const char *const impl_stem[IM_N] = { "rte_ring_mpmc", "xsched_mpmc3", "xsched_mpmc2" };

struct msg {
	uint64_t tag; /* producer << 48 | sequence */
	uint64_t a, b;
};

struct run {
	enum impl im;
	unsigned yield_mask; /* 63: yield every 64 failed tries; 0: never */
	int np, nc, batch;
	const int *cpus;  /* per thread, -1: unpinned */
	uint64_t per;     /* messages per producer */
	uint8_t *mem;     /* xsched queue memory (4096-aligned) */
	size_t size;
	void *ring;       /* struct rte_ring * */
	struct bench_barrier bar;
	uint64_t consumed; /* atomic */
	uint64_t errors;   /* atomic */
};

struct thr {
	struct run *r;
	int id;
	uint64_t t0, t1; /* ticks: after the start barrier, at the end of its loop */
	struct xs_mpmc q;
};

/* The one wait loop of every row. */
BENCH_INLINE void mb_wait(const struct run *r, unsigned *fails)
{
	if (r->yield_mask && (++*fails & r->yield_mask) == 0)
		sched_yield();
	else
		bench_relax();
}

static void *producer(void *arg)
{
	struct thr *t = arg;
	struct run *r = t->r;
	struct msg m[8];
	uint64_t seq = 0;
	unsigned fails = 0;

	if (r->cpus[t->id] >= 0)
		bench_pin_self(r->cpus[t->id]);
	memset(m, 0, sizeof(m));
	bench_barrier_wait(&r->bar);
	t->t0 = bench_ticks();
	while (seq < r->per) {
		uint64_t left = r->per - seq;
		uint32_t k = (uint32_t)(left < (uint64_t)r->batch ? left : (uint64_t)r->batch);
		int ok;

		for (uint32_t i = 0; i < k; i++)
			m[i].tag = (uint64_t)t->id << 48 | (seq + i);
#if defined(MB_HAVE_DPDK)
		if (r->im == IM_DPDK)
			ok = k == 1 ? rte_ring_mp_enqueue_elem(r->ring, m, MSG) == 0
				    : rte_ring_mp_enqueue_bulk_elem(r->ring, m, MSG, k, NULL) == k;
		else
#endif
			ok = (k == 1 ? xs_mpmc_try_push(&t->q, m) : xs_mpmc_push_n(&t->q, m, k)) == 0;
		if (ok) {
			seq += k;
			fails = 0;
		} else {
			mb_wait(r, &fails);
		}
	}
	if (r->im != IM_DPDK)
		while (xs_mpmc_flush(&t->q) == -XS_EQ_STALLED)
			mb_wait(r, &fails);
	t->t1 = bench_ticks();
	return NULL;
}

static void *consumer(void *arg)
{
	struct thr *t = arg;
	struct run *r = t->r;
	uint64_t last[MAXT] = { 0 }, total = r->per * (uint64_t)r->np, errors = 0;
	struct msg m[8];
	unsigned fails = 0;

	if (r->cpus[t->id] >= 0)
		bench_pin_self(r->cpus[t->id]);
	bench_barrier_wait(&r->bar);
	t->t0 = bench_ticks();
	while (__atomic_load_n(&r->consumed, __ATOMIC_RELAXED) < total) {
		int n;

#if defined(MB_HAVE_DPDK)
		if (r->im == IM_DPDK)
			n = r->batch == 1 ? rte_ring_mc_dequeue_elem(r->ring, m, MSG) == 0
					  : (int)rte_ring_mc_dequeue_burst_elem(r->ring, m, MSG,
										(unsigned)r->batch, NULL);
		else
#endif
			n = r->batch == 1 ? xs_mpmc_try_pop(&t->q, m) == 0
					  : xs_mpmc_pop_n(&t->q, m, (uint32_t)r->batch);
		if (n <= 0) {
			mb_wait(r, &fails);
			continue;
		}
		fails = 0;
		for (int i = 0; i < n; i++) {
			unsigned p = (unsigned)(m[i].tag >> 48);
			uint64_t s = m[i].tag & ((1ull << 48) - 1);

			if (p >= MAXT || s + 1 <= last[p])
				errors++;
			else
				last[p] = s + 1;
		}
		__atomic_fetch_add(&r->consumed, (uint64_t)n, __ATOMIC_RELAXED);
	}
	if (r->im != IM_DPDK)
		while (xs_mpmc_flush(&t->q) == -XS_EQ_STALLED)
			mb_wait(r, &fails);
	t->t1 = bench_ticks();
	__atomic_fetch_add(&r->errors, errors, __ATOMIC_RELAXED);
	return NULL;
}

/* Set the queue up empty again. @return 0 or a negative error. */
static int reset(struct run *r)
{
	if (r->im == IM_DPDK) {
#if defined(MB_HAVE_DPDK)
		return rte_ring_init(r->ring, "mb", CAP, 0); /* 0: MP enqueue, MC dequeue */
#else
		return -ENOTSUP;
#endif
	}
	struct xs_mpmc q;
	int rc = xs_mpmc_attach_mem(&q, r->mem, r->size, MSG, 8,
				    r->im == IM_X3 ? XS_SHAQ_3_0 : XS_SHAQ_2_0, XS_MPMC_CONSUMER, 1);

	xs_mpmc_close(&q);
	return rc;
}

/* Move per * np messages. @return seconds from the first thread's start to
 * the last one's end (stamped by the threads themselves: the main thread
 * may not run while they do), or a negative error. */
static double run_once(struct run *r, uint64_t per)
{
	struct thr t[MAXT];
	pthread_t th[MAXT];
	uint64_t t0, t1;
	int n = r->np + r->nc, rc;

	r->per = per;
	r->consumed = 0;
	if ((rc = reset(r)) < 0)
		return rc;
	bench_barrier_init(&r->bar, (unsigned)n);
	for (int i = 0; i < n; i++) {
		t[i].r = r;
		t[i].id = i;
		if (r->im != IM_DPDK) {
			rc = xs_mpmc_attach_mem(&t[i].q, r->mem, r->size, MSG, 8, XS_SHAQ_ANY,
						i < r->np ? XS_MPMC_PRODUCER : XS_MPMC_CONSUMER, 0);
			if (rc < 0)
				return rc;
		}
	}
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, i < r->np ? producer : consumer, &t[i]))
			return -EAGAIN;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	t0 = t[0].t0;
	t1 = t[0].t1;
	for (int i = 1; i < n; i++) {
		t0 = t[i].t0 < t0 ? t[i].t0 : t0;
		t1 = t[i].t1 > t1 ? t[i].t1 : t1;
	}
	for (int i = 0; i < n && r->im != IM_DPDK; i++)
		xs_mpmc_close(&t[i].q);
	return bench_ticks_to_ns((double)(t1 - t0)) / 1e9;
}

struct cfg {
	int rounds;
	int quick;
};

static int on_extra(void *ctx, int opt, const char *arg)
{
	struct cfg *c = ctx;

	switch (opt) {
	case 'R':
		c->rounds = atoi(arg);
		if (c->rounds < 1 || c->rounds > 100) {
			bench_opt_error("--rounds", "'%s': 1..100", arg);
			return -1;
		}
		return 0;
	case 'Q':
		c->quick = 1;
		return 0;
	default:
		return -1;
	}
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++) /* insertion sort: n is small */
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return n ? (n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "rounds", required_argument, NULL, 'R' },
		{ "quick", no_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	static const int shapes[2][2] = { { 1, 1 }, { 2, 2 } };
	static const int batches[2] = { 1, 8 };
	struct cfg c = { .rounds = 5 };
	struct bench_report rep;
	struct bench_opts o;
	struct run r;
	char names[2][2][IM_N][48];
	const char *all[2 * 2 * IM_N];
	int nall = 0, cpus[MAXT], ncpu, rc;
	int have_dpdk = 0;
	enum impl floor_im;
	char hdr[200];

#if defined(MB_HAVE_DPDK)
	have_dpdk = 1;
#endif
	floor_im = have_dpdk ? IM_DPDK : IM_X2;
	for (int s = 0; s < 2; s++)
		for (int b = 0; b < 2; b++)
			for (int i = 0; i < IM_N; i++) {
				snprintf(names[s][b][i], sizeof(names[s][b][i]), "%s_%dp%dc_b%d",
					 impl_stem[i], shapes[s][0], shapes[s][1], batches[b]);
				all[nall++] = names[s][b][i];
			}
	bench_opts_defaults(&o);
	rc = bench_opts_parse(&o, argc, argv, extra, on_extra, &c);
	if (rc == 1) {
		printf("usage: %s [--rounds N] [--quick] [options]\n"
		       "  --rounds N   interleaved rounds per shape and batch (default 5)\n"
		       "  --quick      tiny runs (CI smoke test)\n",
		       argv[0]);
		bench_opts_usage(stdout);
		return 0;
	}
	if (rc < 0 || bench_only_check(&o, all, nall) < 0)
		return 2;
	if (c.quick)
		c.rounds = 2;
	bench_clock_init(o.clock_force_monotonic);
	snprintf(hdr, sizeof(hdr),
		 "MPMC throughput, %d-byte messages, %d slots, %d interleaved rounds; floor: %s", MSG,
		 CAP, c.rounds, have_dpdk ? "rte_ring MP/MC" : "format 2.0 (no DPDK in this build)");
	if ((rc = bench_report_begin(&rep, &o, "mpmc_bench", hdr)) < 0) {
		fprintf(stderr, "mpmc_bench: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}

	memset(&r, 0, sizeof(r));
	r.size = xs_shaq_min_file_size(XS_SHAQ_3_0, XS_SHAQ_MPMC, CAP, MSG, 8);
	if (posix_memalign((void **)&r.mem, 4096, r.size + 4096))
		return 1;
	memset(r.mem, 0, r.size);
#if defined(MB_HAVE_DPDK)
	{
		ssize_t sz = rte_ring_get_memsize_elem(MSG, CAP);

		if (sz < 0 || posix_memalign(&r.ring, 128, ((size_t)sz + 127) / 128 * 128))
			return 1;
		memset(r.ring, 0, (size_t)sz);
	}
#endif
	/* CPUs: the usable ones in turn (producer i and consumer i on different ones) */
	ncpu = rep.topo.ncpus;
	for (int i = 0; i < MAXT; i++)
		cpus[i] = -1;
	if (ncpu >= 2) {
		cpus[0] = rep.topo.cpu[ncpu > 2 ? 1 : 0];
		cpus[1] = rep.topo.cpu[ncpu > 2 ? 2 : 1];
	}
	r.cpus = cpus;

	for (int s = 0; s < 2; s++)
		for (int b = 0; b < 2; b++) {
			double rate[IM_N][100], ratio[IM_N][100];
			uint64_t per;
			int np = shapes[s][0], nc = shapes[s][1], step = s * 2 + b + 1;
			int sel = 0;
			char placement[16];
			int rcpu[MAXT];

			for (int i = 0; i < IM_N; i++)
				sel |= bench_selected(&o, names[s][b][i]) << i;
			if (!sel)
				continue;
			sel |= 1 << floor_im; /* the floor runs whenever a row does */
			r.np = np;
			r.nc = nc;
			r.yield_mask = np + nc > ncpu ? 63 : 0;
			r.batch = batches[b];
			/* threads: producers then consumers; with 2 CPUs p_i and c_i sit
			 * on different CPUs (2 -> 2: two threads per CPU) */
			if (ncpu >= 2)
				for (int i = 0; i < np + nc; i++)
					rcpu[i] = ncpu >= np + nc + 1 ? rep.topo.cpu[1 + i]
								       : cpus[(i % np + (i >= np)) & 1];
			else
				for (int i = 0; i < np + nc; i++)
					rcpu[i] = -1;
			r.cpus = rcpu;
			snprintf(placement, sizeof(placement), "%s",
				 ncpu >= np + nc + 1 ? "core" : ncpu >= 2 ? "shared" : "unpinned");
			/* size one trial: a warm-up run of the floor */
			bench_progress(&rep, step, 4, "%dp%dc b%d: sizing", np, nc, batches[b]);
			r.im = floor_im;
			{
				uint64_t warm = c.quick ? 2000 : 20000;
				double sec = run_once(&r, warm / (uint64_t)np);
				double trial = c.quick ? 0.002 : (o.duration_s > 0 ? o.duration_s : 1.0) / 4;

				if (sec <= 0) {
					fprintf(stderr, "mpmc_bench: run failed: %s (%s)\n",
						xs_strerror((int)sec), xs_errmsg());
					return 1;
				}
				per = (uint64_t)((double)warm / sec * trial) / (uint64_t)np;
				if (per < 1000)
					per = 1000;
				if (per > 20000000)
					per = 20000000;
			}
			for (int k = 0; k < c.rounds; k++) {
				bench_progress(&rep, step, 4, "%dp%dc b%d: round %d/%d", np, nc,
					       batches[b], k + 1, c.rounds);
				for (int i = 0; i < IM_N; i++) {
					double sec;

					if (!(sel & (1 << i)) || (i == IM_DPDK && !have_dpdk))
						continue;
					r.im = (enum impl)i;
					sec = run_once(&r, per);
					if (sec <= 0) {
						fprintf(stderr, "mpmc_bench: %s: %s (%s)\n",
							names[s][b][i], xs_strerror((int)sec), xs_errmsg());
						return 1;
					}
					rate[i][k] = (double)(per * (uint64_t)np) / sec;
				}
				for (int i = 0; i < IM_N; i++)
					if (sel & (1 << i) && !(i == IM_DPDK && !have_dpdk))
						ratio[i][k] = rate[i][k] / rate[floor_im][k];
			}
			bench_progress(&rep, 0, 0, NULL);
			{
				char sect[96];
				double fl[100], fmed;

				snprintf(sect, sizeof(sect), "%d -> %d, batch %d (msgs/s, higher is better)",
					 np, nc, batches[b]);
				bench_report_section(&rep, sect);
				memcpy(fl, rate[floor_im], sizeof(double) * (size_t)c.rounds);
				fmed = median(fl, c.rounds);
				for (int i = 0; i < IM_N; i++) {
					struct bench_row row;
					struct bench_ratio rt;
					double v[100];

					if (!bench_selected(&o, names[s][b][i]))
						continue;
					if (i == IM_DPDK && !have_dpdk) {
						bench_row_skipped(&row, BENCH_THROUGHPUT, names[s][b][i],
								  placement, rcpu, np + nc,
								  "DPDK not built (install libdpdk-dev)");
						bench_report_row(&rep, &row);
						continue;
					}
					memcpy(v, rate[i], sizeof(double) * (size_t)c.rounds);
					bench_row_throughput(&row, names[s][b][i], placement, rcpu,
							     np + nc > 2 ? 2 : np + nc, median(v, c.rounds));
					bench_ratio_of(&rt, ratio[i], c.rounds);
					bench_row_ratio(&row, 0, NULL, NULL, names[s][b][floor_im], fmed,
							&rt, 0);
					bench_row_wait(&row, BENCH_WAIT_POLL_RELAX);
					bench_row_num(&row, "msg_bytes", MSG);
					bench_row_num(&row, "batch", batches[b]);
					bench_row_num(&row, "producers", np);
					bench_row_num(&row, "consumers", nc);
					bench_row_num(&row, "msgs_per_trial", (double)(per * (uint64_t)np));
					bench_row_num(&row, "yield_every", r.yield_mask ? 64 : 0);
					row.errors = (int)__atomic_load_n(&r.errors, __ATOMIC_RELAXED);
					bench_report_row(&rep, &row);
				}
			}
		}
	if (ncpu < 4)
		bench_report_note(&rep, "shared", NULL, 0,
				  "2 -> 2 runs 4 threads on %d CPU(s): a thread preempted between its "
				  "reservation and its publication stalls the others (both designs "
				  "publish in order; xsched's waits yield, rte_ring's spin)",
				  ncpu);
	free(r.mem);
	free(r.ring);
	return bench_report_end(&rep) < 0 ? 1 : 0;
}
