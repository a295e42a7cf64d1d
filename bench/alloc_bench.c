/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc_bench: the rts-alloc-compatible allocator against glibc malloc/free,
 * measured in the same run (issue 3's setup: 64 MiB file, 2 MiB slabs,
 * 256-byte blocks).
 *
 *   lone_pair     one alloc + free, repeated (ns per pair)
 *   batch64       64 allocs then 64 frees, repeated (M allocations/s)
 *   remote_queue  thread A allocates, writes 8 bytes, sends the offset through
 *                 an SPSC queue; thread B frees it (remotely); A cleans every
 *                 256 allocations (M blocks/s, measured until B freed them all)
 *
 * Variants: "xsched" (a default handle: xsched policy, tagged global list,
 * batched remote frees) and "xs-upstream" (the same C code with rts-alloc
 * 0.2.0's behaviour: upstream policy, untagged list, one remote free per
 * block; a stand-in for the Rust allocator measured here). Each is a
 * throughput row whose floor is glibc malloc/free, measured just before and
 * just after each of them in the same run (harness convention: "x floor" > 1
 * = faster than glibc). Every measurement follows a warm-up. The Rust figures quoted in issue 3 for this VM are printed as notes
 * (not measured here). Nothing is asserted: the machine may be shared.
 *
 * Usage: alloc_bench [--quick] [common options: --duration S, --format json,
 *        --only PAT, --cpus LIST, ...]   (whole default run about 16 s)
 *   --quick   about 30 ms per measurement (the CI smoke test)
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "xsched/alloc.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

#define BENCH_FILE  (64u << 20)
#define BENCH_SLAB  XS_ALLOC_SLAB_2M
#define BENCH_BLOCK 256u
#define QCAP        4096u

enum variant { V_XSCHED, V_UPSTREAM, V_GLIBC, V_COUNT };

static double g_budget_s = 1.0;
static int g_cpu[2] = {-1, -1}; /* owner / freer CPUs (-1: not pinned) */

static uint64_t now_ns(void)
{
	return bench_mono_ns();
}

/* Keep the compiler from dropping a malloc/free pair. */
static inline void sink(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static void pin(int side)
{
	if (g_cpu[side] >= 0)
		(void)bench_pin_self(g_cpu[side]);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "alloc_bench: %s failed: %s (%d) %s\n", what, xs_strerror(rc), rc, xs_errmsg());
	exit(1);
}

struct bench_file {
	int fd;
	struct xs_alloc *a[2];
};

static void file_open(struct bench_file *f, enum variant v)
{
	int rc, i;

	f->fd = xs_memfd_create("xs-alloc-bench", 0);
	if (f->fd < 0)
		die("memfd_create", f->fd);
	if ((rc = xs_alloc_create(&f->a[0], f->fd, BENCH_FILE, 2, BENCH_SLAB, 0)) < 0)
		die("xs_alloc_create", rc);
	if ((rc = xs_alloc_join_handle(&f->a[1], f->a[0], 1)) < 0)
		die("xs_alloc_join_handle", rc);
	for (i = 0; i < 2; i++) {
		if (v == V_UPSTREAM) {
			xs_alloc_set_policy(f->a[i], XS_ALLOC_POLICY_UPSTREAM, 0);
			xs_alloc_set_aba_tag(f->a[i], 0);
		}
	}
}

static void file_close(struct bench_file *f)
{
	xs_alloc_close(f->a[1]);
	xs_alloc_close(f->a[0]);
	close(f->fd);
}

struct result {
	uint64_t ops;   /* pairs / allocations / blocks */
	uint64_t ns;
	double rate_m;  /* M ops/s */
};

static void finish(struct result *r)
{
	r->rate_m = r->ns ? (double)r->ops * 1e3 / (double)r->ns : 0.0;
}

/* ------------------------------------------------------------- lone pair */

static uint64_t lone_chunk(enum variant v, struct xs_alloc *a, uint64_t n)
{
	uint64_t i;

	if (v == V_GLIBC) {
		for (i = 0; i < n; i++) {
			void *p = malloc(BENCH_BLOCK);

			sink(p);
			free(p);
		}
	} else {
		for (i = 0; i < n; i++) {
			void *p = xs_alloc_alloc(a, BENCH_BLOCK);

			sink(p);
			if (xs_alloc_free(a, p) < 0)
				die("xs_alloc_free", -1);
		}
	}
	return n;
}

static struct result bench_lone(enum variant v)
{
	struct bench_file f;
	struct result r = {0, 0, 0};
	uint64_t chunk = v == V_UPSTREAM ? 256 : 65536, t0, end;

	file_open(&f, v);
	lone_chunk(v, f.a[0], chunk); /* warm up: slabs taken, caches hot */
	t0 = now_ns();
	end = t0 + (uint64_t)(g_budget_s * 1e9);
	do
		r.ops += lone_chunk(v, f.a[0], chunk);
	while (now_ns() < end);
	r.ns = now_ns() - t0;
	finish(&r);
	file_close(&f);
	return r;
}

/* ---------------------------------------------------------------- batch64 */

static uint64_t batch_chunk(enum variant v, struct xs_alloc *a, uint64_t rounds)
{
	void *p[64];
	uint64_t i;
	int k;

	for (i = 0; i < rounds; i++) {
		if (v == V_GLIBC) {
			for (k = 0; k < 64; k++)
				p[k] = malloc(BENCH_BLOCK);
			sink(p);
			for (k = 0; k < 64; k++)
				free(p[k]);
		} else {
			for (k = 0; k < 64; k++)
				p[k] = xs_alloc_alloc(a, BENCH_BLOCK);
			sink(p);
			for (k = 0; k < 64; k++)
				if (xs_alloc_free(a, p[k]) < 0)
					die("xs_alloc_free", -1);
		}
	}
	return rounds * 64;
}

static struct result bench_batch(enum variant v)
{
	struct bench_file f;
	struct result r = {0, 0, 0};
	uint64_t chunk = v == V_UPSTREAM ? 16 : 1024, t0, end;

	file_open(&f, v);
	batch_chunk(v, f.a[0], chunk);
	t0 = now_ns();
	end = t0 + (uint64_t)(g_budget_s * 1e9);
	do
		r.ops += batch_chunk(v, f.a[0], chunk);
	while (now_ns() < end);
	r.ns = now_ns() - t0;
	finish(&r);
	file_close(&f);
	return r;
}

/* ----------------------------------------------------------- remote queue */

struct remote_ctx {
	enum variant v;
	struct xs_alloc *owner, *freer;
	struct xs_spsc prod, cons;
	uint64_t deadline;
	uint64_t sent, freed, t_end;
	int ready;
};

#define SENTINEL UINT64_MAX

static void *freer_main(void *arg)
{
	struct remote_ctx *c = arg;
	uint64_t buf[64], freed = 0;
	int stop = 0;

	pin(1);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!stop) {
		size_t n = xs_spsc_pop_burst(&c->cons, buf, 64), k;

		if (n == 0) {
			xs_cpu_relax();
			continue;
		}
		if (buf[n - 1] == SENTINEL) {
			stop = 1;
			n--;
		}
		if (c->v == V_GLIBC) {
			for (k = 0; k < n; k++)
				free((void *)(uintptr_t)buf[k]);
		} else if (c->v == V_UPSTREAM) {
			for (k = 0; k < n; k++)
				if (xs_alloc_free_offset(c->freer, buf[k]) < 0)
					die("remote free", -1);
		} else if (n && xs_alloc_free_offsets(c->freer, buf, n) < 0) {
			die("batched remote free", -1);
		}
		freed += n;
	}
	c->freed = freed;
	c->t_end = now_ns();
	return NULL;
}

/*
 * One timed pass of the remote benchmark for @p budget_s seconds over a
 * fresh queue in @p qmem; the allocator file (if any) is kept from pass to
 * pass, so a warm-up pass leaves slabs assigned and pages touched.
 */
static struct result remote_pass(struct remote_ctx *c, void *qmem, size_t qbytes, double budget_s)
{
	enum variant v = c->v;
	struct result r = {0, 0, 0};
	pthread_t th;
	uint64_t t0, i = 0;
	int rc;

	memset(qmem, 0, qbytes);
	c->ready = 0;
	c->freed = c->sent = c->t_end = 0;
	if ((rc = xs_spsc_attach_mem(&c->prod, qmem, qbytes, 8, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1)) < 0 ||
	    (rc = xs_spsc_attach_mem(&c->cons, qmem, qbytes, 8, 8, XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0)) < 0)
		die("queue attach", rc);
	pin(0);
	if ((rc = pthread_create(&th, NULL, freer_main, c)) != 0)
		die("pthread_create", -rc);
	while (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE))
		xs_cpu_relax();
	t0 = now_ns();
	c->deadline = t0 + (uint64_t)(budget_s * 1e9);
	for (;;) {
		uint64_t *slot, val;

		if ((i & 1023) == 0 && now_ns() > c->deadline)
			break;
		if (v == V_GLIBC) {
			uint64_t *p = malloc(BENCH_BLOCK);

			if (!p)
				die("malloc", -ENOMEM);
			*p = i;
			val = (uint64_t)(uintptr_t)p;
		} else {
			uint64_t off;

			if ((i & 255) == 0 && xs_alloc_clean_remote(c->owner) < 0)
				die("clean", -1);
			while ((rc = xs_alloc_alloc_offset(c->owner, BENCH_BLOCK, &off)) == -ENOMEM)
				if (xs_alloc_clean_remote(c->owner) < 0)
					die("clean", -1);
			if (rc < 0)
				die("alloc", rc);
			*(uint64_t *)xs_alloc_ptr(c->owner, off) = i;
			val = off;
		}
		while ((slot = xs_spsc_reserve(&c->prod)) == NULL) {
			xs_spsc_commit(&c->prod);
			if (v != V_GLIBC && xs_alloc_clean_remote(c->owner) < 0)
				die("clean", -1);
			xs_cpu_relax();
		}
		*slot = val;
		if ((++i & 15) == 0)
			xs_spsc_commit(&c->prod);
	}
	{
		uint64_t *slot;

		while ((slot = xs_spsc_reserve(&c->prod)) == NULL) {
			xs_spsc_commit(&c->prod);
			xs_cpu_relax();
		}
		*slot = SENTINEL;
		xs_spsc_commit(&c->prod);
	}
	pthread_join(th, NULL);
	if (c->freed != i) {
		fprintf(stderr, "alloc_bench: sent %llu, freed %llu\n", (unsigned long long)i,
			(unsigned long long)c->freed);
		exit(1);
	}
	if (v != V_GLIBC && xs_alloc_clean_remote(c->owner) < 0)
		die("final clean", -1);
	xs_spsc_close(&c->prod);
	xs_spsc_close(&c->cons);
	r.ops = c->freed;
	r.ns = c->t_end - t0;
	finish(&r);
	return r;
}

static struct result bench_remote(enum variant v)
{
	size_t qbytes = xs_spsc_min_file_size(QCAP, 8, 8);
	void *qmem = aligned_alloc(64, (qbytes + 63) & ~(size_t)63);
	struct remote_ctx c;
	struct bench_file f;
	struct result r;

	if (!qmem)
		die("queue memory", -ENOMEM);
	memset(&c, 0, sizeof(c));
	c.v = v;
	if (v != V_GLIBC) {
		file_open(&f, v);
		c.owner = f.a[0];
		c.freer = f.a[1];
	}
	/* Warm-up pass (a tenth of the budget, not reported): slabs assigned,
	 * the file's pages and glibc's arena touched, both threads running. */
	remote_pass(&c, qmem, qbytes, g_budget_s / 10);
	r = remote_pass(&c, qmem, qbytes, g_budget_s);
	if (v != V_GLIBC)
		file_close(&f);
	free(qmem);
	return r;
}

/* ------------------------------------------------------------------ main */

struct bench_def {
	const char *name, *what, *upstream;
	struct result (*fn)(enum variant);
	int two_cpus;
};

static const struct bench_def benches[] = {
	{"lone_pair", "ns/pair", "542 ns/pair, 1.8 M pairs/s (glibc 6 ns)", bench_lone, 0},
	{"batch64", "ns/alloc+free", "64.5 M allocs/s (glibc 31.5 M)", bench_batch, 0},
	{"remote_queue", "ns/block", "7.2 M blocks/s (glibc 3.2 M)", bench_remote, 1},
};

static int on_extra(void *ctx, int opt, const char *arg)
{
	struct bench_opts *o = ctx;

	(void)arg;
	if (opt != 'Q')
		return -1;
	o->duration_s = 0.03;
	return 0;
}

static void report(struct bench_report *rep, const struct bench_def *d, const char *variant,
		   const char *placement, const int *cpus, int ncpus, const struct result *r,
		   double glibc_before, double glibc_after)
{
	struct bench_row row;
	char name[48];
	double ns = r->ops ? (double)r->ns / (double)r->ops : 0;

	snprintf(name, sizeof(name), "%s/%s", d->name, variant);
	bench_row_throughput(&row, name, placement, cpus, ncpus, r->rate_m * 1e6);
	/* the glibc row is the floor itself (ratio 1, as floor rows are) */
	bench_row_floor(&row, "glibc", glibc_before, glibc_after);
	bench_row_num(&row, "ns_per_op", ns);
	bench_row_num(&row, "ops", (double)r->ops);
	snprintf(row.note, sizeof(row.note), "%.1f %s%s", ns, d->what,
		 strcmp(variant, "glibc") ? "" : "; the floor of the rows around it");
	bench_report_row(rep, &row);
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {{"quick", no_argument, NULL, 'Q'}, {NULL, 0, NULL, 0}};
	struct bench_report rep;
	struct bench_opts o;
	char why[160];
	int pair[2], have_pair, rc;
	size_t b;

	bench_opts_defaults(&o);
	rc = bench_opts_parse(&o, argc, argv, extra, on_extra, &o);
	if (rc == 1) {
		printf("usage: %s [--quick] [options]\n"
		       "  --quick             about 30 ms per measurement (CI smoke run)\n", argv[0]);
		bench_opts_usage(stdout);
		return 0;
	}
	if (rc < 0)
		return 2;
	g_budget_s = o.duration_s;
	bench_clock_init(o.clock_force_monotonic);
	snprintf(why, sizeof(why), "file %u MiB, slabs %u KiB, blocks %u B, %.2f s per measurement; "
		 "floor = glibc malloc/free measured before and after", BENCH_FILE >> 20,
		 BENCH_SLAB >> 10, BENCH_BLOCK, g_budget_s);
	if ((rc = bench_report_begin(&rep, &o, "alloc_bench", why)) < 0) {
		fprintf(stderr, "alloc_bench: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}
	have_pair = bench_plan(&rep.topo, "core", pair, why, sizeof(why)) == 0;
	if (!have_pair)
		bench_report_note(&rep, "core", NULL, 0, "remote rows run unpinned: %s", why);
	for (b = 0; b < sizeof(benches) / sizeof(benches[0]); b++) {
		const struct bench_def *d = &benches[b];
		struct result g1, x, g2, u, g3;
		double gr[3];
		const char *placement = d->two_cpus ? "core" : "local";
		int ncpus = have_pair ? (d->two_cpus ? 2 : 1) : 0;

		if (!bench_selected(&o, d->name))
			continue;
		g_cpu[0] = have_pair ? pair[0] : -1;
		g_cpu[1] = have_pair && d->two_cpus ? pair[1] : -1;
		if (!d->two_cpus)
			pin(0); /* the local rows run on this thread */
		/* glibc before and after each variant: every row's floor is
		 * measured right before and right after it */
		bench_progress(&rep, (int)b * 5 + 1, 15, "%s glibc", d->name);
		g1 = d->fn(V_GLIBC);
		bench_progress(&rep, (int)b * 5 + 2, 15, "%s xsched", d->name);
		x = d->fn(V_XSCHED);
		bench_progress(&rep, (int)b * 5 + 3, 15, "%s glibc", d->name);
		g2 = d->fn(V_GLIBC);
		bench_progress(&rep, (int)b * 5 + 4, 15, "%s xs-upstream", d->name);
		u = d->fn(V_UPSTREAM);
		bench_progress(&rep, (int)b * 5 + 5, 15, "%s glibc", d->name);
		g3 = d->fn(V_GLIBC);
		bench_progress(&rep, 0, 0, NULL);
		bench_report_section(&rep, d->name);
		gr[0] = g1.rate_m * 1e6;
		gr[1] = g2.rate_m * 1e6;
		gr[2] = g3.rate_m * 1e6;
		g1.ops += g2.ops + g3.ops; /* the glibc row: the three runs together */
		g1.ns += g2.ns + g3.ns;
		finish(&g1);
		report(&rep, d, "glibc", placement, pair, ncpus, &g1, g1.rate_m * 1e6,
		       g1.rate_m * 1e6);
		report(&rep, d, "xsched", placement, pair, ncpus, &x, gr[0], gr[1]);
		report(&rep, d, "xs-upstream", placement, pair, ncpus, &u, gr[1], gr[2]);
		bench_report_note(&rep, placement, pair, ncpus,
				  "%s: rts-alloc 0.2.0 (Rust) on this VM per issue 3, not measured here: %s",
				  d->name, d->upstream);
	}
	return bench_report_end(&rep) < 0 ? 1 : 0;
}
